"""Connectome transformer (BNT) and BrainMAE variants against nilearn + linear models on ABIDE.

Two steps, run in this order (the recipe is frozen before step 2 scores any site):

1. ``--select``: candidate BNT recipes scored by stratified 3-fold CV inside ONE site
   (``--select-site``, default NYU), seed 0; nothing of the other sites is seen. The
   chosen recipe is written into ``neuroattn.benchmark.fmri.DEFAULT_TRANSFORMER`` by hand
   and the table goes to ``results/fmri_abide_bnt_select.csv``.
2. ``--part``: leave-site-out (or stratified 5-fold) with the frozen recipe, in parts
   that may run side by side (one process each): ``evaluate_fmri`` on the same splits
   for the peers (correlation/tangent + logistic regression), BNT on Fisher-z
   correlations at several seeds, and BrainMAE probes (pretrained on the training
   sites only, and transductively on training + held-out series without labels).
3. ``--combine``: one table (per split and seed) ``results/fmri_abide_bnt_<cv>.csv``,
   a summary ``.json`` (recipe, spread over splits and over seeds, cost ratio to
   tangent + LR, the commands) and a ``.png``.

Usage::

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/bench_fmri_transformers.py --select
    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/bench_fmri_transformers.py --part P0.csv \\
        --seeds 0 --methods correlation_logreg tangent_logreg bnt_correlation
    ... --part P1.csv --seeds 1 2 --methods bnt_correlation
    ... --part P2.csv --seeds 0 --methods brainmae_probe brainmae_probe_transductive
    python benchmarks/bench_fmri_transformers.py --combine P0.csv P1.csv P2.csv
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
ABIDE = Path(__file__).resolve().parents[2] / "shared" / "data" / "nilearn_data"

#: The starting recipe of step 1 (Fisher z + global scale come from the pipeline).
BASE = dict(max_epochs=60, lr=3e-4, batch_size=32, weight_decay=0.05, lr_scheduler=None,
            validation_fraction=0.15, early_stopping=True, patience=10, model__embed_dim=32,
            model__depth=1, model__n_heads=4, model__mlp_ratio=2.0, model__n_clusters=8,
            model__hidden_dims=(32,), model__drop_prob=0.3)
#: Candidates of step 1, each on top of BASE; the chosen one became DEFAULT_TRANSFORMER.
CANDIDATES = {
    "small_fz_es": {},
    "small_fz_es_lr1e-3": {"lr": 1e-3},
    "small_raw_es": {"fisher_z": False},
    "lead_64_depth2": {"model__embed_dim": 64, "model__depth": 2, "model__n_clusters": 10,
                       "model__hidden_dims": (256, 32), "model__drop_prob": 0.1,
                       "weight_decay": 0.01},
}


def _load(sites=None):
    from neuroattn.data.fmri import ABIDE_SITES, fetch_abide_rois

    return fetch_abide_rois(ABIDE, sites=sites or list(ABIDE_SITES))


def select(site: str, out: Path) -> pd.DataFrame:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from neuroattn.benchmark.fmri import connectome_transformer_pipeline

    data = _load([site])
    y = data.labels.astype(int)
    rows = []
    folds = StratifiedKFold(3, shuffle=True, random_state=0).split(np.zeros(len(y)), y)
    for k, (tr, te) in enumerate(folds):
        for name, params in CANDIDATES.items():
            t0 = time.perf_counter()
            pipe = connectome_transformer_pipeline("correlation", random_state=0,
                                                   **{**BASE, **params})
            pipe.fit([data.series[i] for i in tr], y[tr])
            proba = pipe.predict_proba([data.series[i] for i in te])[:, 1]
            net = pipe[-1].net_
            rows.append({"candidate": name, "fold": k, "roc_auc": roc_auc_score(y[te], proba),
                         "epochs": len(net.history), "seconds": time.perf_counter() - t0})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(out, index=False, float_format="%.4f")
    print(table.groupby("candidate")[["roc_auc", "epochs", "seconds"]].mean())
    return table


def run_part(cv: str, seeds: list[int], methods: list[str], part: Path) -> None:
    """One part of step 2 (a process each, so parts can run side by side): every seed in
    ``seeds`` evaluates ``methods`` on the same splits; rows carry their seed."""
    from neuroattn.benchmark.fmri import evaluate_fmri

    data = _load()
    tables = []
    for seed in seeds:
        # leave-site-out splits do not depend on the seed; stratified splits stay at seed 0
        # (only the networks' seeds change), so every part scores the same folds
        ckpt = part.parent / f"{part.stem}_folds" / f"seed{seed}"
        res = evaluate_fmri(data, cv=cv, methods=methods, random_state=seed, n_jobs=1,
                            verbose=1, checkpoint_dir=ckpt)
        tables.append(res.assign(seed=seed))
    pd.concat(tables, ignore_index=True).to_csv(part, index=False)


def _read_part(part: Path) -> pd.DataFrame:
    """A finished part's CSV, or (while it still runs) the fold records it has written."""
    if part.exists():
        return pd.read_csv(part)
    rows = []
    for seed_dir in sorted((part.parent / f"{part.stem}_folds").glob("seed*")):
        for record in sorted(seed_dir.glob("fold-*.json")):
            data = json.loads(record.read_text())["data"]
            rows += [{**r, "seed": int(seed_dir.name[4:])} for r in data["rows"]]
    print(f"{part}: not finished, using its {len(rows)} finished fold rows")
    return pd.DataFrame(rows)


def combine(parts: list[Path], out_stem: str, commands: list[str]) -> None:
    """Join the parts into one table, summary JSON and plot in ``benchmarks/results``."""
    from neuroattn.benchmark.fmri import DEFAULT_TRANSFORMER, save_fmri_results, summarize_fmri

    results = pd.concat([_read_part(p) for p in parts], ignore_index=True)
    results["note"] = results["note"].astype(object).fillna("")
    scored = results.dropna(subset=["roc_auc"])
    per_seed = scored.groupby(["method", "seed"])["roc_auc"].mean()
    seed_spread = per_seed.groupby("method").agg(["mean", "std", "count"])
    summary = summarize_fmri(results)
    splits = sorted(set(scored["split"]))
    per_split = scored.pivot_table(index="method", columns="split", values="roc_auc")
    paths = save_fmri_results(results.drop(columns="seed"), RESULTS, out_stem)
    results.to_csv(paths["csv"], index=False, float_format="%.4f")  # with the seed column
    peer = summary["fit_seconds_mean"].get("tangent_logreg")
    report = {
        "commands": commands,
        "data": "ABIDE I CC200 (nilearn ABIDE_pcp, band-pass, global signal kept), six sites",
        "recipe_bnt": {k: repr(v) for k, v in DEFAULT_TRANSFORMER.items()},
        "recipe_chosen_on": "NYU only, stratified 3-fold inner CV, seed 0 "
                            "(results/fmri_abide_bnt_select.csv); frozen before step 2",
        "splits": splits,
        "summary_over_splits_and_seeds": summary.round(4).reset_index().to_dict("records"),
        "roc_auc_over_seeds": seed_spread.round(4).reset_index().to_dict("records"),
        "roc_auc_per_split_mean_over_seeds": per_split.round(4).reset_index().to_dict("records"),
        "roc_auc_without_selection_site_NYU": scored[scored["split"] != "NYU"].groupby(
            "method")["roc_auc"].mean().round(4).to_dict(),
        "fit_seconds_ratio_vs_tangent_logreg": None if peer is None else {
            m: round(float(v / peer), 3) for m, v in summary["fit_seconds_mean"].items()},
    }
    json_path = paths["csv"].with_suffix(".json")
    json_path.write_text(json.dumps(report, indent=2))
    print(summary.round(3).to_string())
    print(seed_spread.round(3).to_string())
    print(per_split.round(3).to_string())
    print(f"wrote {paths['csv']}, {paths['png']}, {json_path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--select", action="store_true")
    parser.add_argument("--select-site", default="NYU")
    parser.add_argument("--part", type=Path, help="step 2: write this part's CSV")
    parser.add_argument("--cv", default="leave-site-out", choices=["leave-site-out",
                                                                   "stratified"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--methods", nargs="+",
                        default=["correlation_logreg", "tangent_logreg", "bnt_correlation"])
    parser.add_argument("--combine", type=Path, nargs="+", help="part CSVs to join")
    parser.add_argument("--commands", nargs="+", default=[],
                        help="the commands of the parts, recorded in the JSON")
    args = parser.parse_args()
    if args.select:
        select(args.select_site, RESULTS / "fmri_abide_bnt_select.csv")
    if args.part:
        run_part(args.cv, args.seeds, args.methods, args.part)
    if args.combine:
        stem = "fmri_abide_bnt_" + ("leave_site_out" if args.cv == "leave-site-out"
                                    else "stratified_5fold")
        combine(args.combine, stem, args.commands)
