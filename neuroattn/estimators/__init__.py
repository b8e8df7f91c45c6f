"""scikit-learn estimators on skorch. Estimators know nothing of file formats."""

from ._base import NeuroEstimatorMixin
from ._nets import TrainStep, WarmupCosineLR, resolve_device
from .brain_mae import BrainMAEPretrainer, InitFromPretrained
from .encoding import (
    BandedRidgeEncoder,
    BrainEncoderRegressor,
    RidgeEncoder,
    extract_features,
)
from .ensemble import SeedEnsemble
from .neural import NeuroClassifier, NeuroRegressor
from .riemann import FilterBankTangentSpace, tangent_attention_pipeline
from .seizure import AdversarialStep, SeizureForecaster, band_power_baseline
from .ssvep import SSVEPClassifier

__all__ = [
    "NeuroEstimatorMixin", "TrainStep", "WarmupCosineLR", "resolve_device",
    # general
    "NeuroClassifier", "NeuroRegressor",
    # seizure forecasting
    "SeizureForecaster", "AdversarialStep", "band_power_baseline",
    # fMRI regions
    "BrainMAEPretrainer", "InitFromPretrained",
    # visual encoding
    "BrainEncoderRegressor", "RidgeEncoder", "BandedRidgeEncoder", "extract_features",
    # SSVEP
    "SSVEPClassifier",
    # small-data recipe and Riemannian hybrids
    "SeedEnsemble", "FilterBankTangentSpace", "tangent_attention_pipeline",
]
