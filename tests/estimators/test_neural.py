"""Behaviour of NeuroClassifier / NeuroRegressor that users rely on."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score

from neuroattn import NeuroClassifier, NeuroRegressor
from neuroattn.data.simulate import simulate_motor_imagery

FAST = dict(max_epochs=2, batch_size=16, random_state=0, model__depth=1)


@pytest.fixture(scope="module")
def epochs():
    return simulate_motor_imagery(40, sfreq=100.0, trial_seconds=2.0, random_state=1)


@pytest.fixture(scope="module")
def arrays():
    return simulate_motor_imagery(40, sfreq=100.0, trial_seconds=2.0, random_state=1,
                                  return_epochs=False)


def test_epochs_input_in_microvolts_with_metadata(epochs):
    clf = NeuroClassifier(**FAST).fit(epochs, epochs.events[:, 2])
    assert clf.sfreq_ == 100.0 and clf.ch_names_[:2] == ["Fz", "FC3"]
    assert clf.n_chans_ == 22 and clf.n_times_ == 200
    X_uv = epochs.get_data(units="uV")
    np.testing.assert_allclose(clf.predict_proba(epochs), clf.predict_proba(X_uv), rtol=1e-5)
    assert clf.module_.sfreq == 100.0 and clf.module_.chs_info[0]["ch_name"] == "Fz"


def test_string_labels_and_binary_decision_function(arrays):
    X, y = arrays
    clf = NeuroClassifier(**FAST).fit(X, y)
    assert list(clf.classes_) == ["left_hand", "right_hand"]
    assert set(clf.predict(X)) <= set(clf.classes_)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    dec = clf.decision_function(X)
    assert dec.shape == (len(X),)
    np.testing.assert_array_equal(dec > 0, proba[:, 1] > 0.5)
    assert 0 <= clf.score(X, y) <= 1


def test_multiclass_decision_function_is_logits():
    X, y = simulate_motor_imagery(30, n_classes=3, sfreq=100.0, trial_seconds=1.0,
                                  random_state=0, return_epochs=False)
    clf = NeuroClassifier(**FAST).fit(X, y)
    assert clf.decision_function(X).shape == (30, 3)


def test_random_state_makes_fits_identical(arrays):
    X, y = arrays
    a = NeuroClassifier(**FAST).fit(X, y).predict_proba(X)
    b = NeuroClassifier(**FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = NeuroClassifier(**{**FAST, "random_state": 1}).fit(X, y).predict_proba(X)
    assert not np.allclose(a, c)


def test_fit_does_not_touch_global_torch_rng(arrays):
    X, y = arrays
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    NeuroClassifier(**FAST).fit(X, y)
    assert torch.equal(torch.rand(1), expected)


def test_learns_the_planted_desynchronisation():
    """A simple model clearly beats chance on held-out simulated imagery (strong ERD)."""
    X, y = simulate_motor_imagery(160, sfreq=100.0, trial_seconds=2.0, random_state=2,
                                  erd_strength=0.6, return_epochs=False)
    clf = NeuroClassifier(max_epochs=25, random_state=0, model__patch_size=20)
    scores = cross_val_score(clf, X, y, cv=2)
    assert scores.mean() > 0.75, scores


def test_regressor_multioutput_and_units(arrays):
    X, _ = arrays
    rng = np.random.default_rng(0)
    Y = np.column_stack([X[:, 7].std(axis=1) * 100, rng.normal(size=len(X))]) + 1000
    reg = NeuroRegressor(**FAST).fit(X, Y)
    pred = reg.predict(X)
    assert pred.shape == Y.shape
    assert np.abs(pred.mean(0) - Y.mean(0)).max() < 5 * Y.std(0).max()  # back in y's units
    reg1 = NeuroRegressor(**FAST).fit(X, Y[:, 0])
    assert reg1.predict(X).shape == (len(X),)


def test_validation_split_and_early_stopping(arrays):
    X, y = arrays
    clf = NeuroClassifier(max_epochs=30, validation_fraction=0.25, early_stopping=True,
                          patience=2, lr=1e-5, random_state=0, model__depth=1).fit(X, y)
    assert "valid_loss" in clf.history_[-1]
    assert len(clf.history_) < 30  # stopped early
    with pytest.raises(ValueError, match="needs a validation set"):
        NeuroClassifier(early_stopping=True).fit(X, y)


def test_no_silent_hold_out_by_default(arrays):
    X, y = arrays
    clf = NeuroClassifier(**FAST).fit(X, y)
    assert "valid_loss" not in clf.history_[-1]


def test_routed_hyperparameters_reach_model_and_grid_search(arrays):
    X, y = arrays
    clf = NeuroClassifier(max_epochs=1, random_state=0, model__depth=1,
                          model__attention="gated_multihead", optimizer__betas=(0.8, 0.9))
    clf.fit(X, y)
    assert len(clf.module_.encoder.blocks) == 1
    assert clf.module_.encoder.blocks[0].attn.gate == "elementwise"
    assert clf.net_.optimizer_.defaults["betas"] == (0.8, 0.9)
    search = GridSearchCV(NeuroClassifier(max_epochs=1, random_state=0),
                          {"model__depth": [1, 2]}, cv=2).fit(X, y)
    assert search.best_params_["model__depth"] in (1, 2)
    assert clf.set_params(model__depth=3).get_params()["model__depth"] == 3


def test_verbose_prints_progress(arrays, capsys):
    X, y = arrays
    NeuroClassifier(max_epochs=1, verbose=1, random_state=0).fit(X, y)
    captured = capsys.readouterr()
    assert "train_loss" in captured.out


def test_device_auto_resolves_to_cpu_here(arrays):
    X, y = arrays
    clf = NeuroClassifier(**FAST).fit(X, y)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(clf.module_.parameters()).device.type == expected


def test_get_attention_weights(arrays):
    X, y = arrays
    clf = NeuroClassifier(**FAST).fit(X, y)
    weights = clf.get_attention_weights(X[:3])
    (w,) = weights.values()
    assert w.shape[0] == 3 and np.allclose(w.sum(-1), 1, atol=1e-5)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("make_X, match", [
    (lambda X: X[0, 0], r"\(n_samples, n_chans, n_times\).*1-D array of shape \(200,\)"),
    (lambda X: X[..., None], r"\(n_samples, n_chans, n_times\).*4-D array of shape"),
    (lambda X: np.where(np.arange(X.shape[2]) == 3, np.nan, X), "NaN"),
    (lambda X: np.where(np.arange(X.shape[2]) == 3, np.inf, X), "infinity"),
    (lambda X: np.concatenate([X, np.zeros_like(X[:, :1])], axis=1),
     "constant \\(zero variance\\)"),
])
def test_bad_X_raises_before_training(arrays, make_X, match):
    X, y = arrays
    with pytest.raises(ValueError, match=match):
        NeuroClassifier(**FAST).fit(make_X(X), y)


def test_single_class_raises(arrays):
    X, _ = arrays
    with pytest.raises(ValueError, match="only one class"):
        NeuroClassifier(**FAST).fit(X, np.zeros(len(X)))


def test_channel_mismatch_at_predict(arrays):
    X, y = arrays
    clf = NeuroClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="fitted on 22 channels x 200 samples"):
        clf.predict(X[:, :21])


def test_not_fitted():
    with pytest.raises(NotFittedError):
        NeuroClassifier().predict(np.zeros((2, 3, 10)))


def test_unknown_model_or_attention_or_param(arrays):
    X, y = arrays
    with pytest.raises(ValueError, match="Did you mean 'eeg_transformer'"):
        NeuroClassifier("eeg_transfomer").fit(X, y)
    with pytest.raises(ValueError, match="Unknown attention 'multihaed'"):
        NeuroClassifier(max_epochs=1, model__attention="multihaed").fit(X, y)
    with pytest.raises(ValueError, match="prefixes 'model__'"):
        NeuroClassifier(depth=2).fit(X, y)
    with pytest.raises(ValueError, match="Could not build model"):
        NeuroClassifier(model__no_such_option=1).fit(X, y)
    with pytest.raises(ValueError, match="max_epochs"):
        NeuroClassifier(max_epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        NeuroClassifier(validation_fraction=1.5).fit(X, y)


def test_inside_braindecode_eegclassifier(arrays):
    braindecode = pytest.importorskip("braindecode")
    from neuroattn.models.eeg_transformer import EEGTransformer

    X, y = arrays
    yi = (y == "right_hand").astype(np.int64)
    clf = braindecode.EEGClassifier(EEGTransformer, module__depth=1, max_epochs=2,
                                    batch_size=16, train_split=None, verbose=0)
    clf.fit(X, yi)
    assert clf.predict(X).shape == (len(X),)
    assert clf.module_.n_chans == 22 and clf.module_.n_outputs == 2


def test_braindecode_model_class_inside_neuroclassifier(arrays):
    models = pytest.importorskip("braindecode.models")
    X, y = arrays
    clf = NeuroClassifier(models.EEGNet, max_epochs=1, random_state=0).fit(X, y)
    assert clf.predict(X).shape == (len(X),)
    with pytest.raises(ValueError, match="not a neuroattn model"):
        clf.get_attention_weights(X)


def test_warmup_cosine_schedule_shape():
    from neuroattn.estimators import WarmupCosineLR

    sched = WarmupCosineLR(warmup_fraction=0.2).initialize()
    sched.total_steps_ = 50
    f = np.array([sched.factor(s) for s in range(50)])
    np.testing.assert_allclose(f[:10], np.arange(1, 11) / 10)  # linear warm-up, 10 steps
    assert f[9] == 1.0 and np.all(np.diff(f[10:]) < 0)  # then strictly decaying
    assert f[-1] == pytest.approx(0.5 * (1 + np.cos(np.pi * 39 / 40)))
    with pytest.raises(ValueError, match="warmup_fraction"):
        WarmupCosineLR(warmup_fraction=1.0).initialize()


def test_warmup_cosine_drives_the_optimizer(arrays):
    X, y = arrays  # 40 trials, batch 16 -> 3 batches per epoch, 7 epochs = 21 steps
    seen = []

    from skorch.callbacks import Callback

    class Record(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if training:
                seen.append(net.optimizer_.param_groups[0]["lr"])

    clf = NeuroClassifier(**{**FAST, "max_epochs": 7}, lr=1e-2, lr_scheduler="warmup_cosine",
                          callbacks=[("record", Record())]).fit(X, y)
    assert len(seen) == 21
    np.testing.assert_allclose(seen[:2], [5e-3, 1e-2])  # 10% of 21 steps: 2 warm-up steps
    assert np.all(np.diff(seen[2:]) < 0) and seen[-1] < 1e-4
    with pytest.raises(ValueError, match="warmup_cosine"):
        NeuroClassifier(**FAST, lr_scheduler="linear").fit(X, y)
    assert clf.history_[-1, "epoch"] == 7
