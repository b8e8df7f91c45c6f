"""Writing files so that nothing is lost: atomic files and folders, destinations checked
before the work, folder locks, and the user's umask respected.

Every writer in the package goes through these helpers:

- :func:`atomic_write` writes one file through a temporary sibling and
  :func:`os.replace`, so a reader sees the old file or the new one, never half of one;
- :func:`atomic_folder` does the same for a folder of files (a window store, a
  checkpoint): written in a hidden sibling, swapped into place when complete;
- :func:`check_output_file` / :func:`check_output_dir` are called by commands *before*
  the computation, so an unwritable destination fails in a second, not after an hour;
- :class:`FolderLock` keeps two runs from writing the same output folder.

Files get the permissions the user's umask gives (``0o666 & ~umask``), not the
``0o600`` of :func:`tempfile.mkstemp`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "atomic_folder", "check_output_file", "check_output_dir",
           "check_regular_destination", "FolderLock", "FolderLockedError", "current_umask"]

_SPECIAL = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows.

    On Linux it is read from ``/proc/self/status``; elsewhere it is set and restored at
    once (``os.umask`` has no read-only form).
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _link_loop(path: Path) -> bool:
    """True if resolving ``path`` (or one of its folders) runs into a symbolic link loop."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def check_regular_destination(path: str | Path, *, parameter: str = "path") -> Path:
    """Refuse a destination a regular file cannot safely replace.

    Writers replace their destination by a new regular file (:func:`os.replace`): a
    device (``/dev/null``), a named pipe or a socket there would be destroyed, and a
    path under ``/dev`` (other than the ``/dev/shm`` tmpfs) is no place for results.

    Parameters
    ----------
    path : str | Path
        The file to be written (it may not exist yet).
    parameter : str
        Name of the flag or parameter that gave ``path`` (used in the message).

    Returns
    -------
    Path
        ``path``, checked, as a :class:`~pathlib.Path` object.

    Raises
    ------
    ValueError
        If ``path`` exists and is not a regular file or a folder (devices, FIFOs,
        sockets), lies under ``/dev``, or runs into a symbolic link loop.
    """
    path = Path(path)
    if _link_loop(path):
        raise ValueError(f"{parameter}: {path} is a symbolic link loop (a link that "
                         "resolves to itself); expected a file name.")
    with contextlib.suppress(OSError):
        mode = os.stat(path).st_mode
        for test, kind in _SPECIAL:
            if test(mode):
                raise ValueError(f"{parameter}: {path} is {kind}, not a regular file; "
                                 "writing there would replace it. Give a file name.")
    real = Path(os.path.realpath(path))
    if real.parts[:2] == ("/", "dev") and real.parts[:3] != ("/", "dev", "shm"):
        raise ValueError(f"{parameter}: {path} is under /dev (devices, not files); give "
                         "a file name in a folder of your results.")
    return path


def _apply_umask(path: str | Path, *, folder: bool = False) -> None:
    base = 0o777 if folder else 0o666
    os.chmod(path, base & ~current_umask())


def atomic_write(path: str | Path, write: Callable[[IO[Any]], None], *,
                 binary: bool = False) -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path``, then move it to ``path``.

    Parameters
    ----------
    path : str | Path
        Destination file. Its folder must exist (see :func:`check_output_file`).
    write : callable
        Writes the content to the open file object it is given.
    binary : bool
        Open the temporary file in binary mode.

    Returns
    -------
    Path
        ``path``, complete, with the permissions of the user's umask.

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist (named in the message).
    ValueError
        If ``path`` is a device, FIFO or socket, under ``/dev``, or a symbolic link
        loop (see :func:`check_regular_destination`): it is never replaced.
    """
    path = check_regular_destination(path, parameter="Cannot write")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Cannot write {path}: folder {path.parent} does not exist.")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if path.is_file():  # a replaced file keeps its permissions (a user's 0600 stays)
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            _apply_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def atomic_folder(folder: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Write a folder whole or not at all.

    Yields a hidden temporary sibling of ``folder`` to write into. When the block ends
    without an exception, the previous ``folder`` (if any, and ``overwrite`` is True)
    is moved aside and the new one renamed into place; on an exception (including
    ``KeyboardInterrupt``) the temporary folder is removed and ``folder`` is untouched.

    Parameters
    ----------
    folder : str | Path
        Destination folder; its parent is created if needed.
    overwrite : bool
        Replace an existing non-empty ``folder``; otherwise refuse before anything is
        written.

    Raises
    ------
    ValueError
        If ``folder`` is a file, or a non-empty folder and ``overwrite`` is False.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, expected a folder.")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise ValueError(f"Folder {folder} exists and is not empty; pass overwrite=True "
                         "(--overwrite) to replace it.")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp = folder.parent / f".{folder.name}.partial-{tag}"
    old = folder.parent / f".{folder.name}.old-{tag}"
    tmp.mkdir()
    _apply_umask(tmp, folder=True)
    try:
        yield tmp
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not folder.exists():
            old.rename(folder)  # put the previous contents back
        raise
    shutil.rmtree(old, ignore_errors=True)


def _probe_writable(folder: Path, what: str) -> None:
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".neuroattn-probe-")
    except OSError as exc:
        raise OSError(exc.errno or errno.EACCES,
                      f"{what} {folder} is not writable ({exc.strerror})") from exc
    os.close(fd)
    os.unlink(probe)


def check_output_file(path: str | Path, *, overwrite: bool = True,
                      parameter: str = "path") -> Path:
    """Make sure ``path`` can be written, before the work that produces it.

    Creates the missing parent folders and checks that the folder accepts a file.

    Parameters
    ----------
    path : str | Path
        The file to be written later.
    overwrite : bool
        If False, an existing ``path`` is refused.
    parameter : str
        The parameter or flag named in error messages (e.g. ``"--out"``).

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    ValueError
        If ``path`` is an existing folder, exists and ``overwrite`` is False, or is
        not a place for a regular file (a device, FIFO or socket, under ``/dev``, a
        symbolic link loop: see :func:`check_regular_destination`).
    OSError
        If the folder cannot be created or written (the message names it).
    """
    path = check_regular_destination(path, parameter=parameter)
    if path.is_dir():
        raise ValueError(f"{parameter}: {path} is a folder, expected a file name.")
    if path.exists() and not overwrite:
        raise ValueError(f"{parameter}: {path} exists; pass --overwrite to replace it.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(exc.errno or errno.EACCES, f"{parameter}: cannot create folder "
                      f"{path.parent} ({exc.strerror})") from exc
    _probe_writable(path.parent, f"{parameter}: folder")
    return path


def check_output_dir(folder: str | Path, *, parameter: str = "out_dir") -> Path:
    """Create ``folder`` (with its parents) if missing and check it accepts files.

    Parameters
    ----------
    folder : str | Path
        The output folder of a job, checked before the job starts.
    parameter : str
        The parameter or flag named in error messages (e.g. ``"--output-dir"``).

    Returns
    -------
    Path
        ``folder`` as a :class:`~pathlib.Path`.

    Raises
    ------
    ValueError
        If ``folder`` is an existing file or a symbolic link loop.
    OSError
        If it cannot be created or written (the message names it).
    """
    folder = Path(folder)
    if _link_loop(folder):
        raise ValueError(f"{parameter}: {folder} is a symbolic link loop (a link that "
                         "resolves to itself); expected a folder.")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{parameter}: {folder} is a file, expected a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(exc.errno or errno.EACCES, f"{parameter}: cannot create folder "
                      f"{folder} ({exc.strerror})") from exc
    _probe_writable(folder, f"{parameter}: folder")
    return folder


class FolderLockedError(RuntimeError):
    """Another process holds the lock of an output folder."""


class FolderLock:
    """An exclusive lock on an output folder, held for the duration of a ``with`` block.

    The lock is an advisory ``flock`` on ``<folder>/.neuroattn.lock`` (released by the
    OS if the process dies, so a crashed run never leaves a stale lock). A second run
    on the same folder fails at once with :class:`FolderLockedError` naming the folder
    and the process id of the holder, instead of both writing and the last one winning.

    Parameters
    ----------
    folder : str | Path
        The folder to lock (created if missing).

    Examples
    --------
    >>> with FolderLock(out_dir):  # doctest: +SKIP
    ...     run_benchmark(out_dir)
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._fh: IO[str] | None = None

    def acquire(self) -> FolderLock:
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / ".neuroattn.lock"
        fh = open(path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise FolderLockedError(
                f"Output folder {self.folder} is in use by another neuroattn run "
                f"(pid {holder}); wait for it to finish or choose another folder.") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is None:
            return
        import fcntl

        with contextlib.suppress(OSError):
            self._fh.seek(0)
            self._fh.truncate()
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
