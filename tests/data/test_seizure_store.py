"""Windows carry their labelling; saving them is all-or-nothing; loading maps X read-only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuroattn.data.seizure import (
    SeizureWindows,
    _store,
    extract_windows,
    load_windows,
    read_chbmit_summary,
    save_windows,
)
from neuroattn.data.simulate import simulate_seizure_recordings

LABELS = dict(sph_seconds=30.0, sop_seconds=180.0, min_interictal_seconds=1800.0,
              postictal_seconds=120.0)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate_seizure_recordings(
        tmp_path_factory.mktemp("sim"), n_seizures=2, n_interictal_files=1,
        interictal_file_minutes=4, seizure_file_minutes=6, preictal_seconds=210,
        seizure_seconds=(20, 30), interictal_gap_hours=1.0, margin_seconds=60, sfreq=64,
        random_state=0)


@pytest.fixture(scope="module")
def windows(sim):
    return extract_windows(read_chbmit_summary(sim.summary_path), l_freq=1.0, h_freq=30.0,
                           **LABELS)


def test_windows_carry_their_labelling(windows):
    for key, value in LABELS.items():
        assert getattr(windows, key) == value
    assert (windows.l_freq, windows.h_freq) == (1.0, 30.0)


def test_save_load_round_trip(windows, tmp_path):
    folder = save_windows(windows, tmp_path / "a" / "win")
    assert sorted(p.name for p in folder.iterdir()) == ["X.npy", "labels.npz", "meta.json"]
    assert [p.name for p in folder.parent.iterdir()] == ["win"]  # no temporary leftovers
    back = load_windows(folder)
    assert isinstance(back, SeizureWindows) and isinstance(back.X, np.memmap)
    assert not back.X.flags.writeable
    np.testing.assert_array_equal(back.X, windows.X)
    for key in ("y", "seizure", "recording", "start", "subject"):
        np.testing.assert_array_equal(getattr(back, key), getattr(windows, key))
    assert back.subject.dtype == object
    for key in ("ch_names", "sfreq", "window_seconds", "l_freq", "h_freq", *LABELS):
        assert getattr(back, key) == getattr(windows, key)
    assert back.recordings == windows.recordings
    loaded = load_windows(folder, mmap=False)
    assert not isinstance(loaded.X, np.memmap)
    np.testing.assert_array_equal(loaded.X, windows.X)


def test_load_keeps_paths_of_files_that_are_gone(windows, tmp_path):
    folder = save_windows(windows, tmp_path / "win")
    meta = json.loads((folder / "meta.json").read_text())
    meta["recordings"][0]["path"] = str(tmp_path / "gone.edf")
    (folder / "meta.json").write_text(json.dumps(meta))
    back = load_windows(folder)
    assert back.recordings[0].path == tmp_path / "gone.edf"
    assert back.recordings[0].duration == windows.recordings[0].duration


def test_save_refuses_to_overwrite(windows, tmp_path):
    folder = save_windows(windows, tmp_path / "win")
    with pytest.raises(ValueError, match="overwrite=True"):
        save_windows(windows, folder)
    (tmp_path / "empty").mkdir()
    save_windows(windows, tmp_path / "empty")  # an empty folder is fine
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        save_windows(windows, tmp_path / "file")
    with pytest.raises(ValueError, match="SeizureWindows"):
        save_windows({"X": windows.X}, tmp_path / "other")
    half = SeizureWindows(**{**vars(windows), "y": windows.y[:-1]})
    with pytest.raises(ValueError, match="label arrays"):
        save_windows(half, tmp_path / "half")
    assert not (tmp_path / "half").exists()


def test_failure_midway_leaves_no_half_written_folder(windows, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_store.np, "savez", boom)  # X.npy is written, labels fail
    with pytest.raises(OSError, match="disk full"):
        save_windows(windows, tmp_path / "new")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    folder = save_windows(windows, tmp_path / "old")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    monkeypatch.setattr(_store.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        save_windows(windows, folder, overwrite=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["old"]


@pytest.mark.parametrize("broken, error, match", [
    ("X.npy", FileNotFoundError, "X.npy is missing"),
    ("labels.npz", FileNotFoundError, "labels.npz is missing"),
    ("meta.json", FileNotFoundError, "meta.json is missing"),
    ("bad-json", ValueError, "meta.json is not valid JSON"),
    ("old-meta", ValueError, r"meta.json lacks \['l_freq'"),
    ("short-labels", ValueError, "labels.npz: arrays"),
    ("bad-X", ValueError, "X.npy is not a readable"),
])
def test_load_names_the_missing_or_bad_file(windows, tmp_path, broken, error, match):
    folder = save_windows(windows, tmp_path / "win")
    if broken in ("X.npy", "labels.npz", "meta.json"):
        (folder / broken).unlink()
    elif broken == "bad-json":
        (folder / "meta.json").write_text("{not json")
    elif broken == "old-meta":
        (folder / "meta.json").write_text(json.dumps({"ch_names": [], "sfreq": 64,
                                                      "window_seconds": 5, "sph": 30}))
    elif broken == "short-labels":
        np.savez(folder / "labels.npz", y=windows.y[:3], seizure=windows.seizure[:3],
                 recording=windows.recording[:3], start=windows.start[:3],
                 subject=windows.subject[:3].astype(str))
    else:
        (folder / "X.npy").write_bytes(b"not an npy file")
    with pytest.raises(error, match=match):
        load_windows(folder)


@pytest.mark.parametrize("change, match", [
    (dict(y="seven"), "y must hold 0"),
    (dict(ch_names=["a"]), "channel names"),
    (dict(sph_seconds=None), "sph_seconds must be a finite number"),
    (dict(sop_seconds=float("nan")), "sop_seconds must be a positive"),
    (dict(l_freq=30.0, h_freq=1.0), "l_freq < h_freq"),
    (dict(recording="beyond"), "'recording' must index"),
])
def test_save_refuses_windows_that_cannot_be_right(windows, tmp_path, change, match):
    import dataclasses

    if change.get("y") == "seven":
        change = dict(y=np.full_like(windows.y, 7))
    if change.get("recording") == "beyond":
        change = dict(recording=windows.recording + len(windows.recordings))
    bad = dataclasses.replace(windows, **change)
    with pytest.raises(ValueError, match=match):
        save_windows(bad, tmp_path / "win")
    assert not (tmp_path / "win").exists()  # nothing written


@pytest.mark.parametrize("key, value, match", [
    ("sfreq", -5, "sfreq must be a positive"),
    ("l_freq", "hello", "l_freq, h_freq must be None"),
    ("format", 999, "layout version 999"),
])
def test_load_refuses_a_tampered_description(windows, tmp_path, key, value, match):
    folder = save_windows(windows, tmp_path / "win")
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, key: value}))
    with pytest.raises(ValueError, match=match):
        load_windows(folder)


def test_load_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_windows(tmp_path / "nowhere")
