"""A connectome transformer that learns a residual over the tangent + LR solution."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

__all__ = ["LinearSkipTransformer", "linear_skip"]


def linear_skip(X: Any, y: Any, C: float = 0.05) -> tuple[np.ndarray, float]:
    """The peer's linear model on square matrices, as a weight matrix and an intercept.

    The peer is ``StandardScaler`` + L2 ``LogisticRegression(C)`` on the strict upper
    triangles (nilearn's ``vectorize=True, discard_diagonal=True`` up to the order of
    the entries, which an L2 model ignores); the scaler is folded into the weights, so
    ``(X * W).sum((1, 2)) + b`` is the peer's decision function on ``X``.

    Parameters
    ----------
    X : array-like, shape (n_subjects, n_regions, n_regions)
        Symmetric training matrices (the training fold only).
    y : array-like, shape (n_subjects,)
        Binary labels (0/1 or two distinct values) of those subjects.
    C : float
        Inverse L2 strength of the logistic regression (the peer's 0.05).

    Returns
    -------
    W : numpy.ndarray, shape (n_regions, n_regions)
        Weights on the strict upper triangle, zero elsewhere.
    b : float
        Intercept.

    Raises
    ------
    ValueError
        If ``X`` is not a stack of square matrices or ``y`` is not binary.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3 or X.shape[1] != X.shape[2]:
        raise ValueError(f"X: expected (n_subjects, n_regions, n_regions) square matrices, "
                         f"got shape {X.shape}.")
    classes = np.unique(y)
    if len(classes) != 2:
        raise ValueError(f"y: the linear skip needs two classes, got {classes.tolist()}.")
    iu = np.triu_indices(X.shape[1], k=1)
    scaler = StandardScaler().fit(X[:, iu[0], iu[1]])
    lr = LogisticRegression(C=C, max_iter=2000).fit(scaler.transform(X[:, iu[0], iu[1]]), y)
    w = lr.coef_[0] / scaler.scale_
    W = np.zeros(X.shape[1:])
    W[iu] = w
    return W, float(lr.intercept_[0] - w @ scaler.mean_)


def _network_defaults() -> dict[str, Any]:
    """NeuroClassifier's parameters and defaults, less the ones the skip fixes."""
    from ..estimators import NeuroClassifier

    params = NeuroClassifier("brain_network_transformer").get_params(deep=False)
    for fixed in ("model", "random_state"):
        params.pop(fixed)
    return params


def _check_network_params(params: dict[str, Any]) -> None:
    from ..estimators._base import ROUTED_PREFIXES

    known = _network_defaults()
    unknown = sorted(k for k in params if k not in known and not k.startswith(ROUTED_PREFIXES))
    if unknown:
        hint = (" (the network is always brain_network_transformer)" if "model" in unknown
                else "")
        raise ValueError(f"LinearSkipTransformer: unknown parameter(s) {unknown}{hint}; "
                         f"expected C, cv, random_state, model__*/optimizer__* or one of "
                         f"NeuroClassifier's: {sorted(known)}.")


def _with_diagonal(X: np.ndarray, logits: np.ndarray) -> np.ndarray:
    out = np.array(X, dtype=np.float32, copy=True)
    idx = np.arange(out.shape[1])
    out[:, idx, idx] = np.asarray(logits, dtype=np.float32)[:, None]
    return out


class LinearSkipTransformer(ClassifierMixin, BaseEstimator):
    """Brain Network Transformer learning a residual over the peer's linear model.

    ``fit`` fits the peer's linear model (:func:`linear_skip`: standardised upper
    triangle + L2 logistic regression) on the training matrices, and its out-of-fold
    decision function on the training subjects (``cv`` stratified folds of the training
    subjects: a model fitted on a subject predicts it with a confidence it would never
    have on a new one). It then trains ``brain_network_transformer`` with
    ``diagonal_offset=True`` and a zero-initialised head on the matrices whose diagonal
    carries that offset: training starts from the linear model and the attention path
    learns what the linear model gets wrong out of sample. At prediction the offset is
    the linear model fitted on all training subjects, so before any training the
    estimator predicts exactly the peer's probabilities.

    Parameters
    ----------
    C : float
        Inverse L2 strength of the skip's logistic regression (the peer's 0.05).
    cv : int
        Folds of the out-of-fold offsets (>= 2; fewer when the smallest class has
        fewer subjects).
    random_state : int | None
        Seed of the folds and of the network.
    **params
        NeuroClassifier parameters of the network (``model__*`` reach the model).

    Attributes
    ----------
    skip_weight_ : numpy.ndarray, shape (n_regions, n_regions)
        Weights of the linear model on all training subjects.
    skip_bias_ : float
        Its intercept.
    oof_logits_ : numpy.ndarray, shape (n_subjects,)
        Out-of-fold logits of the training subjects (the training offsets).
    classifier_ : NeuroClassifier
    classes_ : numpy.ndarray
    """

    def __init__(self, C: float = 0.05, cv: int = 5, random_state: Any = None,
                 **params: Any) -> None:
        self.C = C
        self.cv = cv
        self.random_state = random_state
        self.params = params

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of the skip (``C``, ``cv``, ``random_state``) and of its network:
        every :class:`~neuroattn.estimators.NeuroClassifier` parameter (defaults unless
        given), so ``set_params``, ``clone`` and ``neuroattn benchmark --device`` /
        ``--max-epochs`` reach the network as they reach a NeuroClassifier step."""
        return {"C": self.C, "cv": self.cv, "random_state": self.random_state,
                **_network_defaults(), **self.params}

    def set_params(self, **params: Any) -> LinearSkipTransformer:
        """Set skip or network parameters (see :meth:`get_params`).

        Raises
        ------
        ValueError
            If a name is neither the skip's nor a NeuroClassifier parameter
            (``model__*`` and ``optimizer__*`` are routed), or is ``model`` (the
            network is always ``brain_network_transformer``).
        """
        network = {k: v for k, v in params.items() if k not in ("C", "cv", "random_state")}
        _check_network_params(network)  # all checked before any is set
        for key in ("C", "cv", "random_state"):
            if key in params:
                setattr(self, key, params[key])
        self.params.update(network)
        return self

    def _logits(self, X: np.ndarray) -> np.ndarray:
        return (X * self.skip_weight_).sum((1, 2)) + self.skip_bias_

    def fit(self, X: Any, y: Any) -> LinearSkipTransformer:
        """Fit the linear model, its out-of-fold offsets, then the network on top.

        Parameters
        ----------
        X : array-like, shape (n_subjects, n_regions, n_regions)
            Symmetric matrices (e.g. from :class:`ConnectomeScaler`).
        y : array-like, shape (n_subjects,)
            Binary labels, one per subject; both classes present.

        Returns
        -------
        LinearSkipTransformer

        Raises
        ------
        ValueError
            If ``X`` is not square and symmetric, ``y`` is not binary, ``C <= 0``,
            ``cv`` is not an int >= 2, or a network parameter is unknown; all before
            any training.
        """
        from sklearn.model_selection import StratifiedKFold

        from ..estimators import NeuroClassifier
        from ..models.brain_network_transformer import BrainNetworkTransformer

        _check_network_params(self.params)
        if isinstance(self.C, bool) or not isinstance(self.C, (int, float)) or self.C <= 0:
            raise ValueError(f"C must be a positive number, got {self.C!r}.")
        if isinstance(self.cv, bool) or not isinstance(self.cv, (int, np.integer)) \
                or self.cv < 2:
            raise ValueError(f"cv must be an int >= 2, got {self.cv!r}.")
        BrainNetworkTransformer.check_array(X)
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        self.skip_weight_, self.skip_bias_ = linear_skip(X, y, self.C)
        self.oof_logits_ = np.zeros(len(X))
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if smallest < 2:
            raise ValueError(f"y: out-of-fold offsets need 2 subjects of each class, the "
                             f"smallest class has {smallest}.")
        folds = StratifiedKFold(min(self.cv, smallest), shuffle=True,
                                random_state=self.random_state)
        for tr, te in folds.split(np.zeros(len(y)), y):
            W, b = linear_skip(X[tr], y[tr], self.C)
            self.oof_logits_[te] = (X[te] * W).sum((1, 2)) + b
        self.classifier_ = NeuroClassifier(
            "brain_network_transformer", random_state=self.random_state,
            **{**self.params, "model__diagonal_offset": True})
        self.classifier_.fit(_with_diagonal(X, self.oof_logits_), y)
        self.classes_ = self.classifier_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_subjects, 2)``."""
        check_is_fitted(self, "classifier_")
        X = np.asarray(X, dtype=np.float64)
        return self.classifier_.predict_proba(_with_diagonal(X, self._logits(X)))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels ``(n_subjects,)``."""
        return self.classes_[self.predict_proba(X).argmax(1)]
