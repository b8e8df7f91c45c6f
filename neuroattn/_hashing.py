"""Content hashes: the one set of rules behind a run's identity, a training checkpoint's
data digest and the feature cache's key.

Every value is hashed with its kind, so that different kinds never collide: arrays (and
torch tensors) by dtype, shape and bytes; files (:class:`~pathlib.Path` or another
path-like object) by their content; strings as text (never read as a file name); lists,
tuples and dicts recursively; numbers, booleans and None by value. ``repr`` is used
only where no content exists (a random generator's state), with memory addresses
removed.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

import numpy as np

__all__ = ["content_hash", "hash_update", "file_sha256", "without_addresses",
           "random_state_digest"]

_CHUNK = 1 << 22
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def content_hash(*parts: Any) -> str:
    """SHA-256 of ``parts`` under the rules of this module, as 64 hex characters.

    Raises
    ------
    ValueError
        If a part is an object array (it has no content to hash).
    TypeError
        If a part is of a kind with no rule (a model, a function...).
    """
    h = hashlib.sha256()
    for part in parts:
        hash_update(h, part)
    return h.hexdigest()


def hash_update(h: Any, part: Any) -> None:
    """Feed one value into the running hash ``h`` (a :mod:`hashlib` object)."""
    if hasattr(part, "detach") and hasattr(part, "cpu"):  # a torch tensor
        part = part.detach().cpu().numpy()
    if isinstance(part, np.ndarray) and part.dtype == object:
        raise ValueError("an object array cannot be hashed by content; pass a numeric "
                         "array (or the file paths).")
    if isinstance(part, np.ndarray):
        arr = np.ascontiguousarray(part)
        h.update(f"A{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.view(np.uint8).ravel().data if arr.size else b"")
    elif isinstance(part, os.PathLike):
        h.update(f"F{file_sha256(part)}".encode())
    elif isinstance(part, str):
        h.update(f"S{len(part)}:{part}".encode())
    elif isinstance(part, (list, tuple)):
        h.update(f"L{len(part)}(".encode())
        for item in part:
            hash_update(h, item)
        h.update(b")")
    elif isinstance(part, dict):
        h.update(f"D{len(part)}(".encode())
        for key in sorted(part, key=repr):
            hash_update(h, key)
            hash_update(h, part[key])
        h.update(b")")
    elif part is None or isinstance(part, (bool, int, float, complex, np.generic, bytes)):
        h.update(f"V{type(part).__name__}:{part!r}".encode())
    else:
        raise TypeError(f"cannot hash a {type(part).__name__} by content; pass arrays, "
                        "paths, strings, numbers or (nested) lists/dicts of them.")


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (read in 4 MiB chunks), as hex text.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file (named).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file.")
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def without_addresses(text: str) -> str:
    """``text`` with memory addresses (``<function f at 0x7f...>``) removed."""
    return _ADDRESS.sub("", text)


def random_state_digest(value: Any) -> str | None:
    """A short digest of a ``RandomState`` / ``Generator``'s state (their reprs do not
    tell ``RandomState(0)`` from ``RandomState(1)``); None for anything else."""
    if isinstance(value, np.random.RandomState):
        state = repr(value.get_state())
    elif isinstance(value, np.random.Generator):
        state = repr(value.bit_generator.state)
    else:
        return None
    return hashlib.sha256(state.encode()).hexdigest()[:16]
