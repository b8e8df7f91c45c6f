"""Alarms from a preictal probability trace, and event metrics of seizure forecasting.

Conventions (Snyder et al. 2008; Mormann et al. 2007), all times in seconds on one
clock:

* an alarm at time ``a`` raises a *warning* for ``[a + sph, a + sph + sop]``;
* a seizure with onset ``s`` is *predicted* when an alarm falls in
  ``[s - sph - sop, s - sph]`` (equivalently, the onset falls in a warning);
* a *false alarm* is an alarm outside every ``[s - sph - sop, offset + postictal]``;
  alarms in the prediction horizon ``(s - sph, s)`` or during a seizure or its
  postictal period are neither true nor false (they are counted as ``late_alarms``);
* *interictal time* is the monitored time outside those same zones; false alarms
  per hour divide by it;
* *time in warning* is the fraction of monitored time covered by warnings;
* the *random predictor* raises warnings covering the same fraction of time at
  random: it predicts a given seizure with probability equal to the time in warning,
  so the chance of predicting at least ``k`` of ``n`` seizures is the binomial tail
  ``P(X >= k)``, ``X ~ Binomial(n, time_in_warning)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

__all__ = ["smooth_probability", "raise_alarms", "EventMetrics", "event_metrics",
           "random_predictor_pvalue", "window_auc"]


def _finite_real(name: str, value, low: float = -np.inf, high: float = np.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not low <= value <= high:
        bounds = (f"in [{low:g}, {high:g}]" if np.isfinite(high)
                  else f">= {low:g}" if np.isfinite(low) else "finite")
        raise ValueError(f"{name} must be a number {bounds}, got {value!r}.")
    return float(value)


def _probabilities(name: str, values) -> np.ndarray:
    p = np.asarray(values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_windows,), got shape {p.shape}.")
    bad = ~(np.isfinite(p) & (p >= 0) & (p <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must hold probabilities in [0, 1]; {int(bad.sum())} "
                         f"value(s) are not (the first, at index {i}, is {p[i]}).")
    return p


def _times(name: str, values, n: int | None = None) -> np.ndarray:
    t = np.asarray(values, dtype=float)
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {t.shape}.")
    if n is not None and len(t) != n:
        raise ValueError(f"{name} ({len(t)} values) and the probabilities ({n} values) must "
                         "have the same length.")
    if not np.isfinite(t).all():
        raise ValueError(f"{name} must hold finite times (seconds); found NaN or inf.")
    if len(t) > 1 and not (np.diff(t) > 0).all():
        i = int(np.flatnonzero(np.diff(t) <= 0)[0])
        raise ValueError(f"{name} must be strictly increasing (one probability per time, in "
                         f"time order); {name}[{i + 1}]={t[i + 1]:g} follows {t[i]:g}.")
    return t


def smooth_probability(probability: np.ndarray, n_windows: int, *, method: str = "mean",
                       min_fraction: float = 0.7, threshold: float = 0.5) -> np.ndarray:
    """Causal smoothing of a per-window probability trace.

    Parameters
    ----------
    probability : numpy.ndarray
        ``(n,)`` preictal probability per window, in time order.
    n_windows : int
        Span of the smoothing, in windows (>= 1).
    method : {"mean", "k_of_n"}
        ``"mean"``: moving average of the last ``n_windows`` values. ``"k_of_n"``:
        ``min(count / k, 1)`` where ``count`` of the last ``n_windows`` values exceed
        ``threshold`` and ``k = ceil(min_fraction * n_windows)``, so that the output
        reaches 1 exactly when k of n windows are above threshold.
    min_fraction : float
        Fraction of windows that must exceed ``threshold`` for ``"k_of_n"``.
    threshold : float
        Per-window threshold for ``"k_of_n"``.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` smoothed trace; the first values average over fewer windows.

    Raises
    ------
    ValueError
        On an unknown method, ``n_windows`` not an integer >= 1, ``min_fraction`` not
        in (0, 1], ``threshold`` not in [0, 1] (NaN included), or ``probability`` not
        1-D or holding values outside [0, 1] (NaN included).
    """
    p = _probabilities("probability", probability)
    if isinstance(n_windows, bool) or not isinstance(n_windows, Integral) or n_windows < 1:
        raise ValueError(f"n_windows must be an integer >= 1, got {n_windows!r}.")
    if method not in ("mean", "k_of_n"):
        raise ValueError(f"method must be 'mean' or 'k_of_n', got {method!r}.")
    _finite_real("threshold", threshold, 0.0, 1.0)
    if _finite_real("min_fraction", min_fraction, 0.0, 1.0) == 0:
        raise ValueError("min_fraction must be in (0, 1], got 0.")
    n = int(n_windows)
    values = p if method == "mean" else (p > threshold).astype(float)
    csum = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(1, len(p) + 1)
    lo = np.maximum(0, idx - n)
    mean = (csum[idx] - csum[lo]) / (idx - lo)
    if method == "mean":
        return mean
    k = max(1, int(np.ceil(min_fraction * n - 1e-9)))
    return np.minimum((csum[idx] - csum[lo]) / k, 1.0)


def raise_alarms(times: np.ndarray, score: np.ndarray, threshold: float,
                 refractory_seconds: float) -> np.ndarray:
    """Alarm times: the score crosses ``threshold`` outside a refractory period.

    Parameters
    ----------
    times : numpy.ndarray
        ``(n,)`` time (s) at which each score becomes available (e.g. window ends),
        increasing.
    score : numpy.ndarray
        ``(n,)`` smoothed preictal probability at ``times`` (e.g. from
        :func:`smooth_probability`).
    threshold : float
        An alarm is raised when ``score >= threshold``...
    refractory_seconds : float
        ...and no alarm was raised in the preceding ``refractory_seconds``.

    Returns
    -------
    numpy.ndarray
        Alarm times in seconds.

    Raises
    ------
    ValueError
        Naming the parameter: ``times`` not finite and strictly increasing, ``score``
        not of the same length or outside [0, 1] (NaN included), ``threshold`` not in
        [0, 1], or a negative or NaN refractory period.
    """
    score = _probabilities("score", score)
    times = _times("times", times, len(score))
    _finite_real("threshold", threshold, 0.0, 1.0)
    if isinstance(refractory_seconds, bool) or not isinstance(refractory_seconds, Real) \
            or not refractory_seconds >= 0:
        raise ValueError(f"refractory_seconds must be >= 0, got {refractory_seconds!r}.")
    alarms, last = [], -np.inf
    for t in times[score >= threshold]:
        if t - last >= refractory_seconds:
            alarms.append(t)
            last = t
    return np.asarray(alarms, dtype=float)


@dataclass
class EventMetrics:
    """Event-level scores of a forecaster (see the module docstring for definitions).

    Attributes
    ----------
    sensitivity : float
        Predicted seizures / seizures.
    n_seizures, n_predicted : int
    false_alarms : int
    false_alarms_per_hour : float
        False alarms per hour of interictal time.
    interictal_hours : float
    time_in_warning : float
        Fraction of monitored time in warning, in [0, 1].
    warning_times : list of float
        Per predicted seizure, onset minus the first alarm in its window, seconds.
    late_alarms : int
        Alarms in the prediction horizon, ictal or postictal period.
    p_value : float
        Chance that a random predictor with the same time in warning predicts at least
        as many seizures.
    sph_seconds, sop_seconds, postictal_seconds : float
        The parameters the scores depend on.
    """

    sensitivity: float
    n_seizures: int
    n_predicted: int
    false_alarms: int
    false_alarms_per_hour: float
    interictal_hours: float
    time_in_warning: float
    warning_times: list[float] = field(default_factory=list)
    late_alarms: int = 0
    p_value: float = 1.0
    sph_seconds: float = 0.0
    sop_seconds: float = 0.0
    postictal_seconds: float = 0.0

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return dict(vars(self))


def _intervals_length(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, -np.inf
    for a, b in sorted(intervals):
        a = max(a, end)
        if b > a:
            total += b - a
            end = b
    return total


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]):
    return [(max(x0, y0), min(x1, y1)) for x0, x1 in a for y0, y1 in b
            if min(x1, y1) > max(x0, y0)]


def _intervals(name: str, intervals) -> list[tuple[float, float]]:
    try:
        out = sorted((float(a), float(b)) for a, b in intervals)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be (start, end) pairs of seconds: {exc}") from exc
    for a, b in out:
        if not (np.isfinite(a) and np.isfinite(b) and b > a):
            raise ValueError(f"{name}: interval ({a}, {b}) must be finite with end > start.")
    return out


def event_metrics(alarms: Sequence[float], seizures: Sequence[tuple[float, float]],
                  monitored: Sequence[tuple[float, float]], *, sph_seconds: float = 300.0,
                  sop_seconds: float = 900.0, postictal_seconds: float = 1800.0,
                  ) -> EventMetrics:
    """Sensitivity, false alarms per hour, time in warning and the random-predictor test.

    Parameters
    ----------
    alarms : sequence of float
        Alarm times, seconds.
    seizures : sequence of tuple of float
        ``(onset, offset)`` of the seizures to score, seconds.
    monitored : sequence of tuple of float
        ``(start, end)`` intervals during which the forecaster ran, seconds.
    sph_seconds, sop_seconds : float
        Prediction horizon and occurrence period (see the module docstring).
    postictal_seconds : float
        Time after an offset excluded from interictal time.

    Returns
    -------
    EventMetrics

    Raises
    ------
    ValueError
        Naming the argument: no seizure, no monitored time, a time that is not finite,
        an interval that ends before it starts, overlapping seizures, ``sop_seconds``
        not > 0 or ``sph_seconds``/``postictal_seconds`` not >= 0 (NaN included), or no
        interictal time left (false alarms per hour would be undefined).

    Warns
    -----
    UserWarning
        If a seizure's onset lies outside every monitored interval: it counts as
        missed, though the forecaster never ran before it (a clock mismatch?).
    """
    _finite_real("sop_seconds", sop_seconds, 0.0)
    if sop_seconds == 0:
        raise ValueError("sop_seconds must be > 0, got 0.")
    _finite_real("sph_seconds", sph_seconds, 0.0)
    _finite_real("postictal_seconds", postictal_seconds, 0.0)
    seizures, monitored = (_intervals(nm, v) for nm, v in (("seizures", seizures),
                                                            ("monitored", monitored)))
    if not seizures:
        raise ValueError("No seizure to score: sensitivity is undefined.")
    for (a0, a1), (b0, b1) in zip(seizures, seizures[1:]):
        if b0 < a1:
            raise ValueError(f"seizures ({a0:g}, {a1:g}) and ({b0:g}, {b1:g}) overlap; list "
                             "each seizure once.")
    total = _intervals_length(monitored)
    if total <= 0:
        raise ValueError("No monitored time.")
    unseen = [s for s, _ in seizures if not any(a <= s <= b for a, b in monitored)]
    if unseen:
        warnings.warn(f"{len(unseen)} seizure(s) (onsets {[round(s, 1) for s in unseen]} s) "
                      "lie outside the monitored time: they count as missed although the "
                      "forecaster never ran before them; check that seizures and monitored "
                      "intervals are on one clock.", UserWarning, stacklevel=2)
    alarms = np.asarray(alarms, dtype=float).ravel()
    if not np.isfinite(alarms).all():
        raise ValueError("alarms must be finite times (seconds); found NaN or inf.")
    alarms = np.sort(alarms)
    zones = [(s - sph_seconds - sop_seconds, e + postictal_seconds) for s, e in seizures]
    interictal = total - _intervals_length(_intersect(monitored, zones))
    if interictal <= 0:
        raise ValueError("No interictal time is monitored: every monitored second is within "
                         "a seizure's preictal, ictal or postictal zone, so false alarms per "
                         "hour cannot be measured.")
    predicted, warning_times = 0, []
    for s, _ in seizures:
        hits = alarms[(alarms >= s - sph_seconds - sop_seconds) & (alarms <= s - sph_seconds)]
        if hits.size:
            predicted += 1
            warning_times.append(float(s - hits[0]))
    in_zone = np.zeros(alarms.shape, bool)
    in_window = np.zeros(alarms.shape, bool)
    for (s, _), (z0, z1) in zip(seizures, zones):
        in_zone |= (alarms >= z0) & (alarms <= z1)
        in_window |= (alarms >= z0) & (alarms <= s - sph_seconds)
    false = int((~in_zone).sum())
    warnings_ = [(a + sph_seconds, a + sph_seconds + sop_seconds) for a in alarms]
    tiw = _intervals_length(_intersect(monitored, warnings_)) / total
    return EventMetrics(
        sensitivity=predicted / len(seizures), n_seizures=len(seizures),
        n_predicted=predicted, false_alarms=false,
        false_alarms_per_hour=false / (interictal / 3600.0),
        interictal_hours=interictal / 3600.0, time_in_warning=tiw,
        warning_times=warning_times, late_alarms=int((in_zone & ~in_window).sum()),
        p_value=random_predictor_pvalue(predicted, len(seizures), tiw),
        sph_seconds=float(sph_seconds), sop_seconds=float(sop_seconds),
        postictal_seconds=float(postictal_seconds))


def random_predictor_pvalue(n_predicted: int, n_seizures: int,
                            time_in_warning: float) -> float:
    """P(a random predictor with this time in warning predicts >= ``n_predicted`` seizures).

    Parameters
    ----------
    n_predicted : int
        Seizures the forecaster predicted.
    n_seizures : int
        Seizures scored (> 0).
    time_in_warning : float
        Fraction of time in warning, in [0, 1]: the chance that a random warning covers
        a given onset.

    Returns
    -------
    float
        Binomial tail ``P(X >= n_predicted)``, ``X ~ Binomial(n_seizures,
        time_in_warning)``; small values mean the forecaster beats chance.

    Raises
    ------
    ValueError
        On out-of-range arguments.
    """
    from scipy.stats import binom

    if n_seizures < 1 or not 0 <= n_predicted <= n_seizures:
        raise ValueError(f"Need 0 <= n_predicted <= n_seizures and n_seizures >= 1, got "
                         f"{n_predicted} of {n_seizures}.")
    if not 0 <= time_in_warning <= 1:
        raise ValueError(f"time_in_warning must be in [0, 1], got {time_in_warning}.")
    if n_predicted == 0:
        return 1.0
    return float(binom.sf(n_predicted - 1, n_seizures, time_in_warning))


def window_auc(y_true: np.ndarray, probability: np.ndarray) -> float:
    """ROC AUC of per-window preictal probabilities (1 = preictal, 0 = interictal).

    Raises
    ------
    ValueError
        If ``y_true`` holds a single class.
    """
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true)
    if np.unique(y_true).size < 2:
        raise ValueError("window_auc needs both preictal (1) and interictal (0) windows.")
    return float(roc_auc_score(y_true, probability))
