"""``neuroattn fmri``: BrainMAE vs connectivity baselines, cross-validated, one table + plot."""

from __future__ import annotations

import argparse

NAME = "fmri"
HELP = ("Evaluate BrainMAE (linear probe, fine-tuned) against nilearn connectivity + linear "
        "models, leave-site-out or stratified k-fold; simulated data unless --abide-dir.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..benchmark.fmri import FMRI_METHODS
    from ..data.fmri import ABIDE_SITES

    parser.add_argument("--abide-dir", help="nilearn data_dir holding ABIDE_pcp/ (e.g. "
                        "shared/data/nilearn_data); without it, simulated data are used")
    parser.add_argument("--sites", nargs="+", default=list(ABIDE_SITES),
                        help="ABIDE sites (default: the six offline ones)")
    parser.add_argument("--cv", choices=["leave-site-out", "stratified"],
                        default="leave-site-out")
    parser.add_argument("--n-splits", type=int, default=5, help="folds of --cv stratified")
    parser.add_argument("--methods", nargs="+", default=list(FMRI_METHODS),
                        choices=list(FMRI_METHODS))
    parser.add_argument("--epochs", type=int, default=5, help="BrainMAE pretraining epochs")
    parser.add_argument("--finetune-epochs", type=int, default=15)
    parser.add_argument("--embed-dim", type=int, default=16)
    parser.add_argument("--max-segments", type=int, default=8,
                        help="pretraining/fine-tuning segments drawn per subject")
    parser.add_argument("--n-subjects", type=int, default=60,
                        help="simulated subjects (ignored with --abide-dir)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--out", default="fmri_results", help="output folder (CSV + PNG)")
    parser.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import torch

    from ..benchmark.fmri import evaluate_fmri, save_fmri_results, summarize_fmri
    from ..data.fmri import fetch_abide_rois
    from ..data.simulate.fmri import simulate_fmri_rois

    if args.epochs < 1 or args.finetune_epochs < 1:
        raise ValueError("--epochs and --finetune-epochs must be >= 1.")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}.")
        torch.set_num_threads(args.threads)
    if args.abide_dir:
        data = fetch_abide_rois(args.abide_dir, sites=args.sites)
        name = f"abide_{args.cv}"
    else:
        data = simulate_fmri_rois(args.n_subjects, random_state=args.seed)
        name = f"simulated_{args.cv}"
    if not args.quiet:
        print(data.summary(), flush=True)
    pre = {"max_epochs": args.epochs, "model__embed_dim": args.embed_dim,
           "max_segments_per_subject": args.max_segments}
    results = evaluate_fmri(data, cv=args.cv, n_splits=args.n_splits, methods=args.methods,
                            pretrainer_params=pre,
                            finetune_params={"max_epochs": args.finetune_epochs},
                            random_state=args.seed, verbose=0 if args.quiet else 1)
    paths = save_fmri_results(results, args.out, name)
    print(summarize_fmri(results).round(3).to_string())
    print(f"wrote {paths['csv']} and {paths['png']}")
    return 0
