"""FB-TSprior+CWT (electrode-x-band attention, tangent space, readout started at FB-TS+LR)
beside the classical SSVEP pipelines on Kalunga2016, with seeds, through bench_ssvep.py.

``bench_ssvep.py``'s run (same windows, folds -- ``run``'s ``random_state`` --, resume,
JSON/CSV/PNG), with ``FB-TSprior+CWT-seedN`` pipelines added: the shipped
``FB-TSprior+CWT`` YAML with the network's ``random_state`` set to ``N`` (``--seeds``),
all in the same MOABB run as the peers. Writes ``<out>/bench_ssvep.*`` (default
``benchmarks/results/ssvep_attention``; never the main ``benchmarks/results``).

``table``: the seeds' mean and spread per window, the fit-time ratio to FB-TS+LR, and
the gap to the best classical pipeline at each window, those of the main
``benchmarks/results/bench_ssvep.json`` (FB-TS+LR-crop, TRCA, MsetCCA) included when its
FB-TS+LR per-subject scores equal this run's (the same folds); writes
``<out>/table.json`` / ``table.csv``.

``--crop``: ``FB-TSprior+CWT-crop-seedN`` instead, the same pipeline (``CROP_EPOCHS``
epochs) in bench_ssvep's ``StridedCropClassifier`` (window-long crops 0.25 s apart of the
4-s training trials, the first window of each test trial), as ``FB-TS+LR-crop``; written
to ``<out>/crop/``.

``select``: the recipe check that froze the YAML, on subject 1 only, inner repeated
5-fold splits (``random_state=123``, not the benchmark's folds), 1- and 2-s windows.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/bench_ssvep_attention.py \
        --seeds 0 1 2 --pipelines FB-TS+LR CCA --no-memory --no-reference \
        --evaluations within_session
    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/bench_ssvep_attention.py --crop \
        --seeds 0 --pipelines --no-memory --no-reference --evaluations within_session
    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/bench_ssvep_attention.py select
    python benchmarks/bench_ssvep_attention.py table
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_ssvep  # noqa: E402

NAME = "FB-TSprior+CWT"
OUT = "benchmarks/results/ssvep_attention"
_base_pipelines = bench_ssvep.pipelines
_base_declared = bench_ssvep.declared


#: Epochs of the crop variant: about the optimizer steps of the frozen recipe (30 epochs on
#: one window per trial), the crops being 13-15 times more samples (set a priori, not tuned).
CROP_EPOCHS = 3


def _seed_of(name: str) -> int | None:
    return int(name.rsplit("-seed", 1)[1]) if name.startswith(NAME + "-") \
        and "-seed" in name else None


def pipelines(window: float, dnn_epochs: int | None, names: list[str] | None = None) -> dict:
    """bench_ssvep's pipelines, ``FB-TSprior+CWT-seedN`` built from the YAML with seed N."""
    names = list(names or bench_ssvep.DEFAULT)
    plain = [n for n in names if _seed_of(n) is None]
    out = _base_pipelines(window, dnn_epochs, plain) if plain else {}
    for name in names:
        seed = _seed_of(name)
        if seed is not None:
            pipe = _base_pipelines(window, dnn_epochs, [NAME])[NAME]
            key = next(k for k in pipe.get_params() if k.endswith("estimator__random_state"))
            pipe.set_params(**{key: seed})
            if name.startswith(NAME + "-crop"):
                from neuroattn.estimators._ssvep_crops import StridedCropClassifier

                pipe.set_params(**{key.replace("random_state", "max_epochs"): CROP_EPOCHS})
                pipe = StridedCropClassifier(pipe, crop_seconds=window, sfreq=256.0,
                                             stride_seconds=0.25)
            out[name] = pipe
    return {n: out[n] for n in names}


def declared() -> dict:
    table = _base_declared()
    return {**table, **{f"{NAME}{c}-seed{s}": table[NAME] for s in range(100)
                        for c in ("", "-crop")}}


def select(windows=(1.0, 2.0)) -> dict:
    """Accuracy of recipe variants on subject 1 (inner splits only); writes the JSON."""
    from sklearn.base import clone
    from sklearn.model_selection import RepeatedStratifiedKFold

    from neuroattn.benchmark._ssvep import job_paradigms, ssvep_classes
    from neuroattn.data.moabb import get_dataset
    from neuroattn.estimators._tangent_prior import _covariances, _tangent

    pre = "tangentpriorclassifier_1__estimator__"
    aug = [{"name": "ft_surrogate", "phase_noise": 1.0, "probability": 0.5},
           {"name": "smooth_time_mask", "mask_samples": 32, "probability": 0.5}]
    variants = {"as_is": {}, "static_gate": {pre + "model__hidden": 0},
                "lr3e-3": {pre + "lr": 3e-3}, "wd1": {pre + "weight_decay": 1.0},
                "aug": {pre + "augmentation": aug}}
    dataset = get_dataset("Kalunga2016", [1])
    result = {}
    for window in windows:
        base = _base_pipelines(window, None, [NAME])[NAME]
        kwargs, _ = ssvep_classes(
            "ssvep", {"tmin": bench_ssvep.START, "tmax": bench_ssvep.START + window},
            [dataset])
        para = job_paradigms({NAME: base}, _base_declared(), "ssvep", kwargs)[NAME]
        X, y, _ = para.get_data(dataset, subjects=[1])
        acc = {k: [] for k in [*variants, "prior_only"]}
        cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=123)
        for train, test in cv.split(X, y):
            for name, params in variants.items():
                pipe = clone(base).set_params(**params).fit(X[train], y[train])
                acc[name].append(float((pipe.predict(X[test]) == y[test]).mean()))
                if name == "as_is":
                    clf = pipe.steps[-1][1]
                    vec = _tangent(_covariances(pipe.steps[0][1].transform(X[test])),
                                   clf.reference_)
                    acc["prior_only"].append(
                        float((clf.prior_.predict(vec) == y[test]).mean()))
        result[str(window)] = {k: float(np.mean(v)) for k, v in acc.items()}
        print(window, result[str(window)], flush=True)
    path = Path(OUT) / "select_subject1.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"command": "OMP_NUM_THREADS=1 nice -n 5 python "
                                + " ".join(sys.argv), "subject": 1,
                                "cv": "RepeatedStratifiedKFold(5, 2, random_state=123)",
                                "variants": {k: {kk.replace(pre, ""): vv
                                                 for kk, vv in v.items()}
                                             for k, v in variants.items()},
                                "accuracy": result}, indent=1))
    return result


def table(out: str = OUT, main_json: str = "benchmarks/results/bench_ssvep.json"):
    """Seed-averaged table against the classical pipelines (see the module docstring)."""
    import pandas as pd

    mine = json.loads((Path(out) / "bench_ssvep.json").read_text())
    scores = pd.DataFrame(mine["per_subject"])
    if (Path(out) / "crop" / "bench_ssvep.json").exists():  # the --crop run, same folds
        crop = json.loads((Path(out) / "crop" / "bench_ssvep.json").read_text())
        crop = pd.DataFrame(crop["per_subject"])
        scores = pd.concat([scores, crop[crop.pipeline.str.startswith(NAME)]])
    keys = ["evaluation", "window_seconds", "subject", "session"]
    same_folds = {}
    if Path(main_json).exists():
        other = pd.DataFrame(json.loads(Path(main_json).read_text())["per_subject"])
        ref = scores[scores.pipeline == "FB-TS+LR"].set_index(keys)["score"]
        oref = other[other.pipeline == "FB-TS+LR"].set_index(keys)["score"]
        both = ref.index.intersection(oref.index)
        for ev, win in {k[:2] for k in both}:
            idx = [k for k in both if k[:2] == (ev, win)]
            same = len(idx) == len(ref.loc[ev, win]) and np.allclose(ref[idx], oref[idx])
            same_folds[(ev, win)] = bool(same)
        extra = other[~other.pipeline.isin(scores.pipeline.unique())]
        extra = extra[[same_folds.get((e, w), False)
                       for e, w in zip(extra.evaluation, extra.window_seconds)]]
        scores = pd.concat([scores, extra.assign(pipeline=extra.pipeline + " (main run)")])
    scores["family"] = [n.rsplit("-seed", 1)[0] if n.startswith(NAME) else n
                        for n in scores.pipeline]
    # per seed: mean over subjects/sessions; then mean and spread over seeds
    per_seed = scores.groupby(["evaluation", "window_seconds", "family", "pipeline"]).agg(
        accuracy=("score", "mean"), fit_seconds=("time", "mean")).reset_index()
    rows = per_seed.groupby(["evaluation", "window_seconds", "family"]).agg(
        accuracy=("accuracy", "mean"), seed_sd=("accuracy", "std"),
        n_seeds=("accuracy", "count"), fit_seconds=("fit_seconds", "mean")).reset_index()
    subj_sd = scores.groupby(["evaluation", "window_seconds", "family", "subject",
                              "session"])["score"].mean().groupby(
        ["evaluation", "window_seconds", "family"]).std()
    rows["subject_sd"] = [subj_sd[(e, w, f)] for e, w, f in
                          zip(rows.evaluation, rows.window_seconds, rows.family)]
    rows["itr_bits_per_min"] = [bench_ssvep.itr(a, 3, w + 0.5) for a, w in
                                zip(rows.accuracy, rows.window_seconds)]
    fb = rows[rows.family == "FB-TS+LR"].set_index(["evaluation", "window_seconds"])
    rows["fit_vs_fb_ts_lr"] = [f / fb.fit_seconds.get((e, w), np.nan) for e, w, f in
                               zip(rows.evaluation, rows.window_seconds, rows.fit_seconds)]
    gaps = []
    for (ev, win), part in rows.groupby(["evaluation", "window_seconds"]):
        classical = part[~part.family.str.startswith(NAME) & ~part.family.str.contains("DNN")]
        best = classical.loc[classical.accuracy.idxmax()]
        for _, att in part[part.family.str.startswith(NAME)].iterrows():
            gaps.append({"evaluation": ev, "window_seconds": win, "pipeline": att.family,
                         "attention": float(att.accuracy),
                         "best_classical": best.family,
                         "best_classical_accuracy": float(best.accuracy),
                         "gap": float(att.accuracy - best.accuracy),
                         "same_folds_as_main_run": same_folds.get((ev, win))})
    rows.to_csv(Path(out) / "table.csv", index=False)
    (Path(out) / "table.json").write_text(json.dumps(
        {"command": "python " + " ".join(sys.argv), "source": str(Path(out) /
                                                                "bench_ssvep.json"),
         "main_run": main_json, "table": rows.to_dict("records"), "aim": gaps}, indent=1))
    print(rows.to_string(index=False))
    print(pd.DataFrame(gaps).to_string(index=False))
    return rows


def main() -> None:
    if sys.argv[1:2] == ["select"]:
        select()
        return
    if sys.argv[1:2] == ["table"]:
        table()
        return
    argv = sys.argv[1:]
    seeds, crop = [0], "--crop" in argv
    argv = [a for a in argv if a != "--crop"]
    if "--seeds" in argv:
        i = argv.index("--seeds")
        j = i + 1
        while j < len(argv) and not argv[j].startswith("--"):
            j += 1
        seeds = [int(s) for s in argv[i + 1:j]]
        argv = argv[:i] + argv[j:]
    cwt = [f"{NAME}{'-crop' if crop else ''}-seed{s}" for s in seeds]
    if "--pipelines" in argv:
        i = argv.index("--pipelines")
        argv[i + 1:i + 1] = cwt
    else:
        argv += ["--pipelines", *cwt, "FB-TS+LR", "CCA"]
    if "--out" not in argv:
        argv += ["--out", OUT + ("/crop" if crop else "")]
    bench_ssvep.pipelines = pipelines
    bench_ssvep.declared = declared
    sys.argv = [sys.argv[0], *argv]
    bench_ssvep.main()


if __name__ == "__main__":
    main()
