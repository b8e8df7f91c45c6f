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
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import RidgeCV
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted
from skorch.callbacks import GradientNormClipping

from ..data.encoding import (
    FeatureTokens,
    as_feature_tokens,
    check_encoding_data,
    check_finite_tokens,
    region_groups,
)
from ..metrics.encoding import noise_ceiling, normalized_r, pearson_r
from ..models import model_registry
from ._base import NeuroEstimatorMixin, _Regressor
from .features import extract_features

__all__ = ["BrainEncoderRegressor", "RidgeEncoder", "MaskedMSELoss", "compare_encoders"]


class MaskedMSELoss(torch.nn.Module):
    """Mean squared error over the finite targets only (NaN targets are ignored)."""

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        mask = torch.isfinite(y_true)
        diff = torch.where(mask, y_pred - torch.nan_to_num(y_true), 0.0)
        return diff.square().sum() / mask.sum().clamp(min=1)


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


def _features(est: Any, X: Any, *, reset: bool) -> FeatureTokens:
    """Features of ``X`` (extracted through the backbone when there is one), checked."""
    backbone = getattr(est, "backbone", None)
    if backbone is not None and not isinstance(X, FeatureTokens):
        if est.layer is None:
            raise ValueError("A backbone needs a layer name (layer=...) to take features from.")
        feats = extract_features(X, backbone, est.layer, device=est.device,
                                 cache_dir=est.feature_cache, normalize=est.normalize)
    elif isinstance(X, (FeatureTokens, str, os.PathLike)):
        feats = as_feature_tokens(X)
        check_finite_tokens(feats.tokens)
    else:
        # scikit-learn's checks and messages (sparse, complex, object, empty, NaN, 1-D)
        feats = as_feature_tokens(check_array(X, allow_nd=True, dtype=(np.float32, np.float64),
                                              input_name="X"))
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
    model : str | type, default="brain_encoder"
        Registry name or model class with the brain encoder's signature.
    backbone : torch.nn.Module | None, default=None
        When given (with ``layer``), ``X`` are images and their features are
        extracted with :func:`~neuroattn.estimators.extract_features`.
    layer : str | None, default=None
        Backbone layer to take tokens from.
    feature_cache : str | Path | None, default=None
        Folder for memory-mapped feature caches (computed once).
    normalize : {"imagenet", None}, default=None
        Image normalisation before the backbone.
    max_epochs : int, default=100
    lr : float, default=5e-4
        AdamW learning rate (reference value).
    batch_size : int, default=32
    weight_decay : float, default=1e-4
        AdamW weight decay (reference value).
    grad_clip : float | None, default=1.0
        Maximum gradient norm (None disables clipping).
    lr_scheduler : {"cosine", "warmup_cosine", None}, default="cosine"
        See :class:`NeuroClassifier`.
    validation_fraction : float | None, default=None
    early_stopping : bool, default=False
    patience : int, default=10
    callbacks : list | None, default=None
    device : str, default="auto"
        CUDA when present (bfloat16 autocast), else CPU; also used for extraction.
    random_state : int | RandomState | None, default=None
        Seeds initialisation, shuffling and the validation split.
    verbose : int, default=0
    **kwargs
        ``model__<name>`` (e.g. ``model__embed_dim=768, model__n_heads=16``) and
        ``optimizer__<name>``, as in :class:`~neuroattn.NeuroRegressor`.

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

    def __init__(self, model: str | type = "brain_encoder", *,
                 backbone: torch.nn.Module | None = None, layer: str | None = None,
                 feature_cache: str | Path | None = None, normalize: str | None = None,
                 max_epochs: int = 100, lr: float = 5e-4, batch_size: int = 32,
                 weight_decay: float = 1e-4, grad_clip: float | None = 1.0,
                 lr_scheduler: str | None = "cosine",
                 validation_fraction: float | None = None, early_stopping: bool = False,
                 patience: int = 10, callbacks: list | None = None, device: str = "auto",
                 random_state: Any = None, verbose: int = 0, **kwargs: Any) -> None:
        self.model = model
        self.backbone = backbone
        self.layer = layer
        self.feature_cache = feature_cache
        self.normalize = normalize
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.lr_scheduler = lr_scheduler
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self._set_routed(kwargs)

    def _callbacks(self) -> list:
        extra = []
        if self.grad_clip is not None:
            if self.grad_clip <= 0:
                raise ValueError(f"grad_clip must be positive or None, got {self.grad_clip}.")
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
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = self._build()
            self.net_ = self._make_net(module, seed)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*does not have many workers.*")
                self.net_.fit(self._dataset(feats, Yz), None)
        self.module_ = self.net_.module_
        self.history_ = self.net_.history
        return self

    def _build(self) -> torch.nn.Module:
        cls = model_registry.get(self.model)
        kwargs = {"n_chans": self.n_dims_, "n_times": self.n_tokens_,
                  "n_outputs": self.n_outputs_,
                  "voxel_regions": self.voxel_groups_.tolist(), **self._routed("model__")}
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ValueError(f"Could not build model {self.model!r}: {exc}") from exc

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
            Images per forward pass.

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

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> BrainEncoderRegressor:
        """Load an encoder written by :meth:`save` (``device`` as in the constructor).

        Raises
        ------
        ValueError
            If the file was not written by this class.
        """
        import json

        from safetensors import safe_open
        from safetensors.torch import load_file

        from ._base import _decode

        with safe_open(str(path), framework="pt") as fh:
            raw = (fh.metadata() or {}).get("neuroattn")
        meta = json.loads(raw, object_hook=_decode) if raw else {"class": None}
        if meta["class"] != cls.__name__:
            raise ValueError(f"{path} holds a {meta['class']}, not a {cls.__name__}.")
        est = cls(**{**meta["params"], "device": device})
        for key, value in meta["fitted"].items():
            setattr(est, key, value)
        est.voxel_groups_ = np.asarray(est.voxel_groups_)
        est.grid_shape_ = tuple(est.grid_shape_) if est.grid_shape_ else None
        module = est._build()
        module.load_state_dict(load_file(str(path)))
        est.net_ = est._make_net(module, seed=0).initialize()
        est.module_ = est.net_.module_
        est.history_ = est.net_.history
        return est


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


def compare_encoders(X_train: Any, Y_train: Any, X_test: Any, Y_test: Any, *,
                     regions: Any = None, hemispheres: Any = None,
                     encoder: BrainEncoderRegressor | None = None,
                     ridge_poolings: tuple[str, ...] = ("mean", "flatten")) -> dict[str, Any]:
    """Fit the brain encoder and ridge baselines on the same split; per-voxel r of each.

    Parameters
    ----------
    X_train, X_test : array-like | FeatureTokens
        Features of the training and test images.
    Y_train, Y_test : array-like
        Responses; ``Y_test`` may hold repeats ``(n_images, n_repeats, n_voxels)``,
        then noise-ceiling-normalised r is reported too.
    regions, hemispheres : array-like | None
        Voxel labels (see :meth:`BrainEncoderRegressor.fit`).
    encoder : BrainEncoderRegressor | None
        The encoder to fit (a default one when None).
    ridge_poolings : tuple of str
        Ridge variants (``"mean"``, ``"flatten"``).

    Returns
    -------
    dict
        ``r``: model name (``"encoder"``, ``"ridge_mean"``, ``"ridge_flatten"``) to
        per-voxel r ``(n_voxels,)``; ``r_normalized`` likewise when repeats are given
        (else None); ``fit_seconds``: model name to fit time; ``models``: the fitted
        estimators.
    """
    encoder = BrainEncoderRegressor() if encoder is None else encoder
    models: dict[str, Any] = {"encoder": encoder}
    models.update({f"ridge_{p}": RidgeEncoder(pooling=p) for p in ridge_poolings})
    out: dict[str, Any] = {"r": {}, "r_normalized": None, "fit_seconds": {}, "models": models}
    repeats = np.ndim(Y_test) == 3
    if repeats:
        out["r_normalized"] = {}
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(X_train, Y_train, regions=regions, hemispheres=hemispheres)
        out["fit_seconds"][name] = time.perf_counter() - t0
        out["r"][name] = model.score_voxels(X_test, Y_test, normalize=False)
        if repeats:
            out["r_normalized"][name] = model.score_voxels(X_test, Y_test)
    return out
