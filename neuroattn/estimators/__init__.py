"""scikit-learn estimators on skorch. Estimators know nothing of file formats."""

from ._base import NeuroEstimatorMixin, resolve_device
from .neural import NeuroClassifier, NeuroRegressor

__all__ = ["NeuroEstimatorMixin", "NeuroClassifier", "NeuroRegressor", "resolve_device"]
