"""neuroattn: attention models for brain signals.

Models are built by name (:func:`create_model`, :func:`list_models`), trained through
scikit-learn estimators (:class:`NeuroClassifier`, :class:`NeuroRegressor`), fed by
MNE / nilearn / MOABB loaders in :mod:`neuroattn.data`.

The names below are imported on first use, so ``import neuroattn.data`` (loaders,
windowing, simulators) does not pull in torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0.dev0"

_LAZY = {
    "NeuroModel": "models", "create_model": "models", "list_models": "models",
    "model_table": "models", "register_model": "models",
    "create_attention": "nn", "list_attentions": "nn", "register_attention": "nn",
    "NeuroClassifier": "estimators", "NeuroRegressor": "estimators",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neuroattn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
