"""SSVEP pipelines on Kalunga2016 (subjects 1-8, offline): accuracy and ITR against window.

Every shipped SSVEP pipeline (CCA, TRCA, MsetCCA, filter-bank tangent space, the sub-band
DNN and its two-stage variant) through ``neuroattn.benchmark.run``: the same trials and
folds for all, within-session (5-fold) and leave-one-subject-out (the duplicated
recording of subjects 3 and 7 left out of training, see the notes), at 0.5, 1, 2 and 4 s
windows. Windows start 1 s after the cue (``tmin=-1`` from Kalunga2016's task interval,
which starts 2 s after it) so that the 4-s window ends with the 5-s stimulation; the
DNN's ``window_seconds`` is set to the window. ITR: Wolpaw bits/min with the window plus
a gaze-shift time (``--gaze-shift``, default 0.5 s), 3 targets.

Needs MNE_DATA pointing at MOABB's cache (../shared/data/mne_data here),
MOABB_DOWNLOAD_PROVIDER=upstream and a writable HOME. ``--quick``: subjects 1 and 3, the
1-s window, the DNNs at 2 epochs (a check that it runs, not a result).

    python benchmarks/bench_ssvep.py [--quick] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import logging
import time

import pandas as pd

from neuroattn.benchmark import (
    default_pipelines,
    load_pipelines,
    pipeline_paradigms,
    run,
    save_results,
)

WINDOWS = (0.5, 1.0, 2.0, 4.0)
START = -1.0  # seconds from Kalunga2016's task interval start (cue + 2 s)
EVALUATIONS = ("within_session", "cross_subject")


def itr(accuracy: float, n_targets: int, seconds: float) -> float:
    """Wolpaw ITR in bits/min (H13's ``neuroattn.metrics.ssvep.itr_bits_per_minute``)."""
    from neuroattn.metrics.ssvep import itr_bits_per_minute

    return float(itr_bits_per_minute(accuracy, n_targets, seconds))


def pipelines(window: float, dnn_epochs: int | None) -> dict:
    pipes = load_pipelines(names=list(default_pipelines("ssvep")))
    for pipe in pipes.values():
        params = pipe.get_params()
        for key in params:
            if key.endswith("__window_seconds"):
                pipe.set_params(**{key: window})
            if dnn_epochs is not None and key.endswith("__max_epochs") \
                    and key.count("__") == 1:
                pipe.set_params(**{key: dnn_epochs})
            if dnn_epochs is not None and key.endswith("__finetune_max_epochs"):
                pipe.set_params(**{key: dnn_epochs})
    return pipes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--gaze-shift", type=float, default=0.5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    subjects = [1, 3] if args.quick else list(range(1, 9))
    windows = (1.0,) if args.quick else WINDOWS
    dnn_epochs = 2 if args.quick else None
    rows, notes, seconds = [], set(), {}
    for window in windows:
        for evaluation in EVALUATIONS:
            start = time.perf_counter()
            result = run(pipelines(window, dnn_epochs), ["Kalunga2016"], paradigm="ssvep",
                         evaluation=evaluation, subjects=subjects, baseline=None,
                         paradigm_kwargs={"tmin": START, "tmax": START + window},
                         declared_paradigms=pipeline_paradigms(), verbose=0)
            seconds[f"{evaluation}@{window}"] = time.perf_counter() - start
            notes |= set(result.notes)
            res = result.results.assign(window_seconds=window, evaluation=evaluation)
            rows.append(res)
            print(f"\n{window} s, {evaluation}\n{result.table}", flush=True)
    scores = pd.concat(rows, ignore_index=True)
    summary = (scores.groupby(["evaluation", "window_seconds", "pipeline"])["score"]
               .agg(["mean", "std", "count"]).reset_index()
               .rename(columns={"mean": "accuracy", "std": "accuracy_std", "count": "n"}))
    summary["itr_bits_per_min"] = [
        itr(a, 3, w + args.gaze_shift)
        for a, w in zip(summary["accuracy"], summary["window_seconds"])]
    print("\n" + summary.to_string(index=False))
    save_results(summary, args.out, "bench_ssvep",
                 extra_json={"subjects": subjects, "windows": list(windows),
                             "window_start_after_cue_seconds": 2.0 + START,
                             "gaze_shift_seconds": args.gaze_shift, "n_targets": 3,
                             "quick": args.quick, "notes": sorted(notes),
                             "seconds": seconds,
                             "per_subject": scores[["evaluation", "window_seconds",
                                                    "pipeline", "subject", "session",
                                                    "score"]].to_dict("records")})


if __name__ == "__main__":
    main()
