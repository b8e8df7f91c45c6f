"""``neuroattn benchmark``: MOABB evaluations of YAML pipelines, offline by default."""

from __future__ import annotations

import argparse

from ._common import add_training, add_verbosity, set_threads

NAME = "benchmark"
HELP = ("Compare motor-imagery pipelines (channel-attention nets, DBConformer, CSP+LDA, "
        "tangent space) with MOABB; offline on simulated EEG by default.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..benchmark import DEFAULT_PIPELINES, EVALUATIONS

    parser.add_argument("--pipelines", nargs="+", default=None, metavar="NAME_OR_PATH",
                        help="pipeline names (see --list) or YAML files/folders; default: "
                             + ", ".join(DEFAULT_PIPELINES))
    parser.add_argument("--datasets", nargs="+", default=["simulated"], metavar="NAME",
                        help="MOABB dataset class names (BNCI2014_001, PhysionetMI) or "
                             "'simulated' (default, offline)")
    parser.add_argument("--evaluation", default="within_session", choices=sorted(EVALUATIONS))
    parser.add_argument("--paradigm", default="left_right",
                        choices=["left_right", "motor_imagery", "filter_bank_left_right"])
    parser.add_argument("--subjects", nargs="+", type=int, default=None,
                        help="subjects to evaluate (default: all)")
    parser.add_argument("--fmin", type=float, default=None, help="band-pass low edge (Hz)")
    parser.add_argument("--fmax", type=float, default=None, help="band-pass high edge (Hz)")
    parser.add_argument("--baseline", default="CSP+LDA",
                        help="pipeline on the x axis of the paired plot")
    parser.add_argument("--out", default="benchmark_output",
                        help="output folder: results.csv, summary.csv and paired.png")
    parser.add_argument("--n-jobs", type=int, default=1, help="MOABB parallel jobs")
    # --threads defaults to 1: small nets on short windows gain little from more, and a
    # busy machine loses. --max-epochs and --device override every pipeline step that
    # has that parameter (the YAML files say max_epochs 30 and device cpu).
    add_training(parser, max_epochs=None, threads=1,
                 max_epochs_help="training epochs of every neural pipeline step")
    parser.add_argument("--list", action="store_true", help="list the shipped pipelines")
    add_verbosity(parser, default=1)


def _pipelines(args: argparse.Namespace) -> dict:
    """The requested pipelines with ``--device`` / ``--max-epochs`` set on their steps."""
    from ..benchmark import DEFAULT_PIPELINES, load_pipelines
    from ..estimators import resolve_device

    names = args.pipelines
    if names is None:
        pipes = load_pipelines(names=list(DEFAULT_PIPELINES))
    elif any(n.endswith((".yml", ".yaml", "/")) for n in names):
        pipes = load_pipelines(names)
    else:
        pipes = load_pipelines(names=names)
    # A concrete device: braindecode's EEGClassifier (skorch) does not know "auto".
    given = {"device": resolve_device(args.device), "max_epochs": args.max_epochs}
    given = {name: value for name, value in given.items() if value is not None}
    for pipe in pipes.values():
        for step, estimator in pipe.steps:
            own = estimator.get_params(deep=False)
            pipe.set_params(**{f"{step}__{name}": value for name, value in given.items()
                               if name in own})
    return pipes


def run(args: argparse.Namespace) -> int:
    from ..benchmark import list_pipelines
    from ..benchmark import run as run_benchmark

    if args.list:
        for name in list_pipelines():
            print(name)
        return 0
    set_threads(args.threads)
    paradigm_kwargs = {k: v for k, v in (("fmin", args.fmin), ("fmax", args.fmax))
                       if v is not None}
    result = run_benchmark(_pipelines(args), args.datasets, evaluation=args.evaluation,
                           paradigm=args.paradigm, subjects=args.subjects,
                           baseline=args.baseline, output_dir=args.out,
                           paradigm_kwargs=paradigm_kwargs, random_state=args.seed,
                           n_jobs=args.n_jobs, verbose=args.verbose)
    print(result.table)
    print(f"\n{len(result.results)} scores in {result.seconds:.0f} s; results: "
          f"{result.csv_path}, summary: {result.summary_path}"
          + (f", paired plot: {result.plot_path}" if result.plot_path else ""))
    return 0
