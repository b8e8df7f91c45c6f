"""Labelling seizure windows preictal, interictal or excluded, and class balancing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["PREICTAL", "INTERICTAL", "EXCLUDED", "SPLIT_SEIZURE_MAX_GAP", "label_windows",
           "balanced_indices", "subject_seizures"]

#: Window labels: preictal, interictal, and excluded (left out of training and scoring).
PREICTAL, INTERICTAL, EXCLUDED = 1, 0, -1

#: Longest recording gap (s) across which a seizure listed up to the end of one file and
#: one listed from the start of the next file are one seizure cut by the file boundary.
#: CHB-MIT's gaps between consecutive files are "10 seconds or less" in most cases.
SPLIT_SEIZURE_MAX_GAP = 60.0
_EDGE = 1.0  # s: summaries give whole seconds, so "at the file's end/start" is within 1 s


def subject_seizures(recordings: Sequence, *,
                     max_gap_seconds: float = SPLIT_SEIZURE_MAX_GAP,
                     ) -> list[tuple[float, float]]:
    """The seizures of one subject on its clock, a seizure cut by a file boundary joined.

    A seizure that starts near the end of one file and goes on in the next is listed
    twice by CHB-MIT-style summaries: up to the end of the first file, and from 0 s in
    the next. Counted as two, the second part would look like a new onset (with its own
    preictal period inside the first seizure's prediction horizon). Here the two
    parts are joined into one ``(onset, offset)``: a seizure ending within 1 s of its
    file's end, followed by one starting within 1 s of the next file's start, the two
    files at most ``max_gap_seconds`` apart on the clock.

    Parameters
    ----------
    recordings : sequence of SeizureRecording
        Files of one subject (``start`` on one clock; ``duration`` read when None).
    max_gap_seconds : float
        Longest gap between the two files, seconds (>= 0).

    Returns
    -------
    list of tuple of float
        ``(onset, offset)`` seconds on the subject's clock, in onset order.

    Raises
    ------
    ValueError
        If ``max_gap_seconds`` is not a finite number >= 0.
    """
    _check_number("max_gap_seconds", max_gap_seconds)
    recs = sorted(recordings, key=lambda r: r.start)
    for r in recs:
        if r.duration is None:
            r.open()
    merged: list[list] = []  # [onset, offset, file index, reaches the file's end]
    for k, r in enumerate(recs):
        for on, off in sorted(r.seizures):
            last = merged[-1] if merged else None
            if (last is not None and last[3] and last[2] == k - 1 and on <= _EDGE
                    and r.start - (recs[k - 1].start + recs[k - 1].duration)
                    <= max_gap_seconds):
                last[1], last[2], last[3] = r.start + off, k, r.duration - off <= _EDGE
                continue
            merged.append([r.start + on, r.start + off, k, r.duration - off <= _EDGE])
    return [(float(a), float(b)) for a, b, _, _ in merged]


def _check_number(name: str, value, *, positive: bool = False) -> float:
    """``value`` as a float if it is a finite real number (> 0 if ``positive``, else
    >= 0); otherwise a ValueError naming ``name``."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool) and np.isfinite(value) and (value > 0 if positive else value >= 0)
    if not ok:
        raise ValueError(f"{name} must be a finite number {'> 0' if positive else '>= 0'} "
                         f"(seconds or Hz), got {value!r}.")
    return float(value)


def label_windows(starts: np.ndarray, window_seconds: float,
                  seizures: Sequence[tuple[float, float]], *, sph_seconds: float = 300.0,
                  sop_seconds: float = 900.0, min_interictal_seconds: float = 4 * 3600.0,
                  postictal_seconds: float = 1800.0) -> tuple[np.ndarray, np.ndarray]:
    """Label windows preictal (1), interictal (0) or excluded (-1).

    Parameters
    ----------
    starts : numpy.ndarray
        ``(n,)`` window starts in seconds, on the same clock as ``seizures``.
    window_seconds : float
        Window length in seconds (a window is labelled by its whole span).
    seizures : sequence of tuple of float
        ``(onset, offset)`` of every seizure of the subject, seconds (all files).
    sph_seconds : float
        Seizure prediction horizon: preictal windows end at least this long before
        the onset.
    sop_seconds : float
        Seizure occurrence period (preictal length): preictal windows lie within
        ``[onset - sph - sop, onset - sph]``.
    min_interictal_seconds : float
        Interictal windows are at least this far from every seizure.
    postictal_seconds : float
        Time after a seizure's offset that is never preictal (nor interictal).

    Returns
    -------
    labels : numpy.ndarray
        ``(n,)`` int8 in {1, 0, -1}.
    seizure_index : numpy.ndarray
        ``(n,)`` index (in onset order) of the seizure a preictal window precedes,
        -1 for other windows.

    Raises
    ------
    ValueError
        Naming the parameter: a length that is not a finite number (> 0 for
        ``window_seconds`` and ``sop_seconds``, >= 0 for the others), window starts
        that are not finite, or a seizure that is not ``(onset, offset)`` with finite
        ``onset < offset``.
    """
    for nm, v in (("sph_seconds", sph_seconds),
                  ("min_interictal_seconds", min_interictal_seconds),
                  ("postictal_seconds", postictal_seconds)):
        _check_number(nm, v)
    _check_number("sop_seconds", sop_seconds, positive=True)
    _check_number("window_seconds", window_seconds, positive=True)
    starts = np.asarray(starts, dtype=float)
    if starts.ndim != 1 or not np.isfinite(starts).all():
        raise ValueError("starts must be a 1-D array of finite window starts (seconds).")
    for sz in seizures:
        try:
            onset, offset = (float(v) for v in sz)
        except (TypeError, ValueError):
            onset = offset = float("nan")
        if not (np.isfinite(onset) and np.isfinite(offset) and onset < offset):
            raise ValueError(f"seizures must be (onset, offset) pairs of finite seconds with "
                             f"onset < offset, got {sz!r}.")
    ends = starts + window_seconds
    labels = np.zeros(starts.shape, dtype=np.int8)
    seizure_index = np.full(starts.shape, -1, dtype=np.int64)
    seizures = sorted(seizures)
    for k, (onset, offset) in enumerate(seizures):
        near = (ends > onset - min_interictal_seconds) & (starts < offset + min_interictal_seconds)
        labels[near] = EXCLUDED
        pre = (starts >= onset - sph_seconds - sop_seconds) & (ends <= onset - sph_seconds)
        seizure_index[pre & (seizure_index < 0)] = k
    for k in range(len(seizures)):
        labels[seizure_index == k] = PREICTAL
    # No preictal window inside any seizure or its postictal period.
    for onset, offset in seizures:
        bad = (ends > onset) & (starts < offset + postictal_seconds)
        labels[bad] = EXCLUDED
        seizure_index[bad] = -1
    return labels, seizure_index



def balanced_indices(y: np.ndarray, *, mode: str = "undersample",
                     random_state: int | np.random.Generator | None = None) -> np.ndarray:
    """Indices that balance the classes by sampling (no data is copied).

    Parameters
    ----------
    y : numpy.ndarray
        ``(n,)`` labels.
    mode : {"undersample", "oversample"}
        Draw every class down to the rarest one's count (without replacement), or up to
        the most frequent one's (with replacement).
    random_state : int | numpy.random.Generator | None
        Seed.

    Returns
    -------
    numpy.ndarray
        Sorted indices into ``y``; use ``X[idx]`` lazily (e.g. in a sampler).

    Raises
    ------
    ValueError
        With an unknown mode or a single class.
    """
    if mode not in ("undersample", "oversample"):
        raise ValueError(f"mode must be 'undersample' or 'oversample', got {mode!r}.")
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"Balancing needs at least 2 classes, found {classes.tolist()}.")
    rng = np.random.default_rng(random_state)
    n = counts.min() if mode == "undersample" else counts.max()
    out = [rng.choice(np.flatnonzero(y == c), size=n, replace=mode == "oversample"
                      and cnt < n) for c, cnt in zip(classes, counts)]
    return np.sort(np.concatenate(out))
