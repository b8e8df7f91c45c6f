"""Arguments shared by the subcommands: one spelling, one meaning, one help text.

``neuroattn.cli`` skips modules whose name starts with ``_``, so this is not a command.
The flags (see the glossary in ``docs/design.md``):

* ``-v/--verbose`` (repeatable) and ``-q/--quiet`` set one int ``verbose``;
* ``--seed`` wherever randomness is used;
* ``--max-epochs``, ``--device`` and ``--threads`` on every command that trains.
"""

from __future__ import annotations

import argparse

__all__ = ["add_verbosity", "add_seed", "add_device", "add_threads", "add_training",
           "set_threads"]


def add_verbosity(parser: argparse.ArgumentParser, default: int = 0) -> None:
    """``-v/--verbose`` (count, added to ``default``) and ``-q/--quiet`` (sets 0)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", action="count", default=default,
                       help=f"more output; repeat for more (default level {default})")
    group.add_argument("-q", "--quiet", action="store_const", const=0, dest="verbose",
                       help="no progress output (verbose level 0)")


def add_seed(parser: argparse.ArgumentParser) -> None:
    """``--seed`` (int, default 0)."""
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed of data simulation, splits and weights (default 0)")


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device`` (default ``"auto"``: CUDA when present, else CPU)."""
    parser.add_argument("--device", default="auto",
                        help="torch device: auto (CUDA when present, else CPU), cpu, cuda, "
                             "cuda:1 (default auto)")


def add_threads(parser: argparse.ArgumentParser, default: int | None = None) -> None:
    """``--threads`` (torch CPU threads; None keeps torch's choice)."""
    parser.add_argument("--threads", type=int, default=default,
                        help="torch CPU threads (default: "
                             + ("torch's choice" if default is None else str(default)) + ")")


def add_training(parser: argparse.ArgumentParser, *, max_epochs: int | None,
                 max_epochs_help: str = "training epochs",
                 threads: int | None = None) -> None:
    """``--max-epochs``, ``--device``, ``--threads`` and ``--seed`` of a training command.

    ``max_epochs=None`` leaves the estimator's (or pipeline's) own default in place.
    """
    default = "the model's default" if max_epochs is None else str(max_epochs)
    parser.add_argument("--max-epochs", type=int, default=max_epochs,
                        help=f"{max_epochs_help} (default {default})")
    add_device(parser)
    add_threads(parser, threads)
    add_seed(parser)


def set_threads(threads: int | None) -> None:
    """Apply ``--threads`` to torch (None: leave torch's setting).

    Raises
    ------
    ValueError
        If ``threads`` is smaller than 1.
    """
    if threads is None:
        return
    if threads < 1:
        raise ValueError(f"--threads must be >= 1, got {threads}.")
    import torch

    torch.set_num_threads(threads)
