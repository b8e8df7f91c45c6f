"""Data larger than memory: lazy window arrays, their chunk-wise checks, DataLoader options.

An estimator given a ``numpy.memmap`` (e.g. the ``X`` of windows written by
``extract_windows(..., out=...)`` or read by ``load_windows``) or a
``torch.utils.data.Dataset`` yielding ``(x, y)`` pairs never holds the whole input:

- :func:`as_lazy` wraps it in a :class:`LazyWindows` (``shape``, ``len``, indexing
  that reads only the windows asked for; a memmap's file is read by position, see
  :class:`~neuroattn.data.seizure._lazy.WindowFile`);
- :func:`check_lazy` checks it chunk by chunk (finite values, flat channels, the
  statistics fitting needs), naming the chunk and the file of a bad value;
- :class:`WindowDataset` is what the skorch net iterates: the class-balanced sampler
  (or the shuffler) draws indices and the DataLoader reads only those windows.

:func:`loader_params` turns ``num_workers``, ``pin_memory`` and ``persistent_workers``
into skorch's ``iterator_train__*`` / ``iterator_valid__*`` arguments.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from ..data.seizure._lazy import WindowFile

__all__ = ["LazyWindows", "WindowDataset", "as_lazy", "check_lazy", "loader_params",
           "check_loader_params"]

#: Bytes of windows read at once by the chunk-wise checks (with a float64 temporary of
#: twice that size, the most the checks add to a fit's memory).
CHUNK_BYTES = 8 * 2**20


class LazyWindows:
    """Windows ``(n, n_chans, n_times)`` read on demand, optionally scaled.

    Indexing with an integer gives one window ``(n_chans, n_times)``; with a slice or
    an integer array, ``(k, n_chans, n_times)``; values are float32 (multiplied by
    ``scale``). 2-D sources ``(n, n_times)`` are one channel.

    Parameters
    ----------
    reader : callable
        ``reader(index) -> (len(index), ...)`` array for a 1-D integer ``index``.
    shape : tuple of int
        Shape of the source (2-D or 3-D).
    dtype : numpy.dtype
        Stored type (checked: complex is refused).
    source : str
        What the windows come from, for messages (a file or a Dataset).
    targets : numpy.ndarray | None
        ``(n,)`` targets read from a Dataset's ``(x, y)`` items, else None.
    scale : float
        Factor applied to every window read.
    """

    def __init__(self, reader, shape: tuple[int, ...], dtype: Any, source: str, *,
                 targets: np.ndarray | None = None, scale: float = 1.0) -> None:
        self.reader = reader
        self.source_shape = tuple(int(s) for s in shape)
        self.stored_dtype = np.dtype(dtype)
        self.source = source
        self.targets = targets
        self.scale = float(scale)
        self.std_ = None  # set by check_lazy

    @property
    def shape(self) -> tuple[int, int, int]:
        s = self.source_shape
        return (s[0], 1, s[1]) if len(s) == 2 else s

    ndim = 3
    dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def scaled(self, factor: float) -> LazyWindows:
        """The same windows multiplied by ``factor`` (nothing is read)."""
        other = LazyWindows(self.reader, self.source_shape, self.stored_dtype, self.source,
                            targets=self.targets, scale=self.scale * float(factor))
        other.std_ = self.std_
        return other

    def read(self, index: Any) -> np.ndarray:
        """Windows ``index`` (1-D integers) as ``(k, n_chans, n_times)`` float32."""
        index = np.asarray(index, dtype=np.int64).ravel()
        data = np.asarray(self.reader(index)).astype(np.float32, copy=False)
        data = data.reshape(len(index), *self.shape[1:])
        if self.scale != 1.0:
            data = data * np.float32(self.scale)
        return data

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            i = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= i < len(self):
                raise IndexError(f"window {key} out of range for {len(self)} windows")
            return self.read([i])[0]
        if isinstance(key, slice):
            return self.read(np.arange(len(self))[key])
        key = np.asarray(key)
        if key.dtype == bool:
            key = np.flatnonzero(key)
        return self.read(key)

    def chunks(self, chunk_bytes: int | None = None):
        """Yield ``(start, windows)`` over consecutive chunks of about ``chunk_bytes``
        (default :data:`CHUNK_BYTES`)."""
        chunk_bytes = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
        per = max(1, chunk_bytes // max(1, 4 * self.shape[1] * self.shape[2]))
        for start in range(0, len(self), per):
            yield start, self.read(np.arange(start, min(len(self), start + per)))


def _is_dataset(X: Any) -> bool:
    return isinstance(X, torch.utils.data.Dataset) and not isinstance(X, np.ndarray)


def as_lazy(X: Any, name: str) -> LazyWindows | None:
    """A :class:`LazyWindows` over ``X`` when it is streamed, else None (read into memory).

    Streamed are: a ``numpy.memmap`` (read by position from its file when its windows
    are contiguous on disk, else through the map) and a ``torch.utils.data.Dataset``
    yielding ``(x, y)`` pairs (its targets are read by :func:`check_lazy`).

    Parameters
    ----------
    X : Any
        The estimator's input.
    name : str
        The estimator, for messages.

    Returns
    -------
    LazyWindows | None

    Raises
    ------
    ValueError
        If a Dataset is empty, does not yield ``(x, y)`` pairs, or a memmap is not 2-D
        or 3-D.
    """
    if isinstance(X, np.memmap):
        if X.ndim not in (2, 3):
            raise ValueError(f"{name} expects X of shape (n_samples, n_chans, n_times), got "
                             f"a {X.ndim}-D memmap of shape {X.shape} "
                             f"({getattr(X, 'filename', None)}).")
        file = WindowFile.from_memmap(X)
        where = str(getattr(X, "filename", None) or "memmap")
        reader = file.read if file is not None else (lambda idx: X[idx])
        return LazyWindows(reader, X.shape, X.dtype, f"file {where}")
    if not _is_dataset(X):
        return None
    try:
        n = len(X)
    except TypeError as exc:
        raise ValueError(f"{name}: a Dataset given as X needs a length (__len__); "
                         f"{type(X).__name__} has none (an IterableDataset cannot be "
                         "sampled).") from exc
    if n == 0:
        raise ValueError(f"{name}: the Dataset given as X ({type(X).__name__}) is empty.")
    first = _item_x(X, 0, name)
    source = f"Dataset {type(X).__name__}"

    def reader(index):
        return np.stack([_item_x(X, int(i), name) for i in index]) if len(index) else \
            np.empty((0, *first.shape), np.float32)

    return LazyWindows(reader, (n, *first.shape), first.dtype, source, targets=np.empty(0))


def _item(X: Any, i: int, name: str) -> tuple[Any, Any]:
    item = X[i]
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise ValueError(f"{name}: a Dataset given as X must yield (x, y) pairs; item {i} "
                         f"of {type(X).__name__} is a {type(item).__name__}"
                         f"{f' of length {len(item)}' if hasattr(item, '__len__') else ''}.")
    return item


def _item_x(X: Any, i: int, name: str) -> np.ndarray:
    x = _item(X, i, name)[0]
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"{name}: item {i} of the Dataset {type(X).__name__} holds x of "
                         f"shape {x.shape}; each x must be (n_chans, n_times) (or "
                         "(n_times,) for one channel).")
    return x


def check_lazy(lazy: LazyWindows, name: str, *, reset: bool, dataset: Any = None) -> None:
    """Check every window of ``lazy`` chunk by chunk, never holding more than a chunk.

    Sets ``lazy.std_`` (standard deviation of all values) and, for a Dataset
    (``dataset``), ``lazy.targets`` (the ``y`` of every item).

    Parameters
    ----------
    lazy : LazyWindows
    name : str
        The estimator's class name, quoted in errors.
    reset : bool
        True at ``fit``: also refuse channels constant over every window.
    dataset : torch.utils.data.Dataset | None
        The Dataset behind ``lazy`` (its targets are collected), or None.

    Raises
    ------
    ValueError
        If the dtype is complex or not numeric, a window holds NaN or infinity (naming
        the chunk, the window and the file or Dataset), items of a Dataset differ in
        shape, or a channel is constant over every window (at ``fit``).
    """
    kind = lazy.stored_dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: X ({lazy.source}) has dtype "
                         f"{lazy.stored_dtype}; {name} needs real-valued signals.")
    if kind not in "biuf":
        raise ValueError(f"{name}: X ({lazy.source}) has dtype {lazy.stored_dtype}; "
                         "numeric signals are expected.")
    if min(lazy.shape) == 0:
        raise ValueError(f"Found array with 0 sample(s) or an empty dimension: shape "
                         f"{lazy.shape} ({lazy.source}).")
    n_chans = lazy.shape[1]
    total, total_sq, count = 0.0, 0.0, 0
    low = np.full(n_chans, np.inf)
    high = np.full(n_chans, -np.inf)
    targets = []
    chunks = _dataset_chunks(lazy, dataset, name, targets) if dataset is not None \
        else lazy.chunks()
    for k, (start, data) in enumerate(chunks):
        chunk_sum = float(data.sum(dtype=np.float64))  # NaN or inf when any value is
        if not np.isfinite(chunk_sum):
            windows, channels = np.nonzero(~np.isfinite(data))[:2]
            raise ValueError(
                f"Input X contains NaN or infinity: found in chunk {k} (windows {start}.."
                f"{start + len(data) - 1}) of {lazy.source}, first in window "
                f"{start + int(windows.min())}, channels {np.unique(channels)[:10].tolist()}"
                f"; {name} was given X of shape {lazy.shape}. Clean, interpolate or drop "
                "those windows first.")
        total += chunk_sum
        total_sq += float(np.square(data, dtype=np.float64).sum())
        count += data.size
        low = np.minimum(low, data.min(axis=(0, 2)))
        high = np.maximum(high, data.max(axis=(0, 2)))
    if dataset is not None:
        lazy.targets = np.asarray(targets)
    mean = total / count
    lazy.std_ = float(np.sqrt(max(0.0, total_sq / count - mean * mean)))
    if reset and lazy.shape[0] * lazy.shape[2] > 1:
        flat = np.flatnonzero(high == low)
        if flat.size:
            raise ValueError(f"Channels {flat[:10].tolist()} are constant (zero variance) in "
                             f"every window of {lazy.source}; drop or interpolate them "
                             "before fitting.")


def _dataset_chunks(lazy: LazyWindows, dataset: Any, name: str, targets: list):
    """Chunks of a Dataset's ``x`` (one item read once), collecting its ``y``."""
    per = max(1, CHUNK_BYTES // max(1, 4 * lazy.shape[1] * lazy.shape[2]))
    expected = lazy.source_shape[1:]
    for start in range(0, len(lazy), per):
        xs = []
        for i in range(start, min(len(lazy), start + per)):
            x, y = _item(dataset, i, name)
            x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
            if x.shape != expected:
                raise ValueError(f"{name}: item {i} of the Dataset {type(dataset).__name__} "
                                 f"holds x of shape {x.shape}, item 0 one of shape "
                                 f"{expected}; every x must have the same shape.")
            y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
            targets.append(y)
            xs.append(x)
        data = np.stack(xs).astype(np.float32, copy=False)
        yield start, data.reshape(len(xs), *lazy.shape[1:]) * np.float32(lazy.scale)


class WindowDataset(torch.utils.data.Dataset):
    """What the skorch net iterates over a :class:`LazyWindows`: ``(x, y)`` pairs.

    ``y`` (``(n,)`` encoded targets, or None at prediction) is kept in memory as
    ``self.y``, so the class-balanced sampler draws indices without reading a window;
    ``x`` is read when the DataLoader asks for item ``i``.

    Parameters
    ----------
    windows : LazyWindows
    y : numpy.ndarray | None
    """

    def __init__(self, windows: LazyWindows, y: np.ndarray | None) -> None:
        self.windows = windows
        self.y = y

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int):
        x = torch.from_numpy(np.ascontiguousarray(self.windows[int(i)]))
        return x, (self.y[int(i)] if self.y is not None else np.float32(0))


# ----------------------------------------------------------- DataLoader options
def check_loader_params(est: Any) -> None:
    """Refuse DataLoader options that cannot work together (before any training).

    Raises
    ------
    ValueError
        If ``persistent_workers=True`` with ``num_workers=0`` (there are no workers to
        keep), naming both.
    """
    workers = getattr(est, "num_workers", 0)
    if getattr(est, "persistent_workers", False) and not workers:
        raise ValueError(f"{type(est).__name__}: persistent_workers=True needs worker "
                         f"processes, but num_workers={workers}; set num_workers >= 1 or "
                         "persistent_workers=False.")


def loader_params(est: Any, device: str) -> dict[str, Any]:
    """skorch's ``iterator_train__*`` and ``iterator_valid__*`` arguments of ``est``.

    ``pin_memory=None`` pins batches when training on CUDA; ``pin_memory=True``
    elsewhere warns (naming it) and is not applied.

    Parameters
    ----------
    est : NeuroEstimatorMixin
        Reads ``num_workers``, ``pin_memory`` and ``persistent_workers`` (0, None,
        False when absent, e.g. a model saved by an older version).
    device : str
        The resolved device.

    Returns
    -------
    dict
    """
    workers = int(getattr(est, "num_workers", 0) or 0)
    pin = getattr(est, "pin_memory", None)
    cuda = str(device).startswith("cuda")
    if pin is None:
        pin = cuda
    elif pin and not cuda:
        warnings.warn(f"{type(est).__name__}: pin_memory=True has no effect on device "
                      f"{device!r} (pinned memory speeds up copies to a CUDA device); "
                      "batches are not pinned.", UserWarning, stacklevel=4)
        pin = False
    params = {"num_workers": workers, "pin_memory": bool(pin)}
    if workers:
        params["persistent_workers"] = bool(getattr(est, "persistent_workers", False))
    return {f"{prefix}__{k}": v for prefix in ("iterator_train", "iterator_valid")
            for k, v in params.items()}
