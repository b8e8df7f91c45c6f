"""Peak memory and throughput of a SeizureForecaster fit streamed from disk (issue 13).

Simulated EEG (4 channels at 128 Hz, one seizure, CHB-MIT layout) of about 1 h and
24 h is written as EDF, windowed into 4-s windows by ``extract_windows(..., out=...)``
(``X.npy`` on disk), and a small STAN is fitted for two epochs on the windows read back
by ``load_windows`` (a memory map: the fit streams, reading only the windows the
class-balanced sampler draws). Each fit runs in a fresh process, whose peak resident
memory (``VmHWM``) is reported, with that of its DataLoader workers
(``RUSAGE_CHILDREN``). For contrast, the 24-h windows are also fitted after loading
them into memory (``load_windows(mmap=False)``). Throughput: windows per second of
training (epoch time from the net's history) with 0 and 2 DataLoader workers, and of
the loader alone (no model).

Writes ``benchmarks/results/bench_streaming.json`` and ``bench_streaming.png``.
Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_streaming.py [--hours 1 24] [--max-epochs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, run_in_fresh_process

RESULTS = Path(__file__).resolve().parent / "results" / "bench_streaming.json"
MODEL = dict(model__depth=1, model__embed_dim=32, model__n_heads=4, model__patch_size=128,
             lr_scheduler="cosine", batch_size=32, device="cpu", random_state=0)


def _write_windows(root: Path, hours: float) -> dict:
    """Simulate ``hours`` of EEG as EDF and window it to ``root / 'windows'``."""
    from neuroattn.data.seizure import extract_windows, read_chbmit_summary
    from neuroattn.data.simulate.seizure import CHBMIT_CHANNELS, simulate_seizure_recordings

    n_files = max(1, int(round(hours)))
    sim = simulate_seizure_recordings(
        root, n_seizures=1, n_interictal_files=n_files,
        interictal_file_minutes=max(1, round((hours * 60 - 35) / n_files)),
        seizure_file_minutes=35, sfreq=128, ch_names=CHBMIT_CHANNELS[:4], random_state=0)
    recs = read_chbmit_summary(sim.summary_path)
    windows = extract_windows(recs, window_seconds=4.0, out=root / "windows")
    return {"recorded_hours": sum(r.duration for r in recs) / 3600.0,
            "n_windows": int(len(windows.y)), "n_preictal": int((windows.y == 1).sum()),
            "x_npy_mb": (root / "windows" / "X.npy").stat().st_size / 2**20}


def _fork_workers() -> str:
    """DataLoader workers by fork, as in a script run on Linux: the measuring process
    is spawned (its own peak memory), and a spawned process spawns its workers too,
    re-importing torch in each one every epoch."""
    import multiprocessing

    if "fork" in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("fork", force=True)
    return multiprocessing.get_start_method()


def _fit_worker(folder: str, mmap: bool, num_workers: int, max_epochs: int, queue) -> None:
    import numpy as np
    import torch

    from neuroattn.data.seizure import load_windows
    from neuroattn.estimators import SeizureForecaster

    torch.set_num_threads(1)
    start_method = _fork_workers()
    est = SeizureForecaster(**MODEL, max_epochs=max_epochs, num_workers=num_workers,
                            sop_seconds=900.0)
    baseline = peak_rss_mb()  # after imports
    t0 = time.perf_counter()
    windows = load_windows(folder, mmap=mmap)
    est.fit(windows)
    total = time.perf_counter() - t0
    epoch_seconds = float(np.sum(est.history_[:, "dur"]))
    n_pre = int((windows.y == 1).sum())
    drawn = 2 * min(n_pre, len(windows.y) - n_pre) * max_epochs
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    queue.put({"peak_rss_mb": peak_rss_mb(), "rss_after_imports_mb": baseline,
               "workers_peak_rss_mb": children if num_workers else None,
               "worker_start_method": start_method, "fit_seconds": total,
               "train_seconds": epoch_seconds,
               "windows_drawn": drawn, "train_windows_per_s": drawn / epoch_seconds})


def _loader_worker(folder: str, num_workers: int, queue) -> None:
    """Windows/s of the training loader alone: balanced draws over the memmap, no model."""
    import numpy as np
    import torch

    from neuroattn.data.seizure import load_windows
    from neuroattn.estimators._streaming import WindowDataset, as_lazy

    torch.set_num_threads(1)
    _fork_workers()
    windows = load_windows(folder)
    y = np.asarray(windows.y)
    counts = np.bincount(y)
    sampler = torch.utils.data.WeightedRandomSampler(
        torch.as_tensor(1.0 / counts[y], dtype=torch.double),
        num_samples=int(2 * counts.min()) * 4, replacement=True,
        generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(WindowDataset(as_lazy(windows.X, "bench"), y),
                                         batch_size=32, sampler=sampler,
                                         num_workers=num_workers)
    t0 = time.perf_counter()
    n = sum(len(xb) for xb, _ in loader)
    queue.put({"loader_windows_per_s": n / (time.perf_counter() - t0), "windows": n})


def _plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["peak_memory"]
    labels = [f"{r['hours']:.0f} h\n{'memmap' if r['mmap'] else 'in memory'}" for r in runs]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(labels, [r["peak_rss_mb"] for r in runs],
           color=["tab:blue" if r["mmap"] else "tab:gray" for r in runs])
    for i, r in enumerate(runs):
        ax.text(i, r["peak_rss_mb"], f"{r['peak_rss_mb']:.0f}", ha="center", va="bottom")
    ax.set_ylim(0, 1.15 * max(r["peak_rss_mb"] for r in runs))
    ax.set_ylabel("peak RSS of the fit process (MB)")
    ax.set_title("SeizureForecaster.fit, 2 epochs, small STAN")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 24.0])
    parser.add_argument("--max-epochs", type=int, default=2)
    args = parser.parse_args()
    t_start = time.perf_counter()
    results = {"platform": platform.platform(), "python": platform.python_version(),
               "model": MODEL, "max_epochs": args.max_epochs, "data": {}, "peak_memory": [],
               "throughput": []}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {}
        for hours in args.hours:
            root = Path(tmp) / f"h{hours:g}"
            root.mkdir()
            results["data"][f"{hours:g}"] = _write_windows(root, hours)
            folders[hours] = str(root / "windows")
        longest = max(args.hours)
        runs = [(h, True) for h in args.hours] + [(longest, False)]
        for hours, mmap in runs:
            out = run_in_fresh_process(_fit_worker, folders[hours], mmap, 0, args.max_epochs)
            results["peak_memory"].append({"hours": hours, "mmap": mmap, "num_workers": 0,
                                           **out})
        for workers in (0, 2):
            fit = (results["peak_memory"][args.hours.index(longest)] if workers == 0 else
                   run_in_fresh_process(_fit_worker, folders[longest], True, 2,
                                        args.max_epochs))
            loader = run_in_fresh_process(_loader_worker, folders[longest], workers)
            results["throughput"].append({"hours": longest, "num_workers": workers,
                                          "train_windows_per_s": fit["train_windows_per_s"],
                                          "workers_peak_rss_mb": fit["workers_peak_rss_mb"],
                                          **loader})
    results["seconds"] = time.perf_counter() - t_start
    results["load_average_1_5_15"] = os.getloadavg()  # a shared machine slows throughput
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    _plot(results, RESULTS.with_suffix(".png"))
    for r in results["peak_memory"]:
        print(f"{r['hours']:>5g} h  {'memmap' if r['mmap'] else 'memory':>6}  peak RSS "
              f"{r['peak_rss_mb']:7.1f} MB (after imports {r['rss_after_imports_mb']:.1f})  "
              f"fit {r['fit_seconds']:.1f} s")
    for r in results["throughput"]:
        print(f"workers={r['num_workers']}: train {r['train_windows_per_s']:.0f} windows/s, "
              f"loader {r['loader_windows_per_s']:.0f} windows/s")
    print(f"wrote {RESULTS} in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
