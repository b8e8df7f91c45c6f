"""neuroattn: attention models for brain signals.

Models are built by name (:func:`create_model`, :func:`list_models`), trained through
scikit-learn estimators (:class:`NeuroClassifier`, :class:`NeuroRegressor`), fed by
MNE / nilearn / MOABB loaders in :mod:`neuroattn.data`.
"""

__version__ = "0.1.0.dev0"

from .models import NeuroModel, create_model, list_models, model_table, register_model  # noqa: E402
from .nn import create_attention, list_attentions, register_attention  # noqa: E402

__all__ = ["__version__", "NeuroModel", "create_model", "list_models", "model_table",
           "register_model", "create_attention", "list_attentions", "register_attention",
           "NeuroClassifier", "NeuroRegressor"]


def __getattr__(name: str):
    # Estimators pull in skorch; import them on first use so `import neuroattn` stays light.
    if name in ("NeuroClassifier", "NeuroRegressor"):
        from . import estimators
        return getattr(estimators, name)
    raise AttributeError(f"module 'neuroattn' has no attribute {name!r}")
