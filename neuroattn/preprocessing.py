"""Signal preprocessing transformers (scikit-learn API, numpy only).

* :class:`EuclideanAlignment` - whitens trials by their mean spatial covariance
  (He & Wu 2019), e.g. before a network in a MOABB pipeline;
* :class:`BandPowerFeatures` / :func:`band_power_features` - log band powers and line
  length per channel, the classical features of the seizure baseline;
* :class:`SubBandFilter` - the harmonic filter bank of SSVEP decoders (Guney et al.
  2021): a window after the visual latency, band-passed into sub-bands.

Inputs are trials or windows ``(n, n_chans, n_times)`` in microvolts. This module sits
at the data level of the layering: it knows nothing of torch modules or training.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import linalg
from scipy import signal as _signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["DEFAULT_BANDS", "band_power_features", "BandPowerFeatures", "EuclideanAlignment",
           "SubBandFilter"]

#: Delta, theta, alpha, beta, low gamma edges in Hz.
DEFAULT_BANDS = ((1.0, 4.0), (4.0, 8.0), (8.0, 13.0), (13.0, 30.0), (30.0, 45.0))


def band_power_features(X: np.ndarray, sfreq: float,
                        bands: Sequence[tuple[float, float]] = DEFAULT_BANDS,
                        line_length: bool = True) -> np.ndarray:
    """Log band power per channel and band (Welch), plus log line length per channel.

    Parameters
    ----------
    X : numpy.ndarray
        ``(n_windows, n_chans, n_times)`` signals (microvolts).
    sfreq : float
        Sampling frequency in Hz.
    bands : sequence of (float, float)
        Band edges in Hz; bands above Nyquist are clipped, empty ones dropped.
    line_length : bool
        Append ``log(mean |x[t+1] - x[t]|)`` per channel.

    Returns
    -------
    numpy.ndarray
        ``(n_windows, n_chans * (n_bands + line_length))`` float64.

    Raises
    ------
    ValueError
        If ``X`` is not 3-D or ``sfreq`` is not positive.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 3:
        raise ValueError(f"X must be (n_windows, n_chans, n_times), got shape {X.shape}.")
    if sfreq <= 0:
        raise ValueError(f"sfreq must be positive (Hz), got {sfreq}.")
    nperseg = min(X.shape[-1], int(sfreq * 2))
    freqs, psd = _signal.welch(X, fs=sfreq, nperseg=nperseg, axis=-1)
    feats = []
    for lo, hi in bands:
        sel = (freqs >= lo) & (freqs < min(hi, sfreq / 2))
        if sel.any():
            feats.append(np.log(psd[..., sel].mean(axis=-1) + 1e-12))
    if line_length:
        feats.append(np.log(np.abs(np.diff(X, axis=-1)).mean(axis=-1) + 1e-12))
    return np.concatenate(feats, axis=1)


class BandPowerFeatures(TransformerMixin, BaseEstimator):
    """scikit-learn transformer wrapping :func:`band_power_features`.

    Parameters
    ----------
    sfreq : float
        Sampling frequency of the windows it will transform, Hz.
    bands : sequence of (float, float)
        Band edges in Hz.
    line_length : bool
        Add line length per channel.
    """

    def __init__(self, sfreq: float = 256.0, bands: Sequence[tuple[float, float]] = DEFAULT_BANDS,
                 line_length: bool = True) -> None:
        self.sfreq = sfreq
        self.bands = bands
        self.line_length = line_length

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> BandPowerFeatures:
        """Record the input shape; returns self."""
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError(f"X must be (n_windows, n_chans, n_times), got shape {X.shape}.")
        self.n_chans_ = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Features ``(n_windows, n_features)``."""
        check_is_fitted(self, "n_chans_")
        X = np.asarray(X)
        if X.ndim != 3 or X.shape[1] != self.n_chans_:
            raise ValueError(f"X must be (n_windows, {self.n_chans_}, n_times), got shape "
                             f"{X.shape}.")
        return band_power_features(X, self.sfreq, self.bands, self.line_length)


class EuclideanAlignment(TransformerMixin, BaseEstimator):
    """Euclidean alignment (He & Wu 2019): whiten trials by their mean spatial covariance.

    ``fit`` averages the trials' covariances ``R = mean_i X_i X_i^T / n_times`` and
    ``transform`` returns ``R^{-1/2} X_i``, so that the aligned training trials have an
    identity mean covariance. Fit on training trials only (in a pipeline, or per
    subject / session) so that no test information leaks.

    Parameters
    ----------
    shrinkage : float
        Fraction in [0, 1) of the average eigenvalue added to the diagonal of ``R``
        before inversion (keeps rank-deficient data, e.g. after average reference,
        invertible).

    Attributes
    ----------
    reference_ : numpy.ndarray
        ``(n_chans, n_chans)`` mean covariance of the training trials (units squared).
    inv_sqrt_ : numpy.ndarray
        ``(n_chans, n_chans)`` whitening matrix ``R^{-1/2}``.
    n_features_in_ : int
        ``n_chans * n_times`` seen at ``fit``.
    """

    def __init__(self, shrinkage: float = 1e-3) -> None:
        self.shrinkage = shrinkage

    @staticmethod
    def _check(X: Any) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError("EuclideanAlignment expects trials (n_trials, n_chans, n_times), "
                             f"got shape {X.shape}.")
        if not np.isfinite(X).all():
            raise ValueError("EuclideanAlignment: X contains NaN or infinity.")
        return X.astype(np.float64, copy=False)

    def fit(self, X: Any, y: Any = None) -> EuclideanAlignment:
        """Estimate the mean covariance of ``X`` ``(n_trials, n_chans, n_times)``.

        Returns
        -------
        self
        """
        if not 0 <= self.shrinkage < 1:
            raise ValueError(f"shrinkage must be in [0, 1), got {self.shrinkage}.")
        X = self._check(X)
        ref = np.einsum("nct,ndt->cd", X, X) / (X.shape[0] * X.shape[2])
        ref += self.shrinkage * np.trace(ref) / ref.shape[0] * np.eye(ref.shape[0])
        vals, vecs = linalg.eigh(ref)
        if vals.min() <= 0:
            raise ValueError("The mean covariance is singular (a flat or duplicated channel?); "
                             "raise shrinkage or drop the channel.")
        self.reference_ = ref
        self.inv_sqrt_ = (vecs / np.sqrt(vals)) @ vecs.T
        self.n_features_in_ = X.shape[1] * X.shape[2]
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Aligned trials ``(n_trials, n_chans, n_times)``, float32, whitened units."""
        check_is_fitted(self, "inv_sqrt_")
        X = self._check(X)
        if X.shape[1] != self.inv_sqrt_.shape[0]:
            raise ValueError(f"X has {X.shape[1]} channels; EuclideanAlignment was fitted on "
                             f"{self.inv_sqrt_.shape[0]}.")
        return np.einsum("cd,ndt->nct", self.inv_sqrt_, X).astype(np.float32)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class SubBandFilter(TransformerMixin, BaseEstimator):
    """Harmonic sub-bands of SSVEP trials (Guney et al. 2021), zero-phase filtered.

    Each trial is cut to ``window_seconds`` starting ``latency_seconds`` after its
    first sample, then band-passed into ``n_subbands`` bands whose lower passband
    edges sit at the multiples of the lowest stimulus frequency, less ``margin``
    (``i * min(stim_freqs) - margin``, ``i = 1..n_subbands``), with one common upper
    edge: the ``i``-th band holds the ``i``-th and higher harmonics of every target.
    The filters are Chebyshev type I band-passes (``order``, 1 dB passband ripple),
    applied forward and backward (``scipy.signal.sosfiltfilt``: zero phase, squared
    magnitude). Only the window is filtered, so a decision uses no sample after it.
    Guney et al. use 8i-90 Hz passbands for 8-15.8 Hz targets, order 2, no margin.

    Parameters
    ----------
    stim_freqs : sequence of float | None, default=None
        Stimulus (target) frequencies in Hz; required.
    n_subbands : int, default=3
        Number of sub-bands.
    sfreq : float | None, default=None
        Sampling frequency in Hz; None takes it from an ``mne.Epochs`` (required for
        arrays).
    upper_edge : float, default=90.0
        Common upper passband edge in Hz, below Nyquist.
    window_seconds : float, default=1.0
        Length of the analysed window in seconds (0.2-4 s in the paper's
        comparisons); at least one period of the lowest stimulus frequency.
    latency_seconds : float, default=0.0
        Visual latency shift: the window starts this long after the trial's first
        sample (0.13-0.14 s in the paper, whose trials start at stimulus onset).
    margin : float, default=2.0
        Hz subtracted from each harmonic multiple to give a lower passband edge, so
        that the harmonic itself is well inside its band.
    order : int, default=2
        Order of the Chebyshev prototype of each band-pass.

    Attributes
    ----------
    bands_ : numpy.ndarray
        ``(n_subbands, 2)`` passband edges in Hz.
    sfreq_ : float
        Sampling frequency used (Hz).
    n_chans_ : int
        Channels seen at ``fit``.
    n_times_window_ : int
        Samples per output window, ``round(window_seconds * sfreq_)``.
    """

    def __init__(self, stim_freqs: Sequence[float] | None = None, n_subbands: int = 3,
                 sfreq: float | None = None, upper_edge: float = 90.0,
                 window_seconds: float = 1.0, latency_seconds: float = 0.0,
                 margin: float = 2.0, order: int = 2) -> None:
        self.stim_freqs = stim_freqs
        self.n_subbands = n_subbands
        self.sfreq = sfreq
        self.upper_edge = upper_edge
        self.window_seconds = window_seconds
        self.latency_seconds = latency_seconds
        self.margin = margin
        self.order = order

    def _read(self, X: Any) -> tuple[np.ndarray, float]:
        """Trials ``(n, n_chans, n_times)`` (microvolts for an ``mne.Epochs``) and sfreq."""
        sfreq = self.sfreq
        if hasattr(X, "get_data") and hasattr(X, "info"):  # mne.Epochs, duck-typed
            epochs_sfreq = float(X.info["sfreq"])
            if sfreq is not None and not np.isclose(sfreq, epochs_sfreq):
                raise ValueError(f"SubBandFilter: sfreq={sfreq} Hz, but the epochs are "
                                 f"sampled at {epochs_sfreq} Hz.")
            sfreq = epochs_sfreq
            X = X.get_data(picks=["eeg", "seeg", "ecog", "dbs"], units="uV")
        X = np.asarray(X)
        if X.ndim != 3 or X.dtype.kind not in "biuf":
            raise ValueError("SubBandFilter expects real trials (n_trials, n_chans, n_times) "
                             f"or an mne.Epochs, got an array of shape {X.shape} and dtype "
                             f"{X.dtype}.")
        if min(X.shape) == 0:
            raise ValueError(f"SubBandFilter: X is empty (shape {X.shape}).")
        if not np.isfinite(X).all():
            raise ValueError("SubBandFilter: X contains NaN or infinity.")
        if sfreq is None:
            raise ValueError("SubBandFilter needs sfreq (Hz) for array input; pass "
                             "sfreq= or an mne.Epochs.")
        return X.astype(np.float64, copy=False), float(sfreq)

    def _design(self, sfreq: float) -> tuple[np.ndarray, list[np.ndarray]]:
        """Check the parameters against ``sfreq``; passband edges and SOS filters."""
        if not sfreq > 0:
            raise ValueError(f"sfreq must be positive (Hz), got {sfreq}.")
        freqs = np.atleast_1d(np.asarray(self.stim_freqs if self.stim_freqs is not None
                                         else [], dtype=float))
        nyquist = sfreq / 2
        if freqs.ndim != 1 or freqs.size == 0 or not np.all(np.isfinite(freqs)) \
                or np.any(freqs <= 0):
            raise ValueError(f"stim_freqs must be positive frequencies in Hz, got "
                             f"{self.stim_freqs!r}.")
        if np.any(freqs >= nyquist):
            raise ValueError(f"stim_freqs {freqs[freqs >= nyquist].tolist()} Hz are at or "
                             f"above Nyquist ({nyquist} Hz at sfreq={sfreq} Hz).")
        if isinstance(self.n_subbands, bool) or int(self.n_subbands) != self.n_subbands \
                or self.n_subbands < 1:
            raise ValueError(f"n_subbands must be a positive integer, got {self.n_subbands!r}.")
        if isinstance(self.order, bool) or int(self.order) != self.order or self.order < 1:
            raise ValueError(f"order must be a positive integer, got {self.order!r}.")
        if not 0 < self.upper_edge < nyquist:
            raise ValueError(f"upper_edge must be in (0, {nyquist}) Hz (below Nyquist at "
                             f"sfreq={sfreq} Hz), got {self.upper_edge}.")
        low = min(freqs)
        lower = np.arange(1, int(self.n_subbands) + 1) * low - self.margin
        if not 0 <= self.margin < low:
            raise ValueError(f"margin must be in [0, {low}) Hz (the lowest stimulus "
                             f"frequency), got {self.margin}.")
        if lower[-1] >= self.upper_edge:
            raise ValueError(
                f"{int(self.n_subbands)} sub-bands do not fit: sub-band "
                f"{int(self.n_subbands)} starts at {lower[-1]:g} Hz, at or above "
                f"upper_edge={self.upper_edge} Hz (max {nyquist} Hz at sfreq={sfreq} Hz); "
                "use fewer sub-bands or a higher upper_edge / sfreq.")
        period = 1.0 / low
        if not self.window_seconds >= period:
            raise ValueError(f"window_seconds={self.window_seconds} is shorter than one "
                             f"period of the lowest stimulus frequency ({low:g} Hz: "
                             f"{period:.4g} s).")
        if not self.latency_seconds >= 0:
            raise ValueError(f"latency_seconds must be >= 0, got {self.latency_seconds}.")
        bands = np.column_stack([lower, np.full_like(lower, self.upper_edge)])
        sos = [_signal.cheby1(int(self.order), 1.0, [lo, hi], btype="bandpass", fs=sfreq,
                              output="sos") for lo, hi in bands]
        return bands, sos

    def fit(self, X: Any, y: Any = None) -> SubBandFilter:
        """Check the parameters against ``X`` (trials or an ``mne.Epochs``) and design
        the filters.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If a stimulus frequency or a sub-band does not fit below Nyquist, the window
            is shorter than one period of the lowest target or does not fit in the
            trials after ``latency_seconds``, or ``X`` is not 3-D, finite trials.
        """
        X, sfreq = self._read(X)
        self.bands_, self._sos = self._design(sfreq)
        self.sfreq_ = sfreq
        self.n_chans_ = X.shape[1]
        self.n_times_window_ = int(round(self.window_seconds * sfreq))
        self._window(X.shape[2])
        self.n_features_in_ = X.shape[1] * X.shape[2]
        return self

    def _window(self, n_times: int) -> slice:
        start = int(round(self.latency_seconds * self.sfreq_))
        stop = start + self.n_times_window_
        if stop > n_times:
            raise ValueError(
                f"SubBandFilter: the window ({self.latency_seconds} s latency + "
                f"{self.window_seconds} s = {stop} samples at {self.sfreq_} Hz) does not fit "
                f"in trials of {n_times} samples.")
        return slice(start, stop)

    def transform(self, X: Any) -> np.ndarray:
        """Sub-band windows ``(n_trials, n_subbands, n_chans, n_times_window)``, float32
        (microvolts for an ``mne.Epochs``).

        Raises
        ------
        ValueError
            If ``X`` has another channel count or sampling rate than at ``fit``, or the
            window does not fit in its trials.
        """
        X = self._checked(X)
        return self._filter(X[:, :, self._window(X.shape[2])])

    def _filter(self, window: np.ndarray) -> np.ndarray:
        window = window - window.mean(axis=-1, keepdims=True)
        out = np.stack([_signal.sosfiltfilt(sos, window, axis=-1) for sos in self._sos],
                       axis=1)
        return out.astype(np.float32)

    def _checked(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "bands_")
        X, sfreq = self._read(X)
        if not np.isclose(sfreq, self.sfreq_):
            raise ValueError(f"SubBandFilter was fitted at {self.sfreq_} Hz, X is sampled at "
                             f"{sfreq} Hz.")
        if X.shape[1] != self.n_chans_:
            raise ValueError(f"X has {X.shape[1]} channels; SubBandFilter was fitted on "
                             f"{self.n_chans_}.")
        return X

    def transform_windows(self, X: Any, n_windows: int,
                          random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Several windows per trial at random onsets, for training-set augmentation.

        Guney et al. (2021) train their short-window models on windows cut at several
        onsets of each trial. Here each trial gives ``n_windows`` windows of
        ``window_seconds``, whose onsets are drawn uniformly (to the sample) from
        ``latency_seconds`` to the trial's end minus the window; each window is
        filtered on its own, as in :meth:`transform`. The stimulus phase at the window
        start then differs between windows of one trial. Use it on training trials
        only; score on :meth:`transform` (the fixed window).

        Parameters
        ----------
        X : array-like | mne.Epochs
            Trials ``(n_trials, n_chans, n_times)``, longer than the window.
        n_windows : int
            Windows per trial (at least 1).
        random_state : int | numpy.random.Generator | None
            Seed of the onsets.

        Returns
        -------
        windows : numpy.ndarray
            ``(n_trials * n_windows, n_subbands, n_chans, n_times_window)`` float32, the
            windows of trial ``i`` at rows ``i * n_windows`` to ``(i + 1) * n_windows - 1``.
        trial : numpy.ndarray
            ``(n_trials * n_windows,)`` index of each window's trial: ``y[trial]``
            labels the windows.

        Raises
        ------
        ValueError
            If ``n_windows`` is not a positive integer, or ``X`` is not valid for
            :meth:`transform`.
        """
        if isinstance(n_windows, bool) or not isinstance(n_windows, (int, np.integer)) \
                or n_windows < 1:
            raise ValueError(f"n_windows must be a positive integer, got {n_windows!r}.")
        X = self._checked(X)
        first = self._window(X.shape[2]).start
        last = X.shape[2] - self.n_times_window_
        rng = np.random.default_rng(random_state)
        starts = rng.integers(first, last + 1, size=(X.shape[0], int(n_windows)))
        trial = np.repeat(np.arange(X.shape[0]), int(n_windows))
        cuts = np.stack([X[i, :, s:s + self.n_times_window_]
                         for i, s in zip(trial, starts.ravel())])
        return self._filter(cuts), trial

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
