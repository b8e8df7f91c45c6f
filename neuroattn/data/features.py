"""Classical EEG window features: log band powers and line length (for baselines)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import signal as _signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["DEFAULT_BANDS", "band_power_features", "BandPowerFeatures"]

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
        Sampling frequency in Hz.
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
