"""ROI time series for fMRI models: nilearn maskers, ABIDE (PCP), plain arrays.

Every loader returns a :class:`RoiTimeSeries`: a list of ``(n_timepoints, n_regions)``
arrays (nilearn's orientation) with one metadata row per subject (site, label, age,
sex, TR) and a report of what was fixed or skipped (constant ROIs, short series).
:func:`segment_series` then cuts TR-aware windows in seconds into the models'
``(n_segments, n_regions, n_samples)`` convention.

Modules: ``_series`` (the containers, checks, resampling and segmenting),
``_checks`` (repetition times and durations), ``_afni`` (strict ``.1D`` files) and
``_loaders`` (ABIDE and nilearn maskers).
"""

from ._afni import load_roi_1d, read_roi_1d
from ._loaders import ABIDE_SITE_TR, ABIDE_SITES, fetch_abide_rois, load_roi_timeseries
from ._series import (
    RoiTimeSeries,
    Segments,
    resample_series,
    roi_timeseries_from_arrays,
    segment_series,
    zscore_regions,
)

__all__ = ["ABIDE_SITE_TR", "ABIDE_SITES", "RoiTimeSeries", "Segments", "fetch_abide_rois",
           "load_roi_timeseries", "load_roi_1d", "read_roi_1d", "roi_timeseries_from_arrays",
           "zscore_regions", "resample_series", "segment_series"]
