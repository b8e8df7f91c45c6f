"""Online pieces of live monitoring: the alarm rule one window at a time, and a causal
band-pass carrying its state across chunks (used by ``_live.py``)."""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["OnlineAlarmRule", "CausalBandpass"]


class OnlineAlarmRule:
    """:meth:`SeizureForecaster.alarms_from_proba`, one window at a time.

    Over evenly spaced windows it gives the same smoothed score and alarms as the
    offline rule (``smoothing_seconds / step`` windows, k of n or mean, threshold,
    refractory period). Its span is counted in time, so windows missing (skipped at a
    gap) are not counted.

    Parameters
    ----------
    estimator : SeizureForecaster
        Holds the rule's parameters (``smoothing``, ``smoothing_seconds``,
        ``min_fraction``, ``threshold``, ``refractory_seconds``, ``sop_seconds``).
    step_seconds : float
        Time between consecutive windows, seconds (> 0).

    Raises
    ------
    ValueError
        If a rule parameter is out of range or ``step_seconds`` is not positive.
    """

    def __init__(self, estimator, step_seconds: float) -> None:
        estimator._check_alarm_params()
        if not step_seconds > 0:
            raise ValueError(f"step_seconds must be > 0, got {step_seconds!r}.")
        self.step = float(step_seconds)
        self.n = max(1, int(round(estimator.smoothing_seconds / self.step)))
        self.method = estimator.smoothing
        self.threshold = float(estimator.threshold)
        self.k = max(1, int(np.ceil(estimator.min_fraction * self.n - 1e-9)))
        self.refractory = float(estimator.sop_seconds if estimator.refractory_seconds is None
                                else estimator.refractory_seconds)
        self._recent: deque[tuple[float, float]] = deque()
        self._last_alarm = -np.inf

    def update(self, t: float, probability: float) -> tuple[float, bool]:
        """Add the probability of the window ending at ``t`` (s, increasing).

        Parameters
        ----------
        t : float
            Window end, seconds.
        probability : float
            Preictal probability in [0, 1].

        Returns
        -------
        score : float
            Smoothed probability.
        alarm : bool
            Whether an alarm is raised at ``t``.

        Raises
        ------
        ValueError
            If ``probability`` is not in [0, 1] or ``t`` does not increase.
        """
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {probability!r}.")
        if self._recent and not t > self._recent[-1][0]:
            raise ValueError(f"t must increase: {t:g} follows {self._recent[-1][0]:g}.")
        value = probability if self.method == "mean" else float(probability > self.threshold)
        self._recent.append((float(t), value))
        # The last n windows of an even grid: ends within (t - n * step, t].
        while self._recent[0][0] <= t - (self.n - 0.5) * self.step:
            self._recent.popleft()
        total = sum(v for _, v in self._recent)
        if self.method == "mean":
            score, thr = total / len(self._recent), self.threshold
        else:
            score, thr = min(total / self.k, 1.0), 1.0
        alarm = bool(score >= thr and t - self._last_alarm >= self.refractory)
        if alarm:
            self._last_alarm = t
        return float(score), alarm


class CausalBandpass:
    """Band-pass applied chunk by chunk, its state carried across chunks.

    MNE's FIR design for the same edges as the offline filter
    (``mne.filter.create_filter``), applied causally (``scipy.signal.lfilter`` with
    its state kept). ``phase="linear"``: the offline linear-phase filter itself, so the
    output, read ``delay`` samples later (half the filter length), equals the offline
    zero-phase output. ``phase="minimum"``: its minimum-phase version (the same
    magnitude response, no added delay, a different waveform). At the first chunk
    (and after :meth:`reset`) the state starts at the steady state of the first
    sample, so a DC offset gives no step.

    Parameters
    ----------
    sfreq : float
        Sampling rate, Hz.
    l_freq, h_freq : float | None
        Band edges, Hz (None: that edge is not filtered; both None: identity).
    phase : {"linear", "minimum"}
        Which causal version of the offline filter.

    Attributes
    ----------
    delay : int
        Samples by which the output lags the offline zero-phase output (0 for
        ``"minimum"`` or without filtering).
    """

    def __init__(self, sfreq: float, l_freq: float | None, h_freq: float | None,
                 phase: str = "linear") -> None:
        if phase not in ("linear", "minimum"):
            raise ValueError(f"filter_phase must be 'linear' or 'minimum', got {phase!r}.")
        self.sfreq, self.l_freq, self.h_freq = float(sfreq), l_freq, h_freq
        self.h, self.delay = None, 0
        if l_freq is not None or h_freq is not None:
            import mne

            # create_filter only reads the data's length (to warn when it is short).
            self.h = mne.filter.create_filter(
                np.zeros((1, int(60 * sfreq))), sfreq, l_freq, h_freq,
                phase="zero" if phase == "linear" else "minimum", verbose="error")
            if phase == "linear":
                self.delay = (len(self.h) - 1) // 2
        self.zi = None

    def reset(self) -> None:
        """Forget the state: the next chunk starts a new segment."""
        self.zi = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Filter ``(n_chans, n_samples)`` and keep the state for the next chunk."""
        if self.h is None or x.shape[-1] == 0:
            return x
        from scipy.signal import lfilter, lfilter_zi

        if self.zi is None:
            self.zi = lfilter_zi(self.h, [1.0])[None, :] * x[:, :1]
        y, self.zi = lfilter(self.h, [1.0], x, axis=-1, zi=self.zi)
        return y
