"""The connectome transformer pipeline of :mod:`neuroattn.benchmark.fmri` and its scaler."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["DEFAULT_TRANSFORMER", "ConnectomeScaler", "connectome_transformer_pipeline"]

#: The connectome transformer recipe (chosen on NYU's inner 3-fold split, see
#: benchmarks/bench_fmri_transformers.py; override with ``transformer_params``).
#: Candidate "lead_64_depth2" of that script (inner-CV ROC AUC 0.73 on NYU).
DEFAULT_TRANSFORMER = dict(max_epochs=60, lr=3e-4, batch_size=32, weight_decay=0.01,
                           lr_scheduler=None, validation_fraction=0.15, early_stopping=True,
                           patience=10, model__embed_dim=64, model__depth=2,
                           model__n_heads=4, model__mlp_ratio=2.0, model__n_clusters=10,
                           model__hidden_dims=(256, 32), model__drop_prob=0.1)


class ConnectomeScaler(TransformerMixin, BaseEstimator):
    """Fisher z (optional), zero diagonal, one global scale fitted on the training stack.

    Parameters
    ----------
    fisher_z : bool
        Apply ``arctanh`` to the entries (for correlation matrices; entries are
        clipped to ``[-1 + 1e-6, 1 - 1e-6]`` first). Leave False for tangent-space
        matrices.
    scale : bool
        Divide every matrix by the standard deviation of the off-diagonal entries of
        the training matrices (``scale_``), so the network sees unit-scale tokens
        whatever the connectivity kind.

    Attributes
    ----------
    scale_ : float
        The divisor (1.0 when ``scale=False``).
    n_regions_ : int
        Regions of the training matrices.

    Notes
    -----
    Input and output ``(n_subjects, n_regions, n_regions)``; the output is float32,
    symmetric, with a zero diagonal (self-connectivity carries no information and
    ``arctanh(1)`` is infinite).
    """

    def __init__(self, fisher_z: bool = True, scale: bool = True) -> None:
        self.fisher_z = fisher_z
        self.scale = scale

    def _prepare(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3 or X.shape[1] != X.shape[2]:
            raise ValueError(f"X: expected (n_subjects, n_regions, n_regions) square "
                             f"connectivity matrices, got shape {X.shape}.")
        if not np.isfinite(X).all():
            raise ValueError("X: connectivity matrices hold NaN or infinite values.")
        if self.fisher_z:
            X = np.arctanh(np.clip(X, -1 + 1e-6, 1 - 1e-6))
        X = X.copy()
        idx = np.arange(X.shape[1])
        X[:, idx, idx] = 0.0
        return X

    def fit(self, X: Any, y: Any = None) -> ConnectomeScaler:
        """Learn the global scale from training matrices.

        Parameters
        ----------
        X : array-like, shape (n_subjects, n_regions, n_regions)
            Connectivity matrices.
        y : ignored

        Returns
        -------
        ConnectomeScaler

        Raises
        ------
        ValueError
            If ``X`` is not a stack of square matrices or holds non-finite values.
        """
        Xp = self._prepare(X)
        self.n_regions_ = Xp.shape[1]
        off = ~np.eye(self.n_regions_, dtype=bool)
        std = float(Xp[:, off].std()) if self.scale else 1.0
        self.scale_ = std if std > 0 else 1.0
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Scaled matrices, float32, same shape as ``X``.

        Raises
        ------
        ValueError
            If ``X`` is not square, non-finite, or has another number of regions than
            the training matrices.
        """
        check_is_fitted(self, "scale_")
        Xp = self._prepare(X)
        if Xp.shape[1] != self.n_regions_:
            raise ValueError(f"X: matrices have {Xp.shape[1]} regions, the scaler was "
                             f"fitted on {self.n_regions_}.")
        return (Xp / self.scale_).astype(np.float32)


def connectome_transformer_pipeline(kind: str = "correlation", *, fisher_z: bool | None = None,
                                    random_state: Any = None, **params: Any) -> Pipeline:
    """``ConnectivityMeasure(kind, vectorize=False)`` -> scaler -> Brain Network Transformer.

    Every fitted part (the tangent reference of ``kind="tangent"``, the scale, the
    network) sees the training subjects only.

    Parameters
    ----------
    kind : {"correlation", "tangent", "partial correlation", "covariance"}
        nilearn connectivity kind (Ledoit-Wolf covariance); the matrices stay square.
    fisher_z : bool | None
        Fisher z of the entries (:class:`~neuroattn.benchmark._connectome.ConnectomeScaler`);
        None: only for ``"correlation"`` and ``"partial correlation"``.
    random_state : int | None
        Seed of the network.
    **params
        :class:`~neuroattn.estimators.NeuroClassifier` parameters (``model__*`` reach
        :class:`~neuroattn.models.brain_network_transformer.BrainNetworkTransformer`),
        on top of ``DEFAULT_TRANSFORMER``.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted on a list of ``(n_timepoints, n_regions)`` series and labels; the
        network refuses non-square or non-symmetric matrices before training.

    Raises
    ------
    ValueError
        If ``kind`` is not a nilearn connectivity kind.
    """
    from nilearn.connectome import ConnectivityMeasure

    from ..estimators import NeuroClassifier

    kinds = ("correlation", "tangent", "partial correlation", "covariance", "precision")
    if kind not in kinds:
        raise ValueError(f"kind must be one of {kinds}, got {kind!r}.")
    if fisher_z is None:
        fisher_z = kind in ("correlation", "partial correlation")
    clf = NeuroClassifier("brain_network_transformer", random_state=random_state,
                          **{**DEFAULT_TRANSFORMER, **params})
    return make_pipeline(ConnectivityMeasure(kind=kind, vectorize=False, standardize=False),
                         ConnectomeScaler(fisher_z=fisher_z), clf)
