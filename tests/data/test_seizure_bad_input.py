"""Bad input on the seizure track: summaries, annotations, truncated files, windowing
parameters, the alarm rule and the window store. Every case is refused with a message
naming the file (and line) or the parameter, or handled right; none is silently wrong.

Real-world spellings are parameters: the CHB-MIT summary variants (numbered seizures as
in chb24, clock times past 24:00 as in chb09_08, the chb09_08 index typo, "Channels
changed:" blocks, chb24's missing clock times) and the annotation vocabularies of
EDF+/BIDS datasets (TUH/TUSZ seizure codes, SzCORE's ``sz_*``, free-text onsets).
"""

from __future__ import annotations

import json
import os
import re
import stat

import numpy as np
import pytest

from neuroattn.data.seizure import (
    SEIZURE_PATTERN,
    SeizureRecording,
    _store,
    _windows,
    extract_windows,
    iter_windows,
    label_windows,
    load_windows,
    read_chbmit_summary,
    read_edf_seizures,
    read_events_tsv,
    read_raw_lazy,
    save_windows,
    window_starts,
)
from neuroattn.data.simulate import simulate_seizure_recordings
from neuroattn.data.simulate.seizure import CHBMIT_CHANNELS
from neuroattn.estimators.seizure import SeizureForecaster
from neuroattn.metrics.seizure import event_metrics, raise_alarms, smooth_probability

LABELS = dict(sph_seconds=30.0, sop_seconds=180.0, min_interictal_seconds=1800.0,
              postictal_seconds=120.0)
NAN = float("nan")


def _write_edf(path, seconds=20, sfreq=32.0, names=("C0", "C1"), annotations=()):
    import edfio

    rng = np.random.default_rng(0)
    signals = [edfio.EdfSignal(rng.normal(size=int(seconds * sfreq)) * 10, sfreq, label=n,
                               physical_dimension="uV", physical_range=(-100, 100))
               for n in names]
    edfio.Edf(signals, annotations=[edfio.EdfAnnotation(a, d, t) for a, d, t in annotations]
              or None).write(path)
    return path


@pytest.fixture(scope="module")
def subject(tmp_path_factory):
    return simulate_seizure_recordings(
        tmp_path_factory.mktemp("sim"), n_seizures=2, n_interictal_files=2,
        interictal_file_minutes=4, seizure_file_minutes=8, preictal_seconds=210,
        seizure_seconds=(20, 30), interictal_gap_hours=1.0, margin_seconds=60, sfreq=64,
        random_state=0)


@pytest.fixture(scope="module")
def edfs(tmp_path_factory):
    """Three 20-s EDF files a.edf, b.edf, c.edf in one folder."""
    folder = tmp_path_factory.mktemp("edf")
    for name in ("a.edf", "b.edf", "c.edf"):
        _write_edf(folder / name)
    return folder


def _summary(folder, body, name="chb99-summary.txt"):
    path = folder / name
    path.write_text(body)
    return path


HEADER = ("Data Sampling Rate: 32 Hz\n*************************\n\n"
          "Channels in EDF Files:\n**********************\nChannel 1: C0\nChannel 2: C1\n\n")


def _block(name, start, end, *seizure_lines, count=None):
    lines = [f"File Name: {name}"]
    if start is not None:
        lines.append(f"File Start Time: {start}")
    if end is not None:
        lines.append(f"File End Time: {end}")
    n = sum("Start Time" in s for s in seizure_lines) if count is None else count
    lines.append(f"Number of Seizures in File: {n}")
    return "\n".join([*lines, *seizure_lines, "", ""])


# ----------------------------------------------------------- CHB-MIT summaries
@pytest.mark.parametrize("seizure_lines, expected", [
    (["Seizure Start Time: 5 seconds", "Seizure End Time: 9 seconds"], [(5.0, 9.0)]),
    # chb24 and others number their seizures.
    (["Seizure 1 Start Time: 5 seconds", "Seizure 1 End Time: 9 seconds"], [(5.0, 9.0)]),
    # Unit written short: was silently dropped (an ictal file labelled interictal).
    (["Seizure Start Time: 5s", "Seizure End Time: 9s"], [(5.0, 9.0)]),
    (["Seizure Start Time: 5 sec", "Seizure End Time: 9 secs"], [(5.0, 9.0)]),
    (["Seizure 1 Start Time:   5 seconds  ", "Seizure 1 End Time:   9 seconds"],
     [(5.0, 9.0)]),
    # chb09_08: the second seizure's end is printed "Seizure 1 End Time" (paired by order).
    (["Seizure 1 Start Time: 2 seconds", "Seizure 1 End Time: 4 seconds",
      "Seizure 2 Start Time: 10 seconds", "Seizure 1 End Time: 12 seconds"],
     [(2.0, 4.0), (10.0, 12.0)]),
])
def test_summary_seizure_spellings(edfs, seizure_lines, expected):
    path = _summary(edfs, HEADER + _block("a.edf", "10:00:00", "10:00:20", *seizure_lines))
    (rec,) = read_chbmit_summary(path)
    assert rec.seizures == expected


def test_summary_windows_line_endings_and_channel_changes(edfs):
    body = (HEADER + _block("a.edf", "23:59:30", "23:59:50")
            + "Channels changed:\n*****************\nChannel 1: C0\nChannel 2: -\n\n"
            + _block("b.edf", "24:00:10", "24:00:30",
                     "Seizure 1 Start Time: 1 seconds", "Seizure 1 End Time: 3 seconds")
            + _block("c.edf", "0:01:00", "0:01:20"))
    recs = read_chbmit_summary(_summary(edfs, body.replace("\n", "\r\n")))
    # Hours past 24 (chb01_13, chb09_08) and the wrap to 0:xx:xx are both the next day.
    assert [r.start for r in recs] == [0.0, 40.0, 90.0]
    assert recs[1].absolute_seizures == [(41.0, 43.0)]


def test_summary_without_clock_times_places_files_back_to_back(edfs):
    # chb24's summary gives no File Start/End Time: the files are put end to end in the
    # listed order, and the user is told that the gaps are unknown.
    body = HEADER + _block("a.edf", None, None) + _block(
        "b.edf", None, None, "Seizure 1 Start Time: 1 seconds", "Seizure 1 End Time: 3 seconds")
    with pytest.warns(UserWarning, match=r"chb99-summary\.txt gives no File Start Time"):
        recs = read_chbmit_summary(_summary(edfs, body))
    assert [r.start for r in recs] == [0.0, 20.0]


@pytest.mark.parametrize("blocks, line, match", [
    ([("a.edf", "12:35", "12:55")], 10, r"File Start Time.*H:MM:SS.*'12:35'"),
    ([("a.edf", "99:99:99", "10:00:20")], 10, "minutes and seconds below 60"),
    ([("a.edf", "10:60:00", "10:00:20")], 10, "minutes and seconds below 60"),
    ([("a.edf", "10:00:00", "10:00:6O")], 11, "File End Time"),
    ([("a.edf", "10:00:00", "10:00:20", "Seizure Start Time: 5 minutes",
       "Seizure End Time: 9 minutes")], 13, "seconds"),
    ([("a.edf", "10:00:00", "10:00:20", "Seizure Start Time: 00:00:05",
       "Seizure End Time: 00:00:09")], 13, "seconds"),
    ([("a.edf", "10:00:00", "10:00:20", "Seizure Onset: 5 seconds")], 13, "unexpected line"),
    ([("a.edf", "10:00:00", "10:00:20", "Seizure Start Time: 9 seconds",
       "Seizure End Time: 5 seconds")], 14, "ends at 5 s, before"),
    ([("a.edf", "10:00:00", "10:00:20", "Seizure Start Time: 2 seconds",
       "Seizure End Time: 9 seconds", "Seizure Start Time: 5 seconds",
       "Seizure End Time: 12 seconds")], 15, "overlap"),
    ([("a.edf", "10:00:00", "10:00:20", "Seizure End Time: 9 seconds")], 13,
     "End Time without a Start Time"),
    ([("a.edf", "10:00:00", "10:00:20", "Seizure Start Time: 2 seconds")], 13,
     "no End Time"),
    ([("a.edf", "10:00:00", "10:00:20", "Seizure Start Time: 2 seconds",
       "Seizure End Time: 4 seconds", 2)], 12, "Number of Seizures in File: 2.*lists 1"),
    ([("a.edf", "10:00:00", "10:00:20", 0), ("a.edf", "11:00:00", "11:00:20")], 14,
     "a.edf is listed twice"),
    ([("a.edf", "10:00:00", "10:00:20"), ("b.edf", None, None)], 14, "no File Start Time"),
    ([("a.edf", "10:00:00", "10:00:20"), ("b.edf", "10:00:10", "10:00:30")], 14,
     "overlap"),
])
def test_summary_refuses_what_it_cannot_read(edfs, blocks, line, match):
    body = HEADER
    for name, start, end, *rest in blocks:
        count = rest.pop() if rest and isinstance(rest[-1], int) else None
        body += _block(name, start, end, *rest, count=count)
    path = _summary(edfs, body)
    with pytest.raises(ValueError, match=rf"chb99-summary\.txt, line {line}: .*{match}"):
        read_chbmit_summary(path)


def test_summary_seizure_outside_file_names_it(edfs):
    path = _summary(edfs, HEADER + _block("a.edf", "10:00:00", "10:00:20",
                                          "Seizure Start Time: 15 seconds",
                                          "Seizure End Time: 25 seconds"))
    with pytest.raises(ValueError, match=r"a\.edf.*outside the recording"):
        read_chbmit_summary(path)


# -------------------------------------------------------------- EDF+ annotations
ONSETS = ["seizure", "Seizure", "SEIZURE", "Seizure onset", "seizure start", "Seizure 2",
          "sz", "SZ", "Sz", "sz onset", "SZ Onset", "EEG onset", "EEG sz onset",
          "ictal", "seiz", "fnsz", "gnsz", "cpsz", "spsz", "absz", "tnsz", "cnsz", "tcsz",
          "atsz", "mysz", "sz_foc_a_m", "sz_gen"]
NOT_ONSETS = ["no seizure", "Non-seizure artifact", "Seizure end", "seizure offset",
              "pre-seizure", "seizure-free", "preictal", "interictal", "postictal",
              "post-ictal", "nesz", "bckg", "possible seizure", "seizure?", "sz end",
              "artifact", "eyes closed"]


@pytest.mark.parametrize("description", ONSETS)
def test_annotation_onsets(tmp_path, description):
    path = _write_edf(tmp_path / "x.edf", annotations=[(5.0, 2.0, description)])
    assert read_edf_seizures(path) == [(5.0, 7.0)]


@pytest.mark.parametrize("description", NOT_ONSETS)
def test_annotation_non_onsets(tmp_path, description):
    path = _write_edf(tmp_path / "x.edf", annotations=[(5.0, 2.0, description)])
    mentions = any(w in description.lower() for w in ("seiz", "sz", "ictal"))
    if mentions:  # skipped, and the user is told which descriptions were skipped
        with pytest.warns(UserWarning, match=rf"x\.edf: .*{re.escape(repr(description))}"):
            assert read_edf_seizures(path) == []
    else:
        assert read_edf_seizures(path) == []


def test_annotation_onset_paired_with_end_marker(tmp_path):
    path = _write_edf(tmp_path / "x.edf", annotations=[
        (5.0, 0.0, "Seizure onset"), (9.0, 0.0, "Seizure end"), (14.0, 0.0, "sz")])
    # the last onset has neither duration nor end marker: 1 s is assumed, and said
    with pytest.warns(UserWarning, match=r"onset at 14\.000 s has no duration and no end"):
        assert read_edf_seizures(path) == [(5.0, 9.0), (14.0, 15.0)]


def test_annotation_overlapping_seizures_are_refused(tmp_path):
    path = _write_edf(tmp_path / "x.edf", annotations=[(5.0, 4.0, "EEG onset"),
                                                       (6.0, 4.0, "seizure")])
    with pytest.raises(ValueError, match=r"x\.edf: seizures .* overlap"):
        read_edf_seizures(path)


def test_seizure_pattern_is_anchored():
    assert re.fullmatch(SEIZURE_PATTERN, "seizure")
    assert not re.fullmatch(SEIZURE_PATTERN, "no seizure")


@pytest.mark.parametrize("value, expected", [
    ("sz", [(1.0, 4.0)]), ("seiz", [(1.0, 4.0)]), ("no seizure", []), ("Seizure end", []),
    ("sz_foc_ia", [(1.0, 4.0)]), ("bckg", [])])
def test_events_tsv_vocabulary(tmp_path, value, expected):
    (tmp_path / "ev.tsv").write_text(f"onset\tduration\teventType\n1\t3\t{value}\n")
    if expected or value == "bckg":
        assert read_events_tsv(tmp_path / "ev.tsv") == expected
    else:
        with pytest.warns(UserWarning, match="ev.tsv"):
            assert read_events_tsv(tmp_path / "ev.tsv") == expected


def test_events_tsv_bad_onset(tmp_path):
    (tmp_path / "ev.tsv").write_text("onset\tduration\ttrial_type\nn/a\t3\tsz\n")
    with pytest.raises(ValueError, match=r"ev\.tsv.*onset"):
        read_events_tsv(tmp_path / "ev.tsv")


# ------------------------------------------------------------------ truncated EDF
def test_truncated_edf_is_reported(tmp_path):
    path = _write_edf(tmp_path / "cut.edf", seconds=20)
    data = path.read_bytes()
    record = 2 * 32 * 2  # 2 signals x 32 samples x 2 bytes per 1-s record
    path.write_bytes(data[: len(data) - 5 * record - 10])  # 5 records and a bit lost
    with pytest.warns(UserWarning, match=r"cut\.edf is truncated.*20 s.*14 s"):
        raw = read_raw_lazy(path)
    assert raw.n_times == 14 * 32


# ----------------------------------------------------------- windowing parameters
@pytest.mark.parametrize("kwargs, match", [
    (dict(window_seconds=0), "window_seconds"),
    (dict(window_seconds=-5), "window_seconds"),
    (dict(window_seconds=NAN), "window_seconds"),
    (dict(window_seconds=5, stride_seconds=0), "stride_seconds"),
    (dict(window_seconds=5, stride_seconds=-1), "stride_seconds"),
    (dict(window_seconds=5, stride_seconds=NAN), "stride_seconds"),
    (dict(window_seconds=500), "window_seconds=500.*longer than the recording"),
])
def test_window_starts_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        window_starts(100.0, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(l_freq=30.0, h_freq=1.0), "l_freq=30.0 must be below h_freq=1.0"),
    (dict(l_freq=5.0, h_freq=5.0), "l_freq=5.0 must be below h_freq=5.0"),
    (dict(h_freq=16.0), r"h_freq=16.0 .*Nyquist"),
    (dict(h_freq=12.0, sfreq=16.0), r"h_freq=12.0 .*Nyquist"),
    (dict(l_freq=0.0), "l_freq"),
    (dict(l_freq=-1.0), "l_freq"),
    (dict(h_freq=NAN), "h_freq"),
    (dict(sfreq=0.0), "sfreq"),
    (dict(sfreq=-64.0), "sfreq"),
    (dict(sfreq=NAN), "sfreq"),
    (dict(stride_seconds=0.0), "stride_seconds"),
    (dict(window_seconds=0.0), "window_seconds"),
    (dict(window_seconds=60.0), "window_seconds"),
    (dict(chunk_windows=0), "chunk_windows"),
    (dict(starts=np.array([0.0, NAN])), "starts"),
])
def test_iter_windows_parameters(edfs, kwargs, match):
    rec = SeizureRecording(edfs / "a.edf")  # 32 Hz: Nyquist 16 Hz
    with pytest.raises(ValueError, match=match):
        next(iter_windows(rec, **{"window_seconds": 2.0, **kwargs}))


@pytest.mark.parametrize("kwargs, match", [
    (dict(window_seconds=0.0), "window_seconds"),
    (dict(window_seconds=NAN), "window_seconds"),
    (dict(sph_seconds=NAN), "sph_seconds"),
    (dict(sop_seconds=0.0), "sop_seconds"),
    (dict(min_interictal_seconds=-1.0), "min_interictal_seconds"),
    (dict(seizures=[(10.0, 5.0)]), "seizures"),
    (dict(seizures=[(NAN, 5.0)]), "seizures"),
    (dict(starts=np.array([0.0, NAN])), "starts"),
])
def test_label_windows_parameters(kwargs, match):
    args = {"starts": np.arange(5.0), "window_seconds": 1.0, "seizures": [], **kwargs}
    with pytest.raises(ValueError, match=match):
        label_windows(args.pop("starts"), args.pop("window_seconds"), args.pop("seizures"),
                      **args)


@pytest.mark.parametrize("kwargs, match", [
    (dict(window_seconds=0.0), "window_seconds"),
    (dict(stride_seconds=0.0), "stride_seconds"),
    (dict(l_freq=30.0, h_freq=1.0), "l_freq=30.0 must be below"),
    (dict(h_freq=40.0), "Nyquist"),
    (dict(sfreq=-1.0), "sfreq"),
    (dict(window_seconds=3600.0), "window_seconds=3600.*longer than every recording"),
])
def test_extract_windows_parameters(subject, tmp_path, kwargs, match):
    recs = read_chbmit_summary(subject.summary_path)
    with pytest.raises(ValueError, match=match):
        extract_windows(recs, **{**LABELS, **kwargs}, out=tmp_path / "win")
    assert not (tmp_path / "win").exists()


def test_recordings_overlapping_in_time_are_refused(edfs):
    a = SeizureRecording(edfs / "a.edf", start=0.0, subject="s")
    b = SeizureRecording(edfs / "b.edf", start=10.0, subject="s")
    with pytest.raises(ValueError, match=r"a\.edf .* overlaps b\.edf"):
        extract_windows([a, b], window_seconds=2.0, **LABELS)


# ------------------------------------------------------------------ alarm rule
@pytest.fixture(scope="module")
def forecaster():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 2, 64)).astype(np.float32)
    y = np.tile([0, 1], 8)
    return SeizureForecaster(max_epochs=1, batch_size=8, device="cpu", random_state=0,
                             lr_scheduler=None, model__embed_dim=8, model__n_heads=2,
                             model__depth=1, model__patch_size=32).fit(X, y)


@pytest.mark.parametrize("kwargs, match", [
    (dict(sfreq=0.0), "sfreq"), (dict(sfreq=-32.0), "sfreq"),
    (dict(window_seconds=0.0), "window_seconds"),
    (dict(window_seconds=NAN), "window_seconds"),
    (dict(stride_seconds=0.0), "stride_seconds"),
    (dict(l_freq=10.0, h_freq=2.0), "l_freq=10.0 must be below"),
])
def test_monitor_parameters(forecaster, edfs, kwargs, match):
    rec = SeizureRecording(edfs / "a.edf")
    with pytest.raises(ValueError, match=match):
        forecaster.monitor(rec, **kwargs)


T = np.arange(1, 11) * 4.0
P = np.linspace(0, 1, 10)


@pytest.mark.parametrize("params, times, proba, match", [
    (dict(threshold=NAN), T, P, "threshold"),
    (dict(threshold=1.5), T, P, "threshold"),
    (dict(threshold=-0.1), T, P, "threshold"),
    ({}, T, np.where(P > 0.5, NAN, P), "probability"),
    ({}, T, P * 2, "probability"),
    ({}, T[::-1], P, "times"),
    ({}, np.r_[T[:5], T[4:9]], P, "times"),
    ({}, T[:-1], P, "same length"),
    ({}, np.where(T > 20, NAN, T), P, "times"),
])
def test_alarms_from_proba_refuses(params, times, proba, match):
    est = SeizureForecaster(smoothing="mean", smoothing_seconds=8.0, **params)
    with pytest.raises(ValueError, match=match):
        est.alarms_from_proba(times, proba)


@pytest.mark.parametrize("args, kwargs, match", [
    ((T, P, NAN, 0.0), {}, "threshold"),
    ((T, P, 1.5, 0.0), {}, "threshold"),
    ((T, np.where(P > 0.5, NAN, P), 0.5, 0.0), {}, "score"),
    ((T[::-1], P, 0.5, 0.0), {}, "times"),
    ((np.r_[T[:5], T[4:9]], P, 0.5, 0.0), {}, "times"),
    ((T, P[:-1], 0.5, 0.0), {}, "same length"),
    ((T, P, 0.5, NAN), {}, "refractory_seconds"),
])
def test_raise_alarms_refuses(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        raise_alarms(*args, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(probability=np.where(P > 0.5, NAN, P)), "probability"),
    (dict(probability=P - 0.5), "probability"),
    (dict(n_windows=2.5), "n_windows"),
    (dict(method="k_of_n", threshold=NAN), "threshold"),
    (dict(method="k_of_n", threshold=2.0), "threshold"),
    (dict(method="k_of_n", min_fraction=0.0), "min_fraction"),
    (dict(method="k_of_n", min_fraction=1.5), "min_fraction"),
])
def test_smooth_probability_refuses(kwargs, match):
    args = {"probability": P, "n_windows": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        smooth_probability(args.pop("probability"), args.pop("n_windows"), **args)


H = 3600.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(alarms=[NAN]), "alarms"),
    (dict(sph_seconds=NAN), "sph_seconds"),
    (dict(sop_seconds=NAN), "sop_seconds"),
    (dict(postictal_seconds=NAN), "postictal_seconds"),
    (dict(seizures=[(10 * H, 10 * H + 60), (10 * H + 30, 10 * H + 90)]), "overlap"),
    (dict(seizures=[(NAN, 10 * H)]), "seizures"),
    (dict(monitored=[(0.0, NAN)]), "monitored"),
])
def test_event_metrics_refuses(kwargs, match):
    args = {"alarms": [], "seizures": [(10 * H, 10 * H + 60)], "monitored": [(0, 24 * H)],
            **kwargs}
    with pytest.raises(ValueError, match=match):
        event_metrics(args.pop("alarms"), args.pop("seizures"), args.pop("monitored"),
                      **args)


def test_event_metrics_warns_of_unmonitored_seizure():
    with pytest.warns(UserWarning, match="outside the monitored time"):
        m = event_metrics([], [(10 * H, 10 * H + 60), (30 * H, 30 * H + 60)],
                          [(0, 24 * H)])
    assert m.n_seizures == 2


# ------------------------------------------------------------------ window store
@pytest.fixture(scope="module")
def recs(subject):
    return read_chbmit_summary(subject.summary_path)


def test_extract_windows_out_writes_a_whole_store(recs, tmp_path):
    old = os.umask(0o027)
    try:
        win = extract_windows(recs, window_seconds=8.0, **LABELS, out=tmp_path / "win")
    finally:
        os.umask(old)
    assert sorted(p.name for p in (tmp_path / "win").iterdir()) == [
        "X.npy", "labels.npz", "meta.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["win"]  # no temporary left
    for p in (tmp_path / "win").iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "win").stat().st_mode) == 0o750
    again = load_windows(tmp_path / "win")
    np.testing.assert_array_equal(again.X, win.X)
    np.testing.assert_array_equal(again.y, win.y)


def test_extract_windows_out_refuses_a_full_folder_and_fails_whole(recs, tmp_path,
                                                                   monkeypatch):
    folder = tmp_path / "win"
    extract_windows(recs, window_seconds=8.0, **LABELS, out=folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ValueError, match="not empty"):
        extract_windows(recs, window_seconds=8.0, **LABELS, out=folder)
    calls = []

    def failing(*args, **kwargs):
        for item in real(*args, **kwargs):
            calls.append(1)
            if len(calls) > 1:
                raise OSError("disk full")
            yield item

    real = _windows.iter_windows
    monkeypatch.setattr(_windows, "iter_windows", failing)
    with pytest.raises(OSError, match="disk full"):
        extract_windows(recs, window_seconds=4.0, **LABELS, out=folder, overwrite=True)
    # The old store is intact (not a zeroed X.npy beside old labels), nothing else left.
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["win"]


@pytest.fixture(scope="module")
def stored(recs, tmp_path_factory):
    win = extract_windows(recs, window_seconds=8.0, **LABELS)
    return win, save_windows(win, tmp_path_factory.mktemp("store") / "win")


def _copy(folder, tmp_path):
    import shutil

    return shutil.copytree(folder, tmp_path / "copy")


@pytest.mark.parametrize("damage, error, match", [
    ("truncate-X", ValueError, r"X\.npy is truncated: its header announces shape"),
    ("no-labels", FileNotFoundError, r"labels\.npz is missing"),
    ("no-meta", FileNotFoundError, r"meta\.json is missing"),
    ("meta-list", ValueError, r"meta\.json must hold a JSON object"),
    ("meta-channels", ValueError, r"ch_names must be a list of channel names"),
    ("meta-recordings", ValueError, r"meta\.json: 'recordings' must be a list"),
    ("seizure-ids", ValueError, r"'seizure' must be"),
])
def test_load_windows_names_the_damage(stored, tmp_path, damage, error, match):
    folder = _copy(stored[1], tmp_path)
    if damage == "truncate-X":
        data = (folder / "X.npy").read_bytes()
        (folder / "X.npy").write_bytes(data[: len(data) // 2])
    elif damage == "no-labels":
        (folder / "labels.npz").unlink()
    elif damage == "no-meta":
        (folder / "meta.json").unlink()
    else:
        meta = json.loads((folder / "meta.json").read_text())
        if damage == "meta-list":
            meta = [meta]
        elif damage == "meta-channels":
            meta["ch_names"] = 18
        elif damage == "meta-recordings":
            meta["recordings"] = "chb01_01.edf"
        (folder / "meta.json").write_text(json.dumps(meta))
        if damage == "seizure-ids":
            with np.load(folder / "labels.npz") as npz:
                arrays = dict(npz)
            arrays["seizure"] = np.full_like(arrays["seizure"], -1)
            np.savez(folder / "labels.npz", **arrays)
    for mmap in (True, False):
        with pytest.raises(error, match=match):
            load_windows(folder, mmap=mmap)


def test_save_windows_respects_the_umask(stored, tmp_path):
    old = os.umask(0o077)
    try:
        folder = save_windows(stored[0], tmp_path / "win")
    finally:
        os.umask(old)
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    assert json.loads((folder / "meta.json").read_text())["format"] == _store.FORMAT_VERSION
    assert CHBMIT_CHANNELS[0] in json.loads((folder / "meta.json").read_text())["ch_names"]


# ------------------------------------------------------- simulator and iEEG sets
@pytest.mark.parametrize("kwargs, match", [
    (dict(interictal_gap_hours=-1.0), "interictal_gap_hours"),  # files would overlap
    (dict(margin_seconds=-10.0), "margin_seconds"),
    (dict(sfreq=NAN), "sfreq"),
    (dict(preictal_seconds=0.0), "preictal_seconds"),
])
def test_simulator_refuses(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_seizure_recordings(tmp_path, n_seizures=1, n_interictal_files=1,
                                    interictal_file_minutes=1, seizure_file_minutes=8,
                                    seizure_seconds=(20, 30), **{
                                        "sfreq": 32, "preictal_seconds": 60,
                                        "margin_seconds": 60, **kwargs})
    assert not list(tmp_path.rglob("*.edf"))


def test_ieeg_loaders_name_the_bad_file(tmp_path):
    from scipy.io import savemat

    from neuroattn.data.ieeg import load_bonn, load_seizure_detection_clips

    for s in ("Z", "S"):
        (tmp_path / s).mkdir()
        (tmp_path / s / f"{s}001.txt").write_text("1\n2\n3\n")
    (tmp_path / "S" / "S002.txt").write_text("1\nabc\n3\n")
    with pytest.raises(ValueError, match=r"S002\.txt: expected one number per line"):
        load_bonn(tmp_path, sets=("Z", "S"))
    dog = tmp_path / "Dog_1"
    dog.mkdir()
    clip = {"data": np.zeros((2, 4)), "freq": 4.0,
            "channels": np.array([[np.array(["a", "b"], dtype=object)]], dtype=object)}
    savemat(dog / "Dog_1_ictal_segment_1.mat", {**clip, "latency": 0})
    savemat(dog / "Dog_1_interictal_segment_1.mat", clip)
    savemat(dog / "Dog_1_interictal_segment_2.mat", {"data": np.zeros((2, 4))})
    with pytest.raises(ValueError, match=r"interictal_segment_2\.mat: not a clip"):
        load_seizure_detection_clips(dog)
    with pytest.raises(ValueError, match="max_interictal"):
        load_seizure_detection_clips(dog, max_interictal=-1)  # was: silently one fewer
    assert load_seizure_detection_clips(dog, max_interictal=1).X.shape == (2, 2, 4)


# ------------------------------------------------ issue 11, round 2: names in messages
@pytest.mark.parametrize("ch_names", [["C0", "C0"], ["C0", "c0 ", "C1"]])
def test_duplicated_channel_names_are_refused(edfs, ch_names):
    recs = read_chbmit_summary(_summary(edfs, HEADER + _block("a.edf", "10:00:00",
                                                              "10:00:20")))
    with pytest.raises(ValueError, match=r"ch_names lists \['C0'\] more than once"):
        extract_windows(recs, window_seconds=5.0, ch_names=ch_names, **LABELS)


@pytest.mark.parametrize("name, content", [
    ("empty.edf", b""), ("text.edf", b"hello, not a recording"),
    ("text.bdf", b"hello"), ("text.fif", b"hello"), ("short.edf", b"0" * 300),
])
def test_unreadable_recordings_name_the_file(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    kind = "FIF" if name.endswith(".fif") else name[-3:].upper()
    with pytest.raises(ValueError, match=rf"{name}: cannot be read as a{'n' * (kind == 'EDF')} "
                                         rf"{kind} recording"):
        read_raw_lazy(tmp_path / name)


def test_summary_given_a_folder_says_so(subject, tmp_path):
    folder = subject.summary_path.parent
    with pytest.raises(ValueError, match=rf"{folder} is a folder; expected a chbNN-summary"
                                         rf".txt file\. It holds {subject.summary_path.name}"):
        read_chbmit_summary(folder)
    with pytest.raises(ValueError, match=r"holds no \*-summary.txt file"):
        read_chbmit_summary(tmp_path)
