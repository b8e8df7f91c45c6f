"""Patient-independent seizure forecasting on a simulated cohort: STAN vs the baseline.

Simulates 6 patients that differ (focus channels, amplitudes, preictal signature,
seizure durations, one at 256 Hz, CHB-MIT quirks; 3 seizures and 2.5 interictal hours
each: 15 h in all) with :func:`neuroattn.data.simulate.simulate_seizure_cohort`,
windows them with the declared 18-channel montage at 128 Hz (SPH 5 min, SOP 15 min,
interictal >= 4 h from seizures, 30 min postictal), and runs
:func:`neuroattn.benchmark.seizure_cohort.evaluate_cohort`:

* leave-one-patient-out (``lopo``): a small STAN with the critic (``stan``), the same
  without it (``stan_nocritic``, ``adversarial_weight=0``; same folds, same training
  windows, same seeds) and the band-power + line-length baseline, trained on the other
  5 patients (windows balanced across patients and classes), each also fine-tuned on
  the held-out patient's first seizure and first interictal half-hour (``+ft``);
* per-patient leave-one-seizure-out (``loso``) with the same three methods.

Every method's alarms come from one rule (the forecaster's default: 70 % of the
windows of 5 min above 0.5, 15 min refractory). Writes
``benchmarks/results/seizure_cohort.json`` (pooled and per-patient tables),
``seizure_cohort_scores.csv`` and ``seizure_cohort_<scheme>_<patient>.png`` timelines
(first patient). Usage::

    OMP_NUM_THREADS=1 python benchmarks/seizure_cohort.py [--epochs 4] [--seed 0]
        [--patients 6] [--max-windows 200] [--data DIR] [--tag NAME] [--checkpoint DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from neuroattn.benchmark.seizure_cohort import cohort_table, evaluate_cohort, pooled_metrics
from neuroattn.data.seizure import extract_windows, read_chbmit_summary
from neuroattn.data.simulate import CHBMIT_CHANNELS, simulate_seizure_cohort
from neuroattn.estimators.seizure import SeizureForecaster, band_power_baseline

RESULTS = Path(__file__).resolve().parent / "results"
#: The small STAN of ``seizure_forecasting.py --small`` (about 20 k parameters).
SMALL = dict(model__embed_dim=16, model__n_heads=2, model__depth=1,
             model__spectral_smoothing=9, model__drop_path_prob=0.0, lr=3e-3,
             lr_scheduler="cosine", batch_size=32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--patients", type=int, default=6)
    parser.add_argument("--max-windows", type=int, default=200,
                        help="training windows per patient and class")
    parser.add_argument("--fine-tune-epochs", type=int, default=2)
    parser.add_argument("--schemes", default="lopo,loso")
    parser.add_argument("--data", help="reuse a simulated cohort folder (else a temp one)")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--checkpoint", help="folder of per-fold records (a rerun resumes)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.data) if args.data else Path(tmp) / "cohort"
        if not list(root.glob("chb*/chb*-summary.txt")):
            simulate_seizure_cohort(root, n_patients=args.patients, random_state=args.seed)
        t_sim = time.time() - t0
        recs = [r for s in sorted(root.glob("chb*/chb*-summary.txt"))[: args.patients]
                for r in read_chbmit_summary(s)]
        windows = extract_windows(recs, ch_names=list(CHBMIT_CHANNELS), sfreq=128.0,
                                  out=Path(tmp) / "X.npy")
        t_win = time.time() - t0 - t_sim
        common = dict(device="cpu", random_state=args.seed, max_epochs=args.epochs,
                      sop_seconds=windows.sop_seconds, **SMALL)
        methods = {"stan": SeizureForecaster(**common),
                   "stan_nocritic": SeizureForecaster(adversarial_weight=0.0, **common),
                   "baseline": band_power_baseline(windows.sfreq, random_state=args.seed)}
        rule = SeizureForecaster(sop_seconds=windows.sop_seconds)
        out = {"config": {"epochs": args.epochs, "seed": args.seed, "patients": args.patients,
                          "max_windows_per_class": args.max_windows,
                          "fine_tune_epochs": args.fine_tune_epochs, "stan": SMALL,
                          "alarm_rule": {k: rule.get_params()[k] for k in (
                              "smoothing", "smoothing_seconds", "min_fraction", "threshold",
                              "refractory_seconds", "sop_seconds")},
                          "labelling": {"sph_seconds": windows.sph_seconds,
                                        "sop_seconds": windows.sop_seconds,
                                        "min_interictal_seconds":
                                            windows.min_interictal_seconds,
                                        "postictal_seconds": windows.postictal_seconds}},
               "n_windows": {"preictal": int((windows.y == 1).sum()),
                             "interictal": int((windows.y == 0).sum())},
               "seconds": {"simulate": t_sim, "window": t_win}}
        tables = []
        for scheme in args.schemes.split(","):
            t = time.time()
            res = evaluate_cohort(
                windows, methods, scheme=scheme, alarm_rule=rule,
                fine_tune={"max_epochs": args.fine_tune_epochs} if scheme == "lopo" else None,
                max_windows_per_class=args.max_windows, random_state=args.seed, verbose=1,
                checkpoint_dir=(Path(args.checkpoint) / scheme) if args.checkpoint else None)
            out["seconds"][scheme] = time.time() - t
            table = cohort_table(res)
            tables.append(table)
            _plots(res, recs, rule, args.tag)
        import pandas as pd

        table = pd.concat(tables, ignore_index=True)
        pooled = pooled_metrics(table)
        per_patient = table[(table.scheme == "lopo") | (table.fold == "all")]
        out["pooled"] = json.loads(pooled.to_json(orient="records"))
        out["per_patient"] = json.loads(per_patient.drop(columns=["alarms_min"]).to_json(
            orient="records"))
        out["seconds"]["total"] = time.time() - t0
        out.update(torch=torch.__version__, python=platform.python_version(),
                   machine=platform.machine(), threads=1)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"seizure_cohort{args.tag}.json").write_text(json.dumps(out, indent=1))
        table.to_csv(RESULTS / f"seizure_cohort{args.tag}_scores.csv", index=False)
        cols = ["scheme", "method", "span", "patients", "n_seizures", "sensitivity",
                "false_alarms_per_hour", "interictal_hours", "mean_window_auc",
                "significant_patients", "p_value"]
        print(pooled[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        print(f"{out['seconds']['total']:.0f} s")


def _plots(result: dict, recs, rule, tag: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuroattn.viz.seizure import plot_alarm_timeline

    patient = result["folds"][0]["patient"]
    folds = [f for f in result["folds"] if f["patient"] == patient]
    fig, axes = plt.subplots(len(result["methods"]), 1, figsize=(11, 2.6 * len(
        result["methods"])), squeeze=False)
    for ax, method in zip(axes[:, 0], result["methods"]):
        times, probs, alarms = [], [], []
        for tr in sorted((t for f in folds for t in f["methods"][method]["traces"]),
                         key=lambda t: t["span"][0]):
            clock = tr["times"] + tr["start"]
            keep = (clock >= tr["span"][0]) & (clock <= tr["span"][1])
            if not keep.any():
                continue
            _, a = rule.alarms_from_proba(tr["times"], tr["probability"])
            a = a + tr["start"]
            alarms += a[(a >= tr["span"][0]) & (a <= tr["span"][1])].tolist()
            times += [*clock[keep], clock[keep][-1] + 1e-3]
            probs += [*tr["probability"][keep], np.nan]
        seizures = sorted({tuple(s) for f in folds for sp in f["spans"].values()
                           for s in sp["seizures"]})
        plot_alarm_timeline(np.asarray(times), np.asarray(probs), threshold=rule.threshold,
                            alarms=alarms, seizures=seizures, ax=ax,
                            title=f"{patient} {result['scheme']}: {method}")
    fig.tight_layout()
    fig.savefig(RESULTS / f"seizure_cohort{tag}_{result['scheme']}_{patient}.png", dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    main()
