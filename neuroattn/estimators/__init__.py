"""scikit-learn estimators on skorch. Estimators know nothing of file formats."""

from ._base import NeuroEstimatorMixin, WarmupCosineLR, resolve_device
from .brainmae import BrainMAEPretrainer, InitFromPretrained
from .encoding import BrainEncoderRegressor, RidgeEncoder, compare_encoders, extract_features
from .neural import NeuroClassifier, NeuroRegressor
from .seizure import SeizureForecaster, band_power_baseline

__all__ = [
    "NeuroEstimatorMixin", "WarmupCosineLR", "resolve_device",
    # general
    "NeuroClassifier", "NeuroRegressor",
    # seizure forecasting
    "SeizureForecaster", "band_power_baseline",
    # fMRI regions
    "BrainMAEPretrainer", "InitFromPretrained",
    # visual encoding
    "BrainEncoderRegressor", "RidgeEncoder", "compare_encoders", "extract_features",
]
