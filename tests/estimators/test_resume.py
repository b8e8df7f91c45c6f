"""The training core's robustness: interruption, checkpoints and resume, bad training
parameters (optimizer__/model__ keys, devices, validation splits)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

from neuroattn.data.simulate import simulate_fmri_rois
from neuroattn.estimators import (
    BrainMAEPretrainer,
    NeuroClassifier,
    NeuroRegressor,
    SeizureForecaster,
    resolve_device,
)

_SIGNAL = dict(batch_size=8, device="cpu", random_state=0, model__depth=1,
               model__embed_dim=8, model__n_heads=2)


class InterruptAt(Callback):
    """Raise KeyboardInterrupt (as Ctrl-C would) when epoch ``epoch`` begins."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 3, 64)).astype(np.float32)
    y = np.tile([0, 1], 12)
    X[y == 1, 0] += 0.5
    return X, y


@pytest.fixture(scope="module")
def rois():
    return simulate_fmri_rois(6, n_regions=6, n_networks=2, n_timepoints=32,
                              random_state=0)


def _make(kind: str, **kw):
    if kind == "classifier":  # stratified validation split, early stopping, cosine
        return NeuroClassifier("eeg_transformer", max_epochs=4, validation_fraction=0.25,
                               early_stopping=True, patience=3, **_SIGNAL, **kw)
    if kind == "regressor":
        return NeuroRegressor("eeg_transformer", max_epochs=4, **_SIGNAL, **kw)
    if kind == "seizure":  # adversarial critic, balanced sampler, warm-up cosine
        return SeizureForecaster("stan", max_epochs=4, model__patch_size=16,
                                 **_SIGNAL, **kw)
    return BrainMAEPretrainer(max_epochs=4, batch_size=16, device="cpu", random_state=0,
                              model__embed_dim=4, model__n_heads=1, **kw)  # masking


def _data(kind, arrays, rois):
    X, y = arrays
    if kind == "brain_mae":
        return (rois,)
    return (X, y.astype(float)) if kind == "regressor" else (X, y)


def _output(est, data):
    if isinstance(est, BrainMAEPretrainer):
        return est.transform(data[0])
    if isinstance(est, NeuroRegressor):
        return est.predict(data[0])
    return est.predict_proba(data[0])


# ------------------------------------------------------------------ interruption
def test_interrupted_fit_raises_and_leaves_estimator_unfitted(arrays, tmp_path):
    X, y = arrays
    est = _make("classifier", callbacks=[("stop", InterruptAt(3))])
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert not hasattr(est, "net_") and not hasattr(est, "module_")
    with pytest.raises(NotFittedError):
        est.save(tmp_path / "model")
    assert not list(tmp_path.iterdir())
    # A refit interrupted after a successful fit does not keep the old model either.
    est.set_params(callbacks=None).fit(X, y)
    assert hasattr(est, "net_")
    with pytest.raises(KeyboardInterrupt):
        est.set_params(callbacks=[InterruptAt(2)]).fit(X, y)
    assert not hasattr(est, "net_")


def test_early_stopping_still_ends_training_normally(arrays):
    X, y = arrays
    est = NeuroClassifier("eeg_transformer", max_epochs=4, validation_fraction=0.25,
                          early_stopping=True, patience=1, lr=1e-9, **_SIGNAL).fit(X, y)
    assert len(est.history_) < 4  # stopped early, no KeyboardInterrupt raised


def test_interrupted_fit_keeps_a_partial_checkpoint(arrays, tmp_path):
    X, y = arrays
    folder = tmp_path / "ckpt"
    est = _make("classifier", checkpoint_dir=folder, callbacks=[InterruptAt(3)])
    with pytest.raises(KeyboardInterrupt, match="partial checkpoint after epoch 2 of 4"):
        est.fit(X, y)
    assert not hasattr(est, "net_")
    manifest = json.loads((folder / "checkpoint.json").read_text())
    assert manifest["status"] == "partial" and manifest["epoch"] == 2
    assert [p.name for p in folder.glob("state-*.pt")] == ["state-epoch0002.pt"]
    assert not list(folder.glob(".*.tmp"))  # no half-written file left


# ----------------------------------------------------------------------- resume
@pytest.mark.parametrize("kind", ["classifier", "regressor", "seizure", "brain_mae"])
def test_resumed_fit_equals_uninterrupted_fit(kind, arrays, rois, tmp_path):
    data = _data(kind, arrays, rois)
    straight = _make(kind).fit(*data)
    folder = tmp_path / kind
    with pytest.raises(KeyboardInterrupt):
        _make(kind, checkpoint_dir=folder, callbacks=[InterruptAt(3)]).fit(*data)
    resumed = _make(kind, checkpoint_dir=folder).fit(*data)
    assert len(resumed.history_) == len(straight.history_)
    np.testing.assert_allclose(resumed.history_[:, "train_loss"],
                               straight.history_[:, "train_loss"], rtol=1e-6)
    np.testing.assert_allclose(_output(resumed, data), _output(straight, data),
                               rtol=1e-5, atol=1e-6)
    manifest = json.loads((folder / "checkpoint.json").read_text())
    assert manifest["status"] == "complete"


def test_complete_checkpoint_is_loaded_without_training(arrays, tmp_path, monkeypatch):
    X, y = arrays
    first = _make("regressor", checkpoint_dir=tmp_path / "c").fit(X, y)
    from neuroattn.estimators._nets import _CoreNetMixin

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(_CoreNetMixin, "fit_loop", no_training)
    again = _make("regressor", checkpoint_dir=tmp_path / "c").fit(X, y)
    np.testing.assert_allclose(again.predict(X), first.predict(X), rtol=1e-6)
    assert len(again.history_) == 4


@pytest.mark.parametrize(("change", "match"), [
    (dict(params={"lr": 1e-2}), r"lr: checkpoint 0\.001, now 0\.01"),
    (dict(params={"max_epochs": 3}), "max_epochs"),
    (dict(data=True), "training data"),
])
def test_checkpoint_of_another_run_is_refused(arrays, tmp_path, change, match):
    X, y = arrays
    folder = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        _make("regressor", checkpoint_dir=folder, callbacks=[InterruptAt(2)]).fit(X, y)
    other = _make("regressor", checkpoint_dir=folder).set_params(**change.get("params", {}))
    X2 = X + 1 if change.get("data") else X
    with pytest.raises(ValueError, match=match) as info:
        other.fit(X2, y)
    assert str(folder) in str(info.value)


def test_corrupted_checkpoint_is_refused(arrays, tmp_path):
    X, y = arrays
    folder = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        _make("regressor", checkpoint_dir=folder, callbacks=[InterruptAt(3)]).fit(X, y)
    state = folder / "state-epoch0002.pt"
    raw = bytearray(state.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    state.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="state-epoch0002.pt is corrupted"):
        _make("regressor", checkpoint_dir=folder).fit(X, y)
    (folder / "checkpoint.json").write_text("{not json")
    with pytest.raises(ValueError, match="checkpoint.json"):
        _make("regressor", checkpoint_dir=folder).fit(X, y)


def test_checkpoint_dir_that_is_a_file_is_refused(arrays, tmp_path):
    X, y = arrays
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ValueError, match="checkpoint_dir: .*file is a file"):
        _make("regressor", checkpoint_dir=path).fit(X, y)


# --------------------------------------------------------------- bad parameters
@pytest.mark.parametrize(("params", "match"), [
    ({"optimizer__momentun": 0.9}, r"optimizer__momentun.*AdamW.*'betas'"),
    ({"optimizer__betas": (2.0, 0.9)}, r"optimizer__betas"),
    ({"optimizer__lr": 0.1}, r"optimizer__lr.*lr="),
    ({"optimizer__weight_decay": 0.1}, r"optimizer__weight_decay.*weight_decay="),
    ({"model__dpeth": 2}, r"model__dpeth.*'depth'"),
    ({"device": "gpu"}, r"device='gpu'.*accepted: 'auto', 'cpu'"),
    ({"device": "cuda:99"}, r"device='cuda:99'.*this machine has"),
    ({"device": "mps:x"}, r"device='mps:x'.*accepted"),
    ({"validation_fraction": 0.02}, r"validation_fraction=0\.02.*each of the 2 classes"),
    ({"validation_fraction": 0.99}, r"validation_fraction=0\.99.*leaving none"),
])
def test_bad_training_parameters_are_named(arrays, params, match):
    X, y = arrays
    est = NeuroClassifier("eeg_transformer", max_epochs=1, **{**_SIGNAL, **params})
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_single_member_class_with_validation_split(arrays):
    X, y = arrays
    y3 = y.copy()
    y3[0] = 2
    est = NeuroClassifier("eeg_transformer", max_epochs=1, validation_fraction=0.25,
                          **_SIGNAL)
    with pytest.raises(ValueError, match=r"validation_fraction=0\.25: class\(es\) \[2\]"):
        est.fit(X, y3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_cuda_is_refused_at_fit_and_at_load(arrays, tmp_path):
    X, y = arrays
    with pytest.raises(ValueError, match=r"device='cuda'.*only 'cpu'"):
        NeuroClassifier("eeg_transformer", max_epochs=1, **{**_SIGNAL, "device": "cuda"}
                        ).fit(X, y)
    path = NeuroClassifier("eeg_transformer", max_epochs=1, **_SIGNAL).fit(X, y).save(
        tmp_path / "m")
    with pytest.raises(ValueError, match=r"device='cuda'"):
        NeuroClassifier.load(path, device="cuda")
    with pytest.raises(ValueError, match="device='cuda:1'"):
        resolve_device("cuda:1")
    assert resolve_device("auto") == "cpu" and resolve_device(torch.device("cpu")) == "cpu"


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="needs a machine without MPS")
def test_missing_mps_is_refused():
    with pytest.raises(ValueError, match="device='mps'.*MPS is not available"):
        resolve_device("mps")


# ------------------------------------------- run identity: random states, callbacks
def test_a_random_state_object_is_told_apart_by_its_state(arrays, tmp_path):
    # RandomState(0) and RandomState(1) have the same repr: the identity hashes the state.
    X, y = arrays
    folder = tmp_path / "ckpt"

    def make(seed):
        est = _make("regressor", checkpoint_dir=folder, callbacks=[InterruptAt(3)])
        return est.set_params(random_state=np.random.RandomState(seed))

    with pytest.raises(KeyboardInterrupt):
        make(0).fit(X, y)
    with pytest.raises(ValueError, match="another run: random_state"):
        make(1).fit(X, y)
    with pytest.raises(KeyboardInterrupt, match="partial checkpoint"):
        make(0).fit(X, y)  # the same seed object again: the same run, resumed


def test_resuming_with_other_callbacks_says_so(arrays, tmp_path):
    X, y = arrays
    folder = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        _make("regressor", checkpoint_dir=folder, callbacks=[InterruptAt(3)]).fit(X, y)
    with pytest.warns(UserWarning, match="other callbacks than the checkpoint's"):
        _make("regressor", checkpoint_dir=folder).fit(X, y)
