"""The on-disk feature cache: entries named by a content hash, checked on every read.

An entry is ``<cache_dir>/<name>.npy`` (float32 tokens, memory-mapped on read) and
``<name>.json`` (positions, grid, the content hash of what made the tokens and the
SHA-256 of the ``.npy`` file). Both are written whole or not at all: the tokens are
filled in a hidden temporary sibling and renamed into place, then the JSON record is
written with :func:`neuroattn._files.atomic_write`; a reader checks the content hash
and the file's checksum, and treats a mismatch as a miss (with a warning naming the
file), so stale or corrupted tokens are never returned.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..._files import atomic_write
from ..._hashing import content_hash, file_sha256
from ._images import FeatureTokens

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def feature_cache_key(*parts: Any) -> str:
    """A SHA-256 of everything that determines the features, for a cache entry.

    Parameters
    ----------
    *parts
        Things that determine the features, each hashed with its type so that
        different kinds never collide: arrays by dtype, shape and bytes; files
        (:class:`~pathlib.Path` or other path-like objects) by their content; strings
        as text (a string is never read as a file name); lists, tuples and dicts
        recursively; numbers, booleans and None by value.

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    return content_hash(*parts)


def _check_name(key: str) -> str:
    if not isinstance(key, str) or not _NAME.fullmatch(key):
        raise ValueError(f"cache_key must be 1-128 letters, digits, '.', '_' or '-' (starting "
                         f"with a letter or digit), a file name inside cache_dir; got {key!r}.")
    return key


class _EntryWriter:
    """Commit (checksum, rename, record) or discard a cache entry being filled."""

    def __init__(self, cache_dir: Path, key: str, tmp: Path, arr: np.memmap,
                 record: dict[str, Any]) -> None:
        self.cache_dir, self.key, self.tmp, self.arr, self.record = (cache_dir, key, tmp,
                                                                     arr, record)

    def __call__(self) -> FeatureTokens:
        self.arr.flush()
        del self.arr
        npy = self.cache_dir / f"{self.key}.npy"
        self.record["sha256"] = file_sha256(self.tmp)
        os.replace(self.tmp, npy)  # the memmap file already has the umask's permissions
        atomic_write(self.cache_dir / f"{self.key}.json",
                     lambda fh: json.dump(self.record, fh))
        tokens = np.load(npy, mmap_mode="r", allow_pickle=False)
        return _tokens(tokens, self.record)

    def discard(self) -> None:
        """Remove the partial entry (an interrupted extraction leaves nothing behind)."""
        with contextlib.suppress(AttributeError):
            del self.arr
        self.tmp.unlink(missing_ok=True)


def _tokens(tokens: np.ndarray, record: dict[str, Any]) -> FeatureTokens:
    pos = np.asarray(record["positions"], dtype=np.float32)
    grid = tuple(record["grid_shape"]) if record.get("grid_shape") else None
    return FeatureTokens(tokens, pos, grid, dict(record.get("info") or {}))


def _miss(path: Path, why: str) -> None:
    warnings.warn(f"Feature cache entry {path} {why}; it is ignored and the features are "
                  "recomputed.", UserWarning, stacklevel=3)


def open_feature_cache(cache_dir: str | Path, key: str, shape: tuple[int, int, int] | None = None,
                       *, content_key: str | None = None, positions: np.ndarray | None = None,
                       grid_shape: tuple[int, int] | None = None,
                       info: dict[str, Any] | None = None):
    """Open a checked feature cache entry ``<cache_dir>/<key>.npy``, or start a new one.

    Parameters
    ----------
    cache_dir : str | Path
        Folder of the cache (created when writing).
    key : str
        Entry name (a file name: letters, digits, ``.``, ``_``, ``-``), e.g. the start
        of a :func:`feature_cache_key`, or a user's label.
    shape : (int, int, int) | None
        ``(n_images, n_tokens, dim)`` to create a new float32 entry; None only opens.
    content_key : str | None
        The :func:`feature_cache_key` of what makes the features. Stored when writing;
        when reading, an entry made from anything else is not returned (a warning names
        it) -- so a label reused with other weights, layer, transform or images is
        recomputed, never served stale.
    positions, grid_shape, info
        Stored beside the tokens (``<key>.json``) when creating.

    Returns
    -------
    FeatureTokens | None
        Reading: the entry's tokens memory-mapped read-only, or None when there is no
        complete entry or it fails a check (see Warns).
    writer : tuple (numpy.memmap, callable)
        Creating: the writable map (a hidden temporary file) and a ``commit()`` that
        checksums it, moves it into place and writes the record, returning the
        :class:`FeatureTokens`; ``commit.discard()`` removes a partial entry. Until
        ``commit()`` nothing looks like an entry.

    Raises
    ------
    ValueError
        If ``key`` is not a plain file name.

    Warns
    -----
    UserWarning
        Naming the file when an entry's record is unreadable, it was made from other
        inputs than ``content_key``, it has no checksum (older format), or its bytes
        do not match their SHA-256 (corrupted): the entry is then treated as missing.
    """
    cache_dir, key = Path(cache_dir), _check_name(key)
    npy, meta = cache_dir / f"{key}.npy", cache_dir / f"{key}.json"
    if shape is None:
        return _read(npy, meta, content_key)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".{key}.npy.partial-{uuid.uuid4().hex[:8]}"
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=tuple(shape))
    record = {"complete": True, "format": 2, "shape": list(shape), "content_key": content_key,
              "positions": None if positions is None else np.asarray(positions).tolist(),
              "grid_shape": list(grid_shape) if grid_shape else None, "info": info or {}}
    commit = _EntryWriter(cache_dir, key, tmp, arr, record)
    return arr, commit


def _read(npy: Path, meta: Path, content_key: str | None) -> FeatureTokens | None:
    if not (npy.is_file() and meta.is_file()):
        return None
    try:
        record = json.loads(meta.read_text())
        if not isinstance(record, dict) or "positions" not in record:
            raise ValueError("not a feature cache record")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        _miss(meta, f"has an unreadable record ({exc})")
        return None
    if not record.get("complete"):
        return None
    if content_key is not None and record.get("content_key") != content_key:
        _miss(npy, "was computed from other inputs (backbone weights, layer, transform, "
                   "images or options) than these")
        return None
    if not record.get("sha256"):
        _miss(npy, "has no checksum (written by an older neuroattn)")
        return None
    if file_sha256(npy) != record["sha256"]:
        _miss(npy, "does not match its SHA-256 checksum (corrupted or modified)")
        return None
    try:
        tokens = np.load(npy, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        _miss(npy, f"is not a readable .npy file ({exc})")
        return None
    if list(tokens.shape) != list(record.get("shape", [])) or tokens.dtype != np.float32:
        _miss(npy, f"holds {tokens.dtype} {tokens.shape}, not the recorded float32 "
                   f"{tuple(record.get('shape', ()))}")
        return None
    return _tokens(tokens, record)
