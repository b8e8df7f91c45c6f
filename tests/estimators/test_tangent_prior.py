"""TangentPriorClassifier: the training-fold prior, the network started at it, YAML use."""

import numpy as np
import pytest
from pyriemann.geometry.mean import mean_riemann
from sklearn.base import clone

from neuroattn import NeuroClassifier
from neuroattn.estimators import SeedEnsemble
from neuroattn.estimators._tangent_prior import _covariances, _tangent
from neuroattn.estimators.riemann import TangentPriorClassifier, weighted_tangent_classifier


def _trials(n=48, n_chans=4, n_times=64, seed=0):
    """Class 1 has more power on channel 0, class 2 on channel 1 (planted)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_chans, n_times)) * 10
    y = np.arange(n) % 3
    X[y == 1, 0] *= 2.5
    X[y == 2, 1] *= 2.5
    return X.astype(np.float32), y


def test_starts_at_the_training_fold_logistic_regression():
    X, y = _trials()
    clf = weighted_tangent_classifier(max_epochs=1, lr=1e-8, random_state=0,
                                      device="cpu").fit(X[:36], y[:36])
    # the reference is the Riemannian mean of the TRAINING covariances only
    np.testing.assert_allclose(clf.reference_, mean_riemann(_covariances(X[:36])),
                               rtol=1e-8)
    expected = clf.prior_.predict_proba(_tangent(_covariances(X[36:]), clf.reference_))
    np.testing.assert_allclose(clf.predict_proba(X[36:]), expected, atol=2e-3)
    assert clf.prior_.score(_tangent(_covariances(X[36:]), clf.reference_), y[36:]) > 0.8


def test_binary_prior_gives_the_logistic_probabilities():
    X, y = _trials()
    keep = y < 2
    clf = weighted_tangent_classifier(max_epochs=1, lr=1e-8, random_state=0, device="cpu")
    clf.fit(X[keep][:24], y[keep][:24])
    expected = clf.prior_.predict_proba(_tangent(_covariances(X[keep][24:]), clf.reference_))
    np.testing.assert_allclose(clf.predict_proba(X[keep][24:]), expected, atol=2e-3)


def test_trains_the_gate_and_correction_with_augmentation_and_an_ensemble():
    X, y = _trials(seed=1)
    clf = weighted_tangent_classifier(max_epochs=3, random_state=0, device="cpu",
                                      n_members=2,
                                      augmentation=[{"name": "channels_dropout",
                                                     "drop_fraction": 0.25}])
    clf.fit(X[:36], y[:36])
    assert isinstance(clf.estimator_, SeedEnsemble)
    assert clf.score(X[36:], y[36:]) > 0.8
    member = clf.estimator_.estimators_[0].module_
    assert member.final_layer.weight.abs().sum() > 0  # the correction moved
    assert clone(clf).get_params()["estimator__estimator__model"] == "channel_weighted_tangent"


def test_prior_false_leaves_the_readout_random():
    X, y = _trials()
    clf = weighted_tangent_classifier(prior=False, max_epochs=1, random_state=0,
                                      device="cpu").fit(X, y)
    assert clf.prior_ is None
    assert not clf.estimator_.module_.prior_weight.any()


def test_fitted_network_saves_and_loads(tmp_path):
    X, y = _trials()
    clf = weighted_tangent_classifier(max_epochs=1, random_state=0, device="cpu").fit(X, y)
    path = clf.estimator_.save(tmp_path / "net")
    loaded = NeuroClassifier.load(path, device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("make, X, y, match", [
    (lambda: TangentPriorClassifier(), np.zeros((6, 64)), np.arange(6) % 2,
     "n_trials, n_chans, n_times"),
    (lambda: TangentPriorClassifier(), np.full((6, 4, 64), np.nan), np.arange(6) % 2, "NaN"),
    (lambda: TangentPriorClassifier(), None, np.arange(5) % 2, r"y must have shape"),
    (lambda: TangentPriorClassifier(), None, np.zeros(48), "one class"),
    (lambda: TangentPriorClassifier(C=0.0), None, None, "C must be positive"),
    (lambda: TangentPriorClassifier(NeuroClassifier("eeg_transformer")), None, None,
     "must train 'channel_weighted_tangent'"),
    (lambda: weighted_tangent_classifier(n_members=0), None, None, "n_members"),
])
def test_bad_input_refused_before_training(make, X, y, match):
    X0, y0 = _trials()
    with pytest.raises(ValueError, match=match):
        make().fit(X0 if X is None else X, y0 if y is None else y)
