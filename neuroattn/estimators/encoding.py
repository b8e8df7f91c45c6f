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
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import GradientNormClipping

from .._docs import fill_estimator_doc
from ..data.encoding import UNLABELLED, FeatureTokens, region_groups
from ..nn.losses import MaskedMSELoss
from ._base import TRAINING_CONSTRAINTS, NeuroEstimatorMixin
from ._encoding_common import (
    _check_Y,
    _EncodingScoreMixin,
    _feature_stats,
    _features,
)
from ._encoding_readout import DEFAULT_ALPHAS, cluster_voxels, fit_ridge_readout
from ._encoding_ridge import BandedRidgeEncoder, RidgeEncoder
from ._nets import _Regressor
from .features import extract_features

__all__ = ["BrainEncoderRegressor", "RidgeEncoder", "BandedRidgeEncoder",
           "extract_features"]


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
    n_queries : int | None, default=None
        Learned queries for the voxels without a region label (all voxels when
        ``regions`` is not given): each such voxel reads a learned soft mixture of
        them, initialised by clustering the voxels on where their responses are
        predictable (:func:`~neuroattn.estimators._encoding_readout.cluster_voxels`).
        None: ``min(8, n_unlabelled_voxels)``. Labelled regions keep one query each.
    readout : {"ridge", "learned"}, default="ridge"
        "ridge": after training, each voxel's readout is refitted in closed form
        (banded ridge, chosen per voxel by exact leave-one-out) on two bands: its
        query's attention-pooled input tokens and output token, and the mean input
        token (global features) with its own shrinkage -- so ridge on pooled features
        is a special case; an unlabelled voxel also takes the query with the lowest
        leave-one-out error. "learned": keep the gradient-trained linear readout.
    ridge_alphas : array-like | None, default=None
        Candidate penalties of the ridge readout; None: ``np.logspace(-2, 6, 17)``.
    readout_rank : int | None, default=None
        Reduced-rank ridge readout (``readout="ridge"`` only): the weights of the
        voxels reading one query keep the top ``readout_rank`` principal directions
        of their fitted responses. None: full rank.
    weight_averaging : int, default=0
        Average the weights of the last ``weight_averaging`` epochs (0 or 1: keep the
        last) before the readout is refitted; not with ``early_stopping``.
    %(training_params)s
        Here the model is the brain encoder (e.g. ``model__embed_dim=768,
        model__n_heads=16``); ``device`` is also used for feature extraction. The
        defaults of ``lr`` and ``weight_decay`` are the reference implementation's.

    Attributes
    ----------
    region_names_ : list of str
        Label groups (``"<region>_<hemisphere>"``, ``"other"`` last).
    voxel_groups_ : numpy.ndarray
        ``(n_voxels,)`` label-group index of each voxel.
    query_names_ : list of str
        Queries: one per labelled group (same order as ``region_names_``), then the
        learned ones (``"query0"``, ...; ``"other"`` when one serves the unlabelled
        voxels); the rows of :meth:`routing_maps`.
    voxel_queries_ : numpy.ndarray
        ``(n_voxels,)`` query each voxel reads (for unlabelled voxels: learned).
    voxel_assignment_ : numpy.ndarray
        ``(n_unlabelled_voxels, n_queries)`` learned soft assignment (rows sum to 1)
        of ``unlabelled_voxels_`` to the learned queries (before the ridge choice).
    unlabelled_voxels_ : numpy.ndarray
        Indices of the voxels routed through the learned queries.
    readout_alpha_ : numpy.ndarray
        ``(n_voxels,)`` ridge penalty per voxel (``readout="ridge"``).
    readout_mean_band_ : numpy.ndarray
        ``(n_voxels,)`` weight of the mean-token band against the query's own band
        chosen per voxel (0: not used, ``inf``: the mean token alone, i.e. pooled
        ridge; ``readout="ridge"``).
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
        "n_queries": [Interval(Integral, None, None, closed="neither"), None],
        "readout": [StrOptions({"ridge", "learned"})],
        "ridge_alphas": ["array-like", None],
        "readout_rank": [Interval(Integral, 1, None, closed="left"), None],
        "weight_averaging": [Interval(Integral, 0, None, closed="left")],
    }
    #: Offer the mean-token band to the ridge readout (False in the ablation only).
    _readout_mean_band = True

    def __init__(self, model: str | type = "brain_encoder", *,
                 backbone: torch.nn.Module | str | None = None, layer: str | None = None,
                 feature_cache: str | Path | None = None, normalize: str | None = None,
                 max_epochs: int = 100, lr: float = 5e-4, batch_size: int = 32,
                 weight_decay: float = 1e-4, grad_clip: float | None = 1.0,
                 n_queries: int | None = None, readout: str = "ridge",
                 ridge_alphas: Any = None, readout_rank: int | None = None,
                 weight_averaging: int = 0,
                 lr_scheduler: str | None = "cosine",
                 validation_fraction: float | None = None, early_stopping: bool = False,
                 patience: int = 10, callbacks: list | None = None, device: str = "auto",
                 mixed_precision: str = "no", gradient_accumulation_steps: int = 1,
                 compile: bool = False, num_workers: int = 0, pin_memory: bool | None = None,
                 persistent_workers: bool = False,
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
            region label, ``regions`` does not have one entry per voxel, ``n_queries``
            is < 1 or exceeds the unlabelled voxels, ``readout_rank`` is set without
            the ridge readout, or the inputs hold inf / fully
            missing voxels (the labels and ``n_queries`` are checked before any
            feature is extracted).
        """
        self._check_params()
        if self.readout_rank is not None and self.readout != "ridge":
            raise ValueError(f"readout_rank={self.readout_rank} reduces the rank of the ridge "
                             f"readout; readout={self.readout!r} has none (use "
                             "readout='ridge' or readout_rank=None).")
        n_free_early = _check_labels_early(self, y, regions)
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
        self._setup_queries(feats, Yz, n_free_early)
        dataset = self._dataset(feats, Yz)
        self._train(dataset, None, seed=self._seed())
        module = self.module_
        free = self.unlabelled_voxels_
        self.voxel_assignment_ = module.voxel_assignment().float().cpu().numpy()
        query = module.voxel_query.cpu().numpy().copy()
        if free.size:
            query[free] = self.n_labelled_queries_ + self.voxel_assignment_.argmax(1)
        self.readout_alpha_ = self.readout_mean_band_ = None
        if self.readout == "ridge":
            alphas = (DEFAULT_ALPHAS if self.ridge_alphas is None
                      else np.asarray(self.ridge_alphas, dtype=float))
            res = fit_ridge_readout(module, dataset, Yz, query, free, self.n_labelled_queries_,
                                    alphas, mean_band=self._readout_mean_band,
                                    rank=self.readout_rank)
            query, self.readout_alpha_ = res["voxel_query"], res["alpha"]
            self.readout_mean_band_ = res["mean_band_scale"]
        self.voxel_queries_ = query
        return self

    def _setup_queries(self, feats: FeatureTokens, Yz: np.ndarray, n_free: int) -> None:
        """Labelled groups keep one query each; unlabelled voxels get ``n_queries``
        learned ones, initialised by clustering."""
        names = list(self.region_names_)
        has_free = bool(names) and names[-1] == UNLABELLED
        self.n_labelled_queries_ = len(names) - int(has_free)
        free = (np.flatnonzero(self.voxel_groups_ == len(names) - 1) if has_free
                else np.zeros(0, np.int64))
        self.unlabelled_voxels_ = free
        k = 0
        self.query_init_ = None
        if free.size:
            k = min(8, free.size) if self.n_queries is None else int(self.n_queries)
            if k > 1:
                tokens = (np.asarray(feats.tokens, dtype=np.float32) - self.feature_mean_) \
                    / self.feature_scale_
                self.query_init_ = cluster_voxels(tokens, Yz[:, free], k,
                                                  random_state=self._seed()).tolist()
        self.n_free_queries_ = k
        self.query_names_ = names[: self.n_labelled_queries_] + (
            [UNLABELLED] if k == 1 else [f"query{j}" for j in range(k)])

    def _signal_args(self) -> dict[str, Any]:
        regions = np.asarray(self.voxel_groups_).copy()
        regions[self.unlabelled_voxels_] = -1
        args = {"n_chans": self.n_dims_, "n_times": self.n_tokens_,
                "n_outputs": self.n_outputs_, "voxel_regions": regions.tolist()}
        if self.n_free_queries_:
            args.update(n_queries=self.n_free_queries_, query_init=self.query_init_)
        return args

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
            ``(n_images, n_queries, n_tokens)``, queries in the order of
            ``query_names_`` (labelled groups first, as in ``region_names_``); reshape
            the last axis to ``grid_shape_`` for a map.
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


def _check_labels_early(est: Any, y: Any, regions: Any) -> int:
    """``regions`` length and ``n_queries`` against the voxels of ``y``, before any
    feature is extracted; returns the number of unlabelled voxels."""
    if y is None:
        return 0  # reported by the full check
    shape = np.asarray(y).shape
    if len(shape) not in (1, 2, 3):
        return 0  # reported by the full check
    n_vox = 1 if len(shape) == 1 else shape[-1]
    if regions is None:
        n_free = n_vox
    else:
        labels = np.asarray(regions, dtype=object).ravel()
        if labels.size != n_vox:
            raise ValueError(f"regions has {labels.size} entries but y has {n_vox} voxels; "
                             "give one region label per voxel (\"other\" for none).")
        n_free = int(sum(str(r) == UNLABELLED for r in labels))
    k = est.n_queries
    if k is not None and (k < 1 or (n_free and k > n_free)):
        raise ValueError(f"n_queries must be between 1 and the number of unlabelled voxels "
                         f"({n_free} of {n_vox}), got {k}.")
    return n_free
