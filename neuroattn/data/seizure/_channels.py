"""Channels of seizure recordings: a declared montage picked by name in every file.

CHB-MIT's files do not all carry the same channels, and its quirks are handled here:

* **dummy channels** named ``-`` (PhysioNet: "up to 5 'dummy' signals (named '-') were
  interspersed among the EEG signals to obtain an easy-to-read display format; these
  dummy signals can be ignored"). MNE numbers repeated names, so they read as ``--0``,
  ``--1``, ...; names made only of ``-`` or ``.`` are dummies and are never picked;
* **a duplicated T8-P8** (channels 15 and 23 of the 23-channel files), which MNE reads
  as ``T8-P8-0`` and ``T8-P8-1``: a declared ``T8-P8`` takes the *first* column
  (``T8-P8-0``). Both columns record the same derivation (T8 minus P8), so they are
  copies; keeping one avoids a channel counted twice;
* **channel sets that change within a subject** (``Channels changed:`` blocks of the
  summaries, chb12-chb19 among others): every file is picked by name, so another
  order does not matter, and a file lacking a declared channel is an error that lists
  what each file lacks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["is_dummy_channel", "montage_channels", "pick_channel_indices",
           "check_subject_recordings"]

_DUMMY = re.compile(r"[-.]+(?:-\d+)?")
_RUNNING = re.compile(r"(?P<base>.+)-(?P<n>\d+)")


def is_dummy_channel(name: str) -> bool:
    """Whether ``name`` is a CHB-MIT dummy channel (``-``, or MNE's ``--0``, ``--1``...)."""
    return _DUMMY.fullmatch(str(name).strip()) is not None


def _aliases(available: Sequence[str]) -> list[tuple[int, str, str | None]]:
    """Per non-dummy channel: ``(index, upper-case name, upper-case base or None)``.

    ``base`` is the name MNE numbered (``T8-P8`` for ``T8-P8-0``) when the channel is
    one of several numbered copies of a name absent from the file (or is ``X-0``)."""
    upper = [str(ch).strip().upper() for ch in available]
    present = set(upper)
    numbered = Counter(m.group("base") for u in upper if (m := _RUNNING.fullmatch(u)))
    out = []
    for i, u in enumerate(upper):
        if is_dummy_channel(u):
            continue
        m = _RUNNING.fullmatch(u)
        base = None
        if m and m.group("base") not in present and (
                m.group("n") == "0" or numbered[m.group("base")] > 1):
            base = m.group("base")
        out.append((i, u, base))
    return out


def _lookup(available: Sequence[str]) -> dict[str, int]:
    lookup: dict[str, int] = {}
    for i, u, base in _aliases(available):
        lookup.setdefault(u, i)
        if base is not None:
            lookup.setdefault(base, i)  # the first numbered copy wins
    return lookup


def montage_channels(available: Sequence[str]) -> list[str]:
    """The real channels of a file, in its order: dummies dropped, numbered copies of a
    duplicated name (``T8-P8-0``, ``T8-P8-1``) given once under that name."""
    out, seen = [], set()
    for i, u, base in _aliases(available):
        key = base or u
        if key in seen:
            continue
        seen.add(key)
        name = str(available[i]).strip()
        out.append(name[: len(base)] if base is not None else name)
    return out


def _check_wanted(wanted: Sequence[str]) -> list[str]:
    wanted = [str(ch) for ch in wanted]
    dummies = [ch for ch in wanted if is_dummy_channel(ch)]
    if dummies:
        raise ValueError(f"ch_names: {dummies} are dummy channels (CHB-MIT pads its display "
                         "with channels named '-', read as '--0', '--1'...); they hold no "
                         "signal and are never picked: leave them out of ch_names.")
    counts = Counter(ch.strip().upper() for ch in wanted)
    twice = [ch for ch, c in counts.items() if c > 1]
    if twice:
        raise ValueError(f"ch_names lists {twice} more than once; list each channel once (a "
                         "duplicated column such as CHB-MIT's second T8-P8 is resolved to "
                         "its first copy).")
    return wanted


def pick_channel_indices(available: Sequence[str], wanted: Sequence[str], *,
                         name: str = "recording") -> list[int]:
    """Indices of ``wanted`` channels in ``available``, matched by name.

    Matching ignores case and the order of the file. Dummy channels (``-``, read by MNE
    as ``--0``, ``--1``...) are never matched. A name MNE numbered because it occurs
    several times (CHB-MIT's ``T8-P8`` read as ``T8-P8-0`` and ``T8-P8-1``) matches its
    first copy (``T8-P8-0``); ``X-0`` also matches ``X``.

    Parameters
    ----------
    available : sequence of str
        Channels of the file, as MNE reads them.
    wanted : sequence of str
        Channels to pick, in the order wanted.
    name : str
        The file, named in errors.

    Returns
    -------
    list of int
        Indices into ``available``, in the order of ``wanted``.

    Raises
    ------
    ValueError
        Naming the channels that are missing (and the file's real channels), or when
        ``wanted`` lists a dummy channel or a channel twice.
    """
    wanted = _check_wanted(wanted)
    lookup = _lookup(available)
    missing = [ch for ch in wanted if ch.strip().upper() not in lookup]
    if missing:
        raise ValueError(f"{name} lacks channels {missing}; it has "
                         f"{montage_channels(available)} (dummy '-' channels left out).")
    return [lookup[ch.strip().upper()] for ch in wanted]


def check_subject_recordings(recordings: Sequence, ch_names: Sequence[str] | None = None,
                             *, same_sfreq: bool = True) -> tuple[list[str], float]:
    """Check that every file of a subject holds the declared channels, at one rate.

    Channels are picked by name in each file (see :func:`pick_channel_indices`), so
    files whose montage changed (another order, an added channel, dummy ``-``
    channels, a duplicated ``T8-P8``) are accepted as long as each has the declared
    channels.

    Parameters
    ----------
    recordings : sequence of SeizureRecording
        Files of one subject.
    ch_names : sequence of str | None
        The declared montage (e.g. the 18 bipolar pairs common to CHB-MIT); None takes
        the real channels of the first file (dummies dropped, a duplicated name once).
    same_sfreq : bool
        Require one sampling rate (set False when the windows are resampled anyway).

    Returns
    -------
    ch_names : list of str
        The declared channels.
    sfreq : float
        The sampling rate of the first file, Hz.

    Raises
    ------
    ValueError
        If there is no recording, ``ch_names`` lists a dummy channel or a channel
        twice, the rates differ, or files lack declared channels: one message lists
        what each such file lacks, and the channels every file has.
    """
    if not recordings:
        raise ValueError("No recording given.")
    sfreq, names = None, None if ch_names is None else _check_wanted(ch_names)
    lacking, common = [], None
    for rec in recordings:
        raw = rec.open()
        real = montage_channels(raw.ch_names)
        if names is None:
            names = real
        lookup = _lookup(raw.ch_names)
        missing = [ch for ch in names if ch.strip().upper() not in lookup]
        if missing:
            lacking.append(f"{rec.path.name} lacks channels {missing}")
        keys = {ch.upper() for ch in real}
        common = keys if common is None else common & keys
        if sfreq is None:
            sfreq = float(raw.info["sfreq"])
        elif same_sfreq and float(raw.info["sfreq"]) != sfreq:
            raise ValueError(f"{rec.path.name} is sampled at {raw.info['sfreq']} Hz, the "
                             f"first file at {sfreq} Hz; resample them to one rate (pass "
                             "sfreq=... to the windowing).")
    if lacking:
        shared = [ch for ch in montage_channels(recordings[0].open().ch_names)
                  if ch.upper() in common]
        raise ValueError(
            f"{len(lacking)} of {len(recordings)} files lack declared channels (picked by "
            f"name in each file): {'; '.join(lacking)}. Channels every file has: {shared}. "
            "Declare a montage every file holds (ch_names=...) or leave these files out.")
    return names, sfreq
