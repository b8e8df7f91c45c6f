"""ROI time-series containers, their checks and standardisation, and TR-aware segmenting."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._checks import check_seconds, check_t_r

_META_COLUMNS = ("subject", "site", "label", "age", "sex", "tr")


@dataclass
class RoiTimeSeries:
    """ROI time series of several subjects with their metadata.

    Parameters
    ----------
    series : list of numpy.ndarray
        One ``(n_timepoints, n_regions)`` float array per subject; ``n_timepoints`` may
        differ between subjects, ``n_regions`` may not.
    meta : pandas.DataFrame
        One row per subject with columns ``subject, site, label, age, sex, tr``
        (``tr`` in seconds; ``label`` 1 for patients/group 1, 0 for controls; missing
        values are NaN / None).
    region_names : list of str | None
        Names of the regions.
    region_coords : numpy.ndarray | None
        ``(n_regions, 3)`` region centres in MNI millimetres, when known.
    report : dict
        What the loader fixed or skipped: ``"flat_rois"`` maps a subject's position to
        the indices of its constant (e.g. all-zero) ROIs, ``"skipped"`` lists
        ``(subject, reason)`` pairs of subjects left out.
    truth : dict
        Planted ground truth of simulated data (empty for real data).
    """

    series: list[np.ndarray]
    meta: pd.DataFrame
    region_names: list[str] | None = None
    region_coords: np.ndarray | None = None
    report: dict[str, Any] = field(default_factory=dict)
    truth: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.series) != len(self.meta):
            raise ValueError(f"{len(self.series)} series but {len(self.meta)} metadata rows.")
        if "tr" not in self.meta:
            raise ValueError(f"meta has no 'tr' column (columns {list(self.meta.columns)}); "
                             "give each subject's repetition time in seconds.")
        subjects = (self.meta["subject"].tolist() if "subject" in self.meta
                    else list(range(len(self.meta))))
        _check_unique(subjects)
        check_t_r(self.meta["tr"].tolist(), len(self.meta), labels=subjects)
        _validate_series(self.series, subjects)
        self.report.setdefault("flat_rois", {})
        self.report.setdefault("skipped", [])

    def __len__(self) -> int:
        return len(self.series)

    @property
    def n_regions(self) -> int:
        """Number of regions (columns of every series)."""
        return int(self.series[0].shape[1])

    @property
    def labels(self) -> np.ndarray:
        """``(n_subjects,)`` labels (1 patient/group 1, 0 control)."""
        return self.meta["label"].to_numpy()

    @property
    def sites(self) -> np.ndarray:
        """``(n_subjects,)`` site names."""
        return self.meta["site"].astype(str).to_numpy()

    @property
    def t_r(self) -> np.ndarray:
        """``(n_subjects,)`` repetition times in seconds."""
        return self.meta["tr"].to_numpy(dtype=float)

    def subset(self, index: Sequence[int] | np.ndarray) -> RoiTimeSeries:
        """The subjects at positions ``index`` (flat-ROI report re-indexed)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        pos = {int(old): new for new, old in enumerate(index)}
        flat = {pos[k]: v for k, v in self.report["flat_rois"].items() if k in pos}
        report = {**self.report, "flat_rois": flat}
        return RoiTimeSeries([self.series[i] for i in index],
                             self.meta.iloc[index].reset_index(drop=True), self.region_names,
                             self.region_coords, report, dict(self.truth))

    def resample(self, target_t_r: float) -> RoiTimeSeries:
        """All series linearly interpolated to one repetition time (seconds).

        Handy before scikit-learn cross-validation, which slices ``series`` as a plain
        list: with one TR, ``BrainMAEPretrainer(t_r=target_t_r)`` applies to any slice.
        """
        target_t_r = check_t_r(target_t_r, name="target_t_r")
        series = [resample_series(ts, tr, target_t_r) for ts, tr in zip(self.series, self.t_r)]
        meta = self.meta.copy()
        meta["tr"] = target_t_r
        return RoiTimeSeries(series, meta, self.region_names, self.region_coords,
                             dict(self.report), dict(self.truth))

    def summary(self) -> str:
        """One line: subjects, regions, sites, labels, flat ROIs and skips."""
        counts = self.meta["label"].value_counts(dropna=False).to_dict()
        return (f"{len(self)} subjects x {self.n_regions} regions, sites "
                f"{sorted(set(self.sites))}, labels {counts}, "
                f"{len(self.report['flat_rois'])} subject(s) with constant ROIs, "
                f"{len(self.report['skipped'])} skipped")


@dataclass
class Segments:
    """Fixed-length windows cut by :func:`segment_series`.

    Parameters
    ----------
    X : numpy.ndarray
        ``(n_segments, n_regions, n_samples)`` float32, the models' input convention.
    groups : numpy.ndarray
        ``(n_segments,)`` position of the source subject of each segment.
    skipped : list of int
        Positions of subjects whose series was shorter than one segment.
    t_r : float
        Sampling interval of the segments in seconds.
    """

    X: np.ndarray
    groups: np.ndarray
    skipped: list[int]
    t_r: float

    def subsample_index(self, max_per_group: int | None, random_state: Any = None,
                        ) -> np.ndarray:
        """Indices of at most ``max_per_group`` segments of each subject, drawn at random.

        Parameters
        ----------
        max_per_group : int | None
            Cap per subject (``groups`` value); None keeps every segment.
        random_state : int | numpy.random.RandomState | None
            Seed or generator of the draw.

        Returns
        -------
        numpy.ndarray
            Sorted ``(n_kept,)`` integer positions into ``X`` / ``groups``.

        Raises
        ------
        ValueError
            If ``max_per_group`` is not a positive integer or None.
        """
        if max_per_group is None:
            return np.arange(len(self.groups))
        if isinstance(max_per_group, bool) or not (
                isinstance(max_per_group, (int, np.integer)) and max_per_group >= 1):
            raise ValueError(f"max_per_group (max_segments_per_subject) must be a positive "
                             f"integer or None, got {max_per_group!r}.")
        rng = check_random_state(random_state)
        keep = [rng.permutation(np.flatnonzero(self.groups == g))[:max_per_group]
                for g in np.unique(self.groups)]
        return np.sort(np.concatenate(keep)) if keep else np.arange(0)


# ----------------------------------------------------------------------- checks
def _who(name: str, i: int, labels: Sequence[Any] | None) -> str:
    return f"{name}[{i}]" + ("" if labels is None else f" (subject {labels[i]!r})")


def _validate_series(series: Sequence[np.ndarray], labels: Sequence[Any] | None = None, *,
                     name: str = "series") -> None:
    """Raise unless every series is a finite 2-D array and all have the same regions."""
    for i, ts in enumerate(series):
        if not isinstance(ts, np.ndarray) or ts.ndim != 2 or ts.dtype.kind not in "fiu":
            raise ValueError(f"{_who(name, i, labels)} has shape {np.shape(ts)} and type "
                             f"{getattr(ts, 'dtype', type(ts).__name__)}; expected a 2-D "
                             "numeric (n_timepoints, n_regions) array.")
        if ts.shape[0] == 0 or ts.shape[1] == 0:
            raise ValueError(f"{_who(name, i, labels)} has shape {ts.shape}; expected at "
                             "least one timepoint and one region.")
        if not np.isfinite(ts).all():
            t, r = np.nonzero(~np.isfinite(ts))
            raise ValueError(f"{_who(name, i, labels)} contains NaN or infinity (regions "
                             f"{np.unique(r)[:10].tolist()}, first at timepoint {t[0]}); "
                             "clean or interpolate it first.")
    n_regions = {ts.shape[1] for ts in series}
    if len(n_regions) > 1:
        first = series[0].shape[1]
        bad = [i for i, ts in enumerate(series) if ts.shape[1] != first][:5]
        named = ", ".join(_who(name, i, labels) for i in bad)
        raise ValueError(f"Subjects have different numbers of regions {sorted(n_regions)} "
                         f"(e.g. {named} differ from {first}); all series must use the "
                         "same atlas.")


def _check_series(series: Sequence[Any], *, name: str = "series",
                  labels: Sequence[Any] | None = None) -> list[np.ndarray]:
    if isinstance(series, np.ndarray) and series.ndim == 2:
        series = [series]
    if len(series) == 0:
        raise ValueError(f"{name} is empty: expected at least one (n_timepoints, n_regions) "
                         "array.")
    if labels is not None and len(labels) != len(series):
        labels = None  # the metadata check names the length mismatch
    out = []
    for i, ts in enumerate(series):
        try:
            out.append(np.asarray(ts, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{_who(name, i, labels)} is not a numeric (n_timepoints, "
                             f"n_regions) array ({exc}).") from None
    _validate_series(out, labels, name=name)
    return out


def _check_unique(subjects: Sequence[Any]) -> None:
    seen, dup = set(), []
    for s in subjects:
        if s in seen and s not in dup:
            dup.append(s)
        seen.add(s)
    if dup:
        raise ValueError(f"Subject ids must be unique; duplicate subject ids {dup[:10]} "
                         "(a subject twice would sit in training and test folds at once). "
                         "Give each series its own id (e.g. 'sub-01_ses-2').")


def _flat_regions(ts: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    return np.flatnonzero(ts.std(axis=0) <= tol * max(1.0, float(np.abs(ts).max(initial=0))))


def zscore_regions(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Z-score every region of one series over time; constant regions become zero.

    Parameters
    ----------
    ts : numpy.ndarray
        ``(n_timepoints, n_regions)``, finite.

    Returns
    -------
    zscored : numpy.ndarray
        ``(n_timepoints, n_regions)`` float64, zero mean and unit variance per region;
        regions that were constant (e.g. all-zero ROIs) are all zero, never NaN.
    flat : numpy.ndarray
        Indices of the constant regions.

    Raises
    ------
    ValueError
        If ``ts`` is not 2-D or not finite.
    """
    ts = _check_series([ts])[0]
    flat = _flat_regions(ts)
    std = ts.std(axis=0)
    std[flat] = 1.0
    out = (ts - ts.mean(axis=0)) / std
    out[:, flat] = 0.0
    return out, flat


def _finish(series: list[np.ndarray], meta: pd.DataFrame, *, standardize: bool,
            flat_rois: str, **kwargs: Any) -> RoiTimeSeries:
    if flat_rois not in ("zero", "drop_subject", "error"):
        raise ValueError(f"flat_rois must be 'zero', 'drop_subject' or 'error', got "
                         f"{flat_rois!r}.")
    kept, report = [], {"flat_rois": {}, "skipped": []}
    for i, ts in enumerate(series):
        flat = _flat_regions(ts)
        if flat.size and flat_rois == "error":
            raise ValueError(f"Subject {meta['subject'].iloc[i]!r} has constant ROIs "
                             f"{flat[:10].tolist()}; use flat_rois='zero' or 'drop_subject'.")
        if flat.size and flat_rois == "drop_subject":
            report["skipped"].append((meta["subject"].iloc[i], f"constant ROIs {flat.tolist()}"))
            continue
        if flat.size:
            report["flat_rois"][len(kept)] = flat.tolist()
        if standardize:
            ts = zscore_regions(ts)[0]
        kept.append((i, ts))
    if not kept:
        raise ValueError("No subject left after removing those with constant ROIs.")
    if report["flat_rois"]:
        warnings.warn(f"{len(report['flat_rois'])} subject(s) have constant (e.g. all-zero) "
                      "ROIs; they are kept as zeros (see .report['flat_rois']).", stacklevel=3)
    idx = [i for i, _ in kept]
    return RoiTimeSeries([ts for _, ts in kept], meta.iloc[idx].reset_index(drop=True),
                         report=report, **kwargs)


def _meta_frame(n: int, **columns: Any) -> pd.DataFrame:
    meta = pd.DataFrame(index=range(n))
    for col in _META_COLUMNS:
        value = columns.get(col)
        if value is None:
            value = [f"sub-{i:03d}" for i in range(n)] if col == "subject" else None
        if np.ndim(value) == 0:
            value = [value] * n
        if len(value) != n:
            raise ValueError(f"{col} has {len(value)} entries but there are {n} subjects.")
        meta[col] = list(value)
    _check_unique(meta["subject"].tolist())
    return meta


# ---------------------------------------------------------------------- loaders
def roi_timeseries_from_arrays(series: Sequence[Any], *, t_r: float | Sequence[float],
                               labels: Sequence[Any] | None = None,
                               sites: Sequence[str] | str | None = None,
                               subjects: Sequence[str] | None = None,
                               ages: Sequence[float] | None = None,
                               sexes: Sequence[Any] | None = None,
                               region_names: Sequence[str] | None = None,
                               region_coords: np.ndarray | None = None,
                               standardize: bool = True, flat_rois: str = "zero",
                               ) -> RoiTimeSeries:
    """Wrap plain ``(n_timepoints, n_regions)`` arrays as a :class:`RoiTimeSeries`.

    Parameters
    ----------
    series : sequence of array-like
        One ``(n_timepoints, n_regions)`` array per subject (a single 2-D array is one
        subject). Series may differ in length, not in region count.
    t_r : float | sequence of float
        Repetition time in seconds (finite, positive), one for all or one per subject.
    labels, sites, subjects, ages, sexes : sequence | None
        Per-subject metadata (``sites`` may be one string for all); subject ids must be
        unique.
    region_names : sequence of str | None
        Region names (``n_regions``).
    region_coords : numpy.ndarray | None
        ``(n_regions, 3)`` MNI coordinates in mm.
    standardize : bool
        Z-score each region of each subject over time (constant regions become 0).
    flat_rois : {"zero", "drop_subject", "error"}
        What to do with constant (e.g. all-zero) ROIs: keep them as zeros and report
        them in ``report["flat_rois"]`` (with a warning), drop the subject (reported
        in ``report["skipped"]``), or raise.

    Returns
    -------
    RoiTimeSeries

    Raises
    ------
    ValueError
        If a series is not 2-D, holds NaN/inf (the subject is named), region counts
        differ, ``t_r`` is not a finite positive number of seconds (or has neither 1
        nor ``n_subjects`` values), metadata lengths disagree, subject ids repeat, or
        coordinates have the wrong shape.
    """
    data = _check_series(series, labels=subjects)
    t_r = check_t_r(t_r, len(data), labels=subjects)
    n_regions = data[0].shape[1]
    if region_names is not None and len(region_names) != n_regions:
        raise ValueError(f"{len(region_names)} region names for {n_regions} regions.")
    if region_coords is not None:
        region_coords = np.asarray(region_coords, dtype=float)
        if region_coords.shape != (n_regions, 3):
            raise ValueError(f"region_coords must be (n_regions, 3) = ({n_regions}, 3), got "
                             f"{region_coords.shape}.")
    meta = _meta_frame(len(data), subject=subjects, site=sites, label=labels, age=ages,
                       sex=sexes, tr=list(t_r))
    return _finish(data, meta, standardize=standardize, flat_rois=flat_rois,
                   region_names=None if region_names is None else list(region_names),
                   region_coords=region_coords)


# ------------------------------------------------------------------- windowing
def resample_series(ts: np.ndarray, t_r: float, target_t_r: float) -> np.ndarray:
    """Linearly interpolate a series from ``t_r`` to ``target_t_r`` seconds per sample.

    Parameters
    ----------
    ts : numpy.ndarray
        ``(n_timepoints, n_regions)``.
    t_r, target_t_r : float
        Current and wanted sampling intervals in seconds.

    Returns
    -------
    numpy.ndarray
        ``(n_new, n_regions)`` covering the same duration,
        ``n_new = floor((n_timepoints - 1) * t_r / target_t_r) + 1``.

    Raises
    ------
    ValueError
        If a repetition time is not a finite positive number of seconds, or ``ts`` is
        not a finite 2-D array.
    """
    t_r = check_t_r(t_r)
    target_t_r = check_t_r(target_t_r, name="target_t_r")
    ts = _check_series([ts], name="ts")[0]
    if np.isclose(t_r, target_t_r):
        return ts
    old = np.arange(ts.shape[0]) * t_r
    new = np.arange(int(np.floor(old[-1] / target_t_r + 1e-9)) + 1) * target_t_r
    return np.column_stack([np.interp(new, old, ts[:, r]) for r in range(ts.shape[1])])


def segment_series(series: Sequence[np.ndarray] | RoiTimeSeries, *,
                   t_r: float | Sequence[float] | None = None, segment_seconds: float = 16.0,
                   step_seconds: float | None = None, target_t_r: float | None = None,
                   zscore: bool = False) -> Segments:
    """Cut series into fixed-length windows given in seconds (TR-aware).

    Parameters
    ----------
    series : sequence of numpy.ndarray | RoiTimeSeries
        ``(n_timepoints, n_regions)`` per subject.
    t_r : float | sequence of float | None
        Repetition time(s) in seconds; taken from the metadata of a
        :class:`RoiTimeSeries` when None.
    segment_seconds : float
        Window length in seconds (``round(segment_seconds / t_r)`` samples).
    step_seconds : float | None
        Hop between window starts; defaults to ``segment_seconds`` (no overlap).
    target_t_r : float | None
        Resample every series to this interval first (needed when subjects differ in
        TR, so that all windows have the same number of samples).
    zscore : bool
        Z-score each region within each window (constant regions become 0).

    Returns
    -------
    Segments
        ``X`` ``(n_segments, n_regions, n_samples)`` float32, ``groups`` the subject of
        each window, ``skipped`` subjects shorter than one window (reported with a
        warning).

    Raises
    ------
    ValueError
        If subjects differ in TR without ``target_t_r``, a window has fewer than 2
        samples, a duration or TR is not a finite positive number of seconds, series
        are invalid (NaN, different region counts) or no subject is long enough for
        one window.
    """
    names = None
    if isinstance(series, RoiTimeSeries):
        t_r = series.t_r if t_r is None else t_r
        names = series.meta["subject"].tolist() if "subject" in series.meta else None
        series = series.series
    data = _check_series(series, labels=names)
    if t_r is None:
        raise ValueError("t_r must be a finite positive number of seconds, or one per "
                         "subject, to cut windows in seconds; got None.")
    trs = check_t_r(t_r, len(data), labels=names)
    segment_seconds = check_seconds(segment_seconds, "segment_seconds")
    if step_seconds is not None:
        step_seconds = check_seconds(step_seconds, "step_seconds")
    if target_t_r is not None:
        target_t_r = check_t_r(target_t_r, name="target_t_r")
        data = [resample_series(ts, tr, target_t_r) for ts, tr in zip(data, trs)]
        trs = np.full(len(data), target_t_r)
    if not np.allclose(trs, trs[0]):
        raise ValueError(f"Subjects have different repetition times {sorted(set(trs))} s; "
                         "pass target_t_r to resample them to one.")
    tr = float(trs[0])
    n_win = int(round(segment_seconds / tr))
    n_step = int(round((step_seconds or segment_seconds) / tr))
    if n_win < 2 or n_step < 1:
        raise ValueError(f"A {segment_seconds} s window at TR {tr} s has {n_win} sample(s); "
                         "at least 2 are needed (and a step of at least one sample).")
    windows, groups, skipped = [], [], []
    for i, ts in enumerate(data):
        if ts.shape[0] < n_win:
            skipped.append(i)
            continue
        for start in range(0, ts.shape[0] - n_win + 1, n_step):
            windows.append(ts[start:start + n_win].T)
            groups.append(i)
    if not windows:
        raise ValueError(f"Every series is shorter than one {segment_seconds} s window "
                         f"({n_win} samples at TR {tr} s).")
    if skipped:
        who = (f"Subjects at positions {skipped[:10]}" if names is None else
               f"Subjects {[names[i] for i in skipped[:10]]} (positions {skipped[:10]})")
        warnings.warn(f"{who} are shorter than one {segment_seconds} s window ({n_win} "
                      "samples) and were skipped (see Segments.skipped).", stacklevel=2)
    X = np.stack(windows)
    if zscore:
        mean, std = X.mean(axis=2, keepdims=True), X.std(axis=2, keepdims=True)
        X = np.where(std > 1e-8, (X - mean) / np.where(std > 1e-8, std, 1.0), 0.0)
    return Segments(X.astype(np.float32), np.asarray(groups, dtype=int), skipped, tr)
