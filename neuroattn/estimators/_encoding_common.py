"""Shared input checks, feature statistics and per-voxel scoring of the encoding
estimators (:mod:`neuroattn.estimators.encoding`)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array

from ..data.encoding import FeatureTokens, as_feature_tokens, check_encoding_data
from ..metrics.encoding import noise_ceiling, normalized_r, pearson_r
from .features import extract_features


def _check_finite(values: Any, what: str, chunk: int = 256) -> None:
    """Raise a ValueError counting the NaN/inf of ``values`` (first axis: images),
    read in chunks of images (memmap friendly)."""
    n_bad, first = 0, None
    for start in range(0, len(values), chunk):
        block = np.asarray(values[start:start + chunk])
        bad = ~np.isfinite(block)
        if bad.any():
            n_bad += int(bad.sum())
            if first is None:
                first = start + int(np.flatnonzero(bad.reshape(len(block), -1).any(1))[0])
    if n_bad:
        raise ValueError(f"Input X contains NaN or infinity (first in image {first}): "
                         f"{n_bad} non-finite value(s) in the {what}. Clean or drop those "
                         "images first.")


def _feature_array(X: Any) -> np.ndarray:
    """Array features checked for shape, dtype and finiteness (scikit-learn's checks
    for sparse, object and empty input)."""
    shape = tuple(X.shape) if sp.issparse(X) or hasattr(X, "shape") else np.asarray(X).shape
    if len(shape) not in (2, 3, 4):
        raise ValueError(
            "X must be features of shape (n_images, n_tokens, dim), (n_images, C, H, W) "
            f"or (n_images, dim); got a {len(shape)}-D array of shape {shape}. Reshape "
            "your data: one image is X[None].")
    dtype = getattr(X, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind == "c":
        raise ValueError(f"Complex data not supported: X has dtype {dtype}; features must "
                         "be real numbers.")
    arr = check_array(X, allow_nd=True, dtype=(np.float32, np.float64),
                      ensure_all_finite=False, input_name="X")
    _check_finite(arr, "features")
    return arr


def _features(est: Any, X: Any, *, reset: bool) -> FeatureTokens:
    """Features of ``X`` (extracted through the backbone when there is one), checked."""
    backbone = getattr(est, "backbone", None)
    if backbone is not None and not isinstance(X, FeatureTokens):
        if est.layer is None:
            raise ValueError("A backbone needs a layer name (layer=...) to take features from.")
        if reset and isinstance(backbone, str):
            _check_named_layer(backbone, est.layer)
        if not isinstance(X, (str, os.PathLike, list, tuple)) and np.ndim(X) > 0:
            images = np.asarray(X)
            if images.dtype.kind in "fc":
                _check_finite(images, "images")
        feats = extract_features(X, backbone, est.layer, device=est.device,
                                 cache_dir=est.feature_cache, normalize=est.normalize)
        _check_finite(feats.tokens, f"features of layer {est.layer!r}")
    elif isinstance(X, (FeatureTokens, str, os.PathLike)):
        feats = as_feature_tokens(X)
        _check_finite(feats.tokens, "features")
    else:
        feats = as_feature_tokens(_feature_array(X))
    n_features = int(feats.tokens.shape[1] * feats.tokens.shape[2])
    if reset:
        est.n_features_in_ = n_features
    elif n_features != est.n_features_in_:
        raise ValueError(f"X has {n_features} features, but {type(est).__name__} is "
                         f"expecting {est.n_features_in_} features as input (tokens x width "
                         f"seen at fit: {est._token_shape_msg()}).")
    return feats


def _check_Y(est: Any, Y: Any, n_images: int, regions: Any, hemispheres: Any):
    """Responses as ``(n_images, n_voxels)``; 1-D ``Y`` is one voxel (``y_1d_``)."""
    if Y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y "
                         "is None.")
    Y = np.asarray(Y)
    est.y_1d_ = Y.ndim == 1
    return check_encoding_data(n_images, Y[:, None] if est.y_1d_ else Y, regions, hemispheres)


def _feature_stats(tokens: np.ndarray, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std over images and tokens, in chunks (memmap friendly)."""
    s = ss = 0.0
    n = 0
    for start in range(0, len(tokens), chunk):
        block = np.asarray(tokens[start:start + chunk], dtype=np.float64)
        block = block.reshape(-1, block.shape[-1])
        s, ss, n = s + block.sum(0), ss + (block ** 2).sum(0), n + len(block)
    mean = s / n
    std = np.sqrt(np.maximum(ss / n - mean ** 2, 0.0))
    return mean, np.where(std > 1e-8, std, 1.0)


def _score_r(Y: Any, Y_pred: np.ndarray, n_images: int,
             normalize: bool = True) -> np.ndarray:
    """Per-voxel r against ``Y`` (2-D) or against the repeat mean, normalised (3-D)."""
    Y_arr = np.asarray(Y, dtype=np.float64)
    if Y_arr.ndim == 1:
        Y_arr, Y_pred = Y_arr[:, None], np.reshape(Y_pred, (-1, 1))
    Y2, _, _ = check_encoding_data(n_images, Y_arr)
    r = pearson_r(Y2, Y_pred)
    if Y_arr.ndim == 3 and normalize:
        return normalized_r(r, noise_ceiling(Y_arr))
    return r


class _EncodingScoreMixin:
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one output per voxel
        tags.target_tags.single_output = True
        tags.input_tags.three_d_array = True  # tokens (n_images, n_tokens, dim)
        return tags

    def score_voxels(self, X: Any, Y: Any, *, normalize: bool = True) -> np.ndarray:
        """Per-voxel Pearson r ``(n_voxels,)`` between predictions and ``Y``.

        Parameters
        ----------
        X : array-like | FeatureTokens
            As in :meth:`fit`.
        Y : array-like
            ``(n_images, n_voxels)``; or ``(n_images, n_repeats, n_voxels)`` repeats,
            then r is computed against their mean and, with ``normalize``, divided by
            the noise ceiling from the repeats (NaN for voxels with a ceiling < 0.1).
        normalize : bool
            Noise-ceiling normalisation when repeats are given.

        Returns
        -------
        numpy.ndarray
            ``(n_voxels,)``; NaN responses are left out of each voxel's r.
        """
        Y_pred = self.predict(X)
        return _score_r(Y, Y_pred, Y_pred.shape[0], normalize)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean over voxels of the per-voxel Pearson r (noise-ceiling-normalised r when
        ``y`` holds repeats ``(n_images, n_repeats, n_voxels)``)."""
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by the encoding score.")
        return float(np.nanmean(self.score_voxels(X, y)))


def _check_named_layer(name: str, layer: str) -> None:
    """A named backbone's layer, checked on a random-init build (no weights are fetched
    and no feature is extracted before an unknown name or layer is reported)."""
    import difflib

    from .backbones import backbone_layers

    layers = backbone_layers(name)
    if layer not in layers:
        close = difflib.get_close_matches(str(layer), layers, n=8, cutoff=0.5)
        top = [n for n in layers if "." not in n]
        raise ValueError(f"layer={layer!r}: backbone {name!r} has no such layer. Close names: "
                         f"{', '.join(close) or 'none'}. Top-level layers: {', '.join(top)} "
                         "(all: backbone_layers(name)).")
