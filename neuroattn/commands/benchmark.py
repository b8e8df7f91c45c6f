"""``neuroattn benchmark``: MOABB evaluations of YAML pipelines, offline by default.

A YAML pipeline file is code (its ``from:`` modules are imported, MOABB's design): the
command reads the shipped pipelines and the files named with ``--pipelines`` only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import (
    Interrupted,
    add_n_jobs,
    add_training,
    add_verbosity,
    finite_float,
    nonnegative_float,
    positive_float,
    positive_int,
    set_threads,
)

NAME = "benchmark"
HELP = ("Compare motor-imagery pipelines (channel-attention nets, DBConformer, CSP+LDA, "
        "tangent space) or SSVEP pipelines (CCA, TRCA, MsetCCA, filter-bank tangent space, "
        "the sub-band DNN) with MOABB; offline on simulated EEG by default.")


#: Shown at the end of ``neuroattn benchmark --help``.
EPILOG = ("Pipeline files are code: each step's 'from:' module is imported and its 'name:' "
          "called (MOABB's design), so a YAML file can run anything installed. Pass only "
          "files you trust; nothing is read from the working directory unless named with "
          "--pipelines. A rerun with the same --out continues with the pipelines and "
          "subjects not yet finished (--overwrite starts again). SSVEP: --paradigm ssvep "
          "--datasets Kalunga2016 runs the shipped SSVEP pipelines (offline with MNE_DATA "
          "pointing at MOABB's cache); the classes are the stimulus frequencies unless "
          "--n-classes is given; cross_subject leaves a recording released under two "
          "subjects out of training (--keep-duplicate-runs: do not).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..benchmark import DEFAULT_PIPELINES, EVALUATIONS
    from ..data.moabb import PARADIGMS

    parser.epilog = EPILOG
    parser.add_argument("--pipelines", nargs="+", default=None, metavar="NAME_OR_PATH",
                        help="pipeline names (see --list) and/or YAML files/folders "
                             "(code: give only files you trust); default: "
                             + ", ".join(DEFAULT_PIPELINES) + " (motor imagery), every "
                             "shipped SSVEP pipeline (ssvep paradigms)")
    parser.add_argument("--datasets", nargs="+", default=["simulated"], metavar="NAME",
                        help="MOABB dataset class names (BNCI2014_001, PhysionetMI, "
                             "Kalunga2016) or 'simulated' (default, offline)")
    parser.add_argument("--evaluation", default="within_session", choices=sorted(EVALUATIONS))
    parser.add_argument("--paradigm", default="left_right", choices=list(PARADIGMS))
    parser.add_argument("--subjects", nargs="+", type=positive_int, default=None,
                        help="subjects to evaluate (default: all)")
    parser.add_argument("--fmin", type=nonnegative_float, default=None,
                        help="band-pass low edge (Hz)")
    parser.add_argument("--fmax", type=positive_float, default=None,
                        help="band-pass high edge (Hz)")
    parser.add_argument("--tmin", type=finite_float, default=None,
                        help="epoch start (s) from the start of the dataset's task interval")
    parser.add_argument("--tmax", type=finite_float, default=None,
                        help="epoch end (s) from the start of the task interval (the "
                             "window length is tmax - tmin)")
    parser.add_argument("--n-classes", type=positive_int, default=None,
                        help="number of classes of the paradigm (SSVEP default: the "
                             "stimulus frequencies)")
    parser.add_argument("--keep-duplicate-runs", action="store_true",
                        help="cross_subject: keep a recording a dataset releases under two "
                             "subjects in training when the other copy is tested (default: "
                             "left out, and said so)")
    parser.add_argument("--baseline", default="auto",
                        help="pipeline on the x axis of the paired plot (default auto: "
                             "CSP+LDA, or CCA for SSVEP)")
    parser.add_argument("--out", default="benchmark_output",
                        help="output folder: results.csv, summary.csv, paired.png, "
                             "failures.csv and the per-job scores/ (locked while running)")
    parser.add_argument("--on-error", choices=["stop", "continue"], default="stop",
                        help="when a pipeline raises: stop (keep the finished results and "
                             "exit with an error naming it) or continue (record the failure "
                             "in failures.csv and the table, go on, exit status 1); default "
                             "stop")
    parser.add_argument("--overwrite", action="store_true",
                        help="discard the finished jobs of an earlier run in --out instead "
                             "of continuing it")
    add_n_jobs(parser, "evaluation jobs (pipeline x dataset x subject)")
    # --threads defaults to 1: small nets on short windows gain little from more, and a
    # busy machine loses. --max-epochs and --device override every pipeline step that
    # has that parameter (the YAML files say max_epochs 30 and device auto).
    add_training(parser, max_epochs=None, threads=1,
                 max_epochs_help="training epochs of every neural pipeline step")
    parser.add_argument("--list", action="store_true", help="list the shipped pipelines")
    add_verbosity(parser, default=1)


def _split(names: list[str]) -> tuple[list[str], list[str]]:
    """``--pipelines`` as (names of shipped pipelines, YAML files and folders)."""
    files = [n for n in names if n.endswith((".yml", ".yaml", "/"))]
    return [n for n in names if n not in files], files


def _declared(args: argparse.Namespace) -> dict:
    """The MOABB paradigms the requested pipelines declare (shipped ones and files)."""
    from ..benchmark import pipeline_paradigms

    files = _split(args.pipelines)[1] if args.pipelines is not None else []
    if files and len(files) == len(args.pipelines):
        return pipeline_paradigms(files)
    return {**pipeline_paradigms(), **(pipeline_paradigms(files) if files else {})}


def _pipelines(args: argparse.Namespace) -> dict:
    """The requested pipelines with ``--device`` / ``--max-epochs`` set on their steps."""
    from ..benchmark import default_pipelines, load_pipelines
    from ..estimators import resolve_device

    names = args.pipelines
    if names is None:
        pipes = load_pipelines(names=list(default_pipelines(getattr(args, "paradigm",
                                                                     "left_right"))))
    else:
        # Names are looked up among the shipped files, paths loaded; both may be mixed.
        shipped, files = _split(names)
        pipes = load_pipelines(names=shipped) if shipped else {}
        for name, pipe in (load_pipelines(files) if files else {}).items():
            if name in pipes:
                raise ValueError(f"--pipelines: {name!r} is named and also defined in "
                                 f"{', '.join(files)}; give it once (the name runs the "
                                 "shipped file).")
            pipes[name] = pipe
    # A concrete device: braindecode's EEGClassifier (skorch) does not know "auto".
    given = {"device": resolve_device(args.device), "max_epochs": args.max_epochs}
    given = {name: value for name, value in given.items() if value is not None}
    for pipe in pipes.values():
        for step, estimator in pipe.steps:
            own = estimator.get_params(deep=False)
            update = {f"{step}__{name}": value for name, value in given.items()
                      if name in own}
            # A wrapped net (braindecode's, in TorchSeeded): its own parameters, one level
            # down; a cosine schedule's period follows max_epochs.
            for key in estimator.get_params(deep=True):
                name = key.rsplit("__", 1)[-1]
                if "__" in key and name in given and name not in own:
                    update[f"{step}__{key}"] = given[name]
                    if name == "max_epochs":
                        for scheduler in _cosine_schedulers(estimator, key):
                            scheduler.set_params(T_max=given[name])
            pipe.set_params(**update)
    return pipes


def _cosine_schedulers(estimator, key: str) -> list:
    """The cosine ``LRScheduler`` callbacks (with ``T_max``) of the net owning ``key``.

    ``callbacks`` may hold ``(name, callback)`` pairs, bare callbacks, or the names
    braindecode accepts (``"accuracy"``): only scheduler objects are returned.
    """
    from skorch.callbacks import LRScheduler

    owner = estimator
    for part in key.split("__")[:-1]:
        owner = getattr(owner, part)
    found = []
    for item in getattr(owner, "callbacks", None) or []:
        callback = item[1] if isinstance(item, tuple) and len(item) == 2 else item
        if isinstance(callback, LRScheduler) and "T_max" in callback.kwargs:
            found.append(callback)
    return found


def run(args: argparse.Namespace) -> int:
    from .._files import check_output_dir
    from ..benchmark import list_pipelines
    from ..benchmark import run as run_benchmark
    from ..benchmark.mi import PipelineFailedError

    if args.list:
        for name in list_pipelines():
            print(name)
        return 0
    check_output_dir(args.out, parameter="--out")  # before any pipeline or data is loaded
    set_threads(args.threads)
    paradigm_kwargs = {k: v for k, v in (("fmin", args.fmin), ("fmax", args.fmax),
                                         ("tmin", args.tmin), ("tmax", args.tmax),
                                         ("n_classes", args.n_classes)) if v is not None}
    try:
        result = run_benchmark(_pipelines(args), args.datasets, evaluation=args.evaluation,
                               paradigm=args.paradigm, subjects=args.subjects,
                               baseline=args.baseline, output_dir=args.out,
                               paradigm_kwargs=paradigm_kwargs, random_state=args.seed,
                               n_jobs=args.n_jobs, on_error=args.on_error,
                               overwrite=args.overwrite,
                               drop_duplicate_runs=not args.keep_duplicate_runs,
                               declared_paradigms=_declared(args), verbose=args.verbose)
    except PipelineFailedError as exc:
        # A pipeline raised (--on-error stop): one line naming it; the finished
        # results are kept. The pipeline's own traceback with --debug.
        if getattr(args, "debug", False):
            import traceback

            traceback.print_exception(exc.__cause__ or exc)
        print(f"neuroattn benchmark: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        from ..benchmark._resume import count_records

        done = count_records(Path(args.out) / "scores")
        if not done:
            raise KeyboardInterrupt from None  # nothing finished: "nothing saved"
        raise Interrupted(f"the {done} finished jobs' scores are kept in {args.out}; the "
                          "same command continues from them") from None
    print(result.table)
    print(f"\n{len(result.results)} scores in {result.seconds:.0f} s; results: "
          f"{result.csv_path}, summary: {result.summary_path}"
          + (f", paired plot: {result.plot_path}" if result.plot_path else "")
          + (f", failures: {result.failures_path}" if result.failures_path else "")
          + (f" ({result.resumed} jobs read back from an earlier run)" if result.resumed
             else ""))
    return 1 if len(result.failures) else 0
