"""Ridge peers of the brain encoder: scikit-learn ``RidgeCV`` on pooled or flattened
features (:class:`RidgeEncoder`) and himalaya's banded ridge (:class:`BandedRidgeEncoder`)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted

from ._encoding_common import _check_Y, _EncodingScoreMixin, _features

__all__ = ["RidgeEncoder", "BandedRidgeEncoder"]


def _pool(tokens: np.ndarray, pooling: str) -> np.ndarray:
    tokens = np.asarray(tokens, dtype=np.float64)
    if pooling == "mean":
        return tokens.mean(axis=1)
    if pooling == "flatten":
        return tokens.reshape(len(tokens), -1)
    raise ValueError(f"pooling must be 'mean' or 'flatten', got {pooling!r}.")


_ALPHAS = np.logspace(-2, 6, 17)


def _fit_responses(est: Any, X: Any, y: Any, regions: Any, hemispheres: Any):
    """Checked features and responses (NaN -> the voxel's mean, with a warning)."""
    feats = _features(est, X, reset=True)
    est.n_tokens_, est.n_dims_ = int(feats.tokens.shape[1]), int(feats.tokens.shape[2])
    Y, _, _ = _check_Y(est, y, feats.n_images, regions, hemispheres)
    est.missing_responses_ = np.isnan(Y).sum(axis=0)
    if est.missing_responses_.any():
        warnings.warn(f"{int(est.missing_responses_.sum())} NaN responses in "
                      f"{int((est.missing_responses_ > 0).sum())} voxels are replaced by "
                      "their voxel's mean (see missing_responses_).", UserWarning,
                      stacklevel=3)
    return feats, np.where(np.isnan(Y), np.nanmean(Y, axis=0), Y)


def _check_solver(solver: str) -> None:
    if solver not in ("sklearn", "himalaya"):
        raise ValueError(f"solver must be 'sklearn' or 'himalaya', got {solver!r}.")


class _RidgePredictMixin:
    def _token_shape_msg(self) -> str:
        return f"{self.n_tokens_} tokens of width {self.n_dims_}"

    def _design(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "ridge_")
        feats = _features(self, X, reset=False)
        Z = self._transform(feats.tokens)
        if Z.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"X has {feats.tokens.shape[1]} tokens of width "
                             f"{feats.tokens.shape[2]}, but {type(self).__name__} was fitted "
                             f"on {self._token_shape_msg()}.")
        return (Z - self.mean_) / self.scale_

    def predict(self, X: Any) -> np.ndarray:
        """Predicted responses ``(n_images, n_voxels)``."""
        Z = self._design(X)
        out = np.asarray(self._predict_design(Z), dtype=np.float64).reshape(len(Z), -1)
        out = out + self.y_mean_
        return out[:, 0] if self.y_1d_ else out

    def _standardize(self, Z: np.ndarray) -> np.ndarray:
        self.mean_, std = Z.mean(0), Z.std(0)
        self.scale_ = np.where(std > 1e-8, std, 1.0)
        return (Z - self.mean_) / self.scale_


class RidgeEncoder(_RidgePredictMixin, _EncodingScoreMixin, RegressorMixin, BaseEstimator):
    """Ridge regression from (pooled or flattened) features to every voxel.

    The peer of the brain encoder: features standardised, responses centred, then a
    ridge with an alpha chosen per voxel: scikit-learn's
    :class:`~sklearn.linear_model.RidgeCV` (efficient leave-one-out, its per-target
    mode) or himalaya's :class:`himalaya.ridge.RidgeCV` (``cv`` folds, GPU-capable with
    a himalaya backend).

    Parameters
    ----------
    pooling : {"mean", "flatten"}, default="mean"
        Average tokens (``dim`` features) or concatenate them (``n_tokens * dim``).
    alphas : array-like | None, default=None
        Candidate regularisation strengths; None tries ``np.logspace(-2, 6, 17)``.
    solver : {"sklearn", "himalaya"}, default="sklearn"
        Which library solves it.
    cv : int, default=5
        Contiguous folds (``KFold(cv)``) of himalaya's alpha search.

    Attributes
    ----------
    ridge_ : sklearn.linear_model.RidgeCV | himalaya.ridge.RidgeCV
    alpha_ : numpy.ndarray
        ``(n_voxels,)`` chosen alpha per voxel.
    missing_responses_ : numpy.ndarray
        ``(n_voxels,)`` NaN responses per voxel (replaced by the voxel mean for fitting).
    """

    def __init__(self, pooling: str = "mean", alphas: Any = None, solver: str = "sklearn",
                 cv: int = 5) -> None:
        self.pooling = pooling
        self.alphas = alphas
        self.solver = solver
        self.cv = cv

    def _transform(self, tokens: np.ndarray) -> np.ndarray:
        return _pool(tokens, self.pooling)

    def fit(self, X: Any, y: Any, regions: Any = None, hemispheres: Any = None) -> RidgeEncoder:
        """Fit on features ``X`` and responses ``y`` (see :class:`BrainEncoderRegressor`).

        ``regions`` and ``hemispheres`` are accepted for a common interface and only
        checked. NaN responses are replaced by the voxel's mean (ridge has no mask).

        Raises
        ------
        ValueError
            If ``pooling`` or ``solver`` is unknown, or the data are invalid.
        """
        _check_solver(self.solver)
        _pool(np.zeros((1, 1, 1)), self.pooling)
        feats, Y = _fit_responses(self, X, y, regions, hemispheres)
        Z = self._standardize(self._transform(feats.tokens))
        self.y_mean_ = Y.mean(0)
        alphas = _ALPHAS if self.alphas is None else np.asarray(self.alphas, dtype=float)
        if self.solver == "sklearn":
            # Its own intercept: leave-one-out on responses centred beforehand degenerates
            # when there are more features than images (it then picks the smallest alpha).
            self.y_mean_ = np.zeros(Y.shape[1])
            self.ridge_ = RidgeCV(alphas=alphas, alpha_per_target=True)
            self.ridge_.fit(Z, Y)
            self.alpha_ = np.atleast_1d(self.ridge_.alpha_)
        else:
            from himalaya.kernel_ridge import KernelRidgeCV
            from himalaya.ridge import RidgeCV as HimalayaRidgeCV

            # Primal when there are more images than features, dual (linear kernel) else.
            cls = HimalayaRidgeCV if Z.shape[0] >= Z.shape[1] else KernelRidgeCV
            self.ridge_ = cls(alphas=alphas, cv=KFold(self.cv), force_cpu=True)
            self.ridge_.fit(Z, Y - self.y_mean_)
            self.alpha_ = np.atleast_1d(np.asarray(self.ridge_.best_alphas_))
        return self

    def _predict_design(self, Z: np.ndarray) -> np.ndarray:
        return self.ridge_.predict(Z)


def _spatial_bands(grid_shape: tuple[int, int], n_split: int) -> list[np.ndarray]:
    """Token indices of ``n_split x n_split`` spatial blocks of the grid."""
    h, w = grid_shape
    rows = np.minimum(np.arange(h) * n_split // max(h, 1), n_split - 1)
    cols = np.minimum(np.arange(w) * n_split // max(w, 1), n_split - 1)
    block = (rows[:, None] * n_split + cols[None, :]).ravel()
    return [np.flatnonzero(block == b) for b in range(n_split * n_split)
            if (block == b).any()]


class BandedRidgeEncoder(_RidgePredictMixin, _EncodingScoreMixin, RegressorMixin,
                         BaseEstimator):
    """Banded ridge (himalaya): one regularisation per feature band and voxel.

    Bands: the mean-pooled features (global content) and the flattened tokens of each
    of ``n_split x n_split`` spatial blocks of the feature grid (local features).
    himalaya's multiple-kernel ridge (:class:`himalaya.kernel_ridge.MultipleKernelRidgeCV`,
    one linear kernel per band: the dual form of banded ridge, faster than
    :class:`himalaya.ridge.BandedRidgeCV` with fewer images than features) searches the
    band weights per voxel by random search over ``cv`` contiguous folds -- the
    encoding-model community's standard peer.

    Parameters
    ----------
    n_split : int, default=2
        Spatial blocks per grid side (2: four quadrant bands).
    alphas : array-like | None, default=None
        Overall regularisation strengths tried; None: ``np.logspace(-2, 6, 17)``.
    n_iter : int, default=20
        Random-search iterations over the band scalings.
    cv : int, default=5
        Contiguous folds (``KFold(cv)``).
    random_state : int | None, default=0
        Seed of the random search.

    Attributes
    ----------
    ridge_ : himalaya.kernel_ridge.MultipleKernelRidgeCV | himalaya.ridge.BandedRidgeCV
        Dual form with fewer images than features (``dual_`` True), primal else.
    bands_ : list of numpy.ndarray
        Token indices of each spatial band.
    alpha_ : numpy.ndarray
        ``(n_voxels,)`` best overall alpha per voxel.
    band_weights_ : numpy.ndarray
        ``(n_bands, n_voxels)`` band scalings ``exp(deltas)`` (mean band first).
    """

    def __init__(self, n_split: int = 2, alphas: Any = None, n_iter: int = 20, cv: int = 5,
                 random_state: int | None = 0) -> None:
        self.n_split = n_split
        self.alphas = alphas
        self.n_iter = n_iter
        self.cv = cv
        self.random_state = random_state

    def _transform(self, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens, dtype=np.float64)
        parts = [tokens.mean(axis=1)] + [tokens[:, b].reshape(len(tokens), -1)
                                         for b in self.bands_]
        return np.concatenate(parts, axis=1)

    def fit(self, X: Any, y: Any, regions: Any = None,
            hemispheres: Any = None) -> BandedRidgeEncoder:
        """Fit on features ``X`` and responses ``y`` (see :class:`RidgeEncoder`).

        Raises
        ------
        ValueError
            If ``n_split`` < 1 or exceeds the grid, or the data are invalid.
        """
        from himalaya.kernel_ridge import MultipleKernelRidgeCV
        from himalaya.ridge import BandedRidgeCV

        if not isinstance(self.n_split, (int, np.integer)) or self.n_split < 1:
            raise ValueError(f"n_split must be an int >= 1, got {self.n_split!r}.")
        feats, Y = _fit_responses(self, X, y, regions, hemispheres)
        if feats.grid_shape is None:  # tokens without a grid: one band of all tokens
            self.bands_ = [np.arange(self.n_tokens_)]
        elif self.n_split > min(feats.grid_shape):
            raise ValueError(f"n_split={self.n_split} exceeds the feature grid "
                             f"{feats.grid_shape}.")
        else:
            self.bands_ = _spatial_bands(feats.grid_shape, self.n_split)
        Z = self._standardize(self._transform(feats.tokens))
        d = self.n_dims_
        sizes = [d] + [b.size * d for b in self.bands_]
        self.band_slices_ = np.split(np.arange(Z.shape[1]), np.cumsum(sizes)[:-1])
        self.y_mean_ = Y.mean(0)
        alphas = _ALPHAS if self.alphas is None else np.asarray(self.alphas, dtype=float)
        params = {"n_iter": self.n_iter, "alphas": alphas, "progress_bar": False}
        # Dual (one kernel per band) with fewer images than features, primal else.
        self.dual_ = Z.shape[0] < Z.shape[1]
        if self.dual_:
            self.Z_fit_ = Z.astype(np.float32)
            self.ridge_ = MultipleKernelRidgeCV(kernels="precomputed", cv=KFold(self.cv),
                                                force_cpu=True, solver_params=params,
                                                random_state=self.random_state)
            self.ridge_.fit(self._kernels(Z), Y - self.y_mean_)
        else:
            groups = np.concatenate([np.full(len(s), i) for i, s in
                                     enumerate(self.band_slices_)])
            self.ridge_ = BandedRidgeCV(groups=groups, cv=KFold(self.cv), force_cpu=True,
                                        solver_params=params, random_state=self.random_state)
            self.ridge_.fit(Z, Y - self.y_mean_)
        self.alpha_ = np.atleast_1d(np.asarray(self.ridge_.best_alphas_))
        self.band_weights_ = np.exp(np.asarray(self.ridge_.deltas_))
        return self

    def _kernels(self, Z: np.ndarray) -> np.ndarray:
        """Linear kernels ``(n_bands, n_images, n_fit_images)`` of each band."""
        return np.stack([Z[:, s] @ self.Z_fit_[:, s].T.astype(np.float64)
                         for s in self.band_slices_])

    def _predict_design(self, Z: np.ndarray) -> np.ndarray:
        return self.ridge_.predict(self._kernels(Z) if self.dual_ else Z)
