"""Loaders, converters, windowing and simulators. ``data`` knows nothing of torch modules."""

from ._convert import as_signal_array, check_signal_array, signal_metadata
from .encoding import as_feature_tokens, load_algonauts2023, load_images, responses_from_volumes
from .fmri import RoiTimeSeries, fetch_abide_rois, segment_series

__all__ = [
    "as_signal_array", "check_signal_array", "signal_metadata",
    # fMRI regions
    "RoiTimeSeries", "fetch_abide_rois", "segment_series",
    # visual encoding
    "as_feature_tokens", "load_algonauts2023", "load_images", "responses_from_volumes",
]
