"""Simulators that plant a known truth; the offline default data of tests and tutorials.

One module per track; everything public is re-exported here.
"""

from ._noise import pink_noise
from .encoding import PLANTED_TRUTHS, digit_mosaics, simulate_encoding
from .fmri import simulate_fmri_rois
from .motor_imagery import MI_CHANNELS, MI_CLASSES, simulate_motor_imagery
from .seizure import CHBMIT_CHANNELS, simulate_seizure_recordings
from .seizure_cohort import simulate_seizure_cohort
from .ssvep import SSVEP_CHANNELS, simulate_ssvep

__all__ = [
    "pink_noise",
    "MI_CHANNELS", "MI_CLASSES", "simulate_motor_imagery",
    "CHBMIT_CHANNELS", "simulate_seizure_recordings", "simulate_seizure_cohort",
    "simulate_fmri_rois",
    "digit_mosaics", "simulate_encoding", "PLANTED_TRUTHS",
    "SSVEP_CHANNELS", "simulate_ssvep",
]
