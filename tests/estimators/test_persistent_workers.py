"""persistent_workers=True keeps the DataLoader workers of a fit alive between epochs
and trains the same model as persistent_workers=False."""

import os

import numpy as np
import torch

from neuroattn import NeuroClassifier


class _PidDataset(torch.utils.data.Dataset):
    """Trials that write the reading process's id to a file (one line per item)."""

    def __init__(self, X, y, log):
        self.X, self.y, self.log = X, y, str(log)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()}\n")
        return self.X[i], self.y[i]


def _fit(tmp_path, name, persistent):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 3, 32)).astype(np.float32)
    y = np.arange(24) % 2
    log = tmp_path / f"{name}.log"
    clf = NeuroClassifier(max_epochs=3, batch_size=8, num_workers=2,
                          persistent_workers=persistent, model__depth=1, model__embed_dim=8,
                          model__n_heads=2, device="cpu", random_state=0)
    clf.fit(_PidDataset(X, y, log))
    pids = set(log.read_text().split()) - {str(os.getpid())}  # the checks read in-process
    return clf, pids, X


def test_workers_persist_across_epochs_and_results_do_not_change(tmp_path):
    kept, kept_pids, X = _fit(tmp_path, "kept", True)
    fresh, fresh_pids, _ = _fit(tmp_path, "fresh", False)
    assert len(kept_pids) == 2  # two workers for all three epochs
    assert len(fresh_pids) == 6  # two new workers every epoch
    np.testing.assert_array_equal(kept.predict_proba(X), fresh.predict_proba(X))
