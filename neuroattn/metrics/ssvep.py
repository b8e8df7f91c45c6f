"""SSVEP metrics: the information transfer rate (Wolpaw et al. 2002) of a speller."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["itr_bits_per_minute"]


def itr_bits_per_minute(accuracy: Any, n_targets: int, selection_seconds: Any) -> Any:
    """Wolpaw information transfer rate in bits per minute.

    ``B = log2(N) + P log2(P) + (1 - P) log2((1 - P) / (N - 1))`` bits per selection
    (``N`` targets, accuracy ``P``), times ``60 / T`` selections per minute. At or
    below chance (``P <= 1 / N``) the rate is 0: the formula's negative values (and its
    NaN at ``P = 0``) mean no information, not a negative amount.

    Parameters
    ----------
    accuracy : float | array-like
        Fraction of correct selections, in [0, 1].
    n_targets : int
        Number of targets (classes) a selection chooses among, at least 2.
    selection_seconds : float | array-like
        Time of one selection in seconds: the stimulation window plus the gaze-shift
        (cue) time between selections, e.g. 0.4 s + 0.5 s in Guney et al. (2021).
        Broadcast against ``accuracy``.

    Returns
    -------
    float | numpy.ndarray
        Bits per minute (a float for scalar inputs), never negative.

    Raises
    ------
    ValueError
        If an accuracy is outside [0, 1] or not finite, ``n_targets`` is not an
        integer of at least 2, or a selection time is not positive.

    Examples
    --------
    >>> round(itr_bits_per_minute(1.0, 40, 1.0), 2)  # log2(40) * 60
    319.32
    """
    p = np.asarray(accuracy, dtype=float)
    t = np.asarray(selection_seconds, dtype=float)
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy!r}.")
    if isinstance(n_targets, (bool, np.bool_)) or int(n_targets) != n_targets \
            or n_targets < 2:
        raise ValueError(f"n_targets must be an integer of at least 2, got {n_targets!r}.")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"selection_seconds must be positive, got {selection_seconds!r}.")
    n = int(n_targets)
    with np.errstate(divide="ignore", invalid="ignore"):
        bits = (np.log2(n)
                + np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
                + np.where(p < 1, (1 - p) * np.log2(np.where(p < 1, (1 - p) / (n - 1), 1.0)),
                           0.0))
    bits = np.where(p <= 1.0 / n, 0.0, np.maximum(bits, 0.0))
    rate = bits * 60.0 / t
    return float(rate) if rate.ndim == 0 else rate
