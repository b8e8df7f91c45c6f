"""Reading CHB-MIT ``chbNN-summary.txt`` files, line by line and strictly.

Every line must be one of the fields the real summaries use (below); anything else is
refused with the file name and the line number, so that a seizure is never dropped
because its line was spelled in an unexpected way.

* ``Data Sampling Rate: 256 Hz``, lines of ``*``, blank lines;
* ``Channels in EDF Files:`` and ``Channels changed:`` (chb09, chb12, ...) followed by
  ``Channel <n>: <name>`` lines (names such as ``-`` or ``.`` included);
* ``File Name: chbNN_MM.edf`` starting a file block;
* ``File Start Time:`` / ``File End Time:`` as ``H:MM:SS``: hours may pass 24 (files
  after midnight are written ``24:44:29`` or wrap to ``00:44:37``; single-digit hours
  as in ``1:44:37``), minutes and seconds are below 60. Some summaries (chb24) give
  no clock time at all;
* ``Number of Seizures in File: <n>``;
* ``Seizure Start Time: <t> seconds`` / ``Seizure End Time: <t> seconds``, numbered or
  not (``Seizure 1 Start Time``, chb24 and others); the unit may be written ``s``,
  ``sec``, ``secs``, ``second`` or ``seconds``. Starts and ends are paired in order,
  not by their printed number (chb09_08 prints its second seizure's end as
  ``Seizure 1 End Time``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SummaryBlock", "parse_chbmit_summary", "check_recordings_disjoint"]

_FIELDS = {
    "blank": r"",
    "rule": r"\*+",
    "rate": r"Data Sampling Rate\s*:\s*\d+(?:\.\d+)?\s*Hz",
    "channels": r"Channels (?:in EDF Files|changed)\s*:",
    "channel": r"Channel\s+\d+\s*:.*",
    "file": r"File Name\s*:\s*(?P<value>.*)",
    "clock": r"File (?P<kind>Start|End) Time\s*:\s*(?P<value>.*)",
    "count": r"Number of Seizures in File\s*:\s*(?P<value>.*)",
    "seizure": r"Seizure(?:\s*(?P<index>\d+))?\s+(?P<kind>Start|End)\s+Time\s*:\s*(?P<value>.*)",
}
_FIELDS_RE = {k: re.compile(v, re.IGNORECASE) for k, v in _FIELDS.items()}
_CLOCK = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})")
_SECONDS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:s|secs?|seconds?)\.?", re.IGNORECASE)
_FILE = re.compile(r"\S+\.(?:edf|bdf|fif)", re.IGNORECASE)


@dataclass
class SummaryBlock:
    """One ``File Name:`` block of a summary.

    Attributes
    ----------
    name : str
        The EDF file name.
    line : int
        Line number of its ``File Name:`` line (1-based).
    start, end : float | None
        ``File Start Time`` / ``File End Time`` in seconds since 00:00:00 of the day
        the clock was written on (hours past 24 kept), or None when not given.
    start_line, end_line : int | None
        Their line numbers.
    seizures : list of tuple of float
        ``(onset, offset)`` seconds from the file start, in the listed order.
    """

    name: str
    line: int
    start: float | None = None
    end: float | None = None
    start_line: int | None = None
    end_line: int | None = None
    seizures: list[tuple[float, float]] = field(default_factory=list)
    seizure_lines: list[int] = field(default_factory=list)
    count: int | None = None
    count_line: int | None = None
    pending: tuple[float, int] | None = None


def _clock(value: str, where: str, kind: str) -> float:
    match = _CLOCK.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{where}: File {kind} Time must be H:MM:SS (hours may pass 24, "
                         f"minutes and seconds below 60), got {value.strip()!r}.")
    h, m, s = (int(g) for g in match.groups())
    if m >= 60 or s >= 60:
        raise ValueError(f"{where}: File {kind} Time {value.strip()!r} is not a clock time; "
                         "expected H:MM:SS with minutes and seconds below 60 (hours may "
                         "pass 24).")
    return float(h * 3600 + m * 60 + s)


def _seconds(value: str, where: str, kind: str) -> float:
    match = _SECONDS.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{where}: Seizure {kind} Time must be '<number> seconds' (seconds "
                         f"from the file start), got {value.strip()!r}.")
    return float(match.group(1))


def _close(block: SummaryBlock, name: str) -> None:
    if block.pending is not None:
        raise ValueError(f"{name}, line {block.pending[1]}: {block.name} has a Seizure Start "
                         "Time with no End Time after it.")
    if block.count is not None and block.count != len(block.seizures):
        raise ValueError(f"{name}, line {block.count_line}: Number of Seizures in File: "
                         f"{block.count} for {block.name}, but the block lists "
                         f"{len(block.seizures)} (Start Time, End Time) pairs.")
    order = sorted(range(len(block.seizures)), key=lambda i: block.seizures[i])
    for i, j in zip(order, order[1:]):
        (a0, a1), (b0, b1) = block.seizures[i], block.seizures[j]
        if b0 < a1:
            raise ValueError(f"{name}, line {block.seizure_lines[j]}: seizures ({a0:g} s, "
                             f"{a1:g} s) and ({b0:g} s, {b1:g} s) of {block.name} overlap.")


def parse_chbmit_summary(path: Path) -> list[SummaryBlock]:
    """The file blocks of a CHB-MIT summary, checked line by line.

    Parameters
    ----------
    path : Path
        The ``chbNN-summary.txt`` file.

    Returns
    -------
    list of SummaryBlock
        In the listed order.

    Raises
    ------
    ValueError
        On any line that is not a known field, a malformed value, a seizure ending
        before it starts, overlapping seizures, a count that differs from the listed
        seizures, or a file listed twice; the message names the file and the line.
    """
    name = path.name
    blocks: list[SummaryBlock] = []
    current: SummaryBlock | None = None
    seen: dict[str, int] = {}
    for n, raw in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        where = f"{name}, line {n}"
        kind, match = next(((k, m) for k, r in _FIELDS_RE.items()
                            if (m := r.fullmatch(line)) is not None), (None, None))
        if kind is None:
            raise ValueError(f"{where}: unexpected line {line!r}; a CHB-MIT summary holds "
                             "'File Name:', 'File Start/End Time: H:MM:SS', 'Number of "
                             "Seizures in File:', 'Seizure [n] Start/End Time: <t> "
                             "seconds' and channel lists only.")
        if kind in ("blank", "rule", "rate", "channel"):
            continue
        if kind == "channels":  # a new channel list ends the file block before it
            if current is not None:
                _close(current, name)
            current = None
            continue
        if kind == "file":
            if current is not None:
                _close(current, name)
            value = match.group("value").strip()
            if _FILE.fullmatch(value) is None:
                raise ValueError(f"{where}: File Name must be one EDF/BDF/FIF file name, "
                                 f"got {value!r}.")
            if value in seen:
                raise ValueError(f"{where}: {value} is listed twice (first on line "
                                 f"{seen[value]}).")
            seen[value] = n
            current = SummaryBlock(value, n)
            blocks.append(current)
            continue
        if current is None:
            raise ValueError(f"{where}: {line!r} is outside a file block (no 'File Name:' "
                             "line before it).")
        if kind == "clock":
            which = match.group("kind").lower()
            if getattr(current, which) is not None:
                raise ValueError(f"{where}: a second File {which.title()} Time for "
                                 f"{current.name}.")
            setattr(current, which, _clock(match.group("value"), where, which.title()))
            setattr(current, f"{which}_line", n)
        elif kind == "count":
            value = match.group("value").strip()
            if not value.isdigit() or current.count is not None:
                raise ValueError(f"{where}: expected one 'Number of Seizures in File: <n>' "
                                 f"for {current.name}, got {value!r}.")
            current.count, current.count_line = int(value), n
        else:  # seizure
            which = match.group("kind").title()
            t = _seconds(match.group("value"), where, which)
            if which == "Start":
                if current.pending is not None:
                    raise ValueError(f"{where}: a Seizure Start Time follows the one on line "
                                     f"{current.pending[1]} with no End Time between them.")
                current.pending = (t, n)
            else:
                if current.pending is None:
                    raise ValueError(f"{where}: Seizure End Time without a Start Time "
                                     "before it.")
                onset = current.pending[0]
                if t <= onset:
                    raise ValueError(f"{where}: the seizure of {current.name} starting at "
                                     f"{onset:g} s ends at {t:g} s, before it starts.")
                current.seizures.append((onset, t))
                current.seizure_lines.append(current.pending[1])
                current.pending = None
    if current is not None:
        _close(current, name)
    return blocks


def clock_starts(blocks: list[SummaryBlock], name: str) -> list[float] | None:
    """Start of each block on one clock (seconds), or None when no block gives one.

    Clock times are read modulo 24 h and each file is placed at the first such time
    not before the previous file's start (files are listed in recording order), so
    ``24:10:00`` and ``00:10:00`` after ``23:50:00`` both mean the next day.

    Raises
    ------
    ValueError
        If some blocks give a start time and others do not, or a block gives an end
        time without a start time (naming the line).
    """
    given = [b for b in blocks if b.start is not None]
    for b in blocks:
        if b.end is not None and b.start is None:
            raise ValueError(f"{name}, line {b.end_line}: {b.name} has a File End Time but "
                             "no File Start Time.")
    if not given:
        return None
    missing = [b for b in blocks if b.start is None]
    if missing:
        raise ValueError(f"{name}, line {missing[0].line}: {missing[0].name} has no File "
                         "Start Time while other files have one; give every file's start "
                         "or none.")
    starts, previous, day = [], None, 0.0
    for b in blocks:
        t = day + b.start % 86400.0
        if previous is not None and t < previous:
            day += 86400.0
            t += 86400.0
        starts.append(t)
        previous = t
    return starts


def clock_duration(block: SummaryBlock) -> float | None:
    """``File End Time - File Start Time`` in seconds (wrapping past midnight)."""
    if block.start is None or block.end is None:
        return None
    return (block.end - block.start) % 86400.0


def warn_no_clock(name: str) -> None:
    warnings.warn(f"{name} gives no File Start Time: the files are placed end to end in "
                  "the listed order. The real gaps between them are unknown, so distances "
                  "to seizures in other files (interictal and preictal labels) are lower "
                  "bounds; pass SeizureRecording(start=...) yourself if you know them.",
                  UserWarning, stacklevel=3)


def _duration(rec) -> float:
    rec.open()
    return float(rec.duration)


def check_recordings_disjoint(recordings: Sequence, *,
                              tolerance: float = 1.0, where: Sequence[str] | None = None,
                              ) -> None:
    """Refuse files of one subject that overlap on the subject's clock.

    Parameters
    ----------
    recordings : sequence of SeizureRecording
        Files of one subject (``start`` on one clock, ``duration`` read when None).
    tolerance : float
        Overlap allowed, seconds (clock times are given to the second).
    where : sequence of str | None
        Per recording, the text that locates it in error messages (e.g. a summary's
        line); default its file name.

    Raises
    ------
    ValueError
        Naming the two files that overlap: a wrong clock time, or one file twice.
    """
    order = sorted(range(len(recordings)), key=lambda i: recordings[i].start)
    for i, j in zip(order, order[1:]):
        a, b = recordings[i], recordings[j]
        end = a.start + (a.duration if a.duration is not None else _duration(a))
        if b.start < end - tolerance:
            prefix = f"{where[j]}: " if where is not None else ""
            raise ValueError(f"{prefix}{a.path.name} ({a.start:g} to {end:g} s on the "
                             f"subject's clock) overlaps {b.path.name} (from {b.start:g} "
                             "s): check their start times.")
