"""SSVEP crop training with ``validation_fraction``: the validation loss reads what
prediction reads, the first ``n_times_`` samples of each validation trial, scaled the
same way; training still draws a fresh crop per epoch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from neuroattn.estimators import SSVEPClassifier
from neuroattn.estimators._nets import ValidationViewSplit
from neuroattn.estimators._ssvep_crops import CropDataset

SFREQ, FREQS = 64.0, (13.0, 17.0)
_SMALL = dict(batch_size=8, random_state=0, device="cpu", model__n_filters=4,
              model__kernel_size=4, model__head="flatten")
_CROP = dict(crop_seconds=0.5, sfreq=SFREQ, stim_freqs=FREQS)


class _ValidIndices(Callback):
    """The trial indices of the validation subset, per epoch (kept across the nets
    the estimator builds: it re-initialises callbacks after training)."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        self.seen.append(np.asarray(dataset_valid.indices))


def _data(n=24, n_times=128, seed=0):
    """Noisy sinusoids at the two stimulus frequencies, random phase: each crop
    differs, so a model scores the first crop and a later one differently."""
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], n // 2)
    t = np.arange(n_times) / SFREQ
    f = np.where(y == 1, FREQS[1], FREQS[0])[:, None]
    s = np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    X = rng.standard_normal((n, 2, 3, n_times)) + 2 * s[:, None, None, :]
    return X.astype("float32"), y


@pytest.mark.parametrize("scale", ["trial", None])
def test_validation_loss_is_the_first_crop_loss(scale):
    X, y = _data()
    spy = _ValidIndices()
    clf = SSVEPClassifier(**_SMALL, **_CROP, max_epochs=3, lr=0.05, validation_fraction=0.25,
                          scale=scale, callbacks=[("valid_indices", spy)]).fit(X, y)
    idx = spy.seen[-1]
    assert len(idx) == 6 and all(np.array_equal(i, idx) for i in spy.seen)
    # by hand: prediction's own path (first n_times_ samples, scaled as predict scales)
    logits = torch.as_tensor(clf.decision_function(X[idx]))
    logits = torch.stack([-logits / 2, logits / 2], 1)  # binary margin -> logits
    by_hand = torch.nn.functional.cross_entropy(logits, torch.as_tensor(y[idx])).item()
    assert clf.history_[-1, "valid_loss"] == pytest.approx(by_hand, rel=1e-5)


def test_validation_reads_first_crops_and_training_fresh_ones():
    X = np.arange(6 * 1 * 1 * 50, dtype="float32").reshape(6, 1, 1, 50)
    y = np.array([0, 1] * 3)
    data = CropDataset(X, y, n_crop=10, scale=False)
    train, valid = ValidationViewSplit(0.5, stratified=True, random_state=0)(data, y)
    assert sorted([*train.indices, *valid.indices]) == list(range(6))
    for i, k in enumerate(valid.indices):
        torch.manual_seed(i)
        np.testing.assert_array_equal(valid[i][0].numpy(), X[k, ..., :10])
        assert valid[i][1] == y[k]
    torch.manual_seed(0)
    starts = {int(train[j][0][0, 0, 0]) % 50 for j in range(len(train)) for _ in range(5)}
    assert len(starts) > 1  # training crops still start anywhere
    assert train.dataset is data  # the training side is the original dataset
