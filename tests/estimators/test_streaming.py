"""Data larger than memory (issue 13, item 3): memmaps and Datasets are streamed, never
loaded whole; DataLoader workers, pinning and their reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroattn.data.seizure import extract_windows, load_windows, read_chbmit_summary
from neuroattn.data.seizure._lazy import WindowFile
from neuroattn.data.simulate import simulate_seizure_recordings
from neuroattn.estimators import (
    NeuroClassifier,
    NeuroRegressor,
    SeizureForecaster,
    _streaming,
)

TINY = dict(max_epochs=2, batch_size=16, device="cpu", random_state=0,
            model__depth=1, model__embed_dim=8, model__n_heads=2)
STAN = dict(TINY, model__patch_size=64, lr_scheduler="cosine", sop_seconds=180.0)
LABELS = dict(sph_seconds=30.0, sop_seconds=180.0, min_interictal_seconds=1800.0,
              postictal_seconds=120.0)


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3, 64)).astype(np.float32) * 10
    y = np.arange(n) % 2
    X[y == 1, 0] += 5 * np.sin(np.arange(64) / 3)
    return X, y


def _memmap(tmp_path, X, name="X.npy"):
    np.save(tmp_path / name, X)
    return np.load(tmp_path / name, mmap_mode="r")


class PairDataset(torch.utils.data.Dataset):
    """(x, y) pairs of in-memory arrays, counting the items read."""

    def __init__(self, X, y):
        self.X, self.y_, self.reads = X, y, 0

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        self.reads += 1
        return torch.from_numpy(self.X[i]), self.y_[i]


@pytest.fixture(scope="module")
def windows_folder(tmp_path_factory):
    """Labelled windows written to disk by extract_windows(..., out=...)."""
    root = tmp_path_factory.mktemp("sim")
    sim = simulate_seizure_recordings(
        root, n_seizures=2, n_interictal_files=1, interictal_file_minutes=5,
        seizure_file_minutes=8, preictal_seconds=210, seizure_seconds=(20, 30),
        interictal_gap_hours=1.0, margin_seconds=60, sfreq=64, random_state=1)
    recs = read_chbmit_summary(sim.summary_path)
    extract_windows(recs, window_seconds=4.0, out=root / "windows", **LABELS)
    return root / "windows"


def test_memmap_fit_equals_array_fit(tmp_path):
    X, y = _data()
    mm = _memmap(tmp_path, X)
    a = NeuroClassifier(**TINY).fit(X, y)
    b = NeuroClassifier(**TINY).fit(mm, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(mm))
    assert (b.n_chans_, b.n_times_, b.n_features_in_) == (3, 64, 192)
    assert b.input_amplitude_ == pytest.approx(a.input_amplitude_)
    # a view of the memmap (every other window) is read by position from the file
    np.testing.assert_array_equal(b.predict_proba(mm[::2]), a.predict_proba(X[::2]))


def test_dataset_fit_equals_array_fit():
    X, y = _data()
    a = NeuroRegressor(**TINY).fit(X, y.astype(float))
    ds = PairDataset(X, y.astype(float))
    b = NeuroRegressor(**TINY).fit(ds)
    np.testing.assert_allclose(b.predict(PairDataset(X, y)), a.predict(X), rtol=1e-6)
    np.testing.assert_allclose(b.y_mean_, a.y_mean_)


def test_seizure_forecaster_memmap_matches_in_memory(windows_folder):
    mapped, loaded = load_windows(windows_folder), load_windows(windows_folder, mmap=False)
    assert isinstance(mapped.X, np.memmap) and not isinstance(loaded.X, np.memmap)
    # a stratified validation split of the stream, balanced batches, warm-up schedule
    kw = dict(STAN, validation_fraction=0.25, lr_scheduler="warmup_cosine")
    a = SeizureForecaster(**kw).fit(loaded)
    b = SeizureForecaster(**kw).fit(mapped)
    assert b.input_scale_ == pytest.approx(a.input_scale_, rel=1e-5)
    assert b.history_[-1, "valid_loss"] == pytest.approx(a.history_[-1, "valid_loss"],
                                                         rel=1e-4)
    np.testing.assert_allclose(b.predict_proba(mapped.X), a.predict_proba(loaded.X),
                               atol=1e-5)


def test_streamed_fit_reads_only_drawn_windows(windows_folder, monkeypatch):
    """The fit on extract_windows' memmap never holds the whole array: checks read it
    in chunks, training reads the windows the balanced sampler draws, a batch at a time."""
    windows = load_windows(windows_folder)
    n = len(windows.X)
    reads = []
    original = WindowFile.read

    def counting(self, index):
        reads.append(len(np.asarray(index).ravel()))
        return original(self, index)

    monkeypatch.setattr(WindowFile, "read", counting)
    chunk = 8  # windows per chunk of the chunk-wise check
    monkeypatch.setattr(_streaming, "CHUNK_BYTES", chunk * 4 * int(np.prod(windows.X.shape[1:])))
    materialised = []
    monkeypatch.setattr(np.memmap, "__array__", lambda self, *a, **k: materialised.append(1))
    est = SeizureForecaster(**STAN).fit(windows)
    assert not materialised
    sample = min(n, 256)  # the bounded sample of the amplitude check, read once
    assert reads.count(sample) == 1
    reads.remove(sample)
    assert max(reads) <= max(chunk, STAN["batch_size"]) < n
    n_pre = int((windows.y == 1).sum())
    draws = 2 * min(n_pre, n - n_pre)  # one balanced epoch
    assert sum(reads) - n == est.max_epochs * draws  # minus the chunk-wise check


def test_streamed_fit_never_materialises_big_memmap(tmp_path, monkeypatch):
    """A memmap larger than a (patched) memory limit: no read asks for more than the
    bounded amplitude sample (256 windows), whatever the number of windows."""
    X, y = _data(n=600)
    mm = _memmap(tmp_path, X)
    limit = 256 * X[0].nbytes
    biggest = []
    original = WindowFile.read

    def limited(self, index):
        size = len(np.asarray(index).ravel()) * self.window_bytes
        biggest.append(size)
        if size > limit:
            raise MemoryError(f"read of {size} bytes over the limit of {limit}")
        return original(self, index)

    monkeypatch.setattr(WindowFile, "read", limited)
    monkeypatch.setattr(_streaming, "CHUNK_BYTES", limit)
    est = NeuroClassifier(**TINY).fit(mm, y)
    assert est.predict(mm).shape == (600,)
    assert 0 < max(biggest) <= limit < mm.nbytes


def test_workers_reproducible(tmp_path):
    """num_workers=2 trains the same model as num_workers=0 (same random_state): the
    sampler runs in the main process on the seeded generator; workers only read."""
    X, y = _data(n=40)
    mm = _memmap(tmp_path, X)
    kw = dict(STAN, max_epochs=2, model__drop_prob=0.3)
    a = SeizureForecaster(**kw, num_workers=0).fit(mm, y)
    b = SeizureForecaster(**kw, num_workers=2).fit(mm, y)
    for key, value in a.module_.state_dict().items():
        torch.testing.assert_close(b.module_.state_dict()[key], value, rtol=0, atol=0)
    np.testing.assert_array_equal(a.predict_proba(mm), b.predict_proba(mm))
    params = b.net_.get_params()
    assert params["iterator_train__num_workers"] == 2
    assert params["iterator_valid__num_workers"] == 2
    assert params["iterator_train__pin_memory"] is False  # auto: off on CPU


def test_loader_params():
    est = NeuroClassifier(num_workers=3, persistent_workers=True)
    p = _streaming.loader_params(est, "cuda")
    assert p["iterator_train__pin_memory"] and p["iterator_valid__persistent_workers"]
    assert p["iterator_train__num_workers"] == 3
    assert _streaming.loader_params(NeuroClassifier(pin_memory=False), "cuda")[
        "iterator_train__pin_memory"] is False
    with pytest.warns(UserWarning, match="pin_memory=True"):
        p = _streaming.loader_params(NeuroClassifier(pin_memory=True), "cpu")
    assert p["iterator_valid__pin_memory"] is False
    assert "iterator_train__persistent_workers" not in _streaming.loader_params(
        NeuroClassifier(), "cpu")


def test_window_file_pickles_and_reads_views(tmp_path):
    import pickle

    X, _ = _data(n=10)
    mm = _memmap(tmp_path, X)
    view = mm[7:1:-2]
    f = WindowFile.from_memmap(view)
    np.testing.assert_array_equal(f.read([0, 1, 2]), X[7:1:-2])
    g = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(g.read([2]), X[[3]])
    assert WindowFile.from_memmap(np.load(tmp_path / "X.npy", mmap_mode="r").transpose(
        0, 2, 1)) is None  # not contiguous windows: read through the map


def test_copy_on_write_memmap_is_read_with_its_changes(tmp_path):
    # mmap_mode="c": changes live in the process only, the file keeps the old values;
    # reading the file by position would silently train on the unchanged windows.
    X, y = _data(n=10)
    np.save(tmp_path / "X.npy", X)
    cow = np.load(tmp_path / "X.npy", mmap_mode="c")
    cow[3] = 99.0
    assert WindowFile.from_memmap(cow) is None
    lazy = _streaming.as_lazy(cow, "NeuroClassifier")
    np.testing.assert_array_equal(lazy[[2, 3]], np.asarray(cow[[2, 3]]))


def test_brain_mae_segments_on_disk(tmp_path, monkeypatch):
    """BrainMAEPretrainer on Segments whose X is a memmap: the same model as in memory,
    and training reads batches, not the array."""
    from neuroattn.data.fmri import Segments
    from neuroattn.estimators import BrainMAEPretrainer

    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 6, 16)).astype(np.float32)
    groups = np.repeat(np.arange(4), 6)
    kw = dict(max_epochs=1, batch_size=8, device="cpu", random_state=0, segment_seconds=16.0,
              max_segments_per_subject=4, model__embed_dim=4, model__n_heads=1,
              model__patch_size=2)
    a = BrainMAEPretrainer(**kw).fit(Segments(X=X, groups=groups, skipped=[], t_r=1.0))
    reads = []
    original = WindowFile.read
    monkeypatch.setattr(WindowFile, "read", lambda self, i: reads.append(len(i)) or
                        original(self, i))
    monkeypatch.setattr(_streaming, "CHUNK_BYTES", 4 * X[0].nbytes)
    seg = Segments(X=_memmap(tmp_path, X), groups=groups, skipped=[], t_r=1.0)
    b = BrainMAEPretrainer(**kw).fit(seg)
    assert b.n_segments_fit_ == a.n_segments_fit_ == 16
    assert max(reads) <= 8 < len(X)
    for key, value in a.module_.state_dict().items():
        torch.testing.assert_close(b.module_.state_dict()[key], value)
    np.testing.assert_allclose(b.transform(seg), a.transform(Segments(X=X, groups=groups,
                                                                      skipped=[], t_r=1.0)),
                               rtol=1e-5, atol=1e-6)


def test_streamed_fit_checkpoints(tmp_path):
    """checkpoint_dir works with a streamed input: its digest is taken window by window,
    so a second fit on the same memmap finds the finished run, and another file is
    refused as another run."""
    X, y = _data(n=32)
    mm = _memmap(tmp_path, X)
    kw = dict(TINY, checkpoint_dir=tmp_path / "ckpt")
    a = NeuroClassifier(**kw).fit(mm, y)
    b = NeuroClassifier(**kw).fit(mm, y)
    np.testing.assert_array_equal(a.predict_proba(mm), b.predict_proba(mm))
    other = _memmap(tmp_path, X[::-1].copy(), "other.npy")
    with pytest.raises(ValueError, match="checkpoint"):
        NeuroClassifier(**kw).fit(other, y)
