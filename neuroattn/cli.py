"""The ``neuroattn`` command.

Each subcommand is a module of :mod:`neuroattn.commands` exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int`` (optionally ``DEPRECATED_NAMES``, old
spellings still accepted but not listed); adding one needs no edit here. Shared flags
(``--max-epochs``, ``--device``, ``--threads``, ``--seed``, ``-v/--quiet``, ``--out``)
come from :mod:`neuroattn.commands._common`; ``docs/design.md`` has the glossary.

Matplotlib: the commands only write figures to files. When no display is available
(``MPLBACKEND`` unset and, on Linux/BSD, no ``DISPLAY``/``WAYLAND_DISPLAY``),
:func:`main` selects the non-interactive ``Agg`` backend once, before any command runs;
otherwise the user's backend is kept. The library (:mod:`neuroattn.viz`) never selects
one.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
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


def _deprecated_names() -> dict[str, str]:
    """Old command spelling -> current name, from each module's ``DEPRECATED_NAMES``."""
    return {old: module.NAME for module in _command_modules()
            for old in getattr(module, "DEPRECATED_NAMES", ())}


def _rename_deprecated(argv: list[str]) -> list[str]:
    """Replace a deprecated command name (the first non-option word) by the current one."""
    for i, word in enumerate(argv):
        if word.startswith("-"):
            continue
        new = _deprecated_names().get(word)
        if new is not None:
            print(f"neuroattn: '{word}' is deprecated, use 'neuroattn {new}'.",
                  file=sys.stderr)
            return [*argv[:i], new, *argv[i + 1:]]
        break
    return argv


def _headless() -> bool:
    """True when matplotlib has no backend chosen and no display to draw on."""
    if os.environ.get("MPLBACKEND"):
        return False
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return False  # a native GUI backend works without DISPLAY there
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neuroattn`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(_rename_deprecated(list(sys.argv[1:] if argv is None
                                                     else argv)))
    if _headless():
        # The application (not the library) picks the file-only backend, once.
        import matplotlib

        matplotlib.use("Agg")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    # The library logs progress (gated by verbose) and never configures logging; the
    # application shows it.
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", 0) else logging.WARNING,
                        format="%(message)s")
    try:
        return int(args._run(args) or 0)
    except (ValueError, OSError) as exc:
        # Bad input and unreadable/unwritable files: one line naming them, no traceback.
        print(f"neuroattn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
