"""``neuroattn fmri``: BrainMAE vs connectivity baselines, cross-validated, one table + plot."""

from __future__ import annotations

import argparse

from ._common import (
    Interrupted,
    add_check,
    add_n_jobs,
    add_training,
    add_verbosity,
    positive_int,
    set_threads,
)

NAME = "fmri"
HELP = ("Evaluate BrainMAE (linear probe, fine-tuned; optionally pretrained transductively on "
        "the held-out series without labels) and the Brain Network Transformer (bnt_*) "
        "against nilearn connectivity + linear models, leave-site-out or stratified k-fold; "
        "simulated data unless --abide-dir.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..benchmark.fmri import DEFAULT_METHODS, FMRI_METHODS
    from ..data.fmri import ABIDE_SITES

    parser.add_argument("--abide-dir", help="nilearn data_dir holding ABIDE_pcp/ (e.g. "
                        "shared/data/nilearn_data); without it, simulated data are used")
    parser.add_argument("--sites", nargs="+", default=None,
                        help="ABIDE sites, with --abide-dir only (default: the six offline "
                             "ones: " + " ".join(ABIDE_SITES) + ")")
    parser.add_argument("--cv", choices=["leave-site-out", "stratified"],
                        default="leave-site-out")
    parser.add_argument("--n-splits", type=positive_int, default=5, help="folds of --cv stratified")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS),
                        choices=list(FMRI_METHODS),
                        help="default: " + " ".join(DEFAULT_METHODS) + "; bnt_correlation / "
                        "bnt_tangent: connectome transformer; bnt_brainmae(_transductive): "
                        "fed the region embeddings of a BrainMAE pretrained on the "
                        "training (and held-out, unlabelled) series; bnt_tangent_skip: a "
                        "residual over the tangent + logistic regression solution; "
                        "brainmae_*_transductive: BrainMAE also pretrained on the held-out "
                        "subjects' series (self-supervised, no labels)")
    add_training(parser, max_epochs=5, max_epochs_help="BrainMAE pretraining epochs")
    parser.add_argument("--finetune-max-epochs", type=positive_int, default=15,
                        help="BrainMAE fine-tuning epochs (default 15)")
    parser.add_argument("--bnt-max-epochs", type=positive_int, default=None,
                        help="connectome transformer epochs (default: the recipe's 60, with "
                        "early stopping on an inner validation split)")
    parser.add_argument("--embed-dim", type=positive_int, default=16)
    parser.add_argument("--max-segments", type=positive_int, default=8,
                        help="pretraining/fine-tuning segments drawn per subject")
    parser.add_argument("--n-subjects", type=positive_int, default=60,
                        help="simulated subjects (ignored with --abide-dir)")
    parser.add_argument("--out", default="fmri_results",
                        help="output folder: CSV + PNG, and <name>_folds/ with one record "
                             "per finished split (a rerun continues from them; locked "
                             "while running)")
    parser.add_argument("--overwrite", action="store_true",
                        help="discard the split records of an earlier run in --out and "
                             "evaluate every split again")
    add_n_jobs(parser, "cross-validation splits")
    add_verbosity(parser, default=1)
    add_check(parser, _abide_problem)


def _abide_problem(args: argparse.Namespace) -> str | None:
    """Flags of real data given without --abide-dir would be silently ignored."""
    if args.abide_dir is None and args.sites is not None:
        return ("--sites selects ABIDE sites and needs --abide-dir; without it simulated "
                "data are used (size them with --n-subjects)")
    return None


def run(args: argparse.Namespace) -> int:
    from .._files import FolderLock, check_output_dir
    from ..benchmark.fmri import evaluate_fmri, save_fmri_results, summarize_fmri
    from ..data.fmri import ABIDE_SITES, fetch_abide_rois
    from ..data.simulate.fmri import simulate_fmri_rois

    out = check_output_dir(args.out, parameter="--out")  # before any data is loaded
    set_threads(args.threads)
    if args.abide_dir:
        data = fetch_abide_rois(args.abide_dir, sites=args.sites or list(ABIDE_SITES))
        name = f"abide_{args.cv}"
    else:
        data = simulate_fmri_rois(args.n_subjects, random_state=args.seed)
        name = f"simulated_{args.cv}"
    if args.verbose:
        print(data.summary(), flush=True)
    # The fine-tuned classifier takes the pretrainer's device.
    pre = {"max_epochs": args.max_epochs, "device": args.device,
           "model__embed_dim": args.embed_dim, "max_segments_per_subject": args.max_segments}
    with FolderLock(out):  # a second run on --out fails at once instead of racing
        try:
            results = evaluate_fmri(
                data, cv=args.cv, n_splits=args.n_splits, methods=args.methods,
                pretrainer_params=pre, finetune_params={"max_epochs": args.finetune_max_epochs},
                transformer_params={"device": args.device, **(
                    {} if args.bnt_max_epochs is None else {"max_epochs": args.bnt_max_epochs})},
                random_state=args.seed, checkpoint_dir=out / f"{name}_folds",
                overwrite=args.overwrite, n_jobs=args.n_jobs, verbose=args.verbose)
        except KeyboardInterrupt:
            from ..benchmark._resume import count_records

            folds = out / f"{name}_folds"
            done = count_records(folds)
            if not done:
                raise KeyboardInterrupt from None  # nothing finished: "nothing saved"
            raise Interrupted(f"the {done} finished fold record(s) are kept in {folds}; "
                              "the same command continues from them") from None
        paths = save_fmri_results(results, out, name)
    print(summarize_fmri(results).round(3).to_string())
    print(f"wrote {paths['csv']} and {paths['png']}")
    return 0
