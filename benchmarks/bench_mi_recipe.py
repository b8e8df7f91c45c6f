"""Ablation of the small-data training recipe on EEGMMIDB subject 1 (issue 16, item 1).

One fixed neural base (``channel_attention_net`` with the gated attention block of the
committed best pipeline, CAN-Gated: 30 epochs, lr 5e-3, batch 16) is trained plain, then
with each recipe ingredient ALONE (augmentations as a group, Euclidean alignment, label
smoothing, weight averaging, early stopping on an inner split, a 3-seed ensemble) and
ALL TOGETHER, next to the peers tangent space + LR and CSP+LDA and the hybrid
``FilterBankTangentSpace`` + ``tangent_attention`` (plain and with the recipe). Every
pipeline sees the SAME folds: one ``StratifiedKFold(5, shuffle=True, random_state=42)``
over the trials of the session (what MOABB's within-session evaluation does, with one
fixed seed so that the folds are shared). Neural pipelines are fitted with 3 seeds;
a row's score is the mean over seeds of the fold mean, with the spread over seeds (and
over folds). The recipe settings are literature defaults fixed before any scoring (see
``RECIPE`` and ``"recipe"`` in the JSON); nothing is tuned on the scored folds.

Left/right imagery is scored by ROC AUC, four-class imagery (``--paradigm four_class``:
left hand, right hand, both feet, both hands; 90 trials) and five-class imagery
(``five_class``: the same and rest, 174 trials -- what ``MotorImagery(n_classes=4)``
returns for this dataset unless ``events`` are given) by accuracy. Data are MOABB's
``PhysionetMI`` (imagined runs 4/8/12, or 4/6/8/10/12/14), 8-32 Hz, 0-3 s, in microvolts
(the unit the neural estimators document). Needs ../shared/data (see its README).

Rows are cached in ``benchmarks/results/mi_recipe/`` (one JSON a row; more seeds for a
row add to the cached ones), so that groups of rows can run in separate processes;
every run rebuilds ``benchmarks/results/bench_mi_recipe[_four_class|_five_class].json``
and ``.png``
from the cache (``--rows`` with no name only rebuilds). The committed results are, in
one command each (they ran split over processes as ``COMMANDS`` lists)::

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/bench_mi_recipe.py --seeds 0 1 2 3 4
    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/bench_mi_recipe.py --paradigm four_class \
        --rows TS+LR CSP+LDA base +augment all TA TA+recipe
    (the same with --paradigm five_class)

(``--folds 3 --max-epochs 2 --seeds 0`` for a smoke run, written under ``*_smoke``.)
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

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEUROATTN_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"
SFREQ = 160.0

#: The recipe, fixed before scoring (literature defaults; the reasons go to the JSON).
RECIPE = {
    "base": {"model": "channel_attention_net", "model__attention": "gated",
             "max_epochs": 30, "lr": 0.005, "batch_size": 16, "weight_decay": 0.01,
             "why": "the committed best attention pipeline CAN-Gated "
                    "(neuroattn/pipelines/ChannelAttentionNet_gated.yml), unchanged"},
    "augment": {"items": [
        {"name": "frequency_shift", "max_shift_hz": 2.0, "probability": 0.5},
        {"name": "ft_surrogate", "phase_noise": 1.0, "probability": 0.5},
        {"name": "channels_shuffle", "groups": "hemispheres", "shuffle_fraction": 0.2,
         "probability": 0.5},
        {"name": "smooth_time_mask", "mask_samples": 80, "probability": 0.5}],
        "why": "the transforms Rommel et al. 2022 (J Neural Eng 19:066020) found useful for "
               "motor imagery, at their order of magnitude: shifts of at most 2 Hz (mu/beta "
               "peaks stay in band), full phase randomisation, 20% of the channels shuffled "
               "only within left / right / midline groups (hemisphere_groups from the "
               "channel names), 0.5 s masks (1/6 of the 3 s window); each applied to half "
               "of the examples"},
    "euclidean_alignment": {"shrinkage": 1e-3,
                            "why": "He & Wu 2019; EuclideanAlignment default"},
    "label_smoothing": {"value": 0.1, "why": "Szegedy et al. 2016 default"},
    "weight_averaging": {"last_epochs": 10,
                         "why": "uniform SWA window over the last third of training "
                                "(Izmailov et al. 2018 average the last 25-50%)"},
    "early_stopping": {"validation_fraction": 0.2, "patience": 10,
                       "why": "a stratified 20% inner split of the training fold only; "
                              "NeuroClassifier's default patience"},
    "seed_ensemble": {"n_members": 3, "why": "the smallest ensemble the issue allows"},
    "all": {"why": "augment + EA + label smoothing + weight averaging + 3-seed ensemble; "
                   "early stopping is left out because the core refuses it together with "
                   "weight averaging (one restores the best epoch, the other averages the "
                   "last ones) and it costs 20% of the training trials"},
    "tangent_attention": {"max_epochs": 60, "lr": 0.001, "batch_size": 16,
                          "weight_decay": 0.05,
                          "why": "the defaults of tangent_attention_pipeline (as in the "
                                 "FBTS+TangentAttention YAML of commit 0b6c8c4, removed "
                                 "later: it fixed sfreq at 160 Hz)"},
    "tangent_attention_recipe": {"label_smoothing": 0.1, "weight_averaging": 20,
                                 "n_members": 3,
                                 "why": "the same ingredients that apply to tangent "
                                        "tokens (signal augmentations and EA do not): "
                                        "label smoothing 0.1, averaging the last third "
                                        "(20 of 60 epochs), 3 seeds"},
}

_RUN = "OMP_NUM_THREADS=1 nice -n 5 python benchmarks/bench_mi_recipe.py"
#: What ran for the committed JSONs (two processes at a time on 2 shared cores).
COMMANDS = {
    "left_right": [
        f"{_RUN} --rows TS+LR CSP+LDA base +augment +EA +label_smoothing +weight_averaging",
        f"{_RUN} --rows +early_stopping +seed_ensemble all TA TA+recipe",
        f"{_RUN} --seeds 3 4 --rows base +augment +EA +label_smoothing +weight_averaging "
        "+early_stopping +seed_ensemble all",
        f"{_RUN} --seeds 3 4 --rows TA TA+recipe"],
    "four_class": [
        f"{_RUN} --paradigm four_class --rows TS+LR CSP+LDA base +augment all",
        f"{_RUN} --paradigm four_class --rows TA TA+recipe"],
    "five_class": [  # ran as '--paradigm four_class' before the events fix, then renamed
        f"{_RUN} --paradigm five_class --rows TS+LR CSP+LDA base TA all",
        f"{_RUN} --paradigm five_class --rows TA+recipe",
        f"{_RUN} --paradigm five_class --rows +augment"],
}

ROWS = ["TS+LR", "CSP+LDA", "base", "+augment", "+EA", "+label_smoothing",
        "+weight_averaging", "+early_stopping", "+seed_ensemble", "all", "TA", "TA+recipe"]
PEERS = ("TS+LR", "CSP+LDA")


def augmentation(ch_names: list[str]) -> list[dict]:
    """The ``augmentation`` list of the recipe, with the hemisphere groups of the data.

    Parameters
    ----------
    ch_names : list of str
        Channel names of the trials, in order.

    Returns
    -------
    list of dict
        Items for ``NeuroClassifier(augmentation=...)``.
    """
    from neuroattn.data._montage import hemisphere_groups

    groups = hemisphere_groups(ch_names)
    items = []
    for item in RECIPE["augment"]["items"]:
        item = dict(item)
        if item["name"] == "channels_shuffle":
            item["groups"] = [groups["left"], groups["right"], groups["midline"]]
        if item["name"] == "frequency_shift":
            item["sfreq"] = SFREQ
        items.append(item)
    return items


def make_pipeline(row: str, seed: int, ch_names: list[str], max_epochs: int | None):
    """The scikit-learn pipeline of one row, fitted with ``seed``."""
    from pyriemann.estimation import Covariances
    from pyriemann.spatialfilters import CSP
    from pyriemann.tangentspace import TangentSpace
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline as chain

    from neuroattn import NeuroClassifier
    from neuroattn.estimators.ensemble import SeedEnsemble
    from neuroattn.estimators.riemann import FilterBankTangentSpace
    from neuroattn.preprocessing import EuclideanAlignment

    if row == "TS+LR":
        return chain(Covariances("oas"), TangentSpace(metric="riemann"),
                     LogisticRegression(C=1.0, max_iter=1000))
    if row == "CSP+LDA":
        return chain(Covariances("oas"), CSP(nfilter=6), LinearDiscriminantAnalysis())
    if row.startswith("TA"):
        ta = {k: v for k, v in RECIPE["tangent_attention"].items() if k != "why"}
        if max_epochs:
            ta["max_epochs"] = max_epochs
        net = NeuroClassifier(model="tangent_attention", device="cpu", random_state=seed, **ta)
        if row == "TA+recipe":
            extra = RECIPE["tangent_attention_recipe"]
            net.set_params(label_smoothing=extra["label_smoothing"],
                           weight_averaging=min(extra["weight_averaging"], ta["max_epochs"]))
            net = SeedEnsemble(net, n_members=extra["n_members"], random_state=seed)
        return chain(FilterBankTangentSpace(sfreq=SFREQ, estimator="oas"), net)
    base = {k: v for k, v in RECIPE["base"].items() if k != "why"}
    if max_epochs:
        base["max_epochs"] = max_epochs
    net = NeuroClassifier(device="cpu", random_state=seed, **base)
    wa = min(RECIPE["weight_averaging"]["last_epochs"], base["max_epochs"])
    ea = EuclideanAlignment(shrinkage=RECIPE["euclidean_alignment"]["shrinkage"])
    n_members = RECIPE["seed_ensemble"]["n_members"]
    if row == "base":
        return net
    if row == "+augment":
        return net.set_params(augmentation=augmentation(ch_names))
    if row == "+EA":
        return chain(ea, net)
    if row == "+label_smoothing":
        return net.set_params(label_smoothing=RECIPE["label_smoothing"]["value"])
    if row == "+weight_averaging":
        return net.set_params(weight_averaging=wa)
    if row == "+early_stopping":
        es = RECIPE["early_stopping"]
        return net.set_params(validation_fraction=es["validation_fraction"],
                              early_stopping=True, patience=es["patience"])
    if row == "+seed_ensemble":
        return SeedEnsemble(net, n_members=n_members, random_state=seed)
    if row == "all":
        net.set_params(augmentation=augmentation(ch_names),
                       label_smoothing=RECIPE["label_smoothing"]["value"], weight_averaging=wa)
        return chain(ea, SeedEnsemble(net, n_members=n_members, random_state=seed))
    raise ValueError(f"unknown row {row!r}; rows: {ROWS}")


def load(paradigm: str):
    """Trials in microvolts ``(n, 64, n_times)``, integer labels, class names, channels."""
    from moabb.datasets import PhysionetMI
    from moabb.paradigms import LeftRightImagery, MotorImagery

    if paradigm == "left_right":
        par = LeftRightImagery(fmin=8.0, fmax=32.0)
    elif paradigm == "four_class":  # MotorImagery(n_classes=4) alone also keeps 'rest'
        par = MotorImagery(events=["left_hand", "right_hand", "feet", "hands"], n_classes=4,
                           fmin=8.0, fmax=32.0)
    else:
        par = MotorImagery(n_classes=5, fmin=8.0, fmax=32.0)
    epochs, labels, _ = par.get_data(PhysionetMI(imagined=True), [1], return_epochs=True)
    if abs(epochs.info["sfreq"] - SFREQ) > 1e-6:
        raise ValueError(f"expected {SFREQ} Hz, got {epochs.info['sfreq']}")
    X = epochs.get_data(units="uV").astype(np.float32)
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    return X, y, [str(c) for c in classes], list(epochs.ch_names)


def score_row(row, seeds, X, y, ch_names, folds, max_epochs, paradigm):
    """Fold scores and fit seconds of one row for each seed."""
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    cv = StratifiedKFold(folds, shuffle=True, random_state=42)
    out = {}
    for seed in ([0] if row in PEERS else seeds):
        scores, fit_s = [], []
        for train, test in cv.split(X, y):
            pipe = make_pipeline(row, seed, ch_names, max_epochs)
            t0 = time.perf_counter()
            pipe.fit(X[train], y[train])
            fit_s.append(time.perf_counter() - t0)
            if paradigm == "left_right":
                scores.append(roc_auc_score(y[test], pipe.predict_proba(X[test])[:, 1]))
            else:
                scores.append(accuracy_score(y[test], pipe.predict(X[test])))
        out[str(seed)] = {"fold_scores": [round(float(s), 4) for s in scores],
                          "fit_seconds": [round(float(s), 2) for s in fit_s]}
        print(f"{row:>18} seed {seed}: {np.mean(scores):.3f} "
              f"(fit {np.mean(fit_s):.1f} s/fold)", flush=True)
    return out


def summarise(cache: dict) -> dict:
    """Mean and spread of each cached row (over seeds and over folds)."""
    table = {}
    for row in ROWS:
        if row not in cache:
            continue
        per_seed = cache[row]["seeds"]
        seed_means = [float(np.mean(v["fold_scores"])) for v in per_seed.values()]
        folds = np.array([v["fold_scores"] for v in per_seed.values()])
        fit = float(np.mean([np.mean(v["fit_seconds"]) for v in per_seed.values()]))
        table[row] = {"mean": round(float(np.mean(seed_means)), 4),
                      "sd_over_seeds": round(float(np.std(seed_means, ddof=1)), 4)
                      if len(seed_means) > 1 else None,
                      "sd_over_folds": round(float(np.mean(folds.std(axis=1, ddof=1))), 4),
                      "n_seeds": len(seed_means),
                      "seed_means": {k: round(m, 4) for k, m in zip(per_seed, seed_means)},
                      "fit_seconds_per_fold": round(fit, 2)}
    return compare_to_peer(table)


def compare_to_peer(table: dict) -> dict:
    """Add each row's fit cost and score difference against the TS+LR row, in place."""
    if "TS+LR" in table:
        ref = table["TS+LR"]
        for entry in table.values():
            entry["fit_cost_vs_TS+LR"] = round(entry["fit_seconds_per_fold"]
                                               / max(ref["fit_seconds_per_fold"], 1e-9), 1)
            entry["minus_TS+LR"] = round(entry["mean"] - ref["mean"], 4)
    return table


def use_shared_recordings() -> bool:
    """Point MOABB/MNE at ../shared/data (this script's process only); False if absent."""
    if not (SHARED / "mne_data").is_dir():
        print(f"real recordings not found at {SHARED}", file=sys.stderr)
        return False
    os.environ.update(MNE_DATA=str(SHARED / "mne_data"),
                      MNE_DATASETS_EEGBCI_PATH=str(SHARED / "mne_data"),
                      MOABB_DOWNLOAD_PROVIDER="upstream")
    os.environ.setdefault("HOME", "/tmp")
    return True


def plot(table: dict, path: Path, *, xlabel: str, title: str, highlight) -> None:
    """Horizontal bars: mean +- sd over seeds, dots = seeds, the TS+LR level dashed.

    ``highlight(row)`` is True for the rows drawn green (peers grey, others ``blue``);
    the cost printed at the right is ``fit_plus_selection_vs_TS+LR`` where a row has it,
    else ``fit_cost_vs_TS+LR``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(table)
    means = [table[r]["mean"] for r in rows]
    err = [table[r]["sd_over_seeds"] or 0.0 for r in rows]
    colors = ["tab:gray" if r in PEERS else "tab:green" if highlight(r) else "tab:blue"
              for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5))
    ax.barh(range(len(rows)), means, xerr=err, color=colors, capsize=3, alpha=0.8)
    for i, r in enumerate(rows):
        dots = list(table[r]["seed_means"].values())
        ax.plot(dots, [i] * len(dots), "k.", ms=4)
        cost = table[r].get("fit_plus_selection_vs_TS+LR", table[r].get("fit_cost_vs_TS+LR"))
        ax.text(1.005, i, f"{means[i]:.3f}" + (f"  {cost:g}x" if cost is not None else ""),
                va="center", fontsize=8, transform=ax.get_yaxis_transform())
    if "TS+LR" in table:
        ax.axvline(table["TS+LR"]["mean"], color="k", ls="--", lw=1, label="TS+LR")
        ax.legend(loc="lower left")
    ax.set_yticks(range(len(rows)), rows)
    ax.invert_yaxis()
    low = min(min(table[r]["seed_means"].values()) for r in rows) - 0.05
    ax.set_xlim(max(0.0, low), 1.0)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="*", default=ROWS, choices=ROWS,
                        help="rows to (re)score; none: only rebuild the JSON/PNG from the cache")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--paradigm", choices=["left_right", "four_class", "five_class"],
                        default="left_right")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="override every neural row's epochs (smoke runs only)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if not use_shared_recordings():
        return 1
    import torch

    import neuroattn

    torch.set_num_threads(args.threads)
    smoke = args.folds != 5 or args.max_epochs is not None
    tag = ("" if args.paradigm == "left_right" else f"_{args.paradigm}")
    tag += "_smoke" if smoke else ""
    cache_dir = RESULTS / "mi_recipe"
    cache_dir.mkdir(parents=True, exist_ok=True)
    X, y, classes, ch_names = load(args.paradigm)
    print(f"{X.shape[0]} trials {X.shape[1:]} classes {classes}", flush=True)
    for row in args.rows:
        t0 = time.perf_counter()
        seeds = score_row(row, args.seeds, X, y, ch_names, args.folds, args.max_epochs,
                          args.paradigm)
        safe = row.replace("+", "plus_")
        path = cache_dir / f"{args.paradigm}{'_smoke' if smoke else ''}_{safe}.json"
        entry = {"row": row, "seeds": {}, "wall_seconds": 0.0, "folds": args.folds,
                 "max_epochs_override": args.max_epochs}
        if path.exists():  # more seeds for a row add to those already scored
            entry = json.loads(path.read_text())
        entry["seeds"].update(seeds)
        entry["wall_seconds"] = round(entry["wall_seconds"] + time.perf_counter() - t0, 1)
        path.write_text(json.dumps(entry, indent=1))
    cache = {}
    for row in ROWS:
        safe = row.replace("+", "plus_")
        path = cache_dir / f"{args.paradigm}{'_smoke' if smoke else ''}_{safe}.json"
        if path.exists():
            cache[row] = json.loads(path.read_text())
    metric = "ROC AUC" if args.paradigm == "left_right" else "accuracy"
    table = summarise(cache)
    out = {
        "benchmark": f"EEGMMIDB (PhysionetMI) subject 1, {args.paradigm.replace('_', ' ')} "
                     f"imagery, 8-32 Hz, 0-3 s, {len(y)} trials, {metric}",
        "folds": f"StratifiedKFold({args.folds}, shuffle=True, random_state=42), the same "
                 "folds for every row and seed",
        "seeds": "neural rows: the seeds in each row's seed_means (random_state of the net; "
                 "of the ensemble's draw of member seeds for ensembles); peers are "
                 "deterministic (one run)",
        "spread": "sd_over_seeds: sd of the per-seed 5-fold means; sd_over_folds: mean over "
                  "seeds of the sd across folds",
        "recipe": RECIPE,
        "rows": table,
        "commands": COMMANDS[args.paradigm] if not smoke else [" ".join(sys.argv)],
        "versions": {"neuroattn": neuroattn.__version__, "torch": torch.__version__,
                     "python": platform.python_version()},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "threads": args.threads, "note": "2 cores shared with other jobs: "
                    "fit times are indicative, ratios more so than seconds"},
    }
    json_path = RESULTS / f"bench_mi_recipe{tag}.json"
    json_path.write_text(json.dumps(out, indent=1))
    if table:
        plot(table, RESULTS / f"bench_mi_recipe{tag}.png",
             xlabel=f"{metric}: bar = mean over seeds of the 5-fold mean, whisker = sd over "
                    "seeds, dots = seeds\n(right: mean, and fit time per fold relative to "
                    "TS+LR)",
             title="EEGMMIDB subject 1: recipe ablation, the same folds for every row",
             highlight=lambda row: row.startswith("TA"))
    for row, entry in table.items():
        sd = entry["sd_over_seeds"]
        print(f"{row:>18}: {entry['mean']:.3f} +- {sd if sd is not None else 0:.3f} "
              f"(folds sd {entry['sd_over_folds']:.3f}, fit {entry['fit_seconds_per_fold']} s)")
    print(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
