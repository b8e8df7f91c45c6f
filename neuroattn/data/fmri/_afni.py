"""AFNI ``.1D`` ROI time series (the ABIDE PCP ``rois_<atlas>`` derivatives), read strictly.

A ``.1D`` file of the PCP holds one ``#`` header line naming the regions (``#1  #2 ...``)
and then one line per volume of whitespace-separated floats, one column per region.
``numpy.loadtxt`` (which nilearn uses) reads a truncated file as an obscure error or an
empty array; here every problem is a ``ValueError`` naming the file and the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import check_t_r
from ._series import RoiTimeSeries, roi_timeseries_from_arrays


def _header_names(line: str) -> list[str] | None:
    """Region names of an ABIDE-style header (every field ``#<name>``), else None."""
    fields = line.split()
    if len(fields) > 1 and all(f.startswith("#") and len(f) > 1 for f in fields):
        return [f[1:] for f in fields]
    return None


def read_roi_1d(path: str | Path) -> tuple[np.ndarray, list[str] | None]:
    """One subject's ROI series from an AFNI ``.1D`` text file (ABIDE PCP layout).

    Parameters
    ----------
    path : str | Path
        The file: optional ``#`` comment lines (a header whose fields are all
        ``#<name>`` names the regions), then one line per timepoint of
        whitespace-separated numbers, one per region.

    Returns
    -------
    series : numpy.ndarray
        float64 ``(n_timepoints, n_regions)``.
    region_names : list of str | None
        ``(n_regions,)`` names from the header (``"#12"`` gives ``"12"``), or None.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        Naming the file (and line): not text, no data row (empty or header-only),
        a cell that is not a number, NaN or infinity, a row with another number of
        values than the first (a truncated file), or a header naming another number
        of regions than the rows hold.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such .1D file.")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not a text .1D file (byte {exc.start} is not UTF-8 "
                         "text); expected whitespace-separated numbers.") from None
    names, rows, width = None, [], None
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if not rows and names is None:
                names = _header_names(stripped)
                header_line = lineno
            continue
        fields = stripped.split()
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            raise ValueError(f"{path}, line {lineno}: {len(fields)} values where the rows "
                             f"before have {width} (one per region); the file looks "
                             "truncated or corrupted.")
        try:
            row = np.array(fields, dtype=np.float64)
        except ValueError:
            col = next(j for j, f in enumerate(fields) if not _is_number(f))
            raise ValueError(f"{path}, line {lineno}, column {col + 1}: {fields[col]!r} is "
                             "not a number.") from None
        if not np.isfinite(row).all():
            col = int(np.flatnonzero(~np.isfinite(row))[0])
            raise ValueError(f"{path}, line {lineno}, column {col + 1}: NaN or infinity "
                             f"({fields[col]!r}); expected finite ROI means.")
        rows.append(row)
    if not rows:
        what = "is empty" if not text.strip() else "has only comment/header lines"
        raise ValueError(f"{path} {what}: no data rows; expected one line of numbers per "
                         "timepoint.")
    if names is not None and len(names) != width:
        raise ValueError(f"{path}, line {header_line}: the header names {len(names)} regions "
                         f"but the rows hold {width} values; the file looks truncated or "
                         "corrupted.")
    return np.stack(rows), names


def _first_line_names(path: Path) -> int | None:
    """Number of regions the header (first line) of a ``.1D`` file names, if it names any."""
    with open(path, "rb") as fh:
        line = fh.readline().decode("utf-8", errors="replace")
    names = _header_names(line.strip())
    return None if names is None else len(names)


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def load_roi_1d(paths: Sequence[str | Path], *, t_r: float | Sequence[float],
                labels: Sequence[Any] | None = None,
                sites: Sequence[str] | str | None = None,
                subjects: Sequence[str] | None = None, ages: Sequence[float] | None = None,
                sexes: Sequence[Any] | None = None, standardize: bool = True,
                flat_rois: str = "zero") -> RoiTimeSeries:
    """ROI series of several subjects from ``.1D`` files of one atlas.

    Parameters
    ----------
    paths : sequence of str | Path
        One ``.1D`` file per subject (see :func:`read_roi_1d`).
    t_r : float | sequence of float
        Repetition time in seconds (finite, positive), one for all or one per file.
    labels, sites, ages, sexes : sequence | None
        Per-subject metadata, as in :func:`roi_timeseries_from_arrays`.
    subjects : sequence of str | None
        Subject ids; the file names without suffix when None.
    standardize : bool
        Z-score every region of every file over time (constant regions become 0).
    flat_rois : {"zero", "drop_subject", "error"}
        Handling of constant ROIs, as in :func:`roi_timeseries_from_arrays`.

    Returns
    -------
    RoiTimeSeries
        ``region_names`` from the files' header when they have one.

    Raises
    ------
    ValueError
        If a file is unreadable (see :func:`read_roi_1d`), files differ in their number
        of regions or region names (the file is named), ``t_r`` is not a finite
        positive number of seconds, or metadata lengths disagree.
    FileNotFoundError
        If a file is missing.
    """
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not paths:
        raise ValueError("paths is empty: expected one .1D file per subject.")
    check_t_r(t_r, len(paths))  # before reading anything
    series, names = [], None
    for path in paths:
        ts, these = read_roi_1d(path)
        if series and ts.shape[1] != series[0].shape[1]:
            raise ValueError(f"{path} has {ts.shape[1]} regions but {paths[0]} has "
                             f"{series[0].shape[1]}: all files must use the same atlas.")
        if names is not None and these is not None and these != names:
            raise ValueError(f"{path} names other regions than {paths[0]} (header "
                             f"{these[:5]}... vs {names[:5]}...): all files must use the "
                             "same atlas.")
        names = these if names is None else names
        series.append(ts)
    subjects = [p.stem for p in paths] if subjects is None else subjects
    return roi_timeseries_from_arrays(series, t_r=t_r, labels=labels, sites=sites,
                                      subjects=subjects, ages=ages, sexes=sexes,
                                      region_names=names, standardize=standardize,
                                      flat_rois=flat_rois)


def diagnose_1d_files(arrays: Sequence[Any], paths: Sequence[Path]) -> list[np.ndarray]:
    """Check arrays read from ``paths`` by another reader; re-read suspicious files strictly.

    A file whose array is not a finite non-empty 2-D array is read with
    :func:`read_roi_1d`, which raises naming the file and line (or returns the proper
    2-D array, e.g. for a one-row file that ``numpy.loadtxt`` made 1-D). A file with
    another number of regions than the first is named.

    Returns
    -------
    list of numpy.ndarray
        float64 ``(n_timepoints, n_regions)`` arrays.
    """
    out = []
    if len(arrays) != len(paths):
        raise ValueError(f"{len(arrays)} arrays for {len(paths)} paths: expected one array "
                         "per file.")
    for arr, path in zip(arrays, paths, strict=True):
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim != 2 or arr.size == 0 or not np.isfinite(arr).all() or (
                _first_line_names(path) not in (None, arr.shape[1])):
            arr = read_roi_1d(path)[0]
        if out and arr.shape[1] != out[0].shape[1]:
            raise ValueError(f"{path} has {arr.shape[1]} regions but {paths[0]} has "
                             f"{out[0].shape[1]}: all files must use the same atlas.")
        out.append(arr)
    return out
