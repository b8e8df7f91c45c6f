"""The connectome transformer pipeline of :mod:`neuroattn.benchmark.fmri` and its scaler."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["DEFAULT_TRANSFORMER", "HYBRID_TRANSFORMER", "TRANSFORMER_METHODS",
           "ConnectomeScaler", "connectome_transformer_pipeline", "transformer_recipe"]

#: The connectome transformer recipe (chosen on NYU's inner 3-fold split, see
#: benchmarks/bench_fmri_transformers.py; override with ``transformer_params``).
#: Candidate "lead_64_depth2" of that script (inner-CV ROC AUC 0.73 on NYU).
DEFAULT_TRANSFORMER = dict(max_epochs=60, lr=3e-4, batch_size=32, weight_decay=0.01,
                           lr_scheduler=None, validation_fraction=0.15, early_stopping=True,
                           patience=10, model__embed_dim=64, model__depth=2,
                           model__n_heads=4, model__mlp_ratio=2.0, model__n_clusters=10,
                           model__hidden_dims=(256, 32), model__drop_prob=0.1)

#: The recipe of the linear-skip method ``bnt_tangent_skip``: a small, regularised
#: network with label smoothing, early stopping on an inner split and a small step,
#: chosen on NYU's inner 3-fold split (candidate "bnt_small_tangent_oofskip" of
#: benchmarks/bench_fmri_hybrids.py --select), frozen before any other site was scored.
#: On top of ``DEFAULT_TRANSFORMER``.
HYBRID_TRANSFORMER = dict(lr=3e-4, weight_decay=0.05, label_smoothing=0.1,
                          model__embed_dim=32, model__depth=1, model__n_heads=4,
                          model__mlp_ratio=2.0, model__n_clusters=8, model__hidden_dims=(32,),
                          model__drop_prob=0.3)

#: Connectome transformer methods of ``evaluate_fmri``: method -> (connectivity kind,
#: BrainMAE pretraining pool for the region embeddings or None, linear skip).
#: ``"training"`` pretrains on the training subjects' series, ``"transductive"`` also
#: on the held-out subjects' series (never their labels).
TRANSFORMER_METHODS = {
    "bnt_correlation": ("correlation", None, False),
    "bnt_tangent": ("tangent", None, False),
    "bnt_brainmae": ("correlation", "training", False),
    "bnt_brainmae_transductive": ("correlation", "transductive", False),
    "bnt_tangent_skip": ("tangent", None, True),
}

def transformer_recipe(method: str) -> dict[str, Any]:
    """NeuroClassifier parameters a connectome transformer method starts from.

    Parameters
    ----------
    method : str
        A key of :data:`TRANSFORMER_METHODS`.

    Returns
    -------
    dict
        ``DEFAULT_TRANSFORMER``; with ``HYBRID_TRANSFORMER`` on top for the linear-skip
        method (on NYU's inner folds the default network was the best of the
        candidates without a skip, with or without BrainMAE embeddings).

    Raises
    ------
    ValueError
        If ``method`` is not a connectome transformer method.
    """
    if method not in TRANSFORMER_METHODS:
        raise ValueError(f"method must be one of {tuple(TRANSFORMER_METHODS)}, got {method!r}.")
    if TRANSFORMER_METHODS[method][2]:
        return {**DEFAULT_TRANSFORMER, **HYBRID_TRANSFORMER}
    return dict(DEFAULT_TRANSFORMER)


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


def _region_embedding(region_embedding: Any) -> np.ndarray | None:
    """An array, or the region embeddings of a fitted ``BrainMAEPretrainer``."""
    if region_embedding is None or not hasattr(region_embedding, "fit"):
        return region_embedding
    module = getattr(region_embedding, "module_", None)
    if module is None or not hasattr(module, "region_embed"):
        raise ValueError("region_embedding: expected a (n_regions, d) array or a fitted "
                         f"BrainMAEPretrainer, got an unfitted {type(region_embedding).__name__}.")
    return module.region_embed.detach().cpu().numpy().astype(np.float64)


def connectome_transformer_pipeline(kind: str = "correlation", *, fisher_z: bool | None = None,
                                    region_embedding: Any = None, linear_skip: bool = False,
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
    region_embedding : array-like of shape (n_regions, d) | BrainMAEPretrainer | None
        Fixed region features concatenated to every connectivity row: an array, or a
        fitted :class:`~neuroattn.estimators.BrainMAEPretrainer` whose learnt region
        embeddings (``module_.region_embed``) are taken, frozen (pretrain it on the
        training subjects' series only, or say so).
    linear_skip : bool
        Put the network over a frozen linear skip, the peer's standardised logistic
        regression fitted on the training matrices
        (:class:`~neuroattn.benchmark._connectome_skip.LinearSkipTransformer`).
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
        If ``kind`` is not a nilearn connectivity kind, or ``region_embedding`` is an
        unfitted pretrainer (its shape is checked by the model: ``(n_regions, d)``).
    """
    from nilearn.connectome import ConnectivityMeasure

    from ..estimators import NeuroClassifier

    kinds = ("correlation", "tangent", "partial correlation", "covariance", "precision")
    if kind not in kinds:
        raise ValueError(f"kind must be one of {kinds}, got {kind!r}.")
    if fisher_z is None:
        fisher_z = kind in ("correlation", "partial correlation")
    params = {**DEFAULT_TRANSFORMER, **params}
    embedding = _region_embedding(region_embedding)
    if embedding is not None:
        params["model__region_embedding"] = embedding
    if linear_skip:
        from ._connectome_skip import LinearSkipTransformer

        clf = LinearSkipTransformer(random_state=random_state, **params)
    else:
        clf = NeuroClassifier("brain_network_transformer", random_state=random_state,
                              **params)
    return make_pipeline(ConnectivityMeasure(kind=kind, vectorize=False, standardize=False),
                         ConnectomeScaler(fisher_z=fisher_z), clf)


def run_transformer_methods(train: Any, test: Any, methods: list[str], params: dict,
                            pretrainer_params: dict, seed: int) -> dict[str, tuple]:
    """Fit each connectome transformer method on ``train``, score ``test``.

    Parameters
    ----------
    train, test : RoiTimeSeries
        Training and held-out subjects (``train`` labelled).
    methods : list of str
        Keys of :data:`TRANSFORMER_METHODS`.
    params : dict
        NeuroClassifier parameters on top of each method's :func:`transformer_recipe`.
    pretrainer_params : dict
        ``BrainMAEPretrainer`` parameters of the BrainMAE-fed methods (one pretraining
        per pool and split, shared by the methods that use it; its time is counted
        for each).
    seed : int
        Seed of the networks and of the pretraining.

    Returns
    -------
    dict
        ``method -> (probability of class 1 per held-out subject, fit seconds)``.
    """
    import time

    import pandas as pd

    from ..estimators import BrainMAEPretrainer

    out, y_train, pretrained = {}, train.labels.astype(int), {}
    for m in methods:
        kind, pool, skip = TRANSFORMER_METHODS[m]
        t_pre, embedding = 0.0, None
        if pool is not None:
            if pool not in pretrained:
                t0 = time.perf_counter()
                data = train
                if pool == "transductive":  # the held-out series, never their labels
                    data = train.__class__(
                        series=[np.asarray(x) for x in list(train.series) + list(test.series)],
                        meta=pd.concat([train.meta, test.meta.assign(label=np.nan)],
                                       ignore_index=True))
                pre = BrainMAEPretrainer(random_state=seed, **pretrainer_params).fit(data)
                pretrained[pool] = (pre, time.perf_counter() - t0)
            embedding, t_pre = pretrained[pool]
        t0 = time.perf_counter()
        pipe = connectome_transformer_pipeline(kind, region_embedding=embedding,
                                               linear_skip=skip, random_state=seed,
                                               **{**transformer_recipe(m), **params})
        pipe.fit(list(train.series), y_train)
        out[m] = (pipe.predict_proba(list(test.series))[:, 1],
                  t_pre + time.perf_counter() - t0)
    return out
