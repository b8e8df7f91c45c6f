"""Loaders of ROI time series: ABIDE (PCP) derivatives and images through nilearn maskers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._afni import diagnose_1d_files, read_roi_1d
from ._checks import check_t_r
from ._series import RoiTimeSeries, roi_timeseries_from_arrays

#: Repetition time (s) of each ABIDE I site, from the ABIDE I scan-parameter tables.
ABIDE_SITE_TR = {"CALTECH": 2.0, "CMU": 2.0, "KKI": 2.5, "LEUVEN_1": 1.656,
                 "LEUVEN_2": 1.667, "MAX_MUN": 3.0, "NYU": 2.0, "OHSU": 2.5, "OLIN": 1.5,
                 "PITT": 1.5, "SBL": 2.2, "SDSU": 2.0, "STANFORD": 2.0, "TRINITY": 2.0,
                 "UCLA_1": 3.0, "UCLA_2": 3.0, "UM_1": 2.0, "UM_2": 2.0, "USM": 2.0,
                 "YALE": 2.0}

#: The six ABIDE I sites available offline in ``shared/data/nilearn_data``.
ABIDE_SITES = ("NYU", "UCLA_1", "KKI", "TRINITY", "CALTECH", "OHSU")


def fetch_abide_rois(data_dir: str | Path, *, sites: Sequence[str] = ABIDE_SITES,
                     derivative: str = "rois_cc200", band_pass_filtering: bool = True,
                     global_signal_regression: bool = True, quality_checked: bool = False,
                     n_subjects: int | None = None, standardize: bool = True,
                     flat_rois: str = "zero", verbose: int = 0) -> RoiTimeSeries:
    """ABIDE I preprocessed (PCP, C-PAC) ROI series through ``nilearn.datasets.fetch_abide_pcp``.

    Files must already be in nilearn's cache layout under ``data_dir`` (nothing is
    downloaded when they are; options whose files are absent make nilearn try the
    network).

    Parameters
    ----------
    data_dir : str | Path
        Folder holding ``ABIDE_pcp/`` (nilearn's ``data_dir``).
    sites : sequence of str
        ABIDE ``SITE_ID`` values.
    derivative : str
        ``"rois_<atlas>"`` derivative, e.g. ``"rois_cc200"``.
    band_pass_filtering, global_signal_regression, quality_checked : bool
        The PCP pipeline variant and quality filter, as in ``fetch_abide_pcp``.
    n_subjects : int | None
        Load only the first ``n_subjects`` (fast tests).
    standardize : bool
        Z-score each region of each subject.
    flat_rois : {"zero", "drop_subject", "error"}
        Handling of all-zero ROIs (about 20 of the 405 offline subjects have one),
        see :func:`roi_timeseries_from_arrays`.
    verbose : int
        nilearn verbosity.

    Returns
    -------
    RoiTimeSeries
        ``label`` is 1 for autism (``DX_GROUP == 1``) and 0 for controls; ``tr`` comes
        from :data:`ABIDE_SITE_TR`; ``age`` in years; ``sex`` 1 male, 2 female.

    Raises
    ------
    ValueError
        If ``data_dir`` has no ``ABIDE_pcp`` folder, ``derivative`` does not start with
        ``"rois_"``, a site is unknown, or nothing was loaded; naming the ``.1D`` file
        (and line) when one is empty, header-only, truncated, holds a non-number or
        NaN, or has another number of regions than the others.
    """
    from nilearn.datasets import fetch_abide_pcp

    data_dir = Path(data_dir)
    if not (data_dir / "ABIDE_pcp").is_dir():
        raise ValueError(f"{data_dir} has no ABIDE_pcp folder: pass nilearn's data_dir "
                         "that holds ABIDE_pcp/ (e.g. shared/data/nilearn_data).")
    if not derivative.startswith("rois_"):
        raise ValueError(f"derivative must be an ROI series 'rois_<atlas>', got {derivative!r}.")
    sites = [sites] if isinstance(sites, str) else list(sites)
    unknown = [s for s in sites if s not in ABIDE_SITE_TR]
    if unknown:
        raise ValueError(f"Unknown ABIDE sites {unknown}; known: {sorted(ABIDE_SITE_TR)}.")
    options = dict(data_dir=str(data_dir), band_pass_filtering=band_pass_filtering,
                   global_signal_regression=global_signal_regression,
                   quality_checked=quality_checked, SITE_ID=sites, n_subjects=n_subjects,
                   verbose=verbose)
    strategy = (f"{'' if band_pass_filtering else 'no'}filt_"
                f"{'' if global_signal_regression else 'no'}global")

    def files(pheno):
        folder = data_dir / "ABIDE_pcp" / "cpac" / strategy
        return [folder / f"{fid}_{derivative}.1D" for fid in pheno["FILE_ID"]]

    try:  # nilearn reads the files with numpy.loadtxt: its errors name no file
        bunch = fetch_abide_pcp(derivatives=derivative, **options)
    except ValueError as exc:
        pheno = fetch_abide_pcp(derivatives=[], **options).phenotypic
        for path in files(pheno):
            read_roi_1d(path)  # raises naming the file and line
        raise ValueError(f"Reading the ABIDE {derivative} files under {data_dir} failed: "
                         f"{exc}") from exc
    series = list(bunch[derivative])
    if not series:
        raise ValueError(f"No ABIDE {derivative} series found under {data_dir} for {sites}.")
    pheno = bunch.phenotypic.reset_index(drop=True)
    if "FILE_ID" in pheno:
        series = diagnose_1d_files(series, files(pheno))
    site = pheno["SITE_ID"].astype(str).str.strip().tolist()
    return roi_timeseries_from_arrays(
        series, t_r=[ABIDE_SITE_TR[s] for s in site],
        labels=(pheno["DX_GROUP"].to_numpy() == 1).astype(int), sites=site,
        subjects=pheno["SUB_ID"].astype(str).tolist(),
        ages=pheno["AGE_AT_SCAN"].astype(float).tolist(), sexes=pheno["SEX"].tolist(),
        standardize=standardize, flat_rois=flat_rois)


def _check_same_space(img: Any, atlas: Any, min_overlap: float = 0.5) -> None:
    """Raise if the atlas's regions mostly fall outside the image's field of view."""
    from nilearn.image import coord_transform, load_img

    img, atlas = load_img(img), load_img(atlas)
    data = np.asarray(atlas.dataobj)
    inside = np.argwhere(data.reshape(data.shape[:3] + (-1,)).any(axis=-1) != 0)
    if inside.size == 0:
        raise ValueError("The atlas image holds no region (all background).")
    if len(inside) > 20000:
        inside = inside[np.linspace(0, len(inside) - 1, 20000).astype(int)]
    world = np.column_stack(coord_transform(*inside.T, atlas.affine))
    vox = np.column_stack(coord_transform(*world.T, np.linalg.inv(img.affine)))
    shape = np.asarray(img.shape[:3])
    frac = np.mean(np.all((vox > -0.5) & (vox < shape - 0.5), axis=1))
    if frac < min_overlap:
        raise ValueError(f"Only {frac:.0%} of the atlas's region voxels fall inside the "
                         "image's field of view: the atlas and the images seem to be in "
                         "different spaces (e.g. MNI atlas on native-space images). Register "
                         "them to the same space first.")


def load_roi_timeseries(imgs: Sequence[Any], atlas: Any, *, kind: str = "auto",
                        confounds: Sequence[Any] | None = None, t_r: float | None = None,
                        standardize: bool = True, detrend: bool = True,
                        low_pass: float | None = None, high_pass: float | None = None,
                        labels: Sequence[Any] | None = None,
                        sites: Sequence[str] | str | None = None,
                        subjects: Sequence[str] | None = None,
                        region_names: Sequence[str] | None = None, flat_rois: str = "zero",
                        ) -> RoiTimeSeries:
    """ROI series of 4-D images through nilearn's ``NiftiLabelsMasker`` / ``NiftiMapsMasker``.

    Parameters
    ----------
    imgs : sequence of niimg-like
        One 4-D image (path or ``Nifti1Image``) per subject.
    atlas : niimg-like
        A 3-D labels image (integer regions, 0 background) or a 4-D maps image.
    kind : {"auto", "labels", "maps"}
        Masker to use; ``"auto"`` picks maps for 4-D atlases and labels otherwise.
    confounds : sequence | None
        Per-subject confounds (arrays ``(n_timepoints, n_confounds)`` or file paths)
        regressed out by the masker.
    t_r : float | None
        Repetition time in seconds (finite, positive); read from the image header when
        None.
    standardize : bool
        Z-score each ROI series (nilearn's ``"zscore_sample"``); constant ROIs are kept
        as zeros and reported.
    detrend : bool
        Remove linear trends.
    low_pass, high_pass : float | None
        Band-pass cut-offs in Hz (need ``t_r``).
    labels, sites, subjects : sequence | None
        Per-subject metadata.
    region_names : sequence of str | None
        Region names; the masker's labels when None.
    flat_rois : {"zero", "drop_subject", "error"}
        See :func:`roi_timeseries_from_arrays`.

    Returns
    -------
    RoiTimeSeries
        With ``region_coords``, the centre of mass of each region in the atlas's world
        (MNI) millimetres.

    Raises
    ------
    ValueError
        If an image is not 4-D, the atlas and images do not overlap in world space
        (different spaces), counts of images and confounds differ, or ``t_r`` (given,
        or read from a header) is missing or not a finite positive number of seconds.
    """
    from nilearn.image import load_img
    from nilearn.maskers import NiftiLabelsMasker, NiftiMapsMasker

    if t_r is not None:
        t_r = check_t_r(t_r)
    imgs = list(imgs) if not isinstance(imgs, (str, Path)) else [imgs]
    if not imgs:
        raise ValueError("imgs is empty: expected one 4-D image per subject.")
    if confounds is not None and len(confounds) != len(imgs):
        raise ValueError(f"{len(confounds)} confounds for {len(imgs)} images.")
    atlas_img = load_img(atlas)
    if kind == "auto":
        kind = "maps" if atlas_img.ndim == 4 and atlas_img.shape[3] > 1 else "labels"
    if kind not in ("labels", "maps"):
        raise ValueError(f"kind must be 'auto', 'labels' or 'maps', got {kind!r}.")
    trs, series = [], []
    for i, img in enumerate(imgs):
        img = load_img(img)
        if img.ndim != 4:
            raise ValueError(f"imgs[{i}] has shape {img.shape}; expected a 4-D (x, y, z, time) "
                             "image.")
        _check_same_space(img, atlas_img)
        this_tr = t_r if t_r is not None else float(img.header.get_zooms()[3])
        if not (np.isfinite(this_tr) and this_tr > 0):
            raise ValueError(f"imgs[{i}] has no valid repetition time in its header (found "
                             f"{this_tr}); pass t_r (a finite positive number of seconds).")
        trs.append(this_tr)
        masker_cls = NiftiLabelsMasker if kind == "labels" else NiftiMapsMasker
        args = {"labels_img" if kind == "labels" else "maps_img": atlas_img}
        masker = masker_cls(**args, standardize="zscore_sample" if standardize else False,
                            detrend=detrend, low_pass=low_pass, high_pass=high_pass,
                            t_r=this_tr)
        ts = masker.fit_transform(img, confounds=None if confounds is None else confounds[i])
        series.append(np.asarray(ts, dtype=np.float64))
    if region_names is None and kind == "labels":
        region_names = [str(n) for n in getattr(masker, "region_names_", {}).values()] or None
        if region_names is not None and len(region_names) != series[0].shape[1]:
            region_names = None
    coords = _atlas_coords(atlas_img, kind, series[0].shape[1])
    return roi_timeseries_from_arrays(series, t_r=trs, labels=labels, sites=sites,
                                      subjects=subjects, region_names=region_names,
                                      region_coords=coords, standardize=standardize,
                                      flat_rois=flat_rois)


def _atlas_coords(atlas_img: Any, kind: str, n_regions: int) -> np.ndarray | None:
    """Centre of mass (MNI mm) of each label, or of each map's positive weights."""
    from nilearn.image import coord_transform

    data = np.asarray(atlas_img.dataobj)
    if kind == "labels":
        ids = np.unique(data[data != 0])
        weights = [(data == k).astype(float) for k in ids]
    else:
        weights = [np.clip(data[..., k], 0, None) for k in range(data.shape[-1])]
    if len(weights) != n_regions:
        return None
    grid = np.indices(data.shape[:3]).reshape(3, -1)
    coords = []
    for w in weights:
        w = w.reshape(-1)
        if w.sum() <= 0:
            return None
        centre = grid @ w / w.sum()
        coords.append(coord_transform(*centre, atlas_img.affine))
    return np.asarray(coords, dtype=float)
