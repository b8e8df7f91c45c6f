"""Batch losses in the training history read as skorch's do: a float per batch, seen by
a callback during the epoch and kept after ``fit``; read from the device once an epoch
when nothing looks at them before."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, LRScheduler

from neuroattn.estimators import NeuroClassifier
from neuroattn.estimators._history import LossHistory

_FAST = dict(max_epochs=2, batch_size=8, device="cpu", random_state=0,
             model__depth=1, model__embed_dim=8, model__n_heads=2)


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3, 16)).astype(np.float32)
    return X, np.tile([0, 1], n // 2)


class _ReadsBatchLoss(Callback):
    """What a user's callback reads at each batch end: the history's loss and the
    loss the net passed."""

    def initialize(self):
        self.seen_ = []
        return self

    def on_batch_end(self, net, training=False, loss=None, **kwargs):
        key = "train_loss" if training else "valid_loss"
        self.seen_.append((key, net.history[-1, "batches", -1, key], float(loss.detach())))


@pytest.mark.parametrize("validation_fraction", [None, 0.25], ids=["train", "train+valid"])
def test_callback_reads_float_batch_loss_during_epoch(validation_fraction):
    X, y = _data()
    reader = _ReadsBatchLoss()
    NeuroClassifier("eeg_transformer", **_FAST, validation_fraction=validation_fraction,
                    callbacks=[("reader", reader)]).fit(X, y)
    keys = {key for key, _, _ in reader.seen_}
    assert keys == ({"train_loss"} if validation_fraction is None
                    else {"train_loss", "valid_loss"})
    for key, recorded, passed in reader.seen_:
        assert isinstance(recorded, float) and np.isfinite(recorded), (key, recorded)
        assert recorded == pytest.approx(passed, rel=1e-6)


def test_batch_stepped_plateau_scheduler_sees_losses():
    # skorch's ReduceLROnPlateau stepped per batch reads the last batch's loss from the
    # history; a NaN there counts as "no improvement" and cuts the rate every batch.
    X, y = _data(n=64)
    sched = LRScheduler(policy=torch.optim.lr_scheduler.ReduceLROnPlateau,
                        monitor="train_loss", step_every="batch", patience=100)
    est = NeuroClassifier("eeg_transformer", **_FAST, lr=1e-3,
                          callbacks=[("plateau", sched)]).fit(X, y)
    assert np.isfinite(dict(est.net_.callbacks_)["plateau"].lr_scheduler_.best)


def test_no_nan_after_fit_and_history_survives_pickle():
    X, y = _data()
    est = NeuroClassifier("eeg_transformer", **_FAST, validation_fraction=0.25).fit(X, y)
    for key in ("train_loss", "valid_loss"):
        values = [v for epoch in est.history_[:, "batches", :, key] for v in epoch]
        assert values and all(isinstance(v, float) and np.isfinite(v) for v in values), key
        for epoch in range(len(est.history_)):
            sizes = est.history_[epoch, "batches", :, key.replace("loss", "batch_size")]
            losses = est.history_[epoch, "batches", :, key]
            assert est.history_[epoch, key] == pytest.approx(np.average(losses,
                                                                        weights=sizes))
    again = pickle.loads(pickle.dumps(est))
    assert again.history_.to_list() == est.history_.to_list()


def test_losses_read_once_per_epoch_when_nothing_reads_them(monkeypatch):
    # The speed side: without a reader, one device read per epoch and loop (train,
    # valid), not one per batch.
    reads = []
    flush = LossHistory.flush

    def counting(self):
        reads.append(len(self._pending))
        flush(self)

    monkeypatch.setattr(LossHistory, "flush", counting)
    X, y = _data()
    est = NeuroClassifier("eeg_transformer", **_FAST, validation_fraction=0.25).fit(X, y)
    assert isinstance(est.history_, LossHistory)
    train_batches, valid_batches = 3, 1  # 24 training trials in 8s, 8 validation
    assert [n for n in reads if n] == [train_batches, valid_batches] * _FAST["max_epochs"]
