"""``neuroattn seizure evaluate DATA_DIR``: forecasting over a folder of patients.

Registered by :mod:`neuroattn.commands.seizure` (one action of ``neuroattn seizure``).
Windows every patient with one declared montage, runs leave-one-seizure-out per
patient and/or leave-one-patient-out (:func:`neuroattn.benchmark.seizure_cohort.
evaluate_cohort`) for STAN and the band-power baseline under one alarm rule, and
writes into ``--out``: ``scores.csv`` / ``scores.json`` (one row per patient, fold and
method), ``pooled.csv`` / ``pooled.json`` (summed over patients), ``timelines/`` (an
alarm-timeline PNG per scheme and patient) and ``records/`` (one file per finished
fold: a rerun continues from them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import (
    Interrupted,
    Outputs,
    add_device,
    add_n_jobs,
    add_overwrite,
    add_seed,
    add_threads,
    add_verbosity,
    fraction,
    nonnegative_float,
    output_dir,
    positive_int,
    require_existing,
    set_threads,
)

EVALUATE_HELP = ("evaluate forecasting over a folder of patients (CHB-MIT layout or BIDS): "
        "leave-one-seizure-out per patient and/or leave-one-patient-out")
_RESULTS = ("scores.csv", "scores.json", "pooled.csv", "pooled.json")


def add_evaluate(sub: argparse._SubParsersAction, labelling) -> None:
    """Add the ``evaluate`` action to ``neuroattn seizure``'s subparsers.

    ``labelling`` adds the windowing and labelling flags of ``seizure window``.
    """
    p = sub.add_parser("evaluate", help=EVALUATE_HELP)
    p.add_argument("data_dir", metavar="DATA_DIR",
                   help="folder of patients: chbNN/chbNN-summary.txt with the EDF files, "
                        "or BIDS sub-*/ with *_events.tsv")
    require_existing(p, "data_dir", kind="folder")
    p.add_argument("--out", required=True, help="output folder (scores, pooled figures, "
                   "timelines/, records/ of finished folds)")
    add_overwrite(p, "the results and fold records of an earlier evaluation in --out")
    p.add_argument("--scheme", choices=("loso", "lopo", "both"), default="both",
                   help="leave-one-seizure-out per patient, leave-one-patient-out, or "
                        "both (default)")
    labelling(p)
    p.add_argument("--model", default="stan",
                   help="registry name of the forecaster's model (default stan)")
    p.add_argument("--size", choices=("small", "full"), default="small",
                   help="STAN size: 'small' (width 16, one block, cosine schedule: trained "
                        "once per fold on a CPU; the default) or 'full' (the estimator's "
                        "defaults, 2.3 M parameters, for a GPU)")
    p.add_argument("--max-epochs", type=positive_int, default=5, help="(default 5)")
    p.add_argument("--adversarial-weight", type=nonnegative_float,
                   help="critic weight (default: the forecaster's, 0.05)")
    p.add_argument("--max-windows", type=positive_int, default=300,
                   help="training windows per patient and class (default 300)")
    p.add_argument("--fine-tune", type=positive_int, metavar="EPOCHS",
                   help="lopo: also adapt each model with the held-out patient's first "
                        "seizure and first interictal half-hour for EPOCHS epochs")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--no-baseline", action="store_true",
                       help="leave out the band-power + line-length baseline")
    which.add_argument("--baseline-only", action="store_true",
                       help="only the baseline (no neural training: a quick first look)")
    p.add_argument("--smoothing", choices=("mean", "k_of_n"), default="k_of_n")
    p.add_argument("--smoothing-seconds", type=nonnegative_float, default=300.0)
    p.add_argument("--min-fraction", type=fraction, default=0.7)
    p.add_argument("--threshold", type=fraction, default=0.5)
    p.add_argument("--refractory", type=nonnegative_float,
                   help="refractory period, s (default: --sop)")
    add_device(p)
    add_n_jobs(p, "folds")
    add_threads(p)
    add_seed(p)
    add_verbosity(p, default=1)


def _methods(args, sfreq: float) -> dict:
    from ..estimators.seizure import SeizureForecaster, band_power_baseline

    given = {"adversarial_weight": args.adversarial_weight}
    if args.model == "stan" and args.size == "small":  # trained once per fold
        given.update(model__embed_dim=16, model__n_heads=2, model__depth=1,
                     model__spectral_smoothing=9, model__drop_path_prob=0.0,
                     lr_scheduler="cosine", batch_size=32, lr=3e-3)
    est = SeizureForecaster(args.model, max_epochs=args.max_epochs, device=args.device,
                            random_state=args.seed, sop_seconds=args.sop,
                            **{k: v for k, v in given.items() if v is not None})
    methods = {} if args.baseline_only else {args.model: est}
    if not args.no_baseline:
        methods["baseline"] = band_power_baseline(sfreq, random_state=args.seed)
    return methods


def _timelines(result: dict, folder: Path, outputs: Outputs, sop: float, sph: float) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    from ..viz.seizure import plot_alarm_timeline

    rule_args = result["alarm_rule"]
    from ..estimators.seizure import SeizureForecaster

    rule = SeizureForecaster(**rule_args)
    method = result["methods"][0]
    for patient in dict.fromkeys(f["patient"] for f in result["folds"]):
        folds = [f for f in result["folds"] if f["patient"] == patient]
        traces = sorted((t for f in folds for t in f["methods"][method]["traces"]),
                        key=lambda t: t["span"][0])
        times, probs, alarms = [], [], []
        for t in traces:
            _, a = rule.alarms_from_proba(t["times"], t["probability"])
            keep = (t["times"] + t["start"] >= t["span"][0]) & (
                t["times"] + t["start"] <= t["span"][1])
            if not keep.any():
                continue
            clock = t["times"][keep] + t["start"]
            # a NaN probability just after each file breaks the line across the gap
            times += [*clock, clock[-1] + 1e-3]
            probs += [*t["probability"][keep], np.nan]
            a = a + t["start"]
            alarms += a[(a >= t["span"][0]) & (a <= t["span"][1])].tolist()
        seizures = sorted({tuple(s) for f in folds for sp in f["spans"].values()
                           for s in sp["seizures"]})
        fig = plot_alarm_timeline(np.asarray(times), np.asarray(probs),
                                  threshold=rule.threshold, alarms=alarms,
                                  seizures=seizures, sph_seconds=sph, sop_seconds=sop,
                                  title=f"{patient}: {method}, {result['scheme']} "
                                        "(clock time, gaps between files blank)")
        try:
            fig.savefig(outputs.file(folder / f"{result['scheme']}_{patient}.png"), dpi=90)
        finally:
            plt.close(fig)


def run_evaluate(args: argparse.Namespace, channels) -> int:
    """The ``evaluate`` action; ``channels(args, recordings)`` picks the montage."""
    import tempfile

    import pandas as pd

    from ..benchmark._cohort_data import read_cohort
    from ..benchmark._resume import count_records
    from ..benchmark.seizure_cohort import cohort_table, evaluate_cohort, pooled_metrics
    from ..data.seizure import extract_windows
    from ..estimators.seizure import SeizureForecaster

    schemes = ["loso", "lopo"] if args.scheme == "both" else [args.scheme]
    with output_dir(args.out) as out:
        done = [out / n for n in _RESULTS if (out / n).exists()]
        if done and not args.overwrite:
            raise ValueError(f"--out {out} holds the results of a finished evaluation "
                             f"({', '.join(p.name for p in done)}); pass --overwrite to "
                             "evaluate again, or choose another folder.")
        recs = read_cohort(args.data_dir)
        set_threads(args.threads)
        rule = SeizureForecaster(smoothing=args.smoothing,
                                 smoothing_seconds=args.smoothing_seconds,
                                 min_fraction=args.min_fraction, threshold=args.threshold,
                                 refractory_seconds=args.refractory, sop_seconds=args.sop)
        rule._check_alarm_params()
        names = channels(args, recs)
        with tempfile.TemporaryDirectory(dir=out, prefix=".windows-") as tmp:
            windows = extract_windows(
                recs, window_seconds=args.window, ch_names=names, sfreq=args.sfreq,
                l_freq=args.l_freq, h_freq=args.h_freq, sph_seconds=args.sph,
                sop_seconds=args.sop, min_interictal_seconds=args.min_interictal,
                postictal_seconds=args.postictal, out=Path(tmp) / "X.npy")
            methods = _methods(args, windows.sfreq)
            tables, results = [], []
            for scheme in schemes:
                folder = out / "records" / scheme
                n_done = 0 if args.overwrite else count_records(folder)
                if n_done and args.verbose:
                    print(f"{scheme}: {n_done} fold(s) already finished in {folder}, "
                          "continuing with the next")
                fine = ({"max_epochs": args.fine_tune} if args.fine_tune and scheme == "lopo"
                        else None)
                try:
                    res = evaluate_cohort(windows, methods, scheme=scheme, alarm_rule=rule,
                                          fine_tune=fine, max_windows_per_class=args.max_windows,
                                          checkpoint_dir=folder, overwrite=args.overwrite,
                                          n_jobs=args.n_jobs, random_state=args.seed or 0,
                                          verbose=args.verbose)
                except KeyboardInterrupt:
                    raise Interrupted(
                        f"{count_records(folder)} finished fold(s) kept in {folder}; no "
                        "results file written: run the same command to continue") from None
                results.append(res)
                tables.append(cohort_table(res))
            del windows
        table = pd.concat(tables, ignore_index=True)
        pooled = pooled_metrics(table)
        with Outputs(overwrite=args.overwrite) as outputs:
            table.to_csv(outputs.file(out / "scores.csv"), index=False)
            outputs.file(out / "scores.json").write_text(
                table.to_json(orient="records", indent=1))
            pooled.to_csv(outputs.file(out / "pooled.csv"), index=False)
            outputs.file(out / "pooled.json").write_text(json.dumps(
                {"pooled": json.loads(pooled.to_json(orient="records")),
                 "alarm_rule": results[0]["alarm_rule"],
                 "labelling": results[0]["labelling"]}, indent=1))
            (out / "timelines").mkdir(exist_ok=True)
            for res in results:
                _timelines(res, out / "timelines", outputs, args.sop, args.sph)
    if args.verbose:
        cols = ["scheme", "method", "span", "patients", "n_seizures", "sensitivity",
                "false_alarms_per_hour", "mean_window_auc", "significant_patients"]
        print(pooled[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        print(f"wrote {out / 'scores.csv'}, pooled.csv and timelines/ in {out}")
    return 0
