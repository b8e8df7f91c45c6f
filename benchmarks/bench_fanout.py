"""Speed-up of ``neuroattn benchmark --n-jobs 2`` over ``--n-jobs 1``, measured in one run.

Both commands run as they would for a user (``python -m neuroattn.cli benchmark ...`` in
a fresh process, ``--threads 1``: one torch thread per job), alternately, ``--repeats``
times each, on the same jobs; the scores of the two must be equal (the script says so
in the JSON). Settings:

* ``physionet`` (default when ../shared/data is present): PhysioNet EEGMMIDB subject 1,
  left vs right hand, within-session 5-fold, pipelines CSP+LDA, TS+LR and CAN-SE
  (``--max-epochs``), i.e. 3 jobs;
* ``simulated``: the offline simulated dataset, 3 subjects x the same pipelines
  (9 jobs).

A shared or busy machine makes the ratio noisy: the JSON keeps every timing, the
number of cores and the load average before and after, and the ratio is what it is.

    OMP_NUM_THREADS=1 python benchmarks/bench_fanout.py [--setting simulated] \
        [--max-epochs 5] [--repeats 1]

writes benchmarks/results/bench_fanout.json (and bench_fanout.png).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEUROATTN_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"
PIPELINES = ["CSP+LDA", "TS+LR", "CAN-SE"]


def _command(setting: str, n_jobs: int, out: Path, max_epochs: int) -> list[str]:
    data = (["--datasets", "PhysionetMI", "--subjects", "1", "--fmin", "8", "--fmax", "32"]
            if setting == "physionet" else ["--datasets", "simulated"])
    return [sys.executable, "-m", "neuroattn.cli", "benchmark", *data, "--pipelines",
            *PIPELINES, "--max-epochs", str(max_epochs), "--threads", "1", "--device",
            "cpu", "--n-jobs", str(n_jobs), "--out", str(out), "--quiet"]


def _run(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr}")
    return seconds


def _scores(folder: Path) -> list[tuple]:
    import pandas as pd

    table = pd.read_csv(folder / "results.csv")
    cols = ["pipeline", "subject", "session", "score"]
    return [tuple(r) for r in table.sort_values(cols[:3])[cols].itertuples(index=False)]


def _plot(times: dict[int, list[float]], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3))
    for k, (n_jobs, values) in enumerate(sorted(times.items())):
        ax.bar(k, min(values), color="tab:blue" if n_jobs == 1 else "tab:orange")
        ax.plot([k] * len(values), values, "k.", ms=6)
    ax.set_xticks(range(len(times)), [f"--n-jobs {n}" for n in sorted(times)])
    ax.set_ylabel("wall time, s (bar: best; dots: each run)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    have_real = (SHARED / "mne_data").is_dir()
    parser.add_argument("--setting", choices=["physionet", "simulated"],
                        default="physionet" if have_real else "simulated")
    parser.add_argument("--max-epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of each --n-jobs value, alternated (default 1)")
    parser.add_argument("--out", default=str(RESULTS / "bench_fanout.json"))
    args = parser.parse_args(argv)
    if args.setting == "physionet" and not have_real:
        print(f"real recordings not found at {SHARED}", file=sys.stderr)
        return 1
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MOABB_DOWNLOAD_PROVIDER": "upstream"}
    env.setdefault("HOME", "/tmp")
    if args.setting == "physionet":
        env.update(MNE_DATA=str(SHARED / "mne_data"),
                   MNE_DATASETS_EEGBCI_PATH=str(SHARED / "mne_data"))
    times: dict[int, list[float]] = {1: [], 2: []}
    scores: dict[int, list] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for n_jobs in ((1, 2) if rep % 2 == 0 else (2, 1)):
                out = Path(tmp) / f"jobs{n_jobs}-{rep}"
                cmd = _command(args.setting, n_jobs, out, args.max_epochs)
                seconds = _run(cmd, env)
                times[n_jobs].append(round(seconds, 1))
                scores.setdefault(n_jobs, _scores(out))
                print(f"--n-jobs {n_jobs}: {seconds:.1f} s", flush=True)
    ratio = min(times[1]) / min(times[2])
    import joblib
    import moabb
    import torch

    import neuroattn

    commands = {n: " ".join(_command(args.setting, n, Path("OUT"), args.max_epochs)[1:])
                for n in (1, 2)}
    result = {
        "benchmark": f"neuroattn benchmark --n-jobs 2 vs --n-jobs 1, setting {args.setting}"
                     f", pipelines {', '.join(PIPELINES)}, --max-epochs {args.max_epochs}, "
                     "one torch thread per job",
        "commands": {f"n_jobs_{n}": f"python {c}" for n, c in commands.items()},
        "seconds": {f"n_jobs_{n}": v for n, v in times.items()},
        "speedup_best_of": round(ratio, 2),
        "scores_equal": scores[1] == scores[2],
        "n_scores": len(scores[1]),
        "cores": os.cpu_count(),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "note": "wall time of the whole command (imports, data loading, worker start-up "
                "included); on a shared machine other processes compete for the cores",
        "versions": {"neuroattn": neuroattn.__version__, "moabb": moabb.__version__,
                     "torch": torch.__version__, "joblib": joblib.__version__,
                     "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    _plot(times, f"{args.setting}: speed-up {ratio:.2f}x on {os.cpu_count()} cores "
          f"(load average {load_before[0]:.1f})",
          out.with_suffix(".png"))
    print(json.dumps(result, indent=2))
    return 0 if result["scores_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
