"""CHB-MIT's quirks end to end: simulate with the quirk -> read the summary -> windows.

Each test plants one quirk of the real database with the CHB-MIT-layout simulator,
reads it back with ``read_chbmit_summary`` and ``extract_windows``, and checks the
channels and labels against the planted truth.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.data.seizure import (
    EXCLUDED,
    PREICTAL,
    check_subject_recordings,
    extract_windows,
    label_windows,
    read_chbmit_summary,
    read_raw_lazy,
    subject_seizures,
)
from neuroattn.data.simulate import simulate_seizure_recordings
from neuroattn.data.simulate.seizure import CHBMIT_CHANNELS

# A tiny subject: 2 interictal files of 2 min, 2 seizure files of 4 min, 64 Hz.
SIM = dict(n_seizures=2, n_interictal_files=2, interictal_file_minutes=2,
           seizure_file_minutes=4, preictal_seconds=60, seizure_seconds=(12, 16),
           interictal_gap_hours=0.5, margin_seconds=20, sfreq=64, random_state=0)
LABELS = dict(sph_seconds=10.0, sop_seconds=40.0, min_interictal_seconds=600.0,
              postictal_seconds=30.0)
WINDOW = 4.0


def _windows(recs, **kwargs):
    return extract_windows(recs, window_seconds=WINDOW, **LABELS, **kwargs)


def _channel(rec, name, start):
    """``name``'s samples of one window, read straight from the file (uV)."""
    raw = read_raw_lazy(rec.path)
    sf = raw.info["sfreq"]
    a = int(round(start * sf))
    return raw.get_data(picks=[name], start=a, stop=a + int(WINDOW * sf))[0] * 1e6


def test_montage_change_picked_by_name(tmp_path):
    sim = simulate_seizure_recordings(tmp_path, montage_changes=True, **SIM)
    text = sim.summary_path.read_text()
    assert text.count("Channels changed:") == 1
    changed = sim.file_channels["chb01_03.edf"]
    assert changed[0] == "CZ-PZ" and "FT9-FT10" in changed  # another order, one added
    recs = read_chbmit_summary(sim.summary_path)
    w = _windows(recs, ch_names=CHBMIT_CHANNELS)
    assert w.ch_names == list(CHBMIT_CHANNELS) and w.X.shape[1] == 18
    # A window of the changed file holds each declared channel under its own name.
    i = int(np.flatnonzero(w.recording == 2)[0])
    rec = w.recordings[2]
    for j in (0, 14, 17):
        np.testing.assert_allclose(w.X[i, j], _channel(rec, CHBMIT_CHANNELS[j],
                                                       w.start[i] - rec.start), atol=0.05)
    # Undeclared, the first file's channels are used: the later files have them all.
    assert _windows(recs).ch_names == list(CHBMIT_CHANNELS)


def test_file_lacking_a_declared_channel_is_listed(tmp_path):
    dropped = [ch for ch in CHBMIT_CHANNELS if ch != "CZ-PZ"]
    sim = simulate_seizure_recordings(tmp_path, montage_changes={3: dropped}, **SIM)
    recs = read_chbmit_summary(sim.summary_path)
    with pytest.raises(ValueError, match=r"2 of 4 files lack declared channels.*"
                       r"chb01_03\.edf lacks channels \['CZ-PZ'\]; "
                       r"chb01_04\.edf lacks channels \['CZ-PZ'\].*every file has"):
        _windows(recs, ch_names=CHBMIT_CHANNELS)
    # Declaring the channels every file has works.
    assert _windows(recs, ch_names=dropped).X.shape[1] == 17


def test_dummy_channels_are_never_picked(tmp_path):
    sim = simulate_seizure_recordings(tmp_path, dummy_channels=3, **SIM)
    assert sim.file_channels["chb01_02.edf"].count("-") == 3
    assert "-" not in sim.file_channels["chb01_01.edf"]
    assert "Channel 5: -" in sim.summary_path.read_text()
    recs = read_chbmit_summary(sim.summary_path)
    raw = read_raw_lazy(recs[1].path)
    assert {"--0", "--1", "--2"} <= set(raw.ch_names)  # MNE numbers the repeated "-"
    # Undeclared montage read from a file with dummies: the dummies are left out.
    names, _ = check_subject_recordings([recs[1], recs[0], recs[2]])
    assert names == list(CHBMIT_CHANNELS)
    w = _windows([recs[1], *recs[:1], *recs[2:]])
    assert w.ch_names == list(CHBMIT_CHANNELS)
    assert (np.abs(w.X).max(axis=-1) > 0).all()  # no flat dummy among the channels
    with pytest.raises(ValueError, match="dummy channels"):
        _windows(recs, ch_names=[*CHBMIT_CHANNELS, "-"])


def test_duplicated_t8p8_resolves_to_its_first_copy(tmp_path):
    sim = simulate_seizure_recordings(tmp_path, duplicate_t8p8=True, **SIM)
    assert sim.file_channels["chb01_01.edf"].count("T8-P8") == 2
    recs = read_chbmit_summary(sim.summary_path)
    raw = read_raw_lazy(recs[0].path)
    assert raw.ch_names[14] == "T8-P8-0" and raw.ch_names[-1] == "T8-P8-1"
    w = _windows(recs)
    assert w.ch_names == list(CHBMIT_CHANNELS)  # T8-P8 once, no T8-P8-0 / T8-P8-1
    i, j = 0, CHBMIT_CHANNELS.index("T8-P8")
    rec = w.recordings[int(w.recording[i])]
    first = _channel(rec, "T8-P8-0", w.start[i] - rec.start)
    np.testing.assert_allclose(w.X[i, j], first, atol=0.05)
    np.testing.assert_allclose(first, _channel(rec, "T8-P8-1", w.start[i] - rec.start))
    with pytest.raises(ValueError, match="more than once"):
        _windows(recs, ch_names=["T8-P8", "T8-P8"])


def test_gaps_between_files_are_not_windowed_across(tmp_path):
    gaps = [7, 1500, 3, 2000, 9]
    sim = simulate_seizure_recordings(tmp_path, **{**SIM, "n_interictal_files": 4},
                                      file_gaps=gaps)
    recs = read_chbmit_summary(sim.summary_path)
    starts = [r.start for r in recs]
    np.testing.assert_allclose(starts, sim.file_starts)
    np.testing.assert_allclose(np.diff(starts) - [r.duration for r in recs[:-1]], gaps)
    w = extract_windows(recs, window_seconds=WINDOW, stride_seconds=1.5, **LABELS)
    own = np.array([recs[r].start for r in w.recording])
    dur = np.array([recs[r].duration for r in w.recording])
    assert ((w.start >= own) & (w.start + WINDOW <= own + dur + 1e-6)).all()
    # No window starts in a gap, and no window reaches into one.
    for a, b in zip(recs, recs[1:]):
        end = a.start + a.duration
        assert not ((w.start + WINDOW > end + 1e-6) & (w.start < b.start)).any()


def test_summary_without_clock_times(tmp_path):
    sim = simulate_seizure_recordings(tmp_path, no_clock_times=True, **SIM)
    text = sim.summary_path.read_text()
    assert "File Start Time" not in text and "File End Time" not in text
    with pytest.warns(UserWarning, match="gives no File Start Time.*end to end"):
        recs = read_chbmit_summary(sim.summary_path)
    assert [r.path for r in recs] == sim.edf_paths
    ends = np.cumsum([0.0] + [r.duration for r in recs[:-1]])
    np.testing.assert_allclose([r.start for r in recs], ends)
    assert [(r.path.name, *s) for r in recs for s in r.seizures] == sim.seizures
    # Preictal windows lie inside each seizure's own file, so they match the planted
    # onsets; the lost gaps only shorten distances between files (lower bounds: with
    # files end to end, no time is 600 s from a seizure here, so ask for 200 s).
    w = extract_windows(recs, window_seconds=WINDOW,
                        **{**LABELS, "min_interictal_seconds": 200.0})
    for (name, onset, _), sid in zip(sim.seizures, np.unique(w.seizure[w.y == PREICTAL])):
        rec = next(r for r in recs if r.path.name == name)
        pre = w.start[w.seizure == sid] - rec.start
        assert pre.min() >= onset - 50 - 1e-6 and pre.max() + WINDOW <= onset - 10 + 1e-6


def test_seizure_across_two_files(tmp_path):
    sim = simulate_seizure_recordings(tmp_path, seizure_across_files=True, **SIM)
    second = sim.edf_paths[-1].name
    listed = {name: (on, off) for name, on, off in sim.seizures}
    assert listed[second][0] == 0.0  # the summary lists it from 0 s in the next file
    recs = read_chbmit_summary(sim.summary_path)
    assert recs[-2].seizures[-1][1] == recs[-2].duration
    # One seizure on the subject's clock, as planted (2, not 3).
    np.testing.assert_allclose(subject_seizures(recs), sim.clock_seizures)
    assert len(subject_seizures(recs)) == SIM["n_seizures"]
    w = _windows(recs)
    assert len(np.unique(w.seizure[w.y == PREICTAL])) == SIM["n_seizures"]
    onset, offset = sim.clock_seizures[-1]
    k = len(recs) - 2
    # Preictal windows of that seizure: in file k, before onset - SPH.
    last = w.seizure == w.seizure[w.y == PREICTAL].max()
    assert (w.recording[last] == k).all()
    assert (w.start[last] >= onset - 50.0 - 1e-6).all()
    # No window of file k inside the prediction horizon is preictal (the second part,
    # taken as an onset of its own, would make it so).
    in_k = (w.recording == k) & (w.y == PREICTAL)
    assert in_k.any()
    assert (w.start[in_k] + WINDOW <= onset - LABELS["sph_seconds"] + 1e-6).all()
    # The start of file k+1 is ictal then postictal: excluded, never kept.
    lab, _ = label_windows(np.arange(0, 40, WINDOW) + recs[-1].start, WINDOW,
                           subject_seizures(recs), **LABELS)
    assert (lab == EXCLUDED).all()
    assert not ((w.recording == k + 1)
                & (w.start < offset + LABELS["postictal_seconds"])).any()
