"""Seizure track costs against STAN's reported figures and against the ecosystem, one run.

1. STAN at its default size (18 channels x 5 s at 256 Hz): parameters, single-window
   inference latency on one CPU thread (median of repeated runs), and the peak memory
   (max RSS) of a process that monitors a 1-h EDF recording with it - against the
   paper's 2.3 M parameters, 45 ms and 180 MB (hardware unknown: ratios are indicative).
2. Windowing from EDF: windows/s and peak memory of ``neuroattn.data.seizure.
   iter_windows`` (streamed) against braindecode's ``create_fixed_length_windows`` when
   braindecode is installed, else MNE's ``make_fixed_length_epochs`` on the preloaded
   raw (what users do without braindecode), on the same files of 1 h and 8 h.
3. Detection ROC AUC on the real sets in ../shared/data when present: STAN's encoder
   (small) and the band-power baseline on Dog_1 (held-out seizures) and Bonn.

Every measurement runs in a fresh process so that its peak RSS is its own. Writes
``benchmarks/results/bench_seizure.json``. Usage::

    python benchmarks/bench_seizure.py [--sfreq 128] [--skip-realdata]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import peak_rss_mb, run_in_fresh_process

RESULTS = Path(__file__).resolve().parent / "results" / "bench_seizure.json"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PAPER = {"params": 2.3e6, "latency_ms": 45.0, "monitor_mb": 180.0}


def _write_edf(path: Path, hours: float, sfreq: float, n_chans: int = 18) -> Path:
    import edfio

    from neuroattn.data.simulate.seizure import CHBMIT_CHANNELS

    rng = np.random.default_rng(0)
    n = int(hours * 3600 * sfreq)
    signals = [edfio.EdfSignal(rng.normal(scale=20, size=n), sfreq, label=ch,
                               physical_dimension="uV", physical_range=(-200, 200))
               for ch in CHBMIT_CHANNELS[:n_chans]]
    edfio.Edf(signals).write(path)
    return path


def _stan_worker(edf: str, queue) -> None:
    import torch

    from neuroattn.data.seizure import SeizureRecording, iter_windows
    from neuroattn.models import create_model

    torch.set_num_threads(1)
    after_imports = peak_rss_mb()
    model = create_model("stan", n_chans=18, n_times=1280, n_outputs=2, sfreq=256.0).eval()
    n_params = sum(p.numel() for p in model.parameters())
    x = torch.randn(1, 18, 1280)
    times = []
    with torch.inference_mode():
        for _ in range(5):
            model(x)
        for _ in range(30):
            t = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t)
        before = peak_rss_mb()
        n = 0
        # Real-time monitoring: windows read 12 at a time (1 min), scored one by one.
        for _, win in iter_windows(SeizureRecording(edf), window_seconds=5.0, sfreq=256.0,
                                   chunk_windows=12):
            for w in win:
                model(torch.from_numpy(w[None]))
            n += len(win)
    queue.put({"params": n_params, "latency_ms": 1000 * float(np.median(times)),
               "monitor_peak_mb": peak_rss_mb(), "rss_after_imports_mb": after_imports,
               "rss_before_monitoring_mb": before, "monitored_windows": n})


def _window_worker(kind: str, edf: str, queue) -> None:
    from neuroattn.data.seizure import SeizureRecording, iter_windows

    start_rss = peak_rss_mb()
    t = time.perf_counter()
    n = 0
    if kind == "neuroattn":
        for _, win in iter_windows(SeizureRecording(edf), window_seconds=5.0):
            n += len(win)
    elif kind == "braindecode":
        import mne
        from braindecode.datasets import BaseConcatDataset, RawDataset
        from braindecode.preprocessing import create_fixed_length_windows
        raw = mne.io.read_raw_edf(edf, preload=False, verbose="error")
        ds = BaseConcatDataset([RawDataset(raw, target_name=None)])
        windows = create_fixed_length_windows(ds, window_size_samples=int(
            5 * raw.info["sfreq"]), window_stride_samples=int(5 * raw.info["sfreq"]),
            drop_last_window=True, preload=False)
        for i in range(len(windows)):
            windows[i]
            n += 1
    else:
        import mne
        raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
        epochs = mne.make_fixed_length_epochs(raw, duration=5.0, preload=True,
                                              verbose="error")
        n = len(epochs.get_data())
    queue.put({"windows": n, "seconds": time.perf_counter() - t,
               "windows_per_s": n / (time.perf_counter() - t),
               "peak_mb": peak_rss_mb(), "start_mb": start_rss})


def _realdata() -> dict:
    import torch

    from neuroattn.data.ieeg import load_bonn, load_seizure_detection_clips
    from neuroattn.estimators.seizure import SeizureForecaster, band_power_baseline
    from neuroattn.metrics.seizure import window_auc

    torch.set_num_threads(1)
    cfg = dict(max_epochs=15, lr=3e-3, lr_scheduler="cosine", batch_size=16, device="cpu",
               random_state=0, adversarial_weight=0.0, model__embed_dim=32, model__n_heads=4,
               model__depth=3, model__drop_path_prob=0.0)
    out = {"stan_config": {k: v for k, v in cfg.items() if k.startswith("model__")}}
    sets = {}
    dog = SHARED / "seizure_detection_ieeg" / "Dog_1"
    if dog.is_dir():
        c = load_seizure_detection_clips(dog)
        inter = np.flatnonzero(c.y == 0)
        test = np.concatenate([np.flatnonzero(c.group >= 3), inter[inter.size // 2:]])
        sets["dog_1"] = (c.X, c.y, np.setdiff1d(np.arange(len(c.y)), test), test, c.sfreq, 40)
    if (SHARED / "bonn_epilepsy").is_dir():
        c = load_bonn(SHARED / "bonn_epilepsy")
        idx = np.arange(len(c.y))
        sets["bonn"] = (c.X[..., :2048], c.y, idx[idx % 2 == 0], idx[idx % 2 == 1],
                        c.sfreq, 128)
    for name, (X, y, tr, te, sfreq, patch) in sets.items():
        est = SeizureForecaster(**cfg, model__patch_size=patch).fit(X[tr], y[tr])
        base = band_power_baseline(sfreq, random_state=0).fit(X[tr], y[tr])
        out[name] = {"stan_auc": window_auc(y[te], est.preictal_proba(X[te])),
                     "bandpower_auc": window_auc(y[te], base.predict_proba(X[te])[:, 1]),
                     "n_train": int(len(tr)), "n_test": int(len(te)), "patch_size": patch}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sfreq", type=float, default=128.0,
                        help="rate of the windowing test files (Hz)")
    parser.add_argument("--skip-realdata", action="store_true")
    args = parser.parse_args()
    result: dict = {"paper": PAPER}
    with tempfile.TemporaryDirectory() as tmp:
        edf_256 = _write_edf(Path(tmp) / "one_hour_256.edf", 1.0, 256.0)
        stan = run_in_fresh_process(_stan_worker, str(edf_256))
        stan["ratios_vs_paper"] = {
            "params": stan["params"] / PAPER["params"],
            "latency": stan["latency_ms"] / PAPER["latency_ms"],
            "monitor_memory": stan["monitor_peak_mb"] / PAPER["monitor_mb"],
        "monitor_memory_above_imports": (stan["monitor_peak_mb"] - stan["rss_after_imports_mb"])
        / PAPER["monitor_mb"]}
        result["stan"] = stan
        print(json.dumps(stan, indent=1), flush=True)
        try:
            import braindecode  # noqa: F401
            peer = "braindecode"
        except ImportError:
            peer = "mne_make_fixed_length_epochs"
        result["windowing"] = {"peer": peer, "sfreq": args.sfreq, "n_chans": 18}
        for hours in (1, 8):
            edf = _write_edf(Path(tmp) / f"w{hours}.edf", hours, args.sfreq)
            ours = run_in_fresh_process(_window_worker, "neuroattn", str(edf))
            theirs = run_in_fresh_process(_window_worker, peer, str(edf))
            result["windowing"][f"{hours}h"] = {
                "neuroattn": ours, peer: theirs,
                "throughput_ratio": ours["windows_per_s"] / theirs["windows_per_s"],
                "peak_memory_ratio": ours["peak_mb"] / theirs["peak_mb"]}
            print(hours, "h:", json.dumps(result["windowing"][f"{hours}h"]), flush=True)
            edf.unlink()
        w = result["windowing"]
        w["neuroattn_peak_growth_8h_vs_1h"] = (w["8h"]["neuroattn"]["peak_mb"]
                                               / w["1h"]["neuroattn"]["peak_mb"])
        w["peer_peak_growth_8h_vs_1h"] = w["8h"][peer]["peak_mb"] / w["1h"][peer]["peak_mb"]
    if not args.skip_realdata and SHARED.is_dir():
        result["detection"] = _realdata()
        print(json.dumps(result["detection"], indent=1), flush=True)
    import torch

    result["versions"] = {"python": platform.python_version(), "torch": torch.__version__,
                          "numpy": np.__version__, "machine": platform.machine(),
                          "processor": platform.processor()}
    from neuroattn.benchmark import save_results

    save_results(None, RESULTS.parent, RESULTS.stem, extra_json=result)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
