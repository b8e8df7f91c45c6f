"""Visual encoding estimators: the transformer brain encoder and ridge baselines.

``X`` is what describes the images: feature tokens ``(n_images, n_tokens, dim)``,
feature maps ``(n_images, C, H, W)``, vectors ``(n_images, dim)``, a
:class:`~neuroattn.data.encoding.FeatureTokens`, a ``.npy`` path -- or, when the
estimator has a ``backbone`` and ``layer``, the images themselves (arrays or files),
whose features are extracted (and cached) first. ``Y`` is ``(n_images, n_voxels)``
(NaN = missing, masked out of the loss and the scores) or ``(n_images, n_repeats,
n_voxels)`` repeats, averaged for fitting and used for the noise ceiling in scoring.
It is called ``y`` in the signatures, as scikit-learn wants.
"""

from __future__ import annotations

import os
import warnings
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import RidgeCV
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted
from skorch.callbacks import GradientNormClipping

from .._docs import fill_estimator_doc
from ..data.encoding import (
    FeatureTokens,
    as_feature_tokens,
    check_encoding_data,
    region_groups,
)
from ..metrics.encoding import noise_ceiling, normalized_r, pearson_r
from ..nn.losses import MaskedMSELoss
from ._base import TRAINING_CONSTRAINTS, NeuroEstimatorMixin
from ._nets import _Regressor
from .features import extract_features

__all__ = ["BrainEncoderRegressor", "RidgeEncoder"]


class _TokenDataset(torch.utils.data.Dataset):
    """Standardised tokens ``(dim, n_tokens)`` per image (read lazily from a memmap)."""

    def __init__(self, tokens: np.ndarray, mean: np.ndarray, scale: np.ndarray,
                 Y: np.ndarray | None = None) -> None:
        self.tokens, self.Y = tokens, Y
        self.mean, self.scale = mean.astype(np.float32), scale.astype(np.float32)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i: int):
        x = (np.asarray(self.tokens[i], dtype=np.float32) - self.mean) / self.scale
        y = self.Y[i] if self.Y is not None else np.zeros(1, np.float32)
        return torch.from_numpy(np.ascontiguousarray(x.T)), torch.from_numpy(y)


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


@fill_estimator_doc
class BrainEncoderRegressor(_EncodingScoreMixin, NeuroEstimatorMixin, RegressorMixin,
                            BaseEstimator):
    """Transformer brain encoder as a scikit-learn multi-output regressor (skorch loop).

    Region queries (one per region and hemisphere, one for unlabelled voxels)
    cross-attend to image feature tokens; each voxel reads its region's token
    (:class:`~neuroattn.models.brain_encoder.TransformerBrainEncoder`). Trained with a
    NaN-masked MSE on per-voxel standardised responses, AdamW and gradient-norm
    clipping, on features standardised per dimension.

    Parameters
    ----------
    backbone : torch.nn.Module | str | None, default=None
        When given (with ``layer``), ``X`` are images and their features are
        extracted with :func:`~neuroattn.estimators.extract_features`. A name
        (``"resnet50"``, ``"timm:..."``, ``"hf:..."``) loads that backbone with its
        pretrained weights and transform
        (:func:`~neuroattn.estimators.backbones.load_backbone`).
    layer : str | None, default=None
        Backbone layer to take tokens from.
    feature_cache : str | Path | None, default=None
        Folder for memory-mapped feature caches (computed once).
    normalize : {"imagenet", None}, default=None
        Image normalisation before the backbone.
    grad_clip : float | None, default=1.0
        Maximum gradient norm (None disables clipping).
    %(training_params)s
        Here the model is the brain encoder (e.g. ``model__embed_dim=768,
        model__n_heads=16``); ``device`` is also used for feature extraction. The
        defaults of ``lr`` and ``weight_decay`` are the reference implementation's.

    Attributes
    ----------
    region_names_ : list of str
        Query groups (``"<region>_<hemisphere>"``, ``"other"`` last).
    voxel_groups_ : numpy.ndarray
        ``(n_voxels,)`` query-group index of each voxel.
    regions_, hemispheres_ : numpy.ndarray
        Labels seen at fit.
    n_tokens_, n_dims_, n_outputs_ : int
        Tokens per image, token width, voxels.
    n_features_in_ : int
        ``n_tokens_ * n_dims_``.
    y_1d_ : bool
        ``y`` was a vector (one voxel); predictions are then 1-D too.
    positions_ : numpy.ndarray
        ``(n_tokens, 2)`` grid positions; ``grid_shape_`` the grid.
    feature_mean_, feature_scale_ : numpy.ndarray
        ``(dim,)`` feature standardisation.
    y_mean_, y_scale_ : numpy.ndarray
        ``(n_voxels,)`` response standardisation.
    missing_responses_ : numpy.ndarray
        ``(n_voxels,)`` NaN responses per voxel in the training data (masked).
    net_, module_, history_
        skorch net, trained model, training history.

    Examples
    --------
    >>> from neuroattn.data.simulate import simulate_encoding
    >>> sim = simulate_encoding(120, random_state=0)
    >>> enc = BrainEncoderRegressor(max_epochs=5, random_state=0)
    >>> enc = enc.fit(sim.features, sim.Y, regions=sim.regions, hemispheres=sim.hemispheres)
    >>> enc.predict(sim.features[:2]).shape
    (2, 112)
    """

    _net_class = _Regressor
    _criterion = MaskedMSELoss
    _fitted_required = ("n_tokens_", "n_dims_", "n_outputs_", "voxel_groups_", "feature_mean_",
                        "feature_scale_", "y_mean_", "y_scale_")
    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        "model": [str, type],
        "backbone": [torch.nn.Module, str, None],
        "layer": [str, None],
        "feature_cache": [str, os.PathLike, None],
        "normalize": [StrOptions({"imagenet"}), None],
        "grad_clip": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, model: str | type = "brain_encoder", *,
                 backbone: torch.nn.Module | str | None = None, layer: str | None = None,
                 feature_cache: str | Path | None = None, normalize: str | None = None,
                 max_epochs: int = 100, lr: float = 5e-4, batch_size: int = 32,
                 weight_decay: float = 1e-4, grad_clip: float | None = 1.0,
                 lr_scheduler: str | None = "cosine",
                 validation_fraction: float | None = None, early_stopping: bool = False,
                 patience: int = 10, callbacks: list | None = None, device: str = "auto",
                 random_state: Any = None, verbose: int = 0, **kwargs: Any) -> None:
        self._init_params(locals())

    def _callbacks(self) -> list:
        extra = []
        if self.grad_clip is not None:
            extra.append(("grad_clip", GradientNormClipping(self.grad_clip)))
        return super()._callbacks() + extra

    def fit(self, X: Any, y: Any, regions: Any = None,
            hemispheres: Any = None) -> BrainEncoderRegressor:
        """Train on image features (or images) and voxel responses.

        Parameters
        ----------
        X : array-like | FeatureTokens | str | Path
            Features ``(n_images, n_tokens, dim)`` / ``(n_images, C, H, W)`` /
            ``(n_images, dim)``, or images when ``backbone`` is set.
        y : array-like
            Responses ``(n_images, n_voxels)`` or ``(n_images, n_repeats, n_voxels)``
            (``(n_images,)`` for one voxel); NaN marks missing responses (masked out of
            the loss; a warning reports how many).
        regions : array-like | None
            ``(n_voxels,)`` region label per voxel, ``"other"`` outside every region;
            None puts all voxels in one group.
        hemispheres : array-like | None
            ``(n_voxels,)`` hemisphere per voxel (one query per region and hemisphere).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If features and responses have different image counts, a voxel has no
            region label, or the inputs hold inf / fully missing voxels.
        """
        self._check_params()
        feats = _features(self, X, reset=True)
        n = feats.n_images
        if n < 2:
            raise ValueError(f"Found n_samples={n} image(s); at least 2 are needed to train.")
        Y, regions, hemispheres = _check_Y(self, y, n, regions, hemispheres)
        self.missing_responses_ = np.isnan(Y).sum(axis=0)
        if self.missing_responses_.any():
            warnings.warn(f"{int(self.missing_responses_.sum())} NaN responses in "
                          f"{int((self.missing_responses_ > 0).sum())} voxels are masked out "
                          "of the loss (see missing_responses_).", UserWarning, stacklevel=2)
        self.voxel_groups_, self.region_names_ = region_groups(regions, hemispheres)
        self.regions_, self.hemispheres_ = regions, hemispheres
        self.n_tokens_, self.n_dims_ = int(feats.tokens.shape[1]), int(feats.tokens.shape[2])
        self.n_outputs_ = int(Y.shape[1])
        self.positions_, self.grid_shape_ = feats.positions, feats.grid_shape
        self.feature_mean_, self.feature_scale_ = _feature_stats(feats.tokens)
        self.y_mean_ = np.nanmean(Y, axis=0).astype(np.float64)
        std = np.nanstd(Y, axis=0)
        self.y_scale_ = np.where(std > 0, std, 1.0).astype(np.float64)
        Yz = ((Y - self.y_mean_) / self.y_scale_).astype(np.float32)
        self._train(self._dataset(feats, Yz), None, seed=self._seed())
        return self

    def _signal_args(self) -> dict[str, Any]:
        return {"n_chans": self.n_dims_, "n_times": self.n_tokens_,
                "n_outputs": self.n_outputs_,
                "voxel_regions": np.asarray(self.voxel_groups_).tolist()}

    def _dataset(self, feats: FeatureTokens, Y: np.ndarray | None = None) -> _TokenDataset:
        return _TokenDataset(feats.tokens, self.feature_mean_, self.feature_scale_, Y)

    def _token_shape_msg(self) -> str:
        return f"{self.n_tokens_} tokens of width {self.n_dims_}"

    def _checked_features(self, X: Any) -> FeatureTokens:
        check_is_fitted(self, "net_")
        feats = _features(self, X, reset=False)
        if feats.tokens.shape[1:] != (self.n_tokens_, self.n_dims_):
            raise ValueError(f"X has {feats.tokens.shape[1]} tokens of width "
                             f"{feats.tokens.shape[2]}, but {type(self).__name__} was fitted "
                             f"on {self.n_tokens_} tokens of width {self.n_dims_}.")
        return feats

    def predict(self, X: Any) -> np.ndarray:
        """Predicted responses ``(n_images, n_voxels)`` in the units of ``Y``."""
        feats = self._checked_features(X)
        out = self.net_.forward(self._dataset(feats), training=False)
        out = out.float().cpu().numpy() * self.y_scale_ + self.y_mean_
        return out[:, 0] if self.y_1d_ else out

    def routing_maps(self, X: Any, batch_size: int = 64) -> np.ndarray:
        """Attention of each query group over the tokens, averaged over heads.

        Parameters
        ----------
        X : array-like | FeatureTokens
            As in :meth:`fit`.
        batch_size : int
            Images per forward pass of the encoder (bounds memory; the maps do not
            depend on it).

        Returns
        -------
        numpy.ndarray
            ``(n_images, n_groups, n_tokens)``, groups in the order of
            ``region_names_``; reshape the last axis to ``grid_shape_`` for a map.
        """
        feats = self._checked_features(X)
        ds = self._dataset(feats)
        device = next(self.module_.parameters()).device
        maps = []
        for start in range(0, len(ds), batch_size):
            x = torch.stack([ds[i][0] for i in range(start, min(start + batch_size, len(ds)))])
            maps.append(self.module_.routing_maps(x.to(device)).float().cpu().numpy())
        return np.concatenate(maps)

    def save(self, path: str | Path) -> Path:
        """Save a fitted encoder to one ``.safetensors`` file (nothing pickled).

        The backbone is not saved: an estimator with ``backbone`` set must be saved
        after ``set_params(backbone=None)`` and is then given features.

        Raises
        ------
        ValueError
            If ``backbone`` is set.
        """
        if self.backbone is not None:
            raise ValueError("The backbone is not saved with the encoder: call "
                             "set_params(backbone=None) first and pass features to the "
                             "loaded estimator (or set the backbone again after load).")
        return super().save(path)


def _pool(tokens: np.ndarray, pooling: str) -> np.ndarray:
    tokens = np.asarray(tokens, dtype=np.float64)
    if pooling == "mean":
        return tokens.mean(axis=1)
    if pooling == "flatten":
        return tokens.reshape(len(tokens), -1)
    raise ValueError(f"pooling must be 'mean' or 'flatten', got {pooling!r}.")


class RidgeEncoder(_EncodingScoreMixin, RegressorMixin, BaseEstimator):
    """Ridge regression from (pooled or flattened) features to every voxel.

    The peer of the brain encoder: features standardised, then
    :class:`sklearn.linear_model.RidgeCV` with efficient leave-one-out
    cross-validation choosing an alpha per voxel.

    Parameters
    ----------
    pooling : {"mean", "flatten"}, default="mean"
        Average tokens (``dim`` features) or concatenate them (``n_tokens * dim``).
    alphas : array-like | None, default=None
        Candidate regularisation strengths; None tries ``np.logspace(-2, 6, 17)``.

    Attributes
    ----------
    ridge_ : sklearn.linear_model.RidgeCV
    alpha_ : numpy.ndarray
        ``(n_voxels,)`` chosen alpha per voxel.
    missing_responses_ : numpy.ndarray
        ``(n_voxels,)`` NaN responses per voxel (replaced by the voxel mean for fitting).
    """

    def __init__(self, pooling: str = "mean", alphas: Any = None) -> None:
        self.pooling = pooling
        self.alphas = alphas

    def fit(self, X: Any, y: Any, regions: Any = None, hemispheres: Any = None) -> RidgeEncoder:
        """Fit on features ``X`` and responses ``y`` (see :class:`BrainEncoderRegressor`).

        ``regions`` and ``hemispheres`` are accepted for a common interface and only
        checked. NaN responses are replaced by the voxel's mean (ridge has no mask).
        """
        feats = _features(self, X, reset=True)
        self.n_tokens_, self.n_dims_ = int(feats.tokens.shape[1]), int(feats.tokens.shape[2])
        Y, _, _ = _check_Y(self, y, feats.n_images, regions, hemispheres)
        self.missing_responses_ = np.isnan(Y).sum(axis=0)
        if self.missing_responses_.any():
            warnings.warn(f"{int(self.missing_responses_.sum())} NaN responses in "
                          f"{int((self.missing_responses_ > 0).sum())} voxels are replaced by "
                          "their voxel's mean (see missing_responses_).", UserWarning,
                          stacklevel=2)
        Y = np.where(np.isnan(Y), np.nanmean(Y, axis=0), Y)
        Z = _pool(feats.tokens, self.pooling)
        self.mean_, std = Z.mean(0), Z.std(0)
        self.scale_ = np.where(std > 1e-8, std, 1.0)
        alphas = np.logspace(-2, 6, 17) if self.alphas is None else np.asarray(self.alphas)
        self.ridge_ = RidgeCV(alphas=alphas, alpha_per_target=True)
        self.ridge_.fit((Z - self.mean_) / self.scale_, Y)
        self.alpha_ = np.atleast_1d(self.ridge_.alpha_)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted responses ``(n_images, n_voxels)``."""
        check_is_fitted(self, "ridge_")
        feats = _features(self, X, reset=False)
        Z = _pool(feats.tokens, self.pooling)
        if Z.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"X has {feats.tokens.shape[1]} tokens of width "
                             f"{feats.tokens.shape[2]}, but {type(self).__name__} was fitted "
                             f"on {self._token_shape_msg()}.")
        out = self.ridge_.predict((Z - self.mean_) / self.scale_).reshape(len(Z), -1)
        return out[:, 0] if self.y_1d_ else out

    def _token_shape_msg(self) -> str:
        return f"{self.n_tokens_} tokens of width {self.n_dims_}"
