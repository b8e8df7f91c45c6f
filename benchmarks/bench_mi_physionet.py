"""Scores of every shipped pipeline on PhysioNet EEGMMIDB subject 1 (MOABB, offline).

Within-session 5-fold, left vs right hand imagery, ROC AUC, next to CSP+LDA and tangent
space + LR measured in the same run. Needs ../shared/data (see its README); writes
benchmarks/results/bench_mi_physionet.json.

    python benchmarks/bench_mi_physionet.py [--pipelines NAME ...] [--fmin 8 --fmax 32]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEUROATTN_SHARED_DATA", ROOT.parent / "shared" / "data"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pipelines", nargs="+", default=None)
    parser.add_argument("--fmin", type=float, default=8.0)
    parser.add_argument("--fmax", type=float, default=32.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not (SHARED / "mne_data").is_dir():
        print(f"real recordings not found at {SHARED}", file=sys.stderr)
        return 1
    os.environ.update(MNE_DATA=str(SHARED / "mne_data"),
                      MNE_DATASETS_EEGBCI_PATH=str(SHARED / "mne_data"),
                      MOABB_DOWNLOAD_PROVIDER="upstream")
    os.environ.setdefault("HOME", "/tmp")
    import moabb
    import torch

    import neuroattn
    from neuroattn.benchmark import list_pipelines, run, save_results

    torch.set_num_threads(args.threads)
    names = args.pipelines or list_pipelines()
    start = time.perf_counter()
    result = run(names, ["PhysionetMI"], subjects=[1], paradigm="left_right",
                 paradigm_kwargs={"fmin": args.fmin, "fmax": args.fmax},
                 output_dir=ROOT / "benchmarks" / "results" / "mi_physionet", verbose=1)
    print(result.table)
    scores = result.results.groupby("pipeline")[["score", "time"]].mean()
    out = {
        "benchmark": "EEGMMIDB subject 1, MOABB within-session 5-fold, left vs right "
                     f"hand imagery, {args.fmin:g}-{args.fmax:g} Hz, ROC AUC",
        "scores": {k: round(float(v), 4) for k, v in scores["score"].items()},
        "fit_seconds_per_fold": {k: round(float(v), 2) for k, v in scores["time"].items()},
        "ratio_to_tangent_space": {k: round(float(v / scores.loc["TS+LR", "score"]), 3)
                                   for k, v in scores["score"].items()}
        if "TS+LR" in scores.index else None,
        "seconds": round(time.perf_counter() - start, 1),
        "versions": {"neuroattn": neuroattn.__version__, "moabb": moabb.__version__,
                     "torch": torch.__version__, "python": platform.python_version()},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "threads": args.threads},
    }
    path = save_results(None, ROOT / "benchmarks" / "results", "bench_mi_physionet",
                        extra_json=out)["json"]
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
