"""scikit-learn estimators on skorch. Estimators know nothing of file formats."""

from ._base import NeuroEstimatorMixin, resolve_device
from .brainmae import BrainMAEPretrainer, InitFromPretrained  # noqa: F401  (fMRI track)
from .encoding import BrainEncoderRegressor, RidgeEncoder, compare_encoders, extract_features  # noqa: F401,E501
from .neural import NeuroClassifier, NeuroRegressor
from .seizure import SeizureForecaster, band_power_baseline  # noqa: F401  (seizure track)

__all__ = ["NeuroEstimatorMixin", "NeuroClassifier", "NeuroRegressor", "resolve_device"]
