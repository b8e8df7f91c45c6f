"""Training on crops of longer SSVEP trials (:class:`~neuroattn.estimators.SSVEPClassifier`
with ``crop_seconds``): the checks and the Dataset that draws a fresh crop per epoch."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["CropDataset", "StridedCropClassifier", "crop_length", "scale_trials"]


def scale_trials(data: np.ndarray) -> np.ndarray:
    """Divide each trial (first axis) by its standard deviation over all other axes; a
    flat trial is left as it is. ``(n, ...)`` float32 in, same shape out."""
    std = data.std(axis=tuple(range(1, data.ndim)), keepdims=True)
    return data / np.where(std > 0, std, 1).astype(np.float32)


def crop_length(est: Any, n_times: int) -> int:
    """Samples per crop, ``round(crop_seconds * sfreq)``, checked against the trials.

    Parameters
    ----------
    est : SSVEPClassifier
        Reads ``crop_seconds`` (s), ``sfreq`` (Hz) and ``stim_freqs`` (Hz).
    n_times : int
        Samples per trial given to ``fit``.

    Returns
    -------
    int
        The crop length in samples (``<= n_times``).

    Raises
    ------
    ValueError
        If ``sfreq`` is missing or not positive, ``stim_freqs`` is missing or not
        positive, ``crop_seconds`` is not positive, shorter than one period of the lowest
        stimulus frequency, or longer than the trials.
    """
    sec, sfreq, freqs = est.crop_seconds, est.sfreq, est.stim_freqs
    if isinstance(sec, bool) or not isinstance(sec, Real) or not sec > 0:
        raise ValueError(f"crop_seconds must be a positive number of seconds or None, got "
                         f"{sec!r}.")
    if isinstance(sfreq, bool) or not isinstance(sfreq, Real) or not sfreq > 0:
        raise ValueError(f"crop_seconds={sec} needs sfreq, the sampling frequency of X in Hz "
                         f"(a positive number), got sfreq={sfreq!r}.")
    arr = np.atleast_1d(np.asarray(freqs if freqs is not None else [], dtype=float))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"crop_seconds={sec} needs stim_freqs, the stimulus frequencies in "
                         f"Hz (positive), got stim_freqs={freqs!r}.")
    period = 1.0 / float(arr.min())
    if sec < period:
        raise ValueError(f"crop_seconds={sec} is shorter than one period of the lowest "
                         f"stimulus frequency ({arr.min():g} Hz: {period:.4g} s).")
    n_crop = int(round(sec * sfreq))
    if n_crop > n_times:
        raise ValueError(f"crop_seconds={sec} ({n_crop} samples at sfreq={sfreq} Hz) is "
                         f"longer than the trials given to fit ({n_times} samples, "
                         f"{n_times / sfreq:.4g} s).")
    return n_crop


class CropDataset(torch.utils.data.Dataset):
    """``(x, y)`` pairs, ``x`` a crop of ``n_crop`` consecutive samples of trial ``i``.

    The start is drawn uniformly from ``0 .. n_times - n_crop`` with torch's global
    generator each time an item is read, so every epoch sees a fresh crop of each trial
    (reproducible: the training loop reseeds torch per epoch). With ``scale``, each
    crop is divided by its own standard deviation, as a test window is. Validation
    (``validation_fraction``) reads :meth:`validation_view`: first crops only.

    Parameters
    ----------
    X : numpy.ndarray
        ``(n_trials, n_subbands, n_chans, n_times)`` float32 trials.
    y : numpy.ndarray
        ``(n_trials,)`` encoded targets, kept as ``self.y`` (for balanced sampling).
    n_crop : int
        Samples per crop, ``<= n_times``.
    scale : bool
        Divide each crop by its standard deviation.
    first : bool
        Always the first ``n_crop`` samples (no draw): what prediction reads.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, n_crop: int, scale: bool,
                 first: bool = False) -> None:
        self.X, self.y, self.n_crop, self.scale = X, y, int(n_crop), bool(scale)
        self.first = bool(first)

    def __len__(self) -> int:
        return len(self.X)

    def validation_view(self) -> CropDataset:
        """The same trials read as prediction reads them: the first crop of each,
        scaled alike. The training core validates on this view (skorch's validation
        split takes its subset from it, see ``_nets.ValidationViewSplit``), so
        ``valid_loss`` scores the decision ``predict`` makes."""
        return CropDataset(self.X, self.y, self.n_crop, self.scale, first=True)

    def __getitem__(self, i: int):
        i = int(i)
        start = 0 if self.first else int(
            torch.randint(0, self.X.shape[-1] - self.n_crop + 1, (1,)).item())
        x = self.X[i:i + 1, ..., start:start + self.n_crop]
        if self.scale:
            x = scale_trials(x)
        return torch.from_numpy(np.ascontiguousarray(x[0])), self.y[i]


class StridedCropClassifier(ClassifierMixin, BaseEstimator):
    """Fit any classifier on strided crops of each training trial, predict from the
    first crop of each test trial (the crop training of ``SSVEPClassifier`` given to a
    classical pipeline, e.g. filter-bank covariances + tangent space + LR).

    Parameters
    ----------
    estimator : estimator
        Classifier (or pipeline) taking arrays whose axis ``time_axis`` is time.
    crop_seconds : float, default=1.0
        Crop length in seconds (the decision window).
    sfreq : float, default=256.0
        Sampling frequency of ``X`` in Hz.
    stride_seconds : float, default=0.25
        Step between crop starts in seconds (crops start at ``0, stride, ...`` while they
        fit in the trial).
    time_axis : int, default=2
        Axis of ``X`` holding time: 2 for MOABB's ``FilterBankSSVEP`` arrays
        ``(n_trials, n_chans, n_times, n_bands)``, -1 for ``(n_trials, n_chans,
        n_times)``.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone, on ``n_trials * n_crops`` crops.
    classes_ : numpy.ndarray
        Class labels.
    n_crop_ : int
        Samples per crop.
    """

    def __init__(self, estimator: Any = None, crop_seconds: float = 1.0,
                 sfreq: float = 256.0, stride_seconds: float = 0.25,
                 time_axis: int = 2) -> None:
        self.estimator = estimator
        self.crop_seconds = crop_seconds
        self.sfreq = sfreq
        self.stride_seconds = stride_seconds
        self.time_axis = time_axis

    def _n(self, seconds: Any, name: str) -> int:
        if isinstance(seconds, bool) or not isinstance(seconds, Real) or not seconds > 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {seconds!r}.")
        if isinstance(self.sfreq, bool) or not isinstance(self.sfreq, Real) \
                or not self.sfreq > 0:
            raise ValueError(f"sfreq must be a positive frequency in Hz, got {self.sfreq!r}.")
        return max(1, int(round(seconds * self.sfreq)))

    def fit(self, X: Any, y: Any) -> StridedCropClassifier:
        """Fit a clone of ``estimator`` on every crop of every trial.

        Parameters
        ----------
        X : numpy.ndarray
            Trials, time on ``time_axis``.
        y : array-like
            ``(n_trials,)`` labels (each crop keeps its trial's label).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If ``estimator`` is None, ``crop_seconds`` / ``stride_seconds`` / ``sfreq``
            are not positive, or ``crop_seconds`` is longer than the trials.
        """
        if self.estimator is None:
            raise ValueError("StridedCropClassifier needs an estimator, got None.")
        X, y = np.asarray(X), np.asarray(y)
        n_crop, step = self._n(self.crop_seconds, "crop_seconds"), \
            self._n(self.stride_seconds, "stride_seconds")
        n_times = X.shape[self.time_axis]
        if n_crop > n_times:
            raise ValueError(f"crop_seconds={self.crop_seconds} ({n_crop} samples) is longer "
                             f"than the trials ({n_times} samples).")
        starts = range(0, n_times - n_crop + 1, step)
        Xc = np.concatenate([np.take(X, np.arange(s, s + n_crop), axis=self.time_axis)
                             for s in starts])
        self.estimator_ = clone(self.estimator).fit(Xc, np.tile(y, len(starts)))
        self.classes_ = np.unique(y)
        self.n_crop_ = n_crop
        return self

    def _first(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        X = np.asarray(X)
        if X.shape[self.time_axis] < self.n_crop_:
            raise ValueError(f"X has {X.shape[self.time_axis]} samples per trial, fewer than "
                             f"a crop ({self.n_crop_}).")
        return np.take(X, np.arange(self.n_crop_), axis=self.time_axis)

    def predict(self, X: Any) -> np.ndarray:
        """Labels ``(n_trials,)`` from the first ``crop_seconds`` of each trial."""
        return self.estimator_.predict(self._first(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_trials, n_classes)`` from the first crop."""
        return self.estimator_.predict_proba(self._first(X))
