"""``neuroattn seizure monitor MODEL --lsl STREAM``: live alarms from a played EDF.

LSL tests are skipped, with the reason, where LSL cannot open a socket on localhost.
"""

from __future__ import annotations

import contextlib
import json
import uuid

import numpy as np
import pytest

from neuroattn.cli import main
from neuroattn.data.seizure import SeizureWindows, iter_windows, read_chbmit_summary
from neuroattn.data.simulate import simulate_seizure_recordings
from neuroattn.data.simulate.seizure import CHBMIT_CHANNELS
from neuroattn.estimators import SeizureForecaster

pytest.importorskip("mne_lsl")

pytestmark = pytest.mark.filterwarnings("ignore:.*End of file reached:RuntimeWarning")


@contextlib.contextmanager
def playing(player_class, raw, **kwargs):
    name = f"neuroattn-cli-{uuid.uuid4().hex[:12]}"
    player = player_class(raw, name=name, source_id=name, chunk_size=8, **kwargs).start()
    try:
        yield name
    finally:
        with contextlib.suppress(RuntimeError):  # it played its file to the end
            player.stop()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A saved 1-epoch forecaster (1 s windows at 64 Hz, 1-25 Hz) and its recording."""
    tmp = tmp_path_factory.mktemp("lsl")
    sim = simulate_seizure_recordings(
        tmp, n_seizures=1, n_interictal_files=0, seizure_file_minutes=5,
        preictal_seconds=60, seizure_seconds=(25, 30), margin_seconds=30, sfreq=64.0,
        random_state=2)
    rec = read_chbmit_summary(sim.summary_path)[0]
    starts, X = zip(*iter_windows(rec, window_seconds=1.0, ch_names=CHBMIT_CHANNELS,
                                  l_freq=1.0, h_freq=25.0))
    starts, X = np.concatenate(starts), np.concatenate(X)
    y = (starts >= rec.seizures[0][0] - 60).astype(int)
    n = len(y)
    win = SeizureWindows(X, y, np.full(n, -1), np.zeros(n, int), starts,
                         np.array(["chb01"] * n), [rec], list(CHBMIT_CHANNELS), 64.0, 1.0,
                         0.0, 60.0, 0.0, 0.0, 1.0, 25.0)
    est = SeizureForecaster(max_epochs=1, batch_size=32, lr_scheduler=None, device="cpu",
                            random_state=0, model__embed_dim=8, model__n_heads=2,
                            model__depth=1, model__patch_size=16, sop_seconds=60.0,
                            smoothing_seconds=2.0).fit(win)
    path = tmp / "m.safetensors"
    est.save(path)
    return path, rec


def _raw(rec, seconds=3.0, sfreq=None):
    import mne

    raw = rec.open().copy().crop(0, seconds, include_tmax=False).load_data()
    if sfreq is not None:
        raw = mne.io.RawArray(raw.get_data(), mne.create_info(raw.ch_names, sfreq, "eeg"),
                              verbose="error")
    return raw


def test_monitor_lsl_prints_windows_and_keeps_jsonl(model, lsl, tmp_path, capsys):
    path, rec = model
    out = tmp_path / "live.jsonl"
    with playing(lsl, _raw(rec, 4.0), n_repeat=1) as name:
        assert main(["seizure", "monitor", str(path), "--lsl", name, "--timeout", "0.5",
                     "--jsonl", str(out)]) == 0
    text = capsys.readouterr().out
    lines = [line for line in text.splitlines() if " p=" in line]
    # 4 s of stream: [2, 3) s would need 1.66 s more samples (the band-pass's delay).
    assert len(lines) == 2 and all("latency" in line and " ms" in line for line in lines)
    assert f"LSL stream {name!r} sent no sample for 0.5 s" in text  # the stream stopped
    assert "2 windows" in text and "95th percentile" in text
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["time"] for e in events if e["event"] == "window"] == [1.0, 2.0]
    assert events[-1]["reason"] == "timeout"
    # An existing --jsonl is kept unless --overwrite (refused before connecting).
    assert main(["seizure", "monitor", str(path), "--lsl", name, "--jsonl", str(out)]) == 2
    assert "--jsonl" in capsys.readouterr().err and len(out.read_text().splitlines()) == 4


def test_ctrl_c_keeps_the_windows_written(model, lsl, tmp_path, capsys, monkeypatch):
    from neuroattn.estimators import _live

    path, rec = model
    push, calls = _live._Windower.push, []

    def interrupted_push(self, *args):
        events = push(self, *args)
        calls.extend(e for e in events if e["event"] == "window")
        if len(calls) >= 2:
            raise KeyboardInterrupt
        return events

    monkeypatch.setattr(_live._Windower, "push", interrupted_push)
    out = tmp_path / "live.jsonl"
    with playing(lsl, _raw(rec, 6.0), n_repeat=np.inf) as name:
        assert main(["seizure", "monitor", str(path), "--lsl", name, "--jsonl",
                     str(out)]) == 130
    err = capsys.readouterr().err
    assert "interrupted; monitoring of" in err and "every window is in" in err
    events = [json.loads(line) for line in out.read_text().splitlines()]  # none truncated
    assert [e["event"] for e in events] == ["start", "window"]
    assert "stopped after 1 scored windows" in err


def test_monitor_lsl_refuses_a_stream_at_another_rate(model, lsl, capsys):
    path, rec = model
    with playing(lsl, _raw(rec, sfreq=128.0), n_repeat=np.inf) as name:
        assert main(["seizure", "monitor", str(path), "--lsl", name]) == 2
    err = capsys.readouterr().err
    assert "samples at 128 Hz; the model was fitted on windows at 64 Hz" in err


@pytest.mark.parametrize(("extra", "match"), [
    (["SUMMARY", "--lsl", "eeg"], "either a summary file"),
    ([], "expected a summary file (chbNN-summary.txt) or --lsl STREAM_NAME"),
    (["SUMMARY", "--duration", "5"], "--duration only apply with --lsl"),
    (["SUMMARY", "--jsonl", "x.jsonl"], "--jsonl only apply with --lsl"),
    (["--lsl", "eeg", "--plot", "figs"], "--plot and --json are for recordings"),
    (["--lsl", " "], "--lsl needs a stream name"),
    (["--lsl", "eeg", "--timeout", "0"], "--timeout"),
    (["--lsl", "eeg", "--n-windows", "0"], "--n-windows"),
])
def test_monitor_live_flags_are_checked(model, capsys, extra, match):
    path, rec = model
    extra = [str(rec.path.parent / "chb01-summary.txt") if a == "SUMMARY" else a
             for a in extra]
    with pytest.raises(SystemExit) as exc:
        main(["seizure", "monitor", str(path), *extra])
    assert exc.value.code == 2
    assert match in capsys.readouterr().err
