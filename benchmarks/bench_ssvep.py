"""SSVEP pipelines on Kalunga2016 (subjects 1-8, offline): accuracy and ITR against window.

The shipped SSVEP pipelines through ``neuroattn.benchmark.run``, the same trials and
folds for all (``run``'s ``random_state``), within-session (5-fold) and
leave-one-subject-out (the duplicated recording of subjects 3 and 7 left out of training,
see the notes), at 0.5, 1, 2 and 4 s decision windows. Windows start 1 s after the cue
(``tmin=-1`` from Kalunga2016's task interval, which starts 2 s after it), so that the 4-s
window ends with the 5-s stimulation. ITR: Wolpaw bits/min with the window plus a
gaze-shift time (``--gaze-shift``, default 0.5 s), 3 targets.

Default pipelines (``DEFAULT``): CCA, TRCA, MsetCCA, FB-TS+LR; ``FB-TS+LR-crop`` (FB-TS+LR
fitted on every window-long crop, 0.25 s apart, of the 4-s training trials, predicting
from the first window of each test trial); ``SSVEP-DNN-crop`` and
``SSVEP-DNN-2stage-crop`` (``SSVEPClassifier(crop_seconds=window)``: a fresh window-long
crop of each 4-s training trial per epoch, the first window of each test trial);
``SSVEP-DNN-2stage-crop-AdaBN`` (its global model with batch-normalisation statistics
re-estimated on each unseen subject's trials, transductive; leave-one-subject-out only). The crop
pipelines get 4-s epochs (``TRIAL``) in a MOABB run of their own: same trials and labels,
same folds. ``SSVEP-DNN`` / ``SSVEP-DNN-2stage`` (one window per trial) on request. In
leave-one-subject-out only the two-stage DNN runs (its global model; a subject-specific
DNN trained on the other subjects would be the same model).

Within-session, the two-stage DNN is really two-stage (global model on the other
subjects, fine-tuned on the test subject's training folds: see
``neuroattn.benchmark._ssvep_two_stage``). Training time: MOABB's mean fit time per fold
as a ratio to TRCA's in the same evaluation and window. Peak memory: the rise of the peak
resident set size while fitting each pipeline once on subject 1's trials at
``--memory-window`` (a fresh process per pipeline; the two-stage DNN with its global
stage on the other subjects), as a ratio to TRCA's.

Resumes: the cells (evaluation, window, pipeline) already in ``<out>/bench_ssvep.json``
are skipped (``--fresh`` starts again), and the JSON/CSV/PNG are rewritten after every
MOABB run. The JSON holds the command.

Needs MNE_DATA pointing at MOABB's cache (../shared/data/mne_data here),
MOABB_DOWNLOAD_PROVIDER=upstream and a writable HOME. ``--quick``: subjects 1 and 3, the
1-s window, the DNNs at 2 epochs (a check that it runs, not a result; written as
``bench_ssvep_quick.*``).

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/bench_ssvep.py [--quick] \
        [--out benchmarks/results] [--pipelines ...] [--windows ...] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import pandas as pd
from _common import latency_ms, peak_rss_mb, run_in_fresh_process

from neuroattn.benchmark import (
    load_pipelines,
    pipeline_paradigms,
    run,
    save_results,
)

WINDOWS = (0.5, 1.0, 2.0, 4.0)
START = -1.0  # seconds from Kalunga2016's task interval start (cue + 2 s)
TRIAL = 4.0  # seconds of flicker after START (cue + 1 s .. cue + 5 s): the crop pipelines' epochs
EVALUATIONS = ("within_session", "cross_subject")
#: Run by default: the classical pipelines, FB-TS+LR on crops and the DNNs on crops (chosen
#: on run 1 with benchmarks/bench_ssvep_heads.py select); SSVEP-DNN / SSVEP-DNN-2stage
#: (one window per trial) on request.
DEFAULT = ("CCA", "TRCA", "MsetCCA", "FB-TS+LR", "FB-TS+LR-crop", "SSVEP-DNN-crop",
           "SSVEP-DNN-2stage-crop", "SSVEP-DNN-2stage-crop-AdaBN")
#: Leave-one-subject-out trains any DNN on the other subjects alone: the subject-specific
#: DNN would be the two-stage one's global model again, so only the latter runs there.
SUBJECT_ONLY = ("SSVEP-DNN", "SSVEP-DNN-crop")
#: Adapts only the global model's scoring of unseen subjects: within-session (fine-tuned
#: subjects) it is SSVEP-DNN-2stage-crop again, so it runs leave-one-subject-out only.
CROSS_ONLY = ("SSVEP-DNN-2stage-crop-AdaBN",)


def itr(accuracy: float, n_targets: int, seconds: float) -> float:
    """Wolpaw ITR in bits/min (H13's ``neuroattn.metrics.ssvep.itr_bits_per_minute``)."""
    from neuroattn.metrics.ssvep import itr_bits_per_minute

    return float(itr_bits_per_minute(accuracy, n_targets, seconds))


def is_crop(pipe) -> bool:
    """Whether a pipeline trains on crops (it gets ``TRIAL``-second epochs)."""
    return any(k.endswith("crop_seconds") and v is not None
               for k, v in pipe.get_params().items())


def pipelines(window: float, dnn_epochs: int | None, names: list[str] | None = None,
              dnn_seed: int | None = None) -> dict:
    """The pipelines at one decision window: a crop pipeline's crops are ``window`` long
    (its SubBandFilter keeps the whole ``TRIAL``); the others' SubBandFilter window is
    ``window``. ``FB-TS+LR-crop``: ``FB-TS+LR`` on strided crops (0.25 s apart).
    ``dnn_seed``: the networks' ``random_state`` instead of the YAML's (0)."""
    from neuroattn.estimators._ssvep_crops import StridedCropClassifier

    names = list(names or DEFAULT)
    pipes = load_pipelines(names=[n for n in names if n != "FB-TS+LR-crop"])
    if "FB-TS+LR-crop" in names:
        pipes["FB-TS+LR-crop"] = StridedCropClassifier(
            load_pipelines(names=["FB-TS+LR"])["FB-TS+LR"], crop_seconds=window, sfreq=256.0,
            stride_seconds=0.25)
    for pipe in pipes.values():
        crop = is_crop(pipe)
        params = pipe.get_params()
        for key in params:
            if key.endswith("crop_seconds"):
                pipe.set_params(**{key: window})
            if key.endswith("__window_seconds"):
                pipe.set_params(**{key: TRIAL if crop else window})
            if dnn_seed is not None and key.endswith("__random_state") \
                    and key.count("__") == 1 \
                    and key.replace("__random_state", "__max_epochs") in params:
                pipe.set_params(**{key: dnn_seed})
            if dnn_epochs is not None and key.endswith("__max_epochs") \
                    and key.count("__") == 1:
                pipe.set_params(**{key: dnn_epochs})
            if dnn_epochs is not None and key.endswith("__finetune_max_epochs") \
                    and params[key] > 0:
                pipe.set_params(**{key: dnn_epochs})
    return pipes


def model_cost(windows: tuple, repeats: int = 200) -> dict:
    """``ssvep_dnn`` as the crop pipelines build it (power head, 32 filters, kernel 32; 8
    channels, 3 sub-bands, 3 classes) and with the paper's flatten head: parameters and
    the median CPU time of one trial's forward pass (1 thread, eval mode, no gradient)
    per window, in ms."""
    import torch

    from neuroattn import create_model

    torch.set_num_threads(1)
    out = {}
    for head in ("power", "flatten"):
        for window in windows:
            n = int(round(window * 256.0))
            model = create_model("ssvep_dnn", n_chans=8, n_times=n, n_outputs=3,
                                 n_subbands=3, n_filters=32, kernel_size=32, head=head,
                                 drop_probs=(0.1, 0.1, 0.5)).eval()
            out[f"{head}@{window}"] = {
                "parameters": sum(p.numel() for p in model.parameters()),
                "median_ms": latency_ms(model, torch.randn(1, 3, 8, n), repeats,
                                        repeats // 10)}
    return out


def declared() -> dict:
    return {**pipeline_paradigms(), "FB-TS+LR-crop": ["FilterBankSSVEP"]}


def _peak_memory_child(name: str, window: float, subjects: list[int], queue) -> None:
    """Fit pipeline ``name`` once on subject 1 (the two-stage DNN: global stage on the
    others, then fine-tuned on subject 1) and report the peak RSS rise in MB (Linux)."""
    import numpy as np

    from neuroattn.benchmark._ssvep import job_paradigms, ssvep_classes
    from neuroattn.benchmark._ssvep_two_stage import is_two_stage
    from neuroattn.data.moabb import get_dataset

    pipe = pipelines(window, None, [name])[name]
    dataset = get_dataset("Kalunga2016", subjects)
    length = TRIAL if is_crop(pipe) else window
    kwargs, _ = ssvep_classes("ssvep", {"tmin": START, "tmax": START + length}, [dataset])
    para = job_paradigms({name: pipe}, declared(), "ssvep", kwargs)[name]
    epochs = name in ("CCA", "TRCA", "MsetCCA")
    X, y, meta = para.get_data(dataset, subjects=subjects, return_epochs=epochs)
    mine = (meta["subject"] == subjects[0]).to_numpy()
    before = _reset_peak_rss()
    if is_two_stage(pipe):
        pipe[:-1].fit(X[~mine])
        Xt = pipe[:-1].transform(X)
        clf = pipe[-1].fit(Xt[~mine], y[~mine])
        clf.fine_tune(Xt[mine], y[mine], subject=subjects[0])
    else:
        index = np.flatnonzero(mine)
        pipe.fit(X[index], y[index])
    queue.put(peak_rss_mb() - before)


def _reset_peak_rss() -> float:
    """Reset the peak resident set size (Linux ``clear_refs`` 5); the current RSS in MB.
    Elsewhere the peak since the process started (the loading included)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    except OSError:
        return peak_rss_mb()


def peak_memory_mb(name: str, window: float, subjects: list[int]) -> float:
    """Peak RSS rise (MB) of one fit of pipeline ``name``, in a fresh process."""
    return float(run_in_fresh_process(_peak_memory_child, name, window, subjects))


def plot(summary: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evaluations = list(dict.fromkeys(summary["evaluation"]))
    names = sorted(summary["pipeline"].unique())
    colour = {n: plt.get_cmap("tab10")(i % 10) for i, n in enumerate(names)}
    fig, axes = plt.subplots(2, len(evaluations), figsize=(4.5 * len(evaluations), 6.5),
                             squeeze=False)
    for j, evaluation in enumerate(evaluations):
        part = summary[summary["evaluation"] == evaluation]
        for name, rows in part.groupby("pipeline"):
            rows = rows.sort_values("window_seconds")
            style = "o-" if "DNN" in name else "s--"
            axes[0, j].plot(rows["window_seconds"], rows["accuracy"], style, label=name,
                            color=colour[name])
            axes[1, j].plot(rows["window_seconds"], rows["itr_bits_per_min"], style,
                            label=name, color=colour[name])
        axes[0, j].axhline(1 / 3, color="grey", lw=0.8, ls=":")
        axes[0, j].set(title=evaluation.replace("_", " "), ylabel="accuracy", ylim=(0, 1))
        axes[1, j].set(xlabel="window (s)", ylabel="ITR (bits/min)")
    handles = [plt.Line2D([], [], color=colour[n], marker="o" if "DNN" in n else "s",
                          ls="-" if "DNN" in n else "--", label=n) for n in names]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7)
    fig.subplots_adjust(bottom=0.16)
    fig.suptitle("Kalunga2016, 3 targets", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def summarise(scores: pd.DataFrame, gaze_shift: float) -> pd.DataFrame:
    keys = ["evaluation", "window_seconds", "pipeline"]
    summary = (scores.groupby(keys).agg(accuracy=("score", "mean"),
                                        accuracy_std=("score", "std"),
                                        n=("score", "count"), fit_seconds=("time", "mean"))
               .reset_index())
    summary["itr_bits_per_min"] = [
        itr(a, 3, w + gaze_shift)
        for a, w in zip(summary["accuracy"], summary["window_seconds"])]
    trca = summary[summary["pipeline"] == "TRCA"].set_index(keys[:2])["fit_seconds"]
    summary["time_vs_trca"] = [
        f / trca.get((e, w), float("nan"))
        for e, w, f in zip(summary["evaluation"], summary["window_seconds"],
                           summary["fit_seconds"])]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--gaze-shift", type=float, default=0.5)
    parser.add_argument("--subjects", type=int, nargs="+")
    parser.add_argument("--windows", type=float, nargs="+")
    parser.add_argument("--evaluations", nargs="+", choices=EVALUATIONS)
    parser.add_argument("--pipelines", nargs="+")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--memory-window", type=float, default=1.0,
                        help="decision window (s) of the one-fit peak-memory measurement")
    parser.add_argument("--no-reference", action="store_true",
                        help="do not add TRCA (the reference of the ratios) to --pipelines")
    parser.add_argument("--dnn-seed", type=int,
                        help="random_state of the networks (default: the YAMLs' 0); use "
                             "another --out per seed")
    parser.add_argument("--fresh", action="store_true",
                        help="ignore the cells already in <out>/bench_ssvep.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    subjects = args.subjects or ([1, 3] if args.quick else list(range(1, 9)))
    windows = tuple(args.windows or ((1.0,) if args.quick else WINDOWS))
    evaluations = tuple(args.evaluations or EVALUATIONS)
    names = list(args.pipelines or DEFAULT)
    if "TRCA" not in names and not args.no_reference:
        names = [*names, "TRCA"]  # the reference of the ratios
    dnn_epochs = 2 if args.quick else None
    out = Path(args.out)
    stem = "bench_ssvep_quick" if args.quick else "bench_ssvep"
    old = {}
    if not args.fresh and (out / f"{stem}.json").exists():
        old = json.loads((out / f"{stem}.json").read_text())
        if old.get("subjects") != subjects:
            raise SystemExit(f"{out / stem}.json holds subjects {old.get('subjects')}, not "
                             f"{subjects}: pass --fresh or another --out.")
    rows = [pd.DataFrame(old.get("per_subject", []))]
    notes, seconds = set(old.get("notes", [])), dict(old.get("seconds", {}))
    memory = dict(old.get("peak_memory_mb_one_fit_subject_1", {}))
    cost = dict(old.get("ssvep_dnn_parameters_and_latency", {}))
    done = {(r["evaluation"], float(r["window_seconds"]), r["pipeline"])
            for r in old.get("per_subject", [])}
    command = "OMP_NUM_THREADS=1 nice -n 5 python " + " ".join(sys.argv)
    commands = [c for c in old.get("commands", [old.get("command")]) if c] + [command]

    def save() -> pd.DataFrame:
        scores = pd.concat(rows, ignore_index=True)
        summary = summarise(scores, args.gaze_shift)
        if memory and "TRCA" in memory:
            summary["peak_memory_mb"] = summary["pipeline"].map(memory)
            summary["memory_vs_trca"] = summary["peak_memory_mb"] / memory["TRCA"]
        save_results(summary, out, stem, plot=plot(summary),
                     extra_json={"command": command, "commands": commands,
                                 "subjects": subjects,
                                 "windows": sorted({float(w) for w in
                                                    scores["window_seconds"]}),
                                 "evaluations": sorted(set(scores["evaluation"])),
                                 "pipelines": sorted(summary["pipeline"].unique()),
                                 "window_start_after_cue_seconds": 2.0 + START,
                                 "crop_trial_seconds": TRIAL,
                                 "gaze_shift_seconds": args.gaze_shift, "n_targets": 3,
                                 "quick": args.quick, "notes": sorted(notes),
                                 "seconds": seconds,
                                 "peak_memory_mb_one_fit_subject_1": memory,
                                 "peak_memory_window_seconds": args.memory_window,
                                 "ssvep_dnn_parameters_and_latency": cost,
                                 "summary": summary.to_dict("records"),
                                 "per_subject": scores[[
                                     "evaluation", "window_seconds", "pipeline", "subject",
                                     "session", "score", "time"]].to_dict("records")})
        return summary

    for window in windows:
        for evaluation in evaluations:
            todo = [n for n in names if (evaluation, float(window), n) not in done
                    and not (evaluation == "cross_subject" and n in SUBJECT_ONLY)
                    and not (evaluation == "within_session" and n in CROSS_ONLY)]
            pipes = pipelines(window, dnn_epochs, todo, args.dnn_seed) if todo else {}
            # one MOABB run per group (same folds: run's random_state): the plain
            # pipelines on window-long epochs, then each crop pipeline on TRIAL-long ones
            groups = [[n for n in pipes if not is_crop(pipes[n])]]
            groups += [[n] for n in pipes if is_crop(pipes[n])]
            for group in filter(None, groups):
                length = TRIAL if is_crop(pipes[group[0]]) else window
                start = time.perf_counter()
                result = run({n: pipes[n] for n in group}, ["Kalunga2016"],
                             paradigm="ssvep", evaluation=evaluation, subjects=subjects,
                             baseline=None,
                             paradigm_kwargs={"tmin": START, "tmax": START + length},
                             declared_paradigms=declared(), verbose=0)
                seconds[f"{evaluation}@{window}:{'+'.join(group)}"] = \
                    time.perf_counter() - start
                notes |= set(result.notes)
                rows.append(result.results.assign(window_seconds=float(window),
                                                  evaluation=evaluation))
                done |= {(evaluation, float(window), n) for n in group}
                print(f"\n{window} s, {evaluation}, {group}\n{result.table}", flush=True)
                save()
    if not args.no_memory:
        for name in names:
            if name not in memory:
                memory[name] = peak_memory_mb(name, args.memory_window, subjects)
        cost.update(model_cost(windows))
    summary = save()
    print("\n" + summary.to_string(index=False))


if __name__ == "__main__":
    main()
