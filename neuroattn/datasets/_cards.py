"""The data cards: one YAML file a public dataset in ``neuroattn/datasets/cards/``.

A card is read once, checked field by field against :data:`CARD_SCHEMA` (a bad card is
a ``ValueError`` naming the file and the field), and returned as a frozen
:class:`DataCard`.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DataCard", "CARD_SCHEMA", "CARDS_DIR", "read_card", "all_cards", "dataset_card",
           "list_datasets"]

#: Folder of the shipped cards (the repository's top-level ``datasets/`` links here).
CARDS_DIR = Path(__file__).with_name("cards")

#: Required card fields and their YAML types.
CARD_SCHEMA: dict[str, type] = {
    "name": str, "title": str, "tracks": list, "modality": str, "task": str,
    "subjects": dict, "channels": str, "sampling_rate": str, "size_on_disk": str,
    "licence": str, "access": str, "access_terms": str, "citation": str, "doi": str,
    "fetch": dict, "cache_layout": str, "quirks": list, "tutorial": str,
}
TRACKS = ("mi", "ssvep", "seizure", "fmri", "encoding")
MODALITIES = ("eeg", "ieeg", "fmri")
ACCESS = ("open", "registration", "non-commercial")
#: Fetch methods and the keys each needs in the card's ``fetch`` mapping.
FETCH_KEYS = {
    "moabb": ("class", "args", "sign", "urls", "checksums"),
    "nilearn": ("function", "args", "folder", "url", "checksums"),
    "physionet": ("project", "version", "base_url", "folder", "summary", "checksums"),
    "manual": ("url", "files"),
}


@dataclass(frozen=True)
class DataCard:
    """One public dataset as its card describes it (see ``neuroattn/datasets/cards``).

    Attributes mirror the YAML fields of :data:`CARD_SCHEMA`, plus ``aliases`` (other
    accepted names) and ``path`` (the card file).
    """

    name: str
    title: str
    tracks: tuple[str, ...]
    modality: str
    task: str
    subjects: dict
    channels: str
    sampling_rate: str
    size_on_disk: str
    licence: str
    access: str
    access_terms: str
    citation: str
    doi: str
    fetch: dict
    cache_layout: str
    quirks: tuple[str, ...]
    tutorial: str
    aliases: tuple[str, ...] = ()
    path: Path | None = None

    @property
    def subject_ids(self) -> list:
        """Every valid subject id (ints ``first..last`` or the card's list)."""
        ids = self.subjects["ids"]
        if isinstance(ids, dict):
            return list(range(ids["first"], ids["last"] + 1))
        return list(ids)

    def check_subjects(self, subjects: Any) -> list:
        """``subjects`` as a list of valid ids (all of them for None).

        Raises
        ------
        ValueError
            If a subject is not one of the card's (the message names ``subjects``).
        """
        valid = self.subject_ids
        if subjects is None:
            return valid
        if isinstance(subjects, (str, int)):
            subjects = [subjects]
        subjects = list(subjects)
        if not subjects:
            raise ValueError(f"subjects is empty for dataset {self.name!r}.")
        lookup = {str(v).lower(): v for v in valid}
        bad = [s for s in subjects if str(s).lower() not in lookup]
        if bad:
            shown = (f"{valid[0]}..{valid[-1]}" if isinstance(valid[0], int)
                     else ", ".join(map(str, valid)))
            raise ValueError(f"subjects {bad} are not in dataset {self.name!r}, which has "
                             f"{len(valid)} {self.subjects['unit']}s: {shown}.")
        return [lookup[str(s).lower()] for s in subjects]

    def to_text(self) -> str:
        """The card as readable text (what ``neuroattn datasets info`` prints)."""
        lines = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "path" or value in ((), None):
                continue
            if f.name == "quirks":
                lines.append("quirks:")
                lines += [f"  - {q}" for q in value]
            elif isinstance(value, dict):
                lines.append(f"{f.name}:")
                lines += [f"  {k}: {v}" for k, v in value.items()]
            elif isinstance(value, tuple):
                lines.append(f"{f.name}: {', '.join(value)}")
            else:
                lines.append(f"{f.name}: {value}")
        return "\n".join(lines)


def _bad(path: Path, field: str, msg: str) -> ValueError:
    return ValueError(f"Data card {path}: field {field!r} {msg}")


def _check_subjects_field(path: Path, subjects: dict) -> None:
    for key, typ in (("count", int), ("unit", str)):
        if not isinstance(subjects.get(key), typ):
            raise _bad(path, f"subjects.{key}", f"must be a {typ.__name__}, got "
                       f"{subjects.get(key)!r}.")
    ids = subjects.get("ids")
    if isinstance(ids, dict):
        if not (isinstance(ids.get("first"), int) and isinstance(ids.get("last"), int)
                and ids["first"] <= ids["last"]):
            raise _bad(path, "subjects.ids", f"must be {{first: int, last: int}} with "
                       f"first <= last, got {ids!r}.")
        n = ids["last"] - ids["first"] + 1
    elif isinstance(ids, list) and ids and all(isinstance(i, str) for i in ids):
        n = len(ids)
        if len(set(ids)) != n:
            raise _bad(path, "subjects.ids", "lists a subject twice.")
    else:
        raise _bad(path, "subjects.ids", f"must be a list of names or {{first, last}}, got "
                   f"{ids!r}.")
    if n != subjects["count"]:
        raise _bad(path, "subjects.count", f"is {subjects['count']} but ids give {n}.")


def read_card(path: str | Path) -> DataCard:
    """Read and check one card file.

    Parameters
    ----------
    path : str | Path
        A ``.yml`` data card.

    Returns
    -------
    DataCard

    Raises
    ------
    ValueError
        If the file is not a YAML mapping, a required field is missing or has the wrong
        type, or a value is outside its vocabulary (tracks, modality, access, fetch
        method); the message names the file and the field.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"Data card {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"Data card {path} must be a YAML mapping, got "
                         f"{type(raw).__name__}.")
    for field, typ in CARD_SCHEMA.items():
        if field not in raw:
            raise _bad(path, field, "is missing.")
        if not isinstance(raw[field], typ) or (typ is str and not raw[field].strip()):
            raise _bad(path, field, f"must be a non-empty {typ.__name__}, got "
                       f"{raw[field]!r}.")
    unknown = sorted(set(raw) - set(CARD_SCHEMA) - {"aliases"})
    if unknown:
        raise _bad(path, unknown[0], f"is not a card field (known: {sorted(CARD_SCHEMA)}).")
    if raw["name"] != path.stem:
        raise _bad(path, "name", f"must equal the file name {path.stem!r}, got "
                   f"{raw['name']!r}.")
    checks = (("tracks", raw["tracks"], TRACKS), ("modality", [raw["modality"]], MODALITIES),
              ("access", [raw["access"]], ACCESS))
    for field, values, allowed in checks:
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise _bad(path, field, f"must be among {list(allowed)}, got {values!r}.")
    if not all(isinstance(q, str) and q for q in raw["quirks"]):
        raise _bad(path, "quirks", "must be a list of non-empty strings.")
    aliases = raw.get("aliases", [])
    if not (isinstance(aliases, list) and all(isinstance(a, str) for a in aliases)):
        raise _bad(path, "aliases", f"must be a list of strings, got {aliases!r}.")
    _check_subjects_field(path, raw["subjects"])
    method = raw["fetch"].get("method")
    if method not in FETCH_KEYS:
        raise _bad(path, "fetch.method", f"must be one of {list(FETCH_KEYS)}, got {method!r}.")
    missing = [k for k in FETCH_KEYS[method] if k not in raw["fetch"]]
    if missing:
        raise _bad(path, f"fetch.{missing[0]}", f"is missing (method {method!r} needs "
                   f"{list(FETCH_KEYS[method])}).")
    return DataCard(**{**raw, "tracks": tuple(raw["tracks"]), "quirks": tuple(raw["quirks"]),
                       "aliases": tuple(aliases), "path": path})


@functools.lru_cache(maxsize=1)
def _cards_in(folder: str) -> dict[str, DataCard]:
    cards = {}
    for file in sorted(Path(folder).glob("*.yml")):
        card = read_card(file)
        cards[card.name] = card
    return cards


def all_cards() -> dict[str, DataCard]:
    """Every shipped card by name (read and checked once)."""
    return dict(_cards_in(str(CARDS_DIR)))


def _lookup() -> dict[str, str]:
    table = {}
    for card in all_cards().values():
        for key in (card.name, *card.aliases):
            table[key.lower().replace("-", "_")] = card.name
    return table


def dataset_card(name: str) -> DataCard:
    """The card of a dataset, by name or alias (case-insensitive).

    Parameters
    ----------
    name : str
        E.g. ``"chbmit"``, ``"PhysionetMI"``, ``"abide"``.

    Returns
    -------
    DataCard

    Raises
    ------
    ValueError
        If no card has that name or alias; the closest names are suggested.
    """
    if not isinstance(name, str):
        raise ValueError(f"name must be a dataset name (str), got {name!r}.")
    table = _lookup()
    key = name.lower().replace("-", "_")
    if key in table:
        return all_cards()[table[key]]
    close = difflib.get_close_matches(key, list(table), n=4, cutoff=0.5)
    hint = (f" Did you mean {', '.join(sorted({repr(table[c]) for c in close}))}?"
            if close else "")
    raise ValueError(f"No dataset card named {name!r}.{hint} Known: "
                     f"{', '.join(all_cards())}.")


def list_datasets(track: str | None = None, modality: str | None = None) -> list[str]:
    """Names of the datasets with a card, optionally of one track and/or modality.

    Parameters
    ----------
    track : {"mi", "ssvep", "seizure", "fmri", "encoding"} | None
    modality : {"eeg", "ieeg", "fmri"} | None

    Returns
    -------
    list of str
        Sorted card names.

    Raises
    ------
    ValueError
        If ``track`` or ``modality`` is not one of the known values.
    """
    for param, value, allowed in (("track", track, TRACKS), ("modality", modality, MODALITIES)):
        if value is not None and value not in allowed:
            raise ValueError(f"{param} must be one of {list(allowed)} or None, got {value!r}.")
    return sorted(name for name, card in all_cards().items()
                  if (track is None or track in card.tracks)
                  and (modality is None or card.modality == modality))
