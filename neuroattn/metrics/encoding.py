"""Encoding-model metrics: per-voxel Pearson r, noise ceiling, normalised r."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["pearson_r", "noise_ceiling", "normalized_r", "summarize_by_region"]


def pearson_r(Y_true: Any, Y_pred: Any) -> np.ndarray:
    """Pearson correlation per voxel between measured and predicted responses.

    Parameters
    ----------
    Y_true : array-like
        ``(n_images, n_voxels)`` (or ``(n_images,)``) measured responses; NaN entries
        are left out of that voxel's correlation.
    Y_pred : array-like
        Predictions of the same shape.

    Returns
    -------
    numpy.ndarray
        ``(n_voxels,)`` r in [-1, 1]; NaN for a voxel with fewer than 2 finite
        responses or a constant prediction or response.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    Y_true = np.asarray(Y_true, dtype=np.float64)
    Y_pred = np.asarray(Y_pred, dtype=np.float64)
    if Y_true.shape != Y_pred.shape:
        raise ValueError(f"Y_true {Y_true.shape} and Y_pred {Y_pred.shape} must have the "
                         "same shape (n_images, n_voxels).")
    if Y_true.ndim == 1:
        Y_true, Y_pred = Y_true[:, None], Y_pred[:, None]
    mask = np.isfinite(Y_true) & np.isfinite(Y_pred)
    n = mask.sum(axis=0)
    t = np.where(mask, Y_true, 0.0)
    p = np.where(mask, Y_pred, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(mask, t - t.sum(0) / n, 0.0)
        p = np.where(mask, p - p.sum(0) / n, 0.0)
        r = (t * p).sum(0) / np.sqrt((t * t).sum(0) * (p * p).sum(0))
    r[n < 2] = np.nan
    return np.clip(r, -1.0, 1.0)


def noise_ceiling(Y_repeats: Any, n_average: int | None = None) -> np.ndarray:
    """Noise ceiling per voxel from repeated presentations, as a correlation.

    Signal and noise variance are estimated from the repeats (the NSD / Algonauts
    ``ncsnr`` recipe): ``var_noise`` is the mean over images of the variance across
    repeats, ``var_signal`` the variance of the repeat means minus the noise variance
    left in them. The ceiling is the
    correlation a perfect model of the signal reaches with the average of
    ``n_average`` repeats: ``sqrt(var_s / (var_s + var_noise / n_average))``.

    Parameters
    ----------
    Y_repeats : array-like
        ``(n_images, n_repeats, n_voxels)``; NaN pads images shown fewer times.
        Images with fewer than 2 repeats do not inform the noise variance.
    n_average : int | None
        Repeats averaged in the responses being predicted; defaults to the mean number
        of finite repeats per image.

    Returns
    -------
    numpy.ndarray
        ``(n_voxels,)`` ceiling in [0, 1].

    Raises
    ------
    ValueError
        If the array is not 3-D or no image has two repeats.
    """
    R = np.asarray(Y_repeats, dtype=np.float64)
    if R.ndim != 3:
        raise ValueError(f"Y_repeats must be (n_images, n_repeats, n_voxels), got {R.shape}.")
    finite = np.isfinite(R)
    counts = finite.sum(axis=1)  # (n_images, n_voxels)
    multi = counts >= 2
    if not multi.any():
        raise ValueError("No image has two finite repeats: the noise ceiling needs "
                         "repeated presentations.")
    with np.errstate(invalid="ignore", divide="ignore"):
        var_within = np.nanvar(np.where(multi[:, None], R, np.nan), axis=1, ddof=1)
        var_noise = np.nanmean(var_within, axis=0)
        # variance of the repeat means = signal + noise / (repeats of that image)
        means = np.nanmean(R, axis=1)
        var_means = np.nanvar(means, axis=0, ddof=1)
        inv_counts = np.nanmean(np.where(counts > 0, 1.0 / np.maximum(counts, 1), np.nan), 0)
        var_signal = np.clip(var_means - var_noise * inv_counts, 0.0, None)
        k = float(np.mean(counts[counts > 0])) if n_average is None else float(n_average)
        ceiling = np.sqrt(var_signal / (var_signal + var_noise / k))
    return np.nan_to_num(ceiling, nan=0.0)


def normalized_r(r: Any, ceiling: Any, *, min_ceiling: float = 0.1) -> np.ndarray:
    """Noise-ceiling-normalised correlation ``r / ceiling`` per voxel.

    Parameters
    ----------
    r : array-like
        ``(n_voxels,)`` Pearson r.
    ceiling : array-like
        ``(n_voxels,)`` noise ceiling as a correlation (see :func:`noise_ceiling`).
    min_ceiling : float
        Voxels with a lower ceiling get NaN (dividing by a ceiling near 0 is noise).

    Returns
    -------
    numpy.ndarray
        ``(n_voxels,)``; 1 means the model explains all explainable variance.
    """
    r = np.asarray(r, dtype=np.float64)
    ceiling = np.asarray(ceiling, dtype=np.float64)
    if r.shape != ceiling.shape:
        raise ValueError(f"r {r.shape} and ceiling {ceiling.shape} must have the same shape.")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ceiling >= min_ceiling, r / ceiling, np.nan)


def summarize_by_region(values: Any, labels: Any) -> dict[str, float]:
    """Mean of a per-voxel value within each label (NaN ignored), in label order.

    Parameters
    ----------
    values : array-like
        ``(n_voxels,)``, e.g. Pearson r.
    labels : array-like
        ``(n_voxels,)`` region (or group) label per voxel.

    Returns
    -------
    dict of str to float
    """
    values = np.asarray(values, dtype=np.float64)
    labels = np.asarray(labels, dtype=object)
    if values.shape != labels.shape:
        raise ValueError(f"values {values.shape} and labels {labels.shape} must match.")
    out = {}
    for lab in dict.fromkeys(labels.tolist()):
        v = values[labels == lab]
        out[str(lab)] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
    return out
