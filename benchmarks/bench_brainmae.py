"""BrainMAE vs nilearn connectivity + linear models: CPU cost at 200 regions and accuracy.

1. Cost (CPU, 200 regions): BrainMAE pretraining throughput (segments/s over full
   epochs, AdamW, masked reconstruction) and peak memory, against the fit time and
   peak memory of ``ConnectivityMeasure`` (correlation and tangent, vectorised) +
   logistic regression on the same subjects. Each measurement runs in a fresh process
   so that its peak RSS is its own.
2. Accuracy: leave-site-out accuracy / ROC AUC of BrainMAE (linear probe, fine-tuned)
   and the connectivity baselines on the simulator (planted coupling difference), or
   on ABIDE with ``--abide-dir``, in the same run; ratios to the best baseline.

Writes ``benchmarks/results/bench_brainmae.json``. Usage::

    python benchmarks/bench_brainmae.py [--n-subjects 64] [--epochs 2] [--threads 1]
        [--abide-dir ../shared/data/nilearn_data]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from _common import peak_rss_mb, run_in_fresh_process

RESULTS = Path(__file__).resolve().parent / "results" / "bench_brainmae.json"


def _data(n_subjects: int, n_regions: int):
    from neuroattn.data.simulate import simulate_fmri_rois

    return simulate_fmri_rois(n_subjects, n_regions=n_regions, n_networks=10,
                              n_timepoints=120, random_state=0)


def _worker(kind: str, cfg: dict, queue) -> None:
    import torch

    torch.set_num_threads(cfg["threads"])
    data = _data(cfg["n_subjects"], cfg["n_regions"])
    base = peak_rss_mb()
    t0 = time.perf_counter()
    if kind == "brainmae":
        from neuroattn.estimators import BrainMAEPretrainer

        pre = BrainMAEPretrainer(max_epochs=cfg["epochs"], batch_size=32, device="cpu",
                                 random_state=0).fit(data)
        seconds = time.perf_counter() - t0
        epoch_s = [float(pre.history_[i, "dur"]) for i in range(len(pre.history_))]
        out = {"fit_seconds": seconds, "epoch_seconds": epoch_s,
               "n_segments": pre.n_segments_fit_, "segment_samples": pre.n_times_,
               "segments_per_second": pre.n_segments_fit_ / float(np.median(epoch_s)),
               "n_parameters": int(sum(p.numel() for p in pre.module_.parameters()))}
        t1 = time.perf_counter()
        pre.transform(data)
        out["transform_subjects_per_second"] = len(data) / (time.perf_counter() - t1)
    else:
        from neuroattn.benchmark.fmri import connectivity_pipeline

        pipe = connectivity_pipeline(kind, "logreg").fit(data.series, data.labels)
        out = {"fit_seconds": time.perf_counter() - t0,
               "n_features": int(pipe[-1].coef_.shape[1])}
    out["peak_rss_mb"] = peak_rss_mb()
    out["peak_rss_increase_mb"] = peak_rss_mb() - base
    queue.put(out)


def _accuracy(args) -> dict:
    import torch

    from neuroattn.benchmark.fmri import evaluate_fmri, summarize_fmri
    from neuroattn.data.fmri import fetch_abide_rois
    from neuroattn.data.simulate import simulate_fmri_rois

    torch.set_num_threads(args.threads)
    if args.abide_dir:
        data, source = fetch_abide_rois(args.abide_dir), "ABIDE I PCP cc200, six sites"
    else:
        data, source = simulate_fmri_rois(60, random_state=0), "simulator (60 x 20 regions)"
    res = evaluate_fmri(data, pretrainer_params={"max_epochs": args.eval_epochs},
                        random_state=0)
    summary = summarize_fmri(res)
    best = summary.drop(index=[m for m in summary.index if m.startswith("brainmae")])
    best_auc = float(best["roc_auc_mean"].max())
    return {"data": source, "cv": "leave-site-out",
            "per_split": res.drop(columns="note").to_dict(orient="records"),
            "summary": summary.reset_index().to_dict(orient="records"),
            "auc_ratio_to_best_baseline": {
                m: float(summary.loc[m, "roc_auc_mean"]) / best_auc
                for m in summary.index if m.startswith("brainmae")}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-subjects", type=int, default=64)
    parser.add_argument("--n-regions", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=2, help="pretraining epochs timed")
    parser.add_argument("--eval-epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--abide-dir", default=None)
    args = parser.parse_args()
    cfg = {"n_subjects": args.n_subjects, "n_regions": args.n_regions, "epochs": args.epochs,
           "threads": args.threads}
    cost = {kind: run_in_fresh_process(_worker, kind, cfg)
            for kind in ("brainmae", "correlation", "tangent")}
    mae = cost["brainmae"]
    ratios = {f"pretrain_time_over_{k}_fit": mae["fit_seconds"] / cost[k]["fit_seconds"]
              for k in ("correlation", "tangent")}
    ratios.update({f"peak_rss_over_{k}": mae["peak_rss_mb"] / cost[k]["peak_rss_mb"]
                   for k in ("correlation", "tangent")})
    import nilearn
    import sklearn
    import torch

    out = {"config": cfg, "cost": cost, "ratios": ratios, "accuracy": _accuracy(args),
           "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                        "nilearn": nilearn.__version__, "sklearn": sklearn.__version__},
           "machine": {"platform": platform.platform(), "processor": platform.processor(),
                       "cpu_count": os.cpu_count()}}
    from neuroattn.benchmark import save_results

    save_results(None, RESULTS.parent, RESULTS.stem, extra_json=out)
    print(json.dumps({"cost": cost, "ratios": ratios,
                      "accuracy": out["accuracy"]["summary"]}, indent=1, default=float))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
