"""Seed spread of the SSVEP networks: several ``bench_ssvep.py`` runs, one per network seed.

Each argument is a ``bench_ssvep.json`` written by ``bench_ssvep.py --dnn-seed N --out DIR``
(the shipped YAMLs' seed 0: ``benchmarks/results/bench_ssvep.json``). The folds are the
same in every run (MOABB's, from ``run``'s ``random_state``); only the networks' seed
differs. Writes ``<out>/bench_ssvep_seeds.{json,csv}``: per evaluation, window and network
pipeline, the mean accuracy over subjects for each seed, their mean and standard deviation
(ddof=1), and the best classical pipeline of the base run at that cell.

    python benchmarks/bench_ssvep_seeds.py benchmarks/results/bench_ssvep.json \\
        /tmp/seed1/bench_ssvep.json /tmp/seed2/bench_ssvep.json [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

#: Network pipelines (the rest are the classical peers of the base run).
NETWORKS = ("SSVEP-DNN-crop", "SSVEP-DNN-2stage-crop", "SSVEP-DNN-2stage-crop-AdaBN")


def seed_of(run: dict) -> int:
    """The network seed of a run: ``--dnn-seed`` in its last command, else 0 (the YAMLs')."""
    words = run["command"].split()
    return int(words[words.index("--dnn-seed") + 1]) if "--dnn-seed" in words else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    runs = [json.loads(p.read_text()) for p in args.runs]
    rows = []
    for path, run in zip(args.runs, runs):
        scores = pd.DataFrame(run["per_subject"])
        means = scores.groupby(["evaluation", "window_seconds", "pipeline"])["score"].mean()
        rows += [{"evaluation": e, "window_seconds": w, "pipeline": p, "seed": seed_of(run),
                  "accuracy": a, "run": str(path)} for (e, w, p), a in means.items()]
    table = pd.DataFrame(rows)
    base = table[table["run"] == str(args.runs[0])]
    peers = base[~base["pipeline"].isin(NETWORKS)]
    best = peers.loc[peers.groupby(["evaluation", "window_seconds"])["accuracy"].idxmax()]
    nets = table[table["pipeline"].isin(NETWORKS)]
    summary = nets.groupby(["evaluation", "window_seconds", "pipeline"]).agg(
        seeds=("seed", lambda s: sorted(s.tolist())), mean=("accuracy", "mean"),
        sd=("accuracy", "std"), per_seed=("accuracy", list)).reset_index()
    summary = summary.merge(best[["evaluation", "window_seconds", "pipeline", "accuracy"]]
                            .rename(columns={"pipeline": "best_classical",
                                             "accuracy": "best_classical_accuracy"}),
                            on=["evaluation", "window_seconds"])
    summary["difference"] = summary["mean"] - summary["best_classical_accuracy"]
    args.out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(args.out / "bench_ssvep_seeds.csv", index=False)
    (args.out / "bench_ssvep_seeds.json").write_text(json.dumps(
        {"command": "python " + " ".join(sys.argv), "runs": [str(p) for p in args.runs],
         "summary": summary.to_dict("records")}, indent=1))
    print(summary.drop(columns="seeds").round(3).to_string(index=False))


if __name__ == "__main__":
    main()
