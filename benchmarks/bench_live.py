"""Live seizure monitoring: agreement with offline ``monitor`` and monitoring speed.

1. Agreement. A simulated CHB-MIT-layout seizure file (``--play-seconds`` around the
   seizure, 18 bipolar channels at 128 Hz) is played in real time through
   ``mne_lsl.player.PlayerLSL`` on localhost and monitored by
   ``SeizureForecaster.monitor_stream``; the same file is monitored offline by
   ``SeizureForecaster.monitor``. The forecaster is a small STAN fitted for 3 epochs to
   flag the file's ictal windows (so that there are alarms to compare; both paths use
   the same model). Reported: alarms offline / live / matched within one window, the
   largest alarm-time and probability differences, and the per-window processing
   latency and end-to-end delay (which includes the band-pass's delay).
2. Speed. STAN at its default size (18 channels x 5 s at 256 Hz, 1-40 Hz band-pass)
   scores ``--hours`` of synthetic EEG pushed in 32-sample chunks through the live
   windowing, filtering and alarm code (no LSL transport), on one CPU thread: CPU
   seconds per window, hours of EEG per CPU second, the real-time factor, and the
   resident memory at 10 % and at 100 % of the stream (flat: nothing accumulates).

Writes ``benchmarks/results/bench_live.json`` and ``bench_live.png`` (the two traces,
their alarms, the latency histogram). Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_live.py [--play-seconds 240] [--hours 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from _common import peak_rss_mb

RESULTS = Path(__file__).resolve().parent / "results" / "bench_live.json"


def _agreement(play_seconds: float, tmp: Path) -> dict:
    import mne
    from mne_lsl.lsl import local_clock
    from mne_lsl.player import PlayerLSL

    from neuroattn.data.seizure import (
        SeizureRecording,
        SeizureWindows,
        iter_windows,
        read_chbmit_summary,
    )
    from neuroattn.data.simulate import simulate_seizure_recordings
    from neuroattn.data.simulate.seizure import CHBMIT_CHANNELS
    from neuroattn.estimators import SeizureForecaster

    class Player(PlayerLSL):  # starts its clock when the monitor connects
        def _stream(self):
            if not getattr(self, "_waited", False):
                self._waited = True
                self._outlet.wait_for_consumers(timeout=10.0)
                self._target_timestamp = local_clock()
            super()._stream()

    fs, band, window = 128.0, (1.0, 30.0), 2.0
    sim = simulate_seizure_recordings(tmp, n_seizures=1, n_interictal_files=0,
                                      seizure_file_minutes=8, preictal_seconds=120,
                                      seizure_seconds=(40, 50), margin_seconds=60,
                                      sfreq=fs, random_state=3)
    rec = read_chbmit_summary(sim.summary_path)[0]
    starts, X = zip(*iter_windows(rec, window_seconds=window, ch_names=CHBMIT_CHANNELS,
                                  l_freq=band[0], h_freq=band[1]))
    starts, X = np.concatenate(starts), np.concatenate(X)
    on, off = rec.seizures[0]
    y = ((starts + window > on) & (starts < off)).astype(int)
    n = len(y)
    win = SeizureWindows(X, y, np.full(n, -1), np.zeros(n, int), starts,
                         np.array(["chb01"] * n), [rec], list(CHBMIT_CHANNELS), fs, window,
                         0.0, 60.0, 0.0, 0.0, *band)
    est = SeizureForecaster(max_epochs=3, batch_size=32, lr_scheduler=None, device="cpu",
                            random_state=0, model__embed_dim=16, model__n_heads=2,
                            model__depth=1, model__patch_size=32, sop_seconds=60.0,
                            smoothing="k_of_n", smoothing_seconds=6.0, min_fraction=0.6,
                            refractory_seconds=10.0).fit(win)
    tmin = max(0.0, on - play_seconds / 2)
    raw = rec.open().copy().crop(tmin, min(tmin + play_seconds, rec.duration),
                                 include_tmax=False).load_data()
    part = tmp / "played.edf"
    mne.export.export_raw(part, raw, fmt="edf", overwrite=True, verbose="error")
    part_rec = SeizureRecording(path=part, seizures=[(on - tmin, off - tmin)])
    offline = est.monitor(part_rec)
    name = f"bench-live-{uuid.uuid4().hex[:8]}"
    player = Player(part, chunk_size=16, n_repeat=1, name=name, source_id=name).start()
    try:
        live = est.monitor_stream(name, timeout=2.0)
    finally:
        if player._executor is not None:  # still playing (it stops at the file's end)
            player.stop()
    k = len(live.times)
    assert np.allclose(live.times, offline.times[:k])
    _plot(offline, live, part_rec.seizures)
    expected = offline.alarms[offline.alarms <= live.times[-1]]
    matched = [a for a in expected if np.abs(live.alarms - a).min(initial=np.inf) <= window]
    diffs = [float(np.abs(live.alarms - a).min()) for a in matched]
    return {
        "file_seconds": float(part_rec.duration), "sfreq": fs, "window_seconds": window,
        "band_hz": list(band), "windows_offline": int(len(offline.times)),
        "windows_live": k, "stop_reason": live.stop_reason,
        "alarms_offline": int(len(expected)), "alarms_live": int(len(live.alarms)),
        "alarms_matched_within_one_window": len(matched),
        "max_alarm_time_difference_s": max(diffs, default=None),
        "max_probability_difference_after_first_2_windows": float(
            np.abs(live.probability[2:] - offline.probability[2:k]).max()),
        "latency_ms_median": float(1e3 * np.median(live.latency)),
        "latency_ms_p95": float(1e3 * np.percentile(live.latency, 95)),
        "delay_ms_median": float(1e3 * np.median(live.delay)),
        "filter_delay_ms": float(1e3 * live.filter_delay),
        "model": "stan embed_dim=16 depth=1 (fitted 3 epochs to the ictal windows)",
    }


def _plot(offline, live, seizures) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.4), width_ratios=(3, 1))
    for on, off in seizures:
        ax.axvspan(on, off, color="tab:red", alpha=0.15, label="seizure")
    ax.plot(offline.times, offline.probability, color="0.3", lw=1.2, label="offline")
    ax.plot(live.times, live.probability, "o", ms=2.5, color="tab:blue", label="live (LSL)")
    ax.axhline(offline.threshold, ls="--", color="0.5", lw=0.8)
    ax.plot(offline.alarms, np.full(len(offline.alarms), 1.04), "v", color="0.3",
            label="offline alarms")
    ax.plot(live.alarms, np.full(len(live.alarms), 1.1), "v", color="tab:blue",
            label="live alarms")
    ax.set(xlabel="time in file (s)", ylabel="probability", ylim=(-0.02, 1.15),
           title="live vs offline monitoring, same file")
    ax.legend(fontsize=7, loc="center left", ncol=2)
    ax2.hist(1e3 * live.latency, bins=30, color="tab:blue")
    ax2.set(xlabel="processing latency per window (ms)", ylabel="windows",
            title=f"median {1e3 * np.median(live.latency):.1f} ms")
    fig.tight_layout()
    fig.savefig(RESULTS.with_suffix(".png"), dpi=110)
    plt.close(fig)


def _rss_mb() -> float:
    """Current resident memory (VmRSS) of this process, MB (flat memory: not growing)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _speed(hours: float) -> dict:
    import torch

    from neuroattn.estimators import SeizureForecaster
    from neuroattn.estimators._live import _Windower

    torch.set_num_threads(1)
    fs, n_chans, n_times, chunk = 256.0, 18, 1280, 32
    rng = np.random.default_rng(0)
    Xfit = rng.normal(0, 20, (16, n_chans, n_times)).astype(np.float32)
    est = SeizureForecaster(max_epochs=1, batch_size=16, device="cpu", random_state=0,
                            smoothing_seconds=300.0).fit(Xfit, np.r_[[0] * 8, [1] * 8])
    names = [f"C{i}" for i in range(n_chans)]
    win = _Windower(est, names, np.ones(n_chans), fs, n_times / fs, n_times / fs,
                    list(range(n_chans)), (1.0, 40.0), None, 0.05)
    total = int(hours * 3600 * fs)
    rss_10 = None
    n_windows, cpu0, wall0 = 0, time.process_time(), time.perf_counter()
    for i in range(0, total, chunk):
        m = min(chunk, total - i)
        data = rng.normal(0, 20, (n_chans, m))
        events = win.push(data, 1000.0 + (i + np.arange(m)) / fs, time.perf_counter())
        n_windows += sum(e["event"] == "window" for e in events)
        if rss_10 is None and i >= total // 10:
            rss_10 = _rss_mb()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    eeg_seconds = total / fs
    return {
        "model": f"stan default (18 ch x 1280 samples, "
                 f"{sum(p.numel() for p in est.module_.parameters())} parameters)",
        "eeg_hours": hours, "sfreq": fs, "chunk_samples": chunk, "windows": n_windows,
        "cpu_seconds": cpu, "wall_seconds": wall,
        "cpu_ms_per_window": 1e3 * cpu / max(n_windows, 1),
        "eeg_hours_per_cpu_second": hours / cpu,
        "real_time_factor": eeg_seconds / cpu,
        "windows_per_cpu_second": n_windows / cpu,
        "rss_mb_at_10pct": rss_10, "rss_mb_at_end": _rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--play-seconds", type=float, default=240.0)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--skip-agreement", action="store_true")
    args = parser.parse_args()
    out = {"platform": platform.platform(), "python": platform.python_version(),
           "command": f"OMP_NUM_THREADS=1 python benchmarks/bench_live.py --play-seconds "
                      f"{args.play_seconds:g} --hours {args.hours:g}"}
    if not args.skip_agreement:
        with tempfile.TemporaryDirectory() as tmp:
            out["agreement"] = _agreement(args.play_seconds, Path(tmp))
        print(json.dumps(out["agreement"], indent=1))
    out["speed"] = _speed(args.hours)
    print(json.dumps(out["speed"], indent=1))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
