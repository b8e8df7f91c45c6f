"""An ensemble over training seeds: the same estimator fitted ``n_members`` times."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

__all__ = ["SeedEnsemble"]


class SeedEnsemble(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Average the class probabilities of one classifier trained with several seeds.

    Small EEG datasets make a neural network's score depend on its initialisation and
    batch order; averaging a few members trained on the same data with different
    seeds removes much of that variance. Each member is ``clone(estimator)`` with
    ``random_state`` set to a seed drawn from this ensemble's ``random_state``; the
    members differ in nothing else.

    Parameters
    ----------
    estimator : classifier
        A scikit-learn classifier with ``predict_proba`` and a ``random_state``
        parameter (any neuroattn classifier).
    n_members : int, default=5
        Number of members (>= 1).
    random_state : int | RandomState | None, default=None
        Draws the members' seeds.

    Attributes
    ----------
    estimators_ : list
        The fitted members.
    seeds_ : numpy.ndarray
        ``(n_members,)`` seed of each member.
    classes_ : numpy.ndarray
        Class labels (those of the first member; every member must agree).

    Raises
    ------
    ValueError
        At ``fit``: ``n_members`` below 1, an estimator without ``predict_proba`` or
        without a ``random_state`` parameter, an estimator with a ``checkpoint_dir``
        (one folder cannot hold several runs), or members that disagree on the classes.
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator: Any, n_members: int = 5, random_state: Any = None) -> None:
        self.estimator = estimator
        self.n_members = n_members
        self.random_state = random_state

    def fit(self, X: Any, y: Any, **fit_params: Any) -> SeedEnsemble:
        """Fit ``n_members`` clones of ``estimator`` on ``(X, y)``.

        Parameters
        ----------
        X : array-like | mne.Epochs
            What the estimator's ``fit`` takes, e.g. ``(n_trials, n_chans, n_times)``.
        y : array-like
            ``(n_trials,)`` class labels, the same for every member.
        **fit_params
            Passed to every member's ``fit``.

        Returns
        -------
        self
        """
        self._validate_params()
        if "random_state" not in self.estimator.get_params(deep=False):
            raise ValueError(f"estimator {type(self.estimator).__name__} has no random_state "
                             "parameter: its members would all be the same model.")
        if self.estimator.get_params(deep=False).get("checkpoint_dir") is not None:
            raise ValueError("SeedEnsemble: the estimator's checkpoint_dir would be shared by "
                             "every member (each a different run); set checkpoint_dir=None.")
        rng = check_random_state(self.random_state)
        self.seeds_ = rng.randint(np.iinfo(np.int32).max, size=self.n_members)
        members = []
        for seed in self.seeds_:
            member = clone(self.estimator).set_params(random_state=int(seed))
            members.append(member.fit(X, y, **fit_params))
        classes = [np.asarray(m.classes_) for m in members]
        if any(not np.array_equal(c, classes[0]) for c in classes[1:]):
            raise ValueError("The ensemble's members disagree on the classes; fit them on "
                             "the same labels.")
        self.estimators_ = members
        self.classes_ = classes[0]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Mean of the members' probabilities, ``(n_trials, n_classes)``."""
        check_is_fitted(self, "estimators_")
        return np.mean([m.predict_proba(X) for m in self.estimators_], axis=0)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class under the averaged probabilities, ``(n_trials,)``."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
