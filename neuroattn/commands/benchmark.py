"""``neuroattn benchmark``: MOABB evaluations of YAML pipelines, offline by default."""

from __future__ import annotations

import argparse

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
    parser.add_argument("--output-dir", default="benchmark_output",
                        help="where results.csv, summary.csv and paired.png go")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--n-jobs", type=int, default=1, help="MOABB parallel jobs")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads per fit (default 1: small nets on short "
                             "windows gain little from more, and a busy machine loses)")
    parser.add_argument("--list", action="store_true", help="list the shipped pipelines")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..benchmark import list_pipelines
    from ..benchmark import run as run_benchmark

    if args.list:
        for name in list_pipelines():
            print(name)
        return 0
    if args.threads is not None:
        import torch

        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}.")
        torch.set_num_threads(args.threads)
    paradigm_kwargs = {k: v for k, v in (("fmin", args.fmin), ("fmax", args.fmax))
                       if v is not None}
    pipelines = args.pipelines
    if pipelines is not None and len(pipelines) == 1 and pipelines[0].endswith(
            (".yml", ".yaml", "/")):
        pipelines = pipelines[0]
    result = run_benchmark(pipelines, args.datasets, evaluation=args.evaluation,
                           paradigm=args.paradigm, subjects=args.subjects,
                           baseline=args.baseline, output_dir=args.output_dir,
                           paradigm_kwargs=paradigm_kwargs, random_state=args.seed,
                           n_jobs=args.n_jobs, verbose=not args.quiet)
    print(result.table)
    print(f"\n{len(result.results)} scores in {result.seconds:.0f} s; results: "
          f"{result.csv_path}, summary: {result.summary_path}"
          + (f", paired plot: {result.plot_path}" if result.plot_path else ""))
    return 0
