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

Errors: bad flags are refused by argparse (exit 2). Errors of the input (unreadable,
missing or malformed files, bad values, a busy output folder) are reported as one line,
``neuroattn <command>: error: <message>``, exit 2, with the traceback only under
``--debug``. Ctrl-C prints ``interrupted; nothing saved`` and exits 130 (commands publish
their outputs only when complete); a command that keeps something says what instead (a
partial training checkpoint, the finished folds or jobs of ``fmri`` and ``benchmark``,
which the same command continues from). Any other exception is a bug: its traceback is shown
and the last line says so (exit 1).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
import traceback

from . import __version__, commands
from .commands._common import Interrupted

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
                    "forecasting, fMRI masked autoencoders and brain encoders.",
        epilog="Errors in the input are reported in one line (exit 2); Ctrl-C exits 130 "
               "without writing outputs. Commands refuse to replace a previous result "
               "unless given --overwrite.")
    parser.add_argument("--version", action="version", version=f"neuroattn {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full Python traceback of an error instead of one "
                             "line (put it before the command: neuroattn --debug ...)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input (files, values, a busy folder), not a bug."""
    import zipfile

    from ._files import FolderLockedError

    errors: list[type[BaseException]] = [ValueError, OSError, EOFError, FolderLockedError,
                                         zipfile.BadZipFile]
    # Parsers of files the user names; only already-imported ones can have raised.
    yaml = sys.modules.get("yaml")
    if yaml is not None:
        errors.append(yaml.YAMLError)
    rust = sys.modules.get("safetensors._safetensors_rust")
    if rust is not None and hasattr(rust, "SafetensorError"):
        errors.append(rust.SafetensorError)
    return tuple(errors)


def _message(exc: BaseException) -> str:
    """One line: an OSError as ``<message>: <file>``, newlines folded."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _command_label(args: argparse.Namespace) -> str:
    action = getattr(args, "action", None)
    return f"{args.command} {action}" if isinstance(action, str) else args.command


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
    """Entry point of the ``neuroattn`` console script; returns the exit code.

    A Ctrl-C while the command modules load (torch, MNE: seconds) or while the flags
    are checked exits 130 with one line, like a Ctrl-C during the command.
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("neuroattn: interrupted; nothing saved", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
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
    for sub, check in getattr(args, "_checks", ()):
        problem = check(args)
        if problem:
            sub.error(problem)  # a usage error: exit 2 before any work
    label = _command_label(args)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt as exc:
        # A command that kept something (a partial checkpoint) raises Interrupted saying
        # what; any other interruption left no output (commands publish at the end).
        if args.debug:
            traceback.print_exc()
        kept = _message(exc) if isinstance(exc, Interrupted) else "nothing saved"
        print(f"neuroattn {label}: interrupted; {kept}", file=sys.stderr)
        return 130
    except _user_errors() as exc:
        # Bad input, unreadable/unwritable files, a busy folder: one line, no traceback.
        if args.debug:
            traceback.print_exc()
        print(f"neuroattn {label}: error: {_message(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        # Not the input's fault: keep the traceback and say so.
        traceback.print_exc()
        print(f"neuroattn {label}: internal error ({type(exc).__name__}); this is a bug, "
              "please report it with the traceback above", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
