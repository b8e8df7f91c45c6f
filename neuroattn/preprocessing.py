"""Signal preprocessing transformers (scikit-learn API, numpy only).

* :class:`EuclideanAlignment` - whitens trials by their mean spatial covariance
  (He & Wu 2019), e.g. before a network in a MOABB pipeline;
* :class:`BandPowerFeatures` / :func:`band_power_features` - log band powers and line
  length per channel, the classical features of the seizure baseline.

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

__all__ = ["DEFAULT_BANDS", "band_power_features", "BandPowerFeatures", "EuclideanAlignment"]

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
