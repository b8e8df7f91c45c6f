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
           "set_threads", "positive_int", "device"]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (refused at parse time, before any work)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def device(text: str) -> str:
    """argparse type: ``auto`` or a torch device this machine has (``cpu``, ``cuda:1``)."""
    if text == "auto":
        return text
    import torch

    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"expected auto, cpu, cuda or cuda:N, got {text!r}") from None
    if dev.type == "cuda" and (not torch.cuda.is_available() or (
            dev.index is not None and dev.index >= torch.cuda.device_count())):
        raise argparse.ArgumentTypeError(f"{text!r}: no such CUDA device on this machine "
                                         f"({torch.cuda.device_count()} present)")
    return text


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
    parser.add_argument("--device", type=device, default="auto",
                        help="torch device: auto (CUDA when present, else CPU), cpu, cuda, "
                             "cuda:1 (default auto)")


def add_threads(parser: argparse.ArgumentParser, default: int | None = None) -> None:
    """``--threads`` (torch CPU threads; None keeps torch's choice)."""
    parser.add_argument("--threads", type=positive_int, default=default,
                        help="torch CPU threads (default: "
                             + ("torch's choice" if default is None else str(default)) + ")")


def add_training(parser: argparse.ArgumentParser, *, max_epochs: int | None,
                 max_epochs_help: str = "training epochs",
                 threads: int | None = None) -> None:
    """``--max-epochs``, ``--device``, ``--threads`` and ``--seed`` of a training command.

    ``max_epochs=None`` leaves the estimator's (or pipeline's) own default in place.
    """
    default = "the model's default" if max_epochs is None else str(max_epochs)
    parser.add_argument("--max-epochs", type=positive_int, default=max_epochs,
                        help=f"{max_epochs_help} (default {default})")
    add_device(parser)
    add_threads(parser, threads)
    add_seed(parser)


def set_threads(threads: int | None) -> None:
    """Apply ``--threads`` (already checked by :func:`positive_int`) to torch; None
    leaves torch's setting."""
    if threads is None:
        return
    import torch

    torch.set_num_threads(threads)
