"""Arguments shared by the subcommands: one spelling, one meaning, one help text.

``neuroattn.cli`` skips modules whose name starts with ``_``, so this is not a command.
The flags (see the glossary in ``docs/design.md``):

* ``-v/--verbose`` (repeatable) and ``-q/--quiet`` set one int ``verbose``;
* ``--seed`` wherever randomness is used;
* ``--max-epochs``, ``--device`` and ``--threads`` on every command that trains;
* ``--overwrite`` on every command that would otherwise replace a previous result.

Argument types refuse bad numbers at parse time (:func:`positive_float`,
:func:`fraction`...); :func:`require_existing` (missing, empty or wrong-kind input
files) and :func:`add_check` (checks across flags: ``--l-freq`` below ``--h-freq``) run
in ``cli.main`` right after parsing, before any work. Outputs go through
:mod:`neuroattn._files` (checked before the work, folders locked: :func:`output_dir`)
and :class:`Outputs` (written under hidden names, published together at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["add_verbosity", "add_seed", "add_device", "add_threads", "add_training",
           "add_overwrite", "add_check", "set_threads", "positive_int", "nonnegative_int",
           "positive_float", "nonnegative_float", "finite_float", "fraction", "require_existing",
           "device", "n_jobs", "add_n_jobs", "output_dir", "Outputs", "Interrupted"]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C after which a command kept something: the message says what and where
    (``cli.main`` prints it instead of "nothing saved")."""


def _integer(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= {low}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (refused at parse time, before any work)."""
    return _integer(text, 1)


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _integer(text, 0)


def _finite(text: str, expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"expected {expected.replace('a number', 'a finite number', 1)}, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (seconds, hertz, learning rates)."""
    value = _finite(text, "a number > 0")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value:g}")
    return value


def nonnegative_float(text: str) -> float:
    """argparse type: a finite number >= 0 (a horizon or a weight that may be zero)."""
    value = _finite(text, "a number >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value:g}")
    return value


def finite_float(text: str) -> float:
    """argparse type: any finite number (a time that may be negative, e.g. an epoch's
    start relative to its event)."""
    return _finite(text, "a number")


def fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1 (a held-out fraction)."""
    value = _finite(text, "a number in (0, 1)")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {value:g}")
    return value


def _path_problem(text: str, kind: str) -> str | None:
    path = Path(text)
    if not path.exists():
        return f"{text} does not exist"
    if kind == "folder":
        return None if path.is_dir() else f"{text} is a file, expected a folder"
    if path.is_dir():
        return f"{text} is a folder, expected a file"
    if path.stat().st_size == 0:
        return f"{text} is empty"
    return None


def require_existing(parser: argparse.ArgumentParser, name: str, kind: str = "file") -> None:
    """Refuse the input ``name`` (``"model"``, ``"--features"``) unless it exists and is
    a non-empty file (``kind="file"``) or a folder (``kind="folder"``).

    Checked right after parsing by ``cli.main`` (exit 2, naming the argument), before
    any work; ``build_parser().parse_args`` alone does not touch the file system.
    """
    dest = name.lstrip("-").replace("-", "_")

    def check(args: argparse.Namespace) -> str | None:
        value = getattr(args, dest)
        problem = None if value is None else _path_problem(value, kind)
        return None if problem is None else f"argument {name}: {problem}"

    add_check(parser, check)


def add_check(parser: argparse.ArgumentParser,
              check: Callable[[argparse.Namespace], str | None]) -> None:
    """Check several flags together right after parsing (``cli.main`` runs ``check``).

    ``check(args)`` returns an error message (or None); the message is reported as a
    usage error of ``parser`` (exit 2), before any work.
    """
    checks = parser.get_default("_checks") or ()
    parser.set_defaults(_checks=(*checks, (parser, check)))


def add_overwrite(parser: argparse.ArgumentParser, what: str) -> None:
    """``--overwrite``: replace ``what`` when it exists (refused otherwise)."""
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace {what} if it exists (default: refuse, keeping the "
                             "previous result)")


def device(text: str) -> str:
    """argparse type: ``auto`` or a torch device this machine has (``cpu``, ``cuda:1``),
    checked at parse time (before any work) as the estimators check it
    (:func:`neuroattn.estimators.resolve_device`: ``meta``, ``xla`` or an MPS device
    that is not there are refused too)."""
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
    from ..estimators import resolve_device

    try:
        resolve_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(" ".join(str(exc).split())) from None
    return text


def n_jobs(text: str) -> int:
    """argparse type of ``--n-jobs``: an integer >= 1, or -1 for one job per core."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 1, or -1 (one per core), got {text!r}") from None
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 1, or -1 (one per core), got {value}")
    return value


def add_n_jobs(parser: argparse.ArgumentParser, what: str) -> None:
    """``--n-jobs`` (default 1): ``what`` run at once, each in a worker process with one
    torch thread (joblib)."""
    parser.add_argument("--n-jobs", type=n_jobs, default=1,
                        help=f"{what} run at once, each in a worker process with one torch "
                             "thread; -1: one per core; results equal those of 1 "
                             "(default 1)")


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


@contextlib.contextmanager
def output_dir(folder: str | Path, *, parameter: str = "--out") -> Iterator[Path]:
    """Check, create and lock an output folder for the duration of a command.

    The folder is created (with its parents) and probed for writing before the work
    starts; a :class:`~neuroattn._files.FolderLock` keeps a second run off it. A folder
    created here that ends up holding nothing but the lock file is removed again.

    Parameters
    ----------
    folder : str | Path
        The output folder.
    parameter : str
        The flag named in error messages.

    Yields
    ------
    Path
        ``folder``, locked.

    Raises
    ------
    ValueError
        If ``folder`` is a file.
    OSError
        If it cannot be created or written.
    neuroattn._files.FolderLockedError
        If another run holds the folder.
    """
    from .._files import FolderLock, check_output_dir

    folder = Path(folder)
    created = not folder.exists()
    check_output_dir(folder, parameter=parameter)
    with FolderLock(folder):
        try:
            yield folder
        finally:
            if created and folder.is_dir() and {p.name for p in folder.iterdir()} == {
                    ".neuroattn.lock"}:
                with contextlib.suppress(OSError):
                    (folder / ".neuroattn.lock").unlink()
                    folder.rmdir()


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Hold Ctrl-C back while outputs are moved into place (milliseconds): the files
    are published together, and a Ctrl-C then lets the command finish."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None
                      else signal.default_int_handler)


class Outputs:
    """The files a command writes, staged under hidden names and published at the end.

    Each destination gets a hidden temporary sibling (:meth:`file`) or, for writers
    that take a folder, a hidden staging folder inside the destination folder
    (:meth:`folder`). When the ``with`` block ends without an exception every staged
    file is given the permissions of the user's umask and moved into place; on an
    exception (``KeyboardInterrupt`` included) every staged file is removed and the
    destinations are untouched. Without ``overwrite`` a destination that appeared
    meanwhile is not replaced: the new file is kept beside it and the error says where.

    Parameters
    ----------
    overwrite : bool
        Replace existing destinations.
    """

    def __init__(self, *, overwrite: bool) -> None:
        self.overwrite = overwrite
        self._files: list[tuple[Path, Path]] = []
        self._folders: list[tuple[Path, Path]] = []
        self._stale: list[Path] = []

    def file(self, dest: str | Path) -> Path:
        """A hidden temporary path beside ``dest`` (same suffix) to write ``dest`` to.

        Raises
        ------
        ValueError
            If ``dest`` is a device, FIFO or socket, under ``/dev``, or a symbolic link
            loop (:func:`neuroattn._files.check_regular_destination`).
        """
        from .._files import check_regular_destination

        dest = check_regular_destination(dest, parameter="output")
        tmp = dest.with_name(f".{dest.name}.partial-{uuid.uuid4().hex[:8]}{dest.suffix}")
        self._files.append((tmp, dest))
        return tmp

    def folder(self, dest: str | Path) -> Path:
        """A hidden staging folder inside ``dest``; its files are published into ``dest``."""
        tmp = Path(tempfile.mkdtemp(dir=dest, prefix=".partial-"))
        self._folders.append((tmp, Path(dest)))
        return tmp

    def remove_stale(self, path: str | Path) -> None:
        """Remove ``path`` at publication if it was not written again (with overwrite):
        an output of a previous run that this run does not produce."""
        self._stale.append(Path(path))

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        try:
            if exc_type is None:
                self._publish()
        finally:
            for tmp, _ in self._files:
                tmp.unlink(missing_ok=True)
            for tmp, _ in self._folders:
                shutil.rmtree(tmp, ignore_errors=True)

    def _publish(self) -> None:
        from .._files import check_regular_destination, current_umask

        moves = [(tmp, dest) for tmp, dest in self._files if tmp.exists()]
        moves += [(f, dest / f.name) for tmp, dest in self._folders
                  for f in sorted(tmp.iterdir()) if f.is_file()]
        for _, dest in moves:  # a device or FIFO that appeared meanwhile: keep it
            check_regular_destination(dest, parameter="output")
        mode = 0o666 & ~current_umask()
        with _interrupt_deferred():
            for tmp, _ in moves:
                os.chmod(tmp, mode)
            for tmp, dest in moves:
                self._move(tmp, dest)
            if self.overwrite:
                written = {dest for _, dest in moves}
                for path in self._stale:
                    if path not in written:
                        path.unlink(missing_ok=True)

    def _move(self, tmp: Path, dest: Path) -> None:
        if self.overwrite:
            os.replace(tmp, dest)
            return
        try:
            os.link(tmp, dest)  # fails if dest exists: no silent replacement
        except FileExistsError:
            kept = dest.with_name(f"{dest.stem}.{os.getpid()}{dest.suffix}")
            os.replace(tmp, kept)
            raise FileExistsError(errno.EEXIST, f"{dest} was written by another run "
                                  f"meanwhile and is kept; this run's result is {kept} "
                                  "(pass --overwrite to replace)") from None
        except OSError:  # no hard links on this file system
            if dest.exists():
                raise FileExistsError(errno.EEXIST, f"{dest} was written by another run "
                                      "meanwhile; pass --overwrite to replace it") from None
            os.replace(tmp, dest)
            return
        tmp.unlink()
