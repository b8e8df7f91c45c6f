"""A small name -> factory registry shared by models and attention blocks.

One instance lives in :mod:`neuroattn.models` (architectures) and one in
:mod:`neuroattn.nn` (attention blocks). Entries are added with a decorator and looked
up by name; an unknown name raises a :class:`ValueError` that lists close names.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Registry", "RegistryEntry"]


@dataclass(frozen=True)
class RegistryEntry:
    """One registered object and the metadata used to filter listings.

    Parameters
    ----------
    name : str
        Registry name, lower case with underscores.
    obj : callable
        The class (or factory function) that builds the object.
    tags : dict
        Free-form metadata such as ``task``, ``modality`` or ``kind``. A value may be
        a string or a tuple of strings.
    """

    name: str
    obj: Callable[..., Any]
    tags: dict[str, Any] = field(default_factory=dict)

    def matches(self, **filters: Any) -> bool:
        """Return True when every filter equals (or is contained in) the tag."""
        for key, wanted in filters.items():
            if wanted is None:
                continue
            have = self.tags.get(key)
            have_set = set(have) if isinstance(have, (tuple, list, set, frozenset)) else {have}
            if wanted not in have_set:
                return False
        return True

    @property
    def summary(self) -> str:
        """First line of the object's docstring."""
        doc = (self.obj.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


class Registry:
    """Map of names to classes, filled by a decorator.

    Parameters
    ----------
    kind : str
        What the registry holds (``"model"``, ``"attention"``), used in messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, RegistryEntry] = {}

    def register(self, name: str | None = None, **tags: Any) -> Callable:
        """Decorator registering a class under ``name`` with metadata ``tags``.

        Raises
        ------
        ValueError
            If the name is already taken by another object.
        """

        def decorator(obj: Callable) -> Callable:
            key = name or _snake_case(obj.__name__)
            if key in self._entries and self._entries[key].obj is not obj:
                raise ValueError(f"{self.kind} name {key!r} is already registered "
                                 f"to {self._entries[key].obj.__qualname__}.")
            self._entries[key] = RegistryEntry(key, obj, dict(tags))
            obj.registry_name = key
            return obj

        return decorator

    def get(self, name: str | Callable) -> Callable:
        """Return the class registered as ``name``; a class passes through.

        Raises
        ------
        ValueError
            If ``name`` is not registered; the message lists close names.
        """
        if callable(name) and not isinstance(name, str):
            return name
        if not isinstance(name, str):
            raise ValueError(f"{self.kind} must be a registered name or a class, "
                             f"got {type(name).__name__}.")
        key = name.lower().replace("-", "_")
        if key not in self._entries:
            close = difflib.get_close_matches(key, list(self._entries), n=5, cutoff=0.4)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"Unknown {self.kind} {name!r}.{hint} "
                             f"Known {self.kind}s: {', '.join(sorted(self._entries))}.")
        return self._entries[key].obj

    def entry(self, name: str) -> RegistryEntry:
        """Return the :class:`RegistryEntry` registered as ``name``."""
        self.get(name)
        return self._entries[name.lower().replace("-", "_")]

    def names(self, **filters: Any) -> list[str]:
        """Sorted names whose tags match every filter (``None`` filters are ignored)."""
        return sorted(n for n, e in self._entries.items() if e.matches(**filters))

    def entries(self, **filters: Any) -> list[RegistryEntry]:
        """Entries whose tags match ``filters``, sorted by name."""
        return [self._entries[n] for n in self.names(**filters)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower().replace("-", "_") in self._entries

    def __iter__(self) -> Iterable[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


def _snake_case(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper()):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
