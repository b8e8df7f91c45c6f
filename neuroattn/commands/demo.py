"""``neuroattn demo``: fit and predict on simulated motor imagery, offline, in seconds."""

from __future__ import annotations

import argparse

from ._common import add_training, add_verbosity, positive_int, set_threads

NAME = "demo"
HELP = ("Fit a model on simulated motor-imagery EEG (planted C3/C4 desynchronisation) and "
        "report held-out accuracy; runs offline.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="eeg_transformer",
                        help="registered model name (see `neuroattn models`)")
    parser.add_argument("--n-trials", type=positive_int, default=200,
                        help="simulated trials (default 200)")
    add_training(parser, max_epochs=30)
    add_verbosity(parser, default=0)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from sklearn.model_selection import train_test_split

    from ..data.simulate import simulate_motor_imagery
    from ..estimators import NeuroClassifier

    set_threads(args.threads)
    epochs = simulate_motor_imagery(args.n_trials, sfreq=100.0, trial_seconds=2.0,
                                    random_state=args.seed)
    labels = np.array(list(epochs.event_id))[epochs.events[:, 2] - 1]
    train, test = train_test_split(np.arange(len(epochs)), test_size=0.3,
                                   stratify=labels, random_state=args.seed)
    clf = NeuroClassifier(args.model, max_epochs=args.max_epochs, random_state=args.seed,
                          device=args.device, verbose=args.verbose)
    clf.fit(epochs[train], labels[train])
    accuracy = clf.score(epochs[test], labels[test])
    n_params = sum(p.numel() for p in clf.module_.parameters())
    print(f"model {args.model} ({n_params:,} parameters), {len(train)} training trials, "
          f"{clf.n_chans_} channels x {clf.n_times_} samples at {clf.sfreq_:g} Hz")
    print(f"held-out accuracy, left vs right hand imagery: {accuracy:.3f} "
          f"(chance 0.5, {len(test)} trials)")
    return 0
