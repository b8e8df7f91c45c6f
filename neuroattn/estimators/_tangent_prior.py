"""A neural hybrid that starts at tangent space + logistic regression and learns a correction.

:class:`TangentPriorClassifier` fits, on the training trials only, the Riemannian mean of
their covariances and a logistic regression on the tangent vectors at that mean, hands
both to a ``channel_weighted_tangent`` network (reference and prior readout), and trains
the network: the electrode attention and a readout correction, shrunk towards the
logistic regression by the optimizer's weight decay.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["TangentPriorClassifier", "weighted_tangent_classifier"]

_MODEL = "channel_weighted_tangent"


def check_trials(X: Any, owner: str) -> np.ndarray:
    """``X`` as real, finite float64 trials ``(n_trials, n_chans, n_times)``.

    Raises
    ------
    ValueError
        Naming ``owner``, if ``X`` is not a 3-D real array or holds NaN or infinity.
    """
    X = np.asarray(X)
    if X.ndim != 3 or X.dtype.kind not in "biuf":
        raise ValueError(f"{owner} expects trials (n_trials, n_chans, n_times), got shape "
                         f"{X.shape} and dtype {X.dtype}.")
    if not np.isfinite(X).all():
        raise ValueError(f"{owner}: X contains NaN or infinity.")
    return X.astype(np.float64, copy=False)


def _covariances(X: np.ndarray) -> np.ndarray:
    """OAS covariances ``(n, n_chans, n_chans)`` (float64), as the network computes them."""
    import torch

    from ..models.channel_weighted_tangent import oas_covariance

    with torch.no_grad():
        return oas_covariance(torch.as_tensor(X, dtype=torch.float64)).numpy()


def _tangent(covs: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Tangent vectors at ``reference`` ``(n, n_chans * (n_chans + 1) / 2)`` (float64)."""
    import torch

    from ..models.channel_weighted_tangent import tangent_vectors

    lam, u = np.linalg.eigh(reference)
    inv_sqrt = (u / np.sqrt(lam)) @ u.T
    with torch.no_grad():
        return tangent_vectors(torch.as_tensor(covs), torch.as_tensor(inv_sqrt)).numpy()


class TangentPriorClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Tangent space + logistic regression as the starting point of a neural hybrid.

    At ``fit`` on trials ``X`` ``(n_trials, n_chans, n_times)``:

    1. OAS covariances of the trials (the estimator ``channel_weighted_tangent``
       computes, see :func:`neuroattn.models.channel_weighted_tangent.oas_covariance`);
    2. their Riemannian mean ``R`` (``pyriemann.geometry.mean.mean_riemann``) -- the
       training mean;
    3. with ``prior=True``, a logistic regression (``C``) on the tangent vectors at
       ``R``, whose coefficients become the network's fixed prior readout (binary
       problems: ``[0, coef]`` so that the softmax equals the logistic model);
    4. a clone of ``estimator`` (a :class:`~neuroattn.NeuroClassifier` of
       ``channel_weighted_tangent``, or a :class:`~neuroattn.estimators.SeedEnsemble`
       of one) with ``model__reference=R`` and the prior, fitted on the same trials.

    Nothing is computed from data other than the training trials.

    Parameters
    ----------
    estimator : estimator | None, default=None
        Unfitted ``NeuroClassifier(model="channel_weighted_tangent", ...)`` or a
        ``SeedEnsemble`` of one; None: ``weighted_tangent_classifier``'s defaults.
    C : float, default=1.0
        Inverse L2 strength of the prior logistic regression (scikit-learn's ``C``;
        1.0 is the tangent space + LR peer's).
    prior : bool, default=True
        Initialise the readout from the logistic regression (False: random readout,
        reference still the training mean).

    Attributes
    ----------
    estimator_ : estimator
        The fitted network (or ensemble).
    reference_ : numpy.ndarray
        ``(n_chans, n_chans)`` training mean, in squared input units.
    prior_ : sklearn.linear_model.LogisticRegression | None
        The fitted prior readout.
    classes_ : numpy.ndarray
        Sorted class labels (those of the prior and of the network, which agree).

    Raises
    ------
    ValueError
        At ``fit``: ``X`` not a finite ``(n_trials, n_chans, n_times)`` array, ``y`` not
        of length ``n_trials`` or with one class, ``C`` not positive, or ``estimator``
        not built on ``channel_weighted_tangent``; all before any training.
    """

    def __init__(self, estimator: Any = None, C: float = 1.0, prior: bool = True) -> None:
        self.estimator = estimator
        self.C = C
        self.prior = prior

    def _network_params(self, est: Any) -> tuple[str, dict[str, Any]]:
        params = est.get_params(deep=True)
        prefix = "estimator__" if "estimator__model" in params else ""
        if params.get(prefix + "model") != _MODEL:
            raise ValueError(f"TangentPriorClassifier: estimator must train {_MODEL!r} "
                             f"(model={params.get(prefix + 'model')!r} found).")
        return prefix, params

    def fit(self, X: Any, y: Any) -> TangentPriorClassifier:
        """Fit the prior on ``X`` ``(n_trials, n_chans, n_times)`` and ``y``, then the
        network.

        Returns
        -------
        self
        """
        from pyriemann.geometry.mean import mean_riemann
        from sklearn.linear_model import LogisticRegression

        X = check_trials(X, "TangentPriorClassifier")
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}.")
        if np.unique(y).size < 2:
            raise ValueError("y has one class; TangentPriorClassifier needs at least two.")
        if not self.C > 0:
            raise ValueError(f"C must be positive, got {self.C!r}.")
        est = clone(self.estimator if self.estimator is not None
                    else weighted_tangent_classifier())
        prefix, _ = self._network_params(est)
        covs = _covariances(X)
        self.reference_ = mean_riemann(covs)
        update = {prefix + "model__reference": self.reference_.tolist()}
        self.prior_ = None
        if self.prior:
            self.prior_ = LogisticRegression(C=self.C, max_iter=1000).fit(
                _tangent(covs, self.reference_), y)
            coef, bias = self.prior_.coef_, self.prior_.intercept_
            if coef.shape[0] == 1:  # binary: logits [0, z] give softmax = sigmoid(z)
                coef = np.vstack([np.zeros_like(coef), coef])
                bias = np.array([0.0, bias[0]])
            update[prefix + "model__readout_weight"] = coef.tolist()
            update[prefix + "model__readout_bias"] = bias.tolist()
        est.set_params(**update)
        self.estimator_ = est.fit(X.astype(np.float32), y)
        self.classes_ = self.estimator_.classes_
        if self.prior_ is not None and not np.array_equal(self.prior_.classes_, self.classes_):
            raise ValueError("prior and network class orders differ")  # pragma: no cover
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_trials, n_classes)`` in the order of ``classes_``."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(np.asarray(X, dtype=np.float32))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class per trial, ``(n_trials,)``."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


def weighted_tangent_classifier(*, C: float = 1.0, prior: bool = True, n_members: int = 1,
                                **classifier_params: Any) -> TangentPriorClassifier:
    """Electrode attention + tangent space, started at tangent space + LR (for YAML files).

    No sampling rate or band is needed: the covariance is of the signal as given (MOABB's
    motor-imagery paradigms band-pass it, 8-32 Hz by default).

    Parameters
    ----------
    C, prior
        As in :class:`TangentPriorClassifier`.
    n_members : int, default=1
        More than 1: a :class:`~neuroattn.estimators.SeedEnsemble` of that many seeds.
    **classifier_params
        :class:`~neuroattn.NeuroClassifier` parameters (``max_epochs``, ``lr``,
        ``model__hidden``, ``random_state``, ...), over the defaults 30 epochs, lr 1e-3,
        batch 16, weight decay 0.1, cosine schedule.

    Returns
    -------
    TangentPriorClassifier

    Raises
    ------
    ValueError
        If ``n_members`` is below 1.
    """
    from .ensemble import SeedEnsemble
    from .neural import NeuroClassifier

    if int(n_members) != n_members or n_members < 1:
        raise ValueError(f"n_members must be a positive integer, got {n_members!r}.")
    params = dict(max_epochs=30, lr=1e-3, batch_size=16, weight_decay=0.1,
                  lr_scheduler="cosine")
    params.update(classifier_params)
    seed = params.get("random_state")
    net = NeuroClassifier(_MODEL, **params)
    if n_members > 1:
        net = SeedEnsemble(net, n_members=int(n_members), random_state=seed)
    return TangentPriorClassifier(net, C=C, prior=prior)
