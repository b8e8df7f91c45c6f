"""SeedEnsemble: members differ only by seed; probabilities are their mean."""

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier
from sklearn.neighbors import KNeighborsClassifier

from neuroattn import NeuroClassifier
from neuroattn.estimators.ensemble import SeedEnsemble


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    y = (X[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(int)
    return X, y


def test_members_have_distinct_seeds_and_probabilities_are_their_mean():
    X, y = _data()
    ens = SeedEnsemble(SGDClassifier(loss="log_loss", max_iter=5, tol=None), n_members=4,
                       random_state=0).fit(X, y)
    assert len(ens.estimators_) == 4 and len(set(ens.seeds_.tolist())) == 4
    probas = [m.predict_proba(X) for m in ens.estimators_]
    assert not np.allclose(probas[0], probas[1])  # the seeds matter
    np.testing.assert_allclose(ens.predict_proba(X), np.mean(probas, axis=0))
    assert set(ens.predict(X)) <= set(ens.classes_)
    again = SeedEnsemble(SGDClassifier(loss="log_loss", max_iter=5, tol=None), n_members=4,
                         random_state=0).fit(X, y)
    np.testing.assert_allclose(again.predict_proba(X), ens.predict_proba(X))


def test_neural_members_on_epochs_like_arrays():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 3, 64)).astype(np.float32)
    y = np.arange(24) % 2
    ens = SeedEnsemble(NeuroClassifier(max_epochs=1, model__depth=1, model__embed_dim=8,
                                       model__n_heads=2), n_members=2, random_state=1)
    proba = ens.fit(X, y).predict_proba(X)
    assert proba.shape == (24, 2)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(estimator=SGDClassifier(loss="log_loss"), n_members=0), "n_members"),
    (dict(estimator=KNeighborsClassifier(), n_members=2), "random_state"),
    (dict(estimator=NeuroClassifier(checkpoint_dir="ckpt"), n_members=2), "checkpoint_dir"),
])
def test_bad_settings_refused_before_fitting(kwargs, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        SeedEnsemble(**kwargs).fit(X, y)
