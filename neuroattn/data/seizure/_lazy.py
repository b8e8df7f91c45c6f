"""Reading windows of a ``.npy`` file by position, without mapping the file into memory.

A ``numpy.memmap`` keeps every page it has touched in the process's resident memory
(until the kernel evicts it), so an epoch over a memory-mapped file grows the resident
set to the file's size. :class:`WindowFile` reads the windows a batch needs with
positional reads (``os.preadv``): the pages stay in the kernel's page cache, not in
the process, and the memory of a fit stays flat however long the recording is.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from pathlib import Path

import numpy as np

__all__ = ["WindowFile"]


class WindowFile:
    """Windows ``(n, n_chans, n_times)`` of one file, read by index.

    Parameters
    ----------
    path : str | Path
        The file (e.g. ``X.npy`` written by :func:`extract_windows`).
    offset : int
        Byte position of window 0 in the file.
    shape : tuple of int
        ``(n, n_chans, n_times)`` (or ``(n, n_times)``).
    dtype : numpy.dtype
        Type of the stored values (read as stored, converted to float32).
    stride : int
        Bytes from one window to the next (``itemsize * n_chans * n_times`` when
        contiguous; negative for a reversed view).

    Notes
    -----
    Safe in DataLoader worker processes: the file descriptor is reopened in every
    process (after a fork or when unpickled).
    """

    def __init__(self, path: str | Path, offset: int, shape: tuple[int, ...],
                 dtype: np.dtype, stride: int) -> None:
        self.path = Path(path)
        self.offset = int(offset)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.stride = int(stride)
        self.window_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
        self._fd: int | None = None
        self._pid: int | None = None

    @classmethod
    def from_memmap(cls, X: np.memmap) -> WindowFile | None:
        """The file behind a ``numpy.memmap`` (or a view of one), or None when its
        windows are not stored contiguously or it is a copy-on-write map (``mode="c"``,
        whose changes the file does not hold): then it is read through the map."""
        mm = getattr(X, "_mmap", None)
        filename = getattr(X, "filename", None)
        if mm is None or filename is None or X.ndim < 2 or X.size == 0:
            return None
        if getattr(X, "mode", None) == "c":
            return None
        inner = X.dtype.itemsize * np.cumprod((1, *X.shape[:0:-1]))[:-1][::-1]
        if tuple(X.strides[1:]) != tuple(int(s) for s in inner):
            return None  # windows not contiguous (e.g. a transposed view)
        base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
        start = X.ctypes.data - base + (X.offset - X.offset % mmap.ALLOCATIONGRANULARITY)
        return cls(filename, start, X.shape, X.dtype, X.strides[0])

    # --------------------------------------------------------------- reading
    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDONLY)
            self._pid = os.getpid()
        return self._fd

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_fd"] = state["_pid"] = None
        return state

    def __del__(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, index: np.ndarray) -> np.ndarray:
        """Windows ``index`` (1-D integers), ``(len(index), *shape[1:])`` float32.

        Raises
        ------
        ValueError
            If the file is shorter than its header says (truncated since it was opened).
        """
        index = np.asarray(index, dtype=np.int64).ravel()
        out = np.empty((len(index), *self.shape[1:]), dtype=self.dtype)
        rows = out.reshape(len(index), -1).view(np.uint8)
        fd = self._descriptor()
        if len(index) > 1 and self.stride == self.window_bytes \
                and np.all(np.diff(index) == 1):
            self._read_into(fd, memoryview(rows).cast("B"),
                            self.offset + int(index[0]) * self.stride)
        else:
            for j, i in enumerate(index):
                self._read_into(fd, memoryview(rows[j]), self.offset + int(i) * self.stride)
        return out.astype(np.float32, copy=False)

    def _read_into(self, fd: int, buffer: memoryview, position: int) -> None:
        if hasattr(os, "preadv"):
            got = os.preadv(fd, [buffer], position)
        else:  # pragma: no cover - platforms without preadv
            data = os.pread(fd, len(buffer), position)
            buffer[:len(data)] = data
            got = len(data)
        if got != len(buffer):
            raise ValueError(f"{self.path} is truncated: reading {len(buffer)} bytes at "
                             f"byte {position} returned {got}. Write the windows again.")
