"""Recordings, annotations, streamed windows, labels and splits for seizure forecasting."""

from __future__ import annotations

import tracemalloc
from types import SimpleNamespace

import mne
import numpy as np
import pytest

from neuroattn.data.seizure import (
    SeizureRecording,
    balanced_indices,
    check_subject_recordings,
    extract_windows,
    iter_windows,
    label_windows,
    read_chbmit_summary,
    read_edf_seizures,
    read_events_tsv,
    read_seizure_table,
)
from neuroattn.data.simulate import simulate_seizure_recordings
from neuroattn.data.simulate.seizure import CHBMIT_CHANNELS
from neuroattn.data.splits import LeaveOneSeizureOut

# Small, fast labelling used with the small simulated subject below (seconds).
LABELS = dict(sph_seconds=30.0, sop_seconds=180.0, min_interictal_seconds=1800.0,
              postictal_seconds=120.0)


@pytest.fixture(scope="module")
def subject(tmp_path_factory):
    return simulate_seizure_recordings(
        tmp_path_factory.mktemp("sim"), n_seizures=2, n_interictal_files=2,
        interictal_file_minutes=4, seizure_file_minutes=8, preictal_seconds=210,
        seizure_seconds=(20, 30), interictal_gap_hours=1.0, margin_seconds=60, sfreq=64,
        edf_annotations=True, random_state=0)


def _write_edf(path, n_chans=3, seconds=20, sfreq=32.0, names=None, annotations=()):
    import edfio

    rng = np.random.default_rng(0)
    names = names or [f"C{i}" for i in range(n_chans)]
    signals = [edfio.EdfSignal(rng.normal(size=int(seconds * sfreq)) * 10, sfreq, label=n,
                               physical_dimension="uV", physical_range=(-100, 100))
               for n in names]
    # Plain EDF without annotations (as CHB-MIT's), EDF+ with them.
    edfio.Edf(signals, annotations=[edfio.EdfAnnotation(a, d, t) for a, d, t in annotations]
              or None).write(path)
    return path


def test_summary_gives_files_seizures_and_clock(subject):
    recs = read_chbmit_summary(subject.summary_path)
    assert [r.path for r in recs] == subject.edf_paths
    found = [(r.path.name, *s) for r in recs for s in r.seizures]
    assert found == [(name, on, off) for name, on, off in subject.seizures]
    starts = [r.start for r in recs]
    assert starts[0] == 0 and np.all(np.diff(starts) > 0)
    # The seizure files come interictal_gap_hours after the interictal ones.
    assert recs[2].start - (recs[1].start + recs[1].duration) >= 3600 - 1
    names, sfreq = check_subject_recordings(recs, CHBMIT_CHANNELS)
    assert names == list(CHBMIT_CHANNELS) and sfreq == 64


def test_edf_annotations_agree_with_summary(subject):
    recs = read_chbmit_summary(subject.summary_path)
    for rec in recs:
        assert read_edf_seizures(rec.path) == rec.seizures


def test_summary_midnight_wrap(tmp_path):
    for name in ("a.edf", "b.edf"):
        _write_edf(tmp_path / name)
    (tmp_path / "chb99-summary.txt").write_text(
        "File Name: a.edf\nFile Start Time: 23:59:50\nFile End Time: 24:00:10\n"
        "Number of Seizures in File: 0\n\nFile Name: b.edf\nFile Start Time: 00:10:00\n"
        "File End Time: 00:10:20\nNumber of Seizures in File: 1\n"
        "Seizure 1 Start Time: 5 seconds\nSeizure 1 End Time: 9 seconds\n")
    recs = read_chbmit_summary(tmp_path / "chb99-summary.txt")
    assert recs[1].start == pytest.approx(610.0)
    assert recs[1].absolute_seizures == [(615.0, 619.0)]


def test_summary_naming_missing_file(subject, tmp_path):
    text = subject.summary_path.read_text().replace("chb01_02.edf", "chb01_99.edf")
    bad = subject.summary_path.parent / "chb01b-summary.txt"
    bad.write_text(text)
    try:
        with pytest.raises(ValueError, match="chb01_99.edf"):
            read_chbmit_summary(bad)
        with pytest.warns(UserWarning, match="chb01_99.edf"):
            recs = read_chbmit_summary(bad, on_missing="warn")
        assert len(recs) == len(subject.edf_paths) - 1
    finally:
        bad.unlink()


def test_annotation_outside_recording(tmp_path):
    path = _write_edf(tmp_path / "x.edf", seconds=20,
                      annotations=[(15.0, 10.0, "seizure")])  # ends at 25 s > 20 s
    with pytest.raises(ValueError, match="outside the recording"):
        read_edf_seizures(path)
    with pytest.raises(ValueError, match="outside the recording"):
        SeizureRecording(_write_edf(tmp_path / "y.edf"), [(18.0, 30.0)]).check()


def test_unreadable_annotation_is_an_error_naming_the_file(tmp_path):
    # A latin-1 byte in the annotation channel: MNE opens the file with
    # encoding="latin1" (and crops the annotation reaching past the data to 18-20 s), but
    # the annotations read as UTF-8 fail. No silent fallback to the cropped annotation.
    path = _write_edf(tmp_path / "x.edf", seconds=20,
                      annotations=[(18.0, 10.0, "seizure x")])  # ends at 28 s > 20 s
    data = path.read_bytes()
    path.write_bytes(data.replace(b"seizure x", b"seizure \xe9"))
    raw = mne.io.read_raw_edf(path, preload=False, encoding="latin1", verbose="error")
    with pytest.raises(ValueError, match=r"x\.edf: its EDF\+ annotations cannot be read"):
        read_edf_seizures(raw)
    with pytest.raises(ValueError, match="outside the recording"):
        read_edf_seizures(raw, pattern="(?i)seizure .", encoding="latin1")


def test_annotation_pattern_skips_pre_and_interictal(tmp_path):
    path = _write_edf(tmp_path / "x.edf", seconds=30, annotations=[
        (1.0, 2.0, "preictal"), (4.0, 1.0, "interictal"), (10.0, 5.0, "Seizure"),
        (20.0, 0.0, "sz onset")])
    with pytest.warns(UserWarning, match="not taken as seizure onsets.*'preictal', "
                                         "'interictal'"):
        assert read_edf_seizures(path) == [(10.0, 15.0), (20.0, 21.0)]


def test_channel_missing_in_one_file(tmp_path):
    a = SeizureRecording(_write_edf(tmp_path / "a.edf", names=["FP1-F7", "F7-T7"]))
    b = SeizureRecording(_write_edf(tmp_path / "b.edf", names=["FP1-F7"]))
    with pytest.raises(ValueError, match=r"b\.edf lacks channels \['F7-T7'\]"):
        check_subject_recordings([a, b])
    c = SeizureRecording(_write_edf(tmp_path / "c.edf", names=["FP1-F7", "F7-T7"], sfreq=64))
    with pytest.raises(ValueError, match="64.0 Hz"):
        check_subject_recordings([a, c])


def test_recording_shorter_than_one_window(tmp_path, subject):
    short = SeizureRecording(_write_edf(tmp_path / "s.edf", seconds=3))
    with pytest.raises(ValueError, match="shorter than one window"):
        next(iter_windows(short, window_seconds=5.0))
    recs = read_chbmit_summary(subject.summary_path)
    short = SeizureRecording(_write_edf(tmp_path / "t.edf", seconds=3,
                                        names=list(CHBMIT_CHANNELS), sfreq=64))
    with pytest.warns(UserWarning, match="t.edf skipped"):
        win = extract_windows(recs + [short], ch_names=CHBMIT_CHANNELS, **LABELS)
    assert len(win.recordings) == len(recs) + 1
    assert (win.recording != len(recs)).all()


def test_seizure_without_interictal_time(subject):
    recs = read_chbmit_summary(subject.summary_path)
    with pytest.raises(ValueError, match="interictal windows"):
        extract_windows(recs[2:], **LABELS)  # seizure files only
    y = np.array([1, 1, 1, 1])
    one_class = SimpleNamespace(y=y, seizure=np.array([0, 0, 1, 1]), start=np.arange(4.0))
    with pytest.raises(ValueError, match="interictal"):
        list(LeaveOneSeizureOut().split(one_class))


def test_label_windows_zones():
    starts = np.arange(0, 20000, 10.0)
    seizures = [(10000.0, 10060.0)]
    lab, sz = label_windows(starts, 10.0, seizures, sph_seconds=300, sop_seconds=900,
                            min_interictal_seconds=3600, postictal_seconds=600)
    ends = starts + 10
    pre = lab == 1
    assert starts[pre].min() >= 10000 - 1200 and ends[pre].max() <= 10000 - 300
    assert pre.sum() == 90 and (sz[pre] == 0).all() and (sz[~pre] == -1).all()
    inter = lab == 0
    assert (ends[inter] <= 10000 - 3600).sum() + (starts[inter] >= 10060 + 3600).sum() \
        == inter.sum()
    # SPH, ictal, postictal and the grey zone are excluded, never labelled.
    assert (lab[(ends > 9700) & (starts < 10660)] == -1).all()


def test_label_windows_postictal_overrides_next_preictal():
    starts = np.arange(0, 5000, 10.0)
    lab, _ = label_windows(starts, 10.0, [(1000.0, 1050.0), (1500.0, 1520.0)],
                           sph_seconds=60, sop_seconds=600, min_interictal_seconds=100,
                           postictal_seconds=200)
    # Second seizure's preictal would start at 840 s; the first seizure and its
    # postictal period (to 1250 s) must not be called preictal.
    assert (lab[(starts + 10 > 1000) & (starts < 1250)] == -1).all()
    assert (lab[(starts >= 1250) & (starts + 10 <= 1440)] == 1).all()


def test_bad_label_parameters():
    with pytest.raises(ValueError, match="sph_seconds"):
        label_windows(np.arange(3.0), 1.0, [], sph_seconds=-1)


def test_iter_windows_match_mne_and_chunking(subject):
    rec = read_chbmit_summary(subject.summary_path)[0]
    raw = mne.io.read_raw_edf(rec.path, preload=False, verbose="error")
    picks = ["T7-P7", "FP1-F7"]
    starts_a, win_a = zip(*iter_windows(rec, window_seconds=4.0, ch_names=picks,
                                        chunk_windows=7))
    starts_b, win_b = zip(*iter_windows(rec, window_seconds=4.0, ch_names=picks,
                                        chunk_windows=1000))
    win_a, win_b = np.concatenate(win_a), np.concatenate(win_b)
    np.testing.assert_array_equal(win_a, win_b)
    assert win_a.shape == (60, 2, 256)
    direct = raw.get_data(picks=picks, start=256 * 10, stop=256 * 11) * 1e6
    np.testing.assert_allclose(win_a[10], direct, rtol=1e-5, atol=1e-3)


def test_iter_windows_resample_and_filter(subject):
    rec = read_chbmit_summary(subject.summary_path)[0]
    starts, win = next(iter_windows(rec, window_seconds=5.0, stride_seconds=2.5, sfreq=32,
                                    l_freq=1.0, h_freq=12.0, chunk_windows=10))
    assert win.shape == (10, 18, 160) and win.dtype == np.float32
    np.testing.assert_allclose(starts, np.arange(10) * 2.5)
    spectrum = np.abs(np.fft.rfft(win, axis=-1)).mean(axis=(0, 1))
    freqs = np.fft.rfftfreq(160, 1 / 32)
    assert spectrum[freqs > 14].mean() < 0.2 * spectrum[(freqs > 2) & (freqs < 10)].mean()


def test_iter_windows_memory_flat_in_recording_length(tmp_path):
    # Plain EDF: MNE parses EDF+ annotation channels in full when opening a file, which
    # is outside the streaming measured here.
    def peak(seconds):
        rec = SeizureRecording(_write_edf(tmp_path / f"m{seconds}.edf", n_chans=4,
                                          seconds=seconds, sfreq=64))
        tracemalloc.start()
        n = sum(len(s) for s, _ in iter_windows(rec, window_seconds=2.0, chunk_windows=20))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return n, top

    peak(100)  # first use imports and caches: not part of the comparison
    n_short, short = peak(400)
    n_long, long = peak(3200)
    assert n_long == 8 * n_short
    assert long < 1.5 * short


def test_extract_windows_labels_and_memmap(subject, tmp_path):
    recs = read_chbmit_summary(subject.summary_path)
    win = extract_windows(recs, window_seconds=5.0, out=tmp_path / "X.npy", **LABELS)
    assert isinstance(win.X, np.memmap)
    assert set(np.unique(win.y)) == {0, 1}
    assert win.X.shape == (len(win.y), 18, 320)
    # Preictal windows of seizure k lie in [onset - sph - sop, onset - sph].
    onsets = sorted(s for r in recs for s, _ in r.absolute_seizures)
    for k, onset in enumerate(onsets):
        st = win.start[win.seizure == k]
        assert len(st) > 0
        assert st.min() >= onset - 210 and st.max() + 5 <= onset - 30
    assert (win.seizure[win.y == 0] == -1).all()
    again = np.load(tmp_path / "X.npy", mmap_mode="r")
    np.testing.assert_array_equal(again[:3], win.X[:3])


def test_leave_one_seizure_out_and_balancing(subject):
    recs = read_chbmit_summary(subject.summary_path)
    win = extract_windows(recs, **LABELS)
    folds = list(LeaveOneSeizureOut().split(win))
    assert len(folds) == 2
    tested = np.concatenate([te for _, te in folds])
    assert np.array_equal(np.sort(tested), np.arange(len(win.y)))
    for k, (tr, te) in enumerate(folds):
        assert not np.intersect1d(tr, te).size
        assert set(win.seizure[te][win.y[te] == 1]) == {k}
        assert {0, 1} <= set(win.y[te])
    idx = balanced_indices(win.y, random_state=0)
    assert np.bincount(win.y[idx]).tolist() == [min(np.bincount(win.y))] * 2
    idx = balanced_indices(win.y, mode="oversample", random_state=0)
    assert np.bincount(win.y[idx]).tolist() == [max(np.bincount(win.y))] * 2
    with pytest.raises(ValueError, match="2 classes"):
        balanced_indices(np.zeros(4))


def test_events_tsv_and_plain_table(tmp_path):
    (tmp_path / "ev.tsv").write_text("onset\tduration\ttrial_type\n1.5\t3\tsz\n"
                                     "10\t2\tartifact\n20\t4\tseizure\n")
    assert read_events_tsv(tmp_path / "ev.tsv") == [(1.5, 4.5), (20.0, 24.0)]
    (tmp_path / "bad.tsv").write_text("onset\tkind\n1\tsz\n")
    with pytest.raises(ValueError, match="columns"):
        read_events_tsv(tmp_path / "bad.tsv")
    (tmp_path / "t.csv").write_text("file,onset,duration\na.edf,3,2\na.edf,9,1\nb.edf,1,1\n")
    assert read_seizure_table(tmp_path / "t.csv") == {
        "a.edf": [(3.0, 5.0), (9.0, 10.0)], "b.edf": [(1.0, 2.0)]}
