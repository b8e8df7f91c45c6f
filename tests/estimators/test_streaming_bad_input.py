"""Bad streamed inputs and DataLoader options (issue 13): each refused before training
with a ValueError naming the parameter, the file or the Dataset item."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroattn.estimators import NeuroClassifier, SeizureForecaster

TINY = dict(max_epochs=1, batch_size=8, device="cpu", random_state=0,
            model__depth=1, model__embed_dim=8, model__n_heads=2)


class Pairs(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def _X(n=24, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 3, 32)).astype(np.float32)


def _memmap(tmp_path, X, name="bad_windows.npy"):
    np.save(tmp_path / name, X)
    return np.load(tmp_path / name, mmap_mode="r")


def _nan_in_chunk(tmp_path, monkeypatch):
    from neuroattn.estimators import _streaming

    X = _X(n=40)
    X[33, 1, 5] = np.nan
    monkeypatch.setattr(_streaming, "CHUNK_BYTES", 10 * X[0].nbytes)  # 10 windows a chunk
    return _memmap(tmp_path, X), np.arange(40) % 2


def _flat_channel(tmp_path, monkeypatch):
    X = _X()
    X[:, 2] = 3.0
    return _memmap(tmp_path, X), np.arange(24) % 2


def _four_d(tmp_path, monkeypatch):
    return _memmap(tmp_path, _X()[..., None]), np.arange(24) % 2


def _complex(tmp_path, monkeypatch):
    return _memmap(tmp_path, _X().astype(np.complex64)), np.arange(24) % 2


def _not_pairs(tmp_path, monkeypatch):
    return Pairs([torch.zeros(3, 32)] * 4), None


def _ragged(tmp_path, monkeypatch):
    X = _X()
    items = [(X[i], i % 2) for i in range(24)]
    items[17] = (X[17, :, :20], 1)
    return Pairs(items), None


def _empty(tmp_path, monkeypatch):
    return Pairs([]), None


def _dataset_and_y(tmp_path, monkeypatch):
    X = _X()
    return Pairs([(X[i], i % 2) for i in range(24)]), np.arange(24) % 2


def _nan_in_dataset(tmp_path, monkeypatch):
    X = _X()
    X[20, 0, 0] = np.inf
    return Pairs([(X[i], i % 2) for i in range(24)]), None


BAD_DATA = {
    "nan in chunk k of file F": (_nan_in_chunk,
                                 r"NaN or infinity: found in chunk 3 \(windows 30\.\.39\) of "
                                 r"file .*bad_windows\.npy, first in window 33, channels \[1\]"),
    "flat channel in memmap": (_flat_channel,
                               r"Channels \[2\] are constant .* of file .*bad_windows\.npy"),
    "4-D memmap": (_four_d, r"got a 4-D memmap of shape \(24, 3, 32, 1\).*bad_windows"),
    "complex memmap": (_complex, r"Complex data not supported: X \(file .*bad_windows"),
    "Dataset not yielding pairs": (_not_pairs, r"must yield \(x, y\) pairs; item 0 of Pairs "
                                               r"is a Tensor"),
    "Dataset items of other shapes": (_ragged, r"item 17 of the Dataset Pairs holds x of "
                                               r"shape \(3, 20\), item 0 one of shape "
                                               r"\(3, 32\)"),
    "empty Dataset": (_empty, r"the Dataset given as X \(Pairs\) is empty"),
    "Dataset and y": (_dataset_and_y, r"y must be None when X is a Dataset"),
    "inf in Dataset": (_nan_in_dataset, r"NaN or infinity: found in chunk 0 .* of Dataset "
                                        r"Pairs, first in window 20"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_streamed_input(case, tmp_path, monkeypatch):
    make, message = BAD_DATA[case]
    X, y = make(tmp_path, monkeypatch)
    with pytest.raises(ValueError, match=message):
        NeuroClassifier(**TINY).fit(X, y)


BAD_PARAMS = {
    "num_workers < 0": ({"num_workers": -1}, r"num_workers.*range \[0, inf\)\. Got -1"),
    "num_workers not an int": ({"num_workers": 1.5}, r"num_workers"),
    "persistent_workers without workers": (
        {"persistent_workers": True},
        r"persistent_workers=True needs worker processes, but num_workers=0"),
    "pin_memory not a bool": ({"pin_memory": "yes"}, r"pin_memory"),
}


@pytest.mark.parametrize("case", list(BAD_PARAMS))
@pytest.mark.parametrize("cls", [NeuroClassifier, SeizureForecaster])
def test_bad_loader_params(case, cls, monkeypatch):
    params, message = BAD_PARAMS[case]
    trained = []
    monkeypatch.setattr(cls, "_train", lambda self, *a, **k: trained.append(1))
    with pytest.raises(ValueError, match=message):
        cls(**TINY, **params).fit(_X(), np.arange(24) % 2)
    assert not trained  # refused before any training


def test_bad_streamed_input_at_predict(tmp_path):
    X = _X()
    est = NeuroClassifier(**TINY).fit(X, np.arange(24) % 2)
    other = _memmap(tmp_path, _X()[:, :2])
    with pytest.raises(ValueError, match=r"X \(file .*bad_windows\.npy\) has 2 channels x 32 "
                                         r"samples, but NeuroClassifier was fitted on 3"):
        est.predict(other)
    bad = X.copy()
    bad[5, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"chunk 0 .* of file .*nan\.npy, first in window 5"):
        est.predict(_memmap(tmp_path, bad, "nan.npy"))


def test_pin_memory_on_cpu_warns(tmp_path):
    with pytest.warns(UserWarning, match=r"pin_memory=True has no effect on device 'cpu'"):
        NeuroClassifier(**TINY, pin_memory=True).fit(_X(), np.arange(24) % 2)
