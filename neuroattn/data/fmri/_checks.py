"""Checks of the numbers the fMRI loaders take: repetition times and durations in seconds."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

_SECONDS = "a finite positive number of seconds"


def _scalar_seconds(value: Any, name: str, expected: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        hint = " (a string: pass a number)" if isinstance(value, (str, bytes)) else ""
        raise ValueError(f"{name} must be {expected}; got {value!r}{hint}.")
    out = float(value)
    if not (np.isfinite(out) and out > 0):
        raise ValueError(f"{name} must be {expected}; got {value!r}.")
    return out


def check_seconds(value: Any, name: str) -> float:
    """A duration, checked: a real number, finite and positive (not a string or bool).

    Parameters
    ----------
    value : object
        The duration in seconds.
    name : str
        The parameter named in the message.

    Returns
    -------
    float
        ``value`` as a float.

    Raises
    ------
    ValueError
        If ``value`` is not a finite positive real number.
    """
    return _scalar_seconds(value, name, _SECONDS)


def check_t_r(t_r: Any, n: int | None = None, *, name: str = "t_r",
              labels: Sequence[Any] | None = None) -> float | np.ndarray:
    """Repetition time(s), checked: one finite positive number of seconds, or one per subject.

    Parameters
    ----------
    t_r : float | sequence of float
        Repetition time in seconds (a string such as ``"2"`` is refused, not parsed).
    n : int | None
        Number of subjects: with it, ``t_r`` may be one value for all or ``n`` values,
        and an ``(n,)`` array is returned; without it only a single number is accepted.
    name : str
        The parameter named in messages.
    labels : sequence | None
        ``(n,)`` subject ids named in messages about one subject's value.

    Returns
    -------
    float | numpy.ndarray
        A float (``n`` None) or a float64 ``(n,)`` array.

    Raises
    ------
    ValueError
        If a value is not a finite positive real number, or there are neither 1 nor
        ``n`` of them.
    """
    expected = _SECONDS if n is None else f"{_SECONDS}, or one per subject ({n} values)"
    if np.ndim(t_r) == 0 or isinstance(t_r, (str, bytes)):
        value = _scalar_seconds(t_r.item() if isinstance(t_r, np.ndarray) else t_r, name,
                                expected)
        return value if n is None else np.full(n, value)
    if n is None:
        raise ValueError(f"{name} must be {expected}; got a sequence {t_r!r}.")
    values = list(np.asarray(t_r, dtype=object).ravel()) if np.ndim(t_r) == 1 else None
    if values is None or len(values) != n:
        found = f"shape {np.shape(t_r)}" if values is None else f"{len(values)} values"
        raise ValueError(f"{name} must be {expected}; got {found}.")
    out = np.empty(n, dtype=np.float64)
    for i, value in enumerate(values):
        who = f"subject {labels[i]!r}" if labels is not None else f"subject {i}"
        out[i] = _scalar_seconds(value, f"{name} of {who}", _SECONDS)
    return out
