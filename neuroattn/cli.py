"""The ``neuroattn`` command.

Each subcommand is a module of :mod:`neuroattn.commands` exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; adding one needs no edit here.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands

__all__ = ["main", "build_parser"]


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{commands.__name__}.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of :mod:`neuroattn.commands`."""
    parser = argparse.ArgumentParser(
        prog="neuroattn",
        description="Attention models for brain signals: motor imagery, seizure "
                    "forecasting, fMRI masked autoencoders and brain encoders.")
    parser.add_argument("--version", action="version", version=f"neuroattn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neuroattn`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except ValueError as exc:
        print(f"neuroattn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
