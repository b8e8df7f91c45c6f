"""Simulators that plant a known truth; the offline default data of tests and tutorials.

One module per track; everything public is re-exported here.
"""

from ._noise import pink_noise
from .encoding import digit_mosaics, simulate_encoding  # noqa: F401  (encoding track)
from .fmri import simulate_fmri_rois  # noqa: F401  (fMRI track)
from .motor_imagery import MI_CHANNELS, MI_CLASSES, simulate_motor_imagery
from .seizure import CHBMIT_CHANNELS, simulate_seizure_recordings  # noqa: F401  (seizure)

__all__ = ["pink_noise", "MI_CHANNELS", "MI_CLASSES", "simulate_motor_imagery"]
