"""Riemannian tokens for attention models: filter-bank covariances in the tangent space.

Tangent space + logistic regression is the strongest classical peer on small motor
imagery sets. :class:`FilterBankTangentSpace` builds the same features, one token per
frequency band, so that an attention model (``tangent_attention``) can weigh bands
and mix them, starting from the geometry that makes the peer strong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import signal as _signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.validation import check_is_fitted

from ._tangent_prior import TangentPriorClassifier, check_trials, weighted_tangent_classifier

__all__ = ["FilterBankTangentSpace", "tangent_attention_pipeline", "MI_BANDS",
           "TangentPriorClassifier", "weighted_tangent_classifier"]

#: Motor-imagery filter bank (Hz): the whole mu-beta band (the band of tangent space +
#: logistic regression in MOABB's motor-imagery paradigms), then its 4 Hz sub-bands.
MI_BANDS = ((8.0, 32.0), (8.0, 12.0), (12.0, 16.0), (16.0, 20.0), (20.0, 24.0),
            (24.0, 28.0), (28.0, 32.0))


class FilterBankTangentSpace(TransformerMixin, BaseEstimator):
    """One tangent-space vector per frequency band: ``(n_trials, n_bands, n_features)``.

    Each trial is band-passed into ``bands`` (4th-order Butterworth, zero phase), a
    shrunk covariance is estimated per band (``pyriemann.estimation.Covariances``,
    ``estimator``), and each band's covariances are mapped to the tangent space at
    their Riemannian mean over the TRAINING trials (``pyriemann.tangentspace.
    TangentSpace``), vectorised to ``n_chans * (n_chans + 1) / 2`` features.

    Parameters
    ----------
    sfreq : float, default=160.0
        Sampling rate of the trials in Hz.
    bands : sequence of (float, float) | None, default=None
        Band edges in Hz, each ``0 < low < high < sfreq / 2``; None: :data:`MI_BANDS`
        (8-32 Hz, then its 4 Hz sub-bands).
    estimator : str, default="oas"
        pyriemann covariance estimator (``"oas"``, ``"lwf"``, ``"scm"``, ...).

    Attributes
    ----------
    tangent_spaces_ : list of pyriemann.tangentspace.TangentSpace
        One per band, fitted on the training trials.
    n_chans_ : int
        Channels of the training trials.

    Raises
    ------
    ValueError
        At ``fit``/``transform``: trials that are not ``(n, n_chans, n_times)`` finite
        arrays, a band outside ``(0, sfreq / 2)`` or with ``low >= high``, another
        channel count at ``transform``.
    """

    def __init__(self, sfreq: float = 160.0,
                 bands: Sequence[tuple[float, float]] | None = None,
                 estimator: str = "oas") -> None:
        self.sfreq = sfreq
        self.bands = bands
        self.estimator = estimator

    def _check(self, X: Any) -> np.ndarray:
        X = check_trials(X, "FilterBankTangentSpace")
        if not self.sfreq or self.sfreq <= 0:
            raise ValueError(f"sfreq must be positive (Hz), got {self.sfreq!r}.")
        for low, high in self._bands():
            if not 0 < low < high < self.sfreq / 2:
                raise ValueError(f"band ({low}, {high}) Hz must satisfy 0 < low < high < "
                                 f"Nyquist ({self.sfreq / 2:g} Hz at sfreq={self.sfreq:g}).")
        return X

    def _bands(self) -> Sequence[tuple[float, float]]:
        return MI_BANDS if self.bands is None else self.bands

    def _covariances(self, X: np.ndarray) -> list[np.ndarray]:
        from pyriemann.estimation import Covariances

        covs = []
        for low, high in self._bands():
            sos = _signal.butter(4, (low, high), btype="bandpass", fs=self.sfreq,
                                 output="sos")
            filtered = _signal.sosfiltfilt(sos, X, axis=-1)
            covs.append(Covariances(estimator=self.estimator).fit_transform(filtered))
        return covs

    def fit(self, X: Any, y: Any = None) -> FilterBankTangentSpace:
        """Fit one tangent space per band on the training trials ``(n, n_chans, n_times)``.

        Returns
        -------
        self
        """
        from pyriemann.tangentspace import TangentSpace

        X = self._check(X)
        self.tangent_spaces_ = [TangentSpace(metric="riemann").fit(c)
                                for c in self._covariances(X)]
        self.n_chans_ = X.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Tokens ``(n_trials, n_bands, n_chans * (n_chans + 1) / 2)``, float32."""
        check_is_fitted(self, "tangent_spaces_")
        X = self._check(X)
        if X.shape[1] != self.n_chans_:
            raise ValueError(f"X has {X.shape[1]} channels; FilterBankTangentSpace was "
                             f"fitted on {self.n_chans_}.")
        tokens = [ts.transform(c) for ts, c in zip(self.tangent_spaces_,
                                                    self._covariances(X))]
        return np.stack(tokens, axis=1).astype(np.float32)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


def tangent_attention_pipeline(sfreq: float, *,
                               bands: Sequence[tuple[float, float]] | None = None,
                               estimator: str = "oas", **classifier_params: Any) -> Pipeline:
    """Filter-bank tangent space, then attention over band tokens (``tangent_attention``).

    Parameters
    ----------
    sfreq, bands, estimator
        As in :class:`FilterBankTangentSpace`.
    **classifier_params
        Parameters of the :class:`~neuroattn.NeuroClassifier` (``max_epochs``,
        ``model__embed_dim``, ``random_state``, ...).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted on trials ``(n_trials, n_chans, n_times)`` and labels.
    """
    from .neural import NeuroClassifier

    params = dict(max_epochs=60, lr=1e-3, batch_size=16, weight_decay=0.05,
                  lr_scheduler="cosine")
    params.update(classifier_params)
    return make_pipeline(FilterBankTangentSpace(sfreq, bands, estimator),
                         NeuroClassifier("tangent_attention", **params))
