"""Live monitoring (``SeizureForecaster.monitor_stream``) against offline ``monitor``.

A simulated CHB-MIT-layout EDF is played through ``mne_lsl.player.PlayerLSL`` on
localhost (a unique name and source id per test, chunks of 8 samples, real time).
Tests that need LSL are skipped, with the reason, where it cannot open a socket.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid

import numpy as np
import pytest

from neuroattn.data.seizure import (
    SeizureRecording,
    SeizureWindows,
    iter_windows,
    read_chbmit_summary,
)
from neuroattn.data.simulate import simulate_seizure_recordings
from neuroattn.data.simulate.seizure import CHBMIT_CHANNELS
from neuroattn.estimators import SeizureForecaster
from neuroattn.estimators._live import OnlineAlarmRule, _Windower

mne_lsl = pytest.importorskip("mne_lsl")
from mne_lsl.lsl import StreamInfo, StreamOutlet, local_clock  # noqa: E402

# PlayerLSL warns at the end of a file whose length is a multiple of chunk_size.
pytestmark = pytest.mark.filterwarnings("ignore:.*End of file reached:RuntimeWarning")

SFREQ, BAND = 64.0, (1.0, 25.0)
RULE = dict(smoothing="k_of_n", smoothing_seconds=3.0, min_fraction=0.6,
            refractory_seconds=5.0, sop_seconds=60.0)


def play(player_class, path_or_raw, **kwargs):
    """Start ``player_class`` (the ``lsl`` fixture) on a file or Raw; (player, name)."""
    name = f"neuroattn-test-{uuid.uuid4().hex[:12]}"
    kwargs = {"chunk_size": 8, "n_repeat": 1, **kwargs}
    return player_class(path_or_raw, name=name, source_id=name, **kwargs).start(), name


def stop(player) -> None:
    with contextlib.suppress(RuntimeError):  # it played its file to the end: stopped
        player.stop()


def crop_edf(rec: SeizureRecording, path, tmin: float, tmax: float) -> SeizureRecording:
    """Write ``[tmin, tmax)`` of a recording as its own EDF (a short file to play)."""
    import mne

    raw = rec.open().copy().crop(tmin, tmax, include_tmax=False).load_data()
    mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose="error")
    seizures = [(max(on - tmin, 0.0), min(off - tmin, tmax - tmin))
                for on, off in rec.seizures if off > tmin and on < tmax]
    return SeizureRecording(path=path, seizures=seizures)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A seizure file and a tiny forecaster fitted (3 epochs) to flag its ictal windows.

    Ictal vs the rest gives a trace with clear alarms, so agreement is tested where it
    matters; both paths use the same fitted model, so what it learned is irrelevant.
    """
    tmp = tmp_path_factory.mktemp("live")
    sim = simulate_seizure_recordings(
        tmp, n_seizures=1, n_interictal_files=0, seizure_file_minutes=5,
        preictal_seconds=60, seizure_seconds=(25, 30), margin_seconds=30, sfreq=SFREQ,
        random_state=1)
    rec = read_chbmit_summary(sim.summary_path)[0]
    starts, X = zip(*iter_windows(rec, window_seconds=1.0, ch_names=CHBMIT_CHANNELS,
                                  l_freq=BAND[0], h_freq=BAND[1]))
    starts, X = np.concatenate(starts), np.concatenate(X)
    on, off = rec.seizures[0]
    y = ((starts + 1.0 > on) & (starts < off)).astype(int)
    n = len(y)
    win = SeizureWindows(X, y, np.full(n, -1), np.zeros(n, int), starts,
                         np.array(["chb01"] * n), [rec], list(CHBMIT_CHANNELS), SFREQ, 1.0,
                         0.0, 60.0, 0.0, 0.0, *BAND)
    est = SeizureForecaster(max_epochs=3, batch_size=32, lr_scheduler=None, device="cpu",
                            random_state=0, model__embed_dim=8, model__n_heads=2,
                            model__depth=1, model__patch_size=16, **RULE).fit(win)
    return tmp, rec, est


@pytest.mark.parametrize("smoothing", ["k_of_n", "mean"])
def test_online_alarm_rule_equals_offline(setup, smoothing):
    _, _, est = setup
    rng = np.random.default_rng(0)
    times = np.arange(1, 201) * 2.0
    proba = np.clip(np.cumsum(rng.normal(0, 0.1, times.size)) % 1.0, 0, 1)
    est = SeizureForecaster(**{**RULE, "smoothing": smoothing, "threshold": 0.6})
    score, alarms = est.alarms_from_proba(times, proba)
    rule = OnlineAlarmRule(est, 2.0)
    online = [rule.update(t, p) for t, p in zip(times, proba)]
    np.testing.assert_allclose([s for s, _ in online], score, atol=1e-12)
    np.testing.assert_array_equal(times[[a for _, a in online]], alarms)
    assert len(alarms) > 2  # the trace does raise alarms


def _windower(est, t0=None, phase="minimum"):
    names = list(CHBMIT_CHANNELS)[::-1] + ["ECG"]  # another order, one channel more
    picks = [names.index(c) for c in CHBMIT_CHANNELS]
    scales = np.ones(len(names))
    return _Windower(est, names, scales, SFREQ, 1.0, 1.0, picks, BAND, t0, 0.05,
                     phase), names


@pytest.mark.parametrize(("phase", "skipped", "scored"), [
    # Windows [3, 4) s and [4, 5) s overlap the hole (samples 200-295); [5, 6) s starts
    # after it, with a fresh filter.
    ("minimum", (3.0, 5.0, 2), [1.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 10.0]),
    # The linear-phase FIR (213 taps) gives sample i once sample i + 106 arrived: the
    # windows ending after sample 200 - 106 before the gap never get their samples, and
    # the last 106 samples are still waiting for theirs.
    ("linear", (1.0, 5.0, 4), [1.0, 6.0, 7.0, 8.0]),
])
def test_gap_is_reported_and_windows_across_it_are_not_scored(setup, phase, skipped,
                                                               scored):
    _, _, est = setup
    win, names = _windower(est, phase=phase)
    assert win.filter.delay == (106 if phase == "linear" else 0)
    x = np.random.default_rng(0).normal(0, 20, (len(names), 10 * 64))
    ts = 1000.0 + np.arange(x.shape[1]) / SFREQ
    keep = np.r_[0:200, 296:640]  # samples 200-295 (1.5 s) never arrive
    events = []
    for i in range(0, keep.size, 16):
        idx = keep[i:i + 16]
        events += win.push(x[:, idx], ts[idx], 0.0)
    gaps = [e for e in events if e["event"] == "gap"]
    assert gaps == [{"event": "gap", "start": 200 / 64, "end": 296 / 64,
                     "missing_samples": 96}]
    start, end, n = skipped
    assert [e for e in events if e["event"] == "skipped"] == [
        {"event": "skipped", "start": start, "end": end, "n_windows": n, "reason": "gap"}]
    assert [e["time"] for e in events if e["event"] == "window"] == scored
    assert all(0 <= e["probability"] <= 1 for e in events if e["event"] == "window")


def test_samples_before_start_timestamp_are_skipped(setup):
    _, _, est = setup
    win, names = _windower(est, t0=1000.0)  # minimum phase: no filter delay
    x = np.zeros((len(names), 4 * 64))
    ts = 1000.0 + (np.arange(x.shape[1]) + 32) / SFREQ  # starts half a window late
    events = win.push(x, ts, 0.0)
    assert events[0] == {"event": "skipped", "start": 0.0, "end": 1.0, "n_windows": 1,
                         "reason": "before first sample"}
    assert [e["time"] for e in events[1:]] == [2.0, 3.0, 4.0]


def _agree(live, offline):
    """Live windows are offline's, but for the last ones (waiting for the filter)."""
    n = len(live.times)
    assert n >= len(offline.times) - 2
    np.testing.assert_allclose(live.times, offline.times[:n])
    # The first window holds the filter's start (offline: MNE's edge padding).
    np.testing.assert_allclose(live.probability[2:], offline.probability[2:n], atol=1e-3)
    expected = offline.alarms[offline.alarms <= live.times[-1]]
    assert len(expected) >= 1 and len(live.alarms) == len(expected)
    assert np.abs(live.alarms - expected).max() <= 1.0  # within one window
    return expected


def test_live_alarms_match_offline_monitor(setup, lsl, tmp_path):
    tmp, rec, est = setup
    on = rec.seizures[0][0]
    short = crop_edf(rec, tmp_path / "short.edf", on - 4.0, on + 4.0)  # 8 s of playback
    offline = est.monitor(short)
    player, name = play(lsl, short.path)
    try:
        with pytest.warns(UserWarning, match="sent no sample"):
            live = est.monitor_stream(name, timeout=0.5, jsonl=tmp_path / "live.jsonl")
    finally:
        stop(player)
    assert live.stop_reason == "timeout", live.message
    _agree(live, offline)
    assert live.filter_delay == pytest.approx(106 / SFREQ)
    assert np.isfinite(live.latency).all() and (live.latency > 0).all()  # measured, not timed
    assert (live.delay > live.filter_delay - 0.2).all()
    lines = (tmp_path / "live.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert events[0]["event"] == "start" and events[0]["channels"] == list(CHBMIT_CHANNELS)
    assert [e["time"] for e in events if e["event"] == "window"] == live.times.tolist()
    assert events[-1]["event"] == "stop"


def test_stream_that_stops_keeps_partial_results(setup, lsl, tmp_path):
    tmp, rec, est = setup
    short = crop_edf(rec, tmp_path / "stop.edf", 10.0, 14.0)
    player, name = play(lsl, short.path)
    try:
        with pytest.warns(UserWarning, match=rf"{name}.*sent no sample for 0.5 s"):
            live = est.monitor_stream(name, timeout=0.5, jsonl=tmp_path / "stop.jsonl")
    finally:
        stop(player)
    assert live.stop_reason == "timeout"
    # Every window the stream completed: [2, 3) s would need 1.66 s more (the filter).
    assert live.times.tolist() == [1.0, 2.0]
    last = json.loads((tmp_path / "stop.jsonl").read_text().splitlines()[-1])
    assert last["reason"] == "timeout" and "kept 2 scored windows" in last["message"]


def test_gap_in_an_lsl_stream_is_reported(setup, lsl):
    """An outlet whose timestamps skip 1.5 s: the gap and the windows across it."""
    import threading

    import mne

    _, rec, est = setup
    raw = rec.open().copy().crop(100.0, 110.0, include_tmax=False).load_data()
    name = f"neuroattn-gap-{uuid.uuid4().hex[:12]}"
    sinfo = StreamInfo(name, "EEG", len(raw.ch_names), SFREQ, "float32", name)
    sinfo.set_channel_info(mne.create_info(raw.ch_names, SFREQ, "eeg"))
    outlet = StreamOutlet(sinfo, 16)
    data = raw.get_data().T.astype(np.float32)  # volts, as MNE reads the EDF
    keep = np.r_[0:200, 296:len(data)]  # samples 200-295 are never sent

    def push():
        outlet.wait_for_consumers(timeout=10.0)
        t0 = local_clock()
        for i in range(0, keep.size, 16):
            idx = keep[i:i + 16]
            outlet.push_chunk(np.ascontiguousarray(data[idx]), t0 + idx / SFREQ)
            time.sleep(0.01)

    thread = threading.Thread(target=push, daemon=True)
    thread.start()
    with pytest.warns(UserWarning, match="sent no sample"):
        live = est.monitor_stream(name, timeout=1.0)
    thread.join()
    assert live.gaps == [{"start": 200 / SFREQ, "end": 296 / SFREQ, "missing_samples": 96}]
    # With the default (linear-phase) filter, the windows whose filtered samples needed
    # the lost ones are not scored either: [1, 5) s; [5, 6) s starts after the gap.
    assert live.skipped == [{"start": 1.0, "end": 5.0, "n_windows": 4, "reason": "gap"}]
    assert live.times[:2].tolist() == [1.0, 6.0]
    assert not np.isin([2.0, 3.0, 4.0, 5.0], live.times).any()


def _bad_stream(kind: str, rec):
    import mne

    raw = rec.open().copy().crop(0, 2.0).load_data()
    if kind == "channels":
        raw.rename_channels({"FP1-F7": "FP1-F8", "CZ-PZ": "EKG"})
    elif kind == "sfreq":
        raw = mne.io.RawArray(raw.get_data(), mne.create_info(raw.ch_names, 128.0, "eeg"),
                              verbose="error")
    return raw


@pytest.mark.parametrize(("kind", "match"), [
    ("channels", r"lacks the model's channels \['FP1-F7', 'CZ-PZ'\].*does not know: "
                 r"\['FP1-F8', 'EKG'\]"),
    ("sfreq", r"samples at 128 Hz; the model was fitted on windows at 64 Hz"),
    ("name", r"No single LSL stream named 'neuroattn-nothing-.*' found within 2 s"),
])
def test_bad_stream_is_refused(setup, lsl, kind, match):
    _, rec, est = setup
    if kind == "name":
        with pytest.raises(ValueError, match=match):
            est.monitor_stream(f"neuroattn-nothing-{uuid.uuid4().hex}", timeout=1.0)
        return
    player, name = play(lsl, _bad_stream(kind, rec), n_repeat=np.inf)
    try:
        with pytest.raises(ValueError, match=match):
            est.monitor_stream(name, timeout=2.0)
    finally:
        stop(player)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"timeout": 0}, "timeout must be a positive number"),
    ({"n_windows": 0}, "n_windows must be an integer >= 1"),
    ({"duration": float("nan")}, "duration must be a positive number"),
    ({"gap_tolerance": -1.0}, "gap_tolerance must be >= 0"),
])
def test_bad_parameters_are_refused_before_connecting(setup, kwargs, match):
    _, _, est = setup
    with pytest.raises(ValueError, match=match):
        est.monitor_stream("never-looked-up", **kwargs)


@pytest.mark.slow
def test_live_alarms_match_offline_monitor_two_minutes(setup, lsl, tmp_path):
    """Two minutes of playback around the seizure: every alarm, within one window."""
    tmp, rec, est = setup
    on = rec.seizures[0][0]
    part = crop_edf(rec, tmp_path / "part.edf", on - 60.0, on + 60.0)
    offline = est.monitor(part)
    player, name = play(lsl, part.path)
    try:
        with pytest.warns(UserWarning, match="sent no sample"):
            live = est.monitor_stream(name, timeout=1.0)
    finally:
        stop(player)
    assert len(_agree(live, offline)) >= 3
