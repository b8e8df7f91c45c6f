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
1-s window, the DNNs at 2 epochs (a check that it runs, not a result). ``--subjects``,
``--windows``, ``--evaluations``, ``--pipelines`` run a subset (the JSON says which).

Within-session, ``SSVEP-DNN-2stage`` is really two-stage (global model on the other
subjects, fine-tuned on the test subject's training folds: see
``neuroattn.benchmark._ssvep_two_stage``); cross-subject it is the global model trained on
the other subjects. Training time: MOABB's mean fit time per fold, as a ratio to TRCA's
in the same evaluation and window. Peak memory: the rise of the peak resident set size
while fitting each pipeline once on subject 1's trials (a fresh process per pipeline;
the two-stage DNN with its global stage on the other subjects), as a ratio to TRCA's.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/bench_ssvep.py [--quick] \
        [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import resource
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


def pipelines(window: float, dnn_epochs: int | None, names: list[str] | None = None) -> dict:
    pipes = load_pipelines(names=names or list(default_pipelines("ssvep")))
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


def _peak_memory_child(name: str, window: float, subjects: list[int], queue) -> None:
    """Fit pipeline ``name`` once on subject 1 (the two-stage DNN: global stage on the
    others, then fine-tuned on subject 1) and report the peak RSS rise in MB (Linux)."""
    import numpy as np

    from neuroattn.benchmark._ssvep import job_paradigms, ssvep_classes
    from neuroattn.benchmark._ssvep_two_stage import is_two_stage
    from neuroattn.data.moabb import get_dataset

    pipe = pipelines(window, None, [name])[name]
    dataset = get_dataset("Kalunga2016", subjects)
    kwargs, _ = ssvep_classes("ssvep", {"tmin": START, "tmax": START + window}, [dataset])
    para = job_paradigms({name: pipe}, pipeline_paradigms(), "ssvep", kwargs)[name]
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
    queue.put((_status_kb("VmHWM") - before) / 1024.0)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def _reset_peak_rss() -> int:
    """Reset the peak resident set size (Linux ``clear_refs`` 5); the current RSS in KB.
    Elsewhere the peak since the process started (the loading included)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kb("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_memory_mb(name: str, window: float, subjects: list[int]) -> float:
    """Peak RSS rise (MB) of one fit of pipeline ``name``, in a fresh process."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_memory_child, args=(name, window, subjects, queue))
    proc.start()
    value = queue.get()
    proc.join()
    return float(value)


def plot(summary: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evaluations = list(dict.fromkeys(summary["evaluation"]))
    fig, axes = plt.subplots(2, len(evaluations), figsize=(4.5 * len(evaluations), 6.5),
                             squeeze=False)
    for j, evaluation in enumerate(evaluations):
        part = summary[summary["evaluation"] == evaluation]
        for name, rows in part.groupby("pipeline"):
            rows = rows.sort_values("window_seconds")
            style = "o-" if "DNN" in name else "s--"
            axes[0, j].plot(rows["window_seconds"], rows["accuracy"], style, label=name)
            axes[1, j].plot(rows["window_seconds"], rows["itr_bits_per_min"], style,
                            label=name)
        axes[0, j].axhline(1 / 3, color="grey", lw=0.8, ls=":")
        axes[0, j].set(title=evaluation.replace("_", " "), ylabel="accuracy", ylim=(0, 1))
        axes[1, j].set(xlabel="window (s)", ylabel="ITR (bits/min)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Kalunga2016, 3 targets", fontsize=10)
    fig.tight_layout()
    return fig


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
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    subjects = args.subjects or ([1, 3] if args.quick else list(range(1, 9)))
    windows = tuple(args.windows or ((1.0,) if args.quick else WINDOWS))
    evaluations = tuple(args.evaluations or EVALUATIONS)
    names = args.pipelines
    if names and "TRCA" not in names:
        names = [*names, "TRCA"]  # the reference of the ratios
    dnn_epochs = 2 if args.quick else None
    rows, notes, seconds = [], set(), {}
    for window in windows:
        for evaluation in evaluations:
            start = time.perf_counter()
            result = run(pipelines(window, dnn_epochs, names), ["Kalunga2016"],
                         paradigm="ssvep", evaluation=evaluation, subjects=subjects,
                         baseline=None,
                         paradigm_kwargs={"tmin": START, "tmax": START + window},
                         declared_paradigms=pipeline_paradigms(), verbose=0)
            seconds[f"{evaluation}@{window}"] = time.perf_counter() - start
            notes |= set(result.notes)
            res = result.results.assign(window_seconds=window, evaluation=evaluation)
            rows.append(res)
            print(f"\n{window} s, {evaluation}\n{result.table}", flush=True)
    scores = pd.concat(rows, ignore_index=True)
    keys = ["evaluation", "window_seconds", "pipeline"]
    summary = (scores.groupby(keys).agg(accuracy=("score", "mean"),
                                        accuracy_std=("score", "std"),
                                        n=("score", "count"), fit_seconds=("time", "mean"))
               .reset_index())
    summary["itr_bits_per_min"] = [
        itr(a, 3, w + args.gaze_shift)
        for a, w in zip(summary["accuracy"], summary["window_seconds"])]
    trca = summary[summary["pipeline"] == "TRCA"].set_index(keys[:2])["fit_seconds"]
    summary["time_vs_trca"] = [
        f / trca.get((e, w), float("nan"))
        for e, w, f in zip(summary["evaluation"], summary["window_seconds"],
                           summary["fit_seconds"])]
    memory = {}
    if not args.no_memory:
        for name in summary["pipeline"].unique():
            memory[name] = peak_memory_mb(name, windows[-1], subjects)
        summary["peak_memory_mb"] = summary["pipeline"].map(memory)
        summary["memory_vs_trca"] = summary["peak_memory_mb"] / memory["TRCA"]
    print("\n" + summary.to_string(index=False))
    save_results(summary, args.out, "bench_ssvep", plot=plot(summary),
                 extra_json={"subjects": subjects, "windows": list(windows),
                             "evaluations": list(evaluations),
                             "pipelines": sorted(summary["pipeline"].unique()),
                             "window_start_after_cue_seconds": 2.0 + START,
                             "gaze_shift_seconds": args.gaze_shift, "n_targets": 3,
                             "quick": args.quick, "notes": sorted(notes),
                             "seconds": seconds,
                             "peak_memory_mb_one_fit_subject_1": memory,
                             "peak_memory_window_seconds": windows[-1],
                             "summary": summary.to_dict("records"),
                             "per_subject": scores[["evaluation", "window_seconds",
                                                    "pipeline", "subject", "session",
                                                    "score", "time"]].to_dict("records")})


if __name__ == "__main__":
    main()
