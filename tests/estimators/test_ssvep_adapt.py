"""SSVEPClassifier(adapt_unseen=True): AdaBN for subjects not seen at fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroattn.estimators import SSVEPClassifier

_POWER = dict(max_epochs=10, finetune_max_epochs=2, lr=1e-2, batch_size=16, device="cpu",
              random_state=0, model__head="power", model__n_filters=4,
              model__kernel_size=3)


def _data(n_subjects=3, n_per=12, seed=0):
    """2 classes per subject (class "b" carries a sinusoid), each subject with its own
    gain per sub-band, so that its log powers have their own offsets."""
    rng = np.random.default_rng(seed)
    n = n_subjects * n_per
    X = rng.standard_normal((n, 2, 3, 32)).astype(np.float32)
    y = np.tile(["a", "b"], n // 2)
    groups = np.repeat(np.arange(1, n_subjects + 1), n_per)
    X[y == "b"] += 2 * np.sin(0.6 * np.arange(32)).astype(np.float32)
    for s in range(1, n_subjects + 1):
        X[groups == s] *= rng.uniform(0.2, 5.0, (1, 2, 1, 1)).astype(np.float32)
    return X, y, groups


def _log_powers(model, x):
    """The power head's log powers before its batch normalisation."""
    captured = {}
    hook = model.feature_norm.register_forward_hook(
        lambda mod, args, out: captured.setdefault("x", args[0]))
    with torch.no_grad():
        model.eval()(torch.as_tensor(x))
    hook.remove()
    return captured["x"]


def test_unseen_subject_is_scored_with_its_own_statistics():
    X, y, groups = _data()
    seen = groups < 3
    clf = SSVEPClassifier(adapt_unseen=True, **_POWER).fit(X[seen], y[seen],
                                                           groups=groups[seen])
    plain = SSVEPClassifier(**_POWER).fit(X[seen], y[seen], groups=groups[seen])
    global_model = clf.module_.global_model
    before = {k: v.clone() for k, v in global_model.state_dict().items()}
    new = X[~seen]
    proba = clf.predict_proba(new)
    # the fitted model is left as it was (a copy is adapted), and equals the plain fit
    for k, v in global_model.state_dict().items():
        torch.testing.assert_close(v, before[k])
    np.testing.assert_allclose(plain.predict_proba(new), global_model.eval()(
        torch.as_tensor(clf._validate_X(new, reset=False))).softmax(1).detach().numpy(),
        atol=1e-5)
    # by hand: the head standardised with the unseen trials' own mean and variance
    # (torch keeps the unbiased variance as the running one)
    feats = _log_powers(global_model, clf._validate_X(new, reset=False))
    bn = global_model.feature_norm
    z = (feats - feats.mean(0)) / torch.sqrt(feats.var(0, unbiased=True) + bn.eps)
    expected = global_model.final_layer(z * bn.weight + bn.bias).softmax(1).detach().numpy()
    np.testing.assert_allclose(proba, expected, rtol=1e-4, atol=1e-5)
    assert np.abs(proba - plain.predict_proba(new)).max() > 0.01


def test_each_unseen_subject_gets_its_own_copy_and_fine_tuned_ones_none():
    X, y, groups = _data(n_subjects=4)
    seen = groups < 3
    clf = SSVEPClassifier(adapt_unseen=True, **_POWER).fit(X[seen], y[seen],
                                                           groups=groups[seen])
    plain = SSVEPClassifier(**_POWER).fit(X[seen], y[seen], groups=groups[seen])
    with pytest.warns(UserWarning, match="statistics adapted"):
        together = clf.predict_proba(X, groups=groups)
    for s in (3, 4):  # one unseen subject at a time gives the same scores
        mine = groups == s
        with pytest.warns(UserWarning, match="not seen at fit"):
            alone = clf.predict_proba(X[mine], groups=groups[mine])
        np.testing.assert_allclose(together[mine], alone, rtol=1e-5, atol=1e-6)
    # fine-tuned subjects are scored by their own models, adapted or not
    np.testing.assert_allclose(together[seen], plain.predict_proba(X[seen],
                                                                   groups=groups[seen]),
                               atol=1e-5)


@pytest.mark.parametrize("case, match", [
    ("flatten head", "adapt_unseen=True needs a model with batch normalisation"),
    ("one unseen trial", "subject 3 came with 1 trial"),
    ("one trial, no groups", "the trials given came with 1 trial"),
])
def test_bad_input(case, match):
    X, y, groups = _data()
    if case == "flatten head":
        with pytest.raises(ValueError, match=match):  # before any training
            SSVEPClassifier(adapt_unseen=True, **{**_POWER, "model__head": "flatten"}).fit(
                X, y)
        return
    clf = SSVEPClassifier(adapt_unseen=True, **_POWER).fit(X[groups < 3], y[groups < 3],
                                                           groups=groups[groups < 3])
    with pytest.raises(ValueError, match=match):
        if case == "one unseen trial":
            clf.predict(X[-1:], groups=groups[-1:])
        else:
            clf.predict(X[-1:])


@pytest.mark.parametrize("kind", ["object ints", "pandas strings", "list"])
def test_subjects_of_any_label_type(kind):
    import pandas as pd

    X, y, groups = _data()
    labels = {"object ints": np.asarray(groups, dtype=object),
              "pandas strings": pd.Series([f"s{g}" for g in groups]),
              "list": [f"s{g}" for g in groups]}[kind]
    seen = groups < 3
    clf = SSVEPClassifier(adapt_unseen=True, **_POWER).fit(X[seen], y[seen])
    proba = clf.predict_proba(X, groups=labels)  # every subject unseen: adapted per subject
    for s in (1, 2, 3):
        mine = groups == s
        np.testing.assert_allclose(proba[mine], clf.predict_proba(X[mine]), atol=1e-6)


def test_fit_leaves_torchs_global_generator_alone():
    X, y, _ = _data()
    draws = []
    for adapt in (False, True):
        torch.manual_seed(123)
        SSVEPClassifier(adapt_unseen=adapt, **_POWER).fit(X, y)
        draws.append(torch.rand(1).item())
    assert draws[0] == draws[1]
