"""Reading seizure recordings and their annotations.

EDF/BDF/FIF files (opened lazily by MNE), seizures from EDF+ annotations, CHB-MIT
``chbNN-summary.txt`` files, BIDS ``events.tsv`` and plain tables. The per-subject
checks of channels and sampling rate are in ``_channels`` (re-exported here).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._annotations import SEIZURE_PATTERN, seizures_from_events
from ._channels import check_subject_recordings, pick_channel_indices  # noqa: F401 (re-export)
from ._chbmit import (
    _duration,
    check_recordings_disjoint,
    clock_duration,
    clock_starts,
    parse_chbmit_summary,
    warn_no_clock,
)


@dataclass
class SeizureRecording:
    """One continuous recording file and its seizures.

    Parameters
    ----------
    path : str | Path
        EDF, BDF or FIF file (anything ``mne.io.read_raw`` opens).
    seizures : list of tuple of float
        ``(onset, offset)`` of each seizure in seconds from the file's start.
    start : float
        The file's start on the subject's clock, in seconds (e.g. since the first file
        of the subject began). Used to measure the distance to seizures in other files.
    subject : str
        Subject identifier.
    duration : float | None
        Length in seconds; read from the file header when None.
    """

    path: Path
    seizures: list[tuple[float, float]] = field(default_factory=list)
    start: float = 0.0
    subject: str = ""
    duration: float | None = None

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.seizures = sorted((float(a), float(b)) for a, b in self.seizures)

    def open(self):
        """The file as an ``mne.io.Raw`` with ``preload=False`` (nothing read yet)."""
        raw = read_raw_lazy(self.path)
        if self.duration is None:
            self.duration = raw.n_times / raw.info["sfreq"]
        return raw

    def check(self) -> SeizureRecording:
        """Read the header and check that every seizure lies inside the recording.

        Raises
        ------
        ValueError
            If a seizure starts before 0, ends after the recording, or ends before it
            starts.
        """
        if self.duration is None:
            self.open()
        _check_seizures(self.seizures, self.duration, self.path.name)
        return self

    @property
    def absolute_seizures(self) -> list[tuple[float, float]]:
        """Seizures on the subject's clock (``start`` added), seconds."""
        return [(self.start + a, self.start + b) for a, b in self.seizures]


def read_raw_lazy(path: str | Path):
    """Open EDF/BDF/FIF (or any format MNE reads) without loading the data.

    Parameters
    ----------
    path : str | Path
        Recording file.

    Returns
    -------
    mne.io.BaseRaw
        Opened with ``preload=False``.

    Raises
    ------
    ValueError
        If the file does not exist, or MNE cannot read it (empty, damaged, or not of
        the format its suffix says): the message names the file, the expected format
        and MNE's reason.

    Warns
    -----
    UserWarning
        If an EDF/BDF file is shorter than its header says (a truncated copy or an
        interrupted recording): MNE reads the records present, and the warning names
        the file and the expected and found durations.
    """
    import mne

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"Recording {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix in (".edf", ".bdf"):
        _check_edf_size(path)
    try:
        return mne.io.read_raw(path, preload=False, verbose="error")
    except Exception as exc:  # MNE's readers raise many types on a damaged file
        kind = _FORMATS.get(suffix)
        what = f"a{'n' * (suffix == '.edf')} {kind} recording" if kind else "a recording"
        reason = " ".join(str(exc).split()) or type(exc).__name__
        size = path.stat().st_size
        raise ValueError(
            f"{path}: cannot be read as {what} ({size} bytes; MNE: {reason}). Expected "
            f"{_EXPECTED.get(suffix, 'a file of a format MNE reads')}; check the copy of "
            "the file.") from exc


_FORMATS = {".edf": "EDF", ".bdf": "BDF", ".fif": "FIF"}
_EXPECTED = {".edf": "a European Data Format file (256-byte header starting with '0')",
             ".bdf": "a BioSemi Data Format file", ".fif": "an MNE/Neuromag FIF file"}


def _check_edf_size(path: Path) -> None:
    """Warn when an EDF/BDF file holds fewer data records than its header announces."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
            n_signals = int(head[252:256].decode("ascii").strip())
            fh.seek(256 + n_signals * 216)
            samples = [int(fh.read(8).decode("ascii").strip()) for _ in range(n_signals)]
        header_bytes = int(head[184:192].decode("ascii").strip())
        n_records = int(head[236:244].decode("ascii").strip())
        record_seconds = float(head[244:252].decode("ascii").strip())
    except (ValueError, UnicodeDecodeError, OSError):
        return  # not a header this check understands: MNE reports what is wrong
    per_sample = 3 if head[:1] == b"\xff" else 2
    record_bytes = sum(samples) * per_sample
    if n_records <= 0 or record_bytes <= 0:
        return  # -1: number of records unknown (recording not closed)
    found = max(0, (path.stat().st_size - header_bytes) // record_bytes)
    if found < n_records:
        warnings.warn(
            f"{path.name} is truncated: its header announces {n_records} records "
            f"({n_records * record_seconds:g} s) but the file holds {found} complete ones "
            f"({found * record_seconds:g} s). Only the {found * record_seconds:g} s present "
            "are read; check the copy of the file.", UserWarning, stacklevel=3)


def _check_seizures(seizures: Sequence[tuple[float, float]], duration: float,
                    name: str) -> None:
    for onset, offset in seizures:
        if not (0 <= onset < offset <= duration + 1e-6):
            raise ValueError(f"{name}: seizure ({onset:g} s, {offset:g} s) is outside the "
                             f"recording (0 to {duration:g} s) or ends before it starts; "
                             "expected 0 <= onset < offset <= duration.")
    ordered = sorted(seizures)
    for (a0, a1), (b0, b1) in zip(ordered, ordered[1:]):
        if b0 < a1:
            raise ValueError(f"{name}: seizures ({a0:g} s, {a1:g} s) and ({b0:g} s, "
                             f"{b1:g} s) overlap; each seizure must be listed once.")


def read_edf_seizures(path_or_raw, pattern: str = SEIZURE_PATTERN, *,
                      encoding: str = "utf8") -> list[tuple[float, float]]:
    """Seizures from the annotations of an EDF+/BDF+/FIF file.

    Parameters
    ----------
    path_or_raw : str | Path | mne.io.BaseRaw
        The recording.
    pattern : str
        Regular expression a whole annotation description must match (``re.fullmatch``)
        to be a seizure onset; by default :data:`SEIZURE_PATTERN`, the spellings of
        real datasets (``seizure``, ``Seizure onset``, ``sz``, ``EEG onset``, the TUSZ
        codes ``seiz``/``fnsz``/``gnsz``/..., SzCORE's ``sz_*``), never ``no seizure``,
        ``Seizure end``, ``pre-seizure`` or ``preictal``.
    encoding : str
        Character encoding of an EDF+/BDF+ annotation channel (as in
        ``mne.read_annotations``).

    Returns
    -------
    list of tuple of float
        ``(onset, offset)`` seconds from the start of the recording; offset = onset +
        duration, or for a zero-duration onset the next end marker (``Seizure end``,
        ``sz offset``, ...) before the next onset, else onset + 1 s.

    Raises
    ------
    ValueError
        If a seizure lies outside the recording, two seizures overlap, or the
        annotation channel of an EDF+/BDF+ file cannot be read (naming the file).

    Warns
    -----
    UserWarning
        Naming the descriptions that mention a seizure but were not taken as onsets.
    """
    import mne

    raw = path_or_raw if hasattr(path_or_raw, "annotations") else read_raw_lazy(path_or_raw)
    duration = raw.n_times / raw.info["sfreq"]
    first = raw.first_samp / raw.info["sfreq"]
    filename = raw.filenames[0] if raw.filenames and raw.filenames[0] else None
    # Read the annotations from the file itself: MNE crops those reaching past the
    # data when it attaches them to a Raw, which would hide a bad annotation.
    # A plain EDF (no annotation channel, as CHB-MIT's) reads as no annotation; an
    # annotation channel MNE cannot parse is an error, never a silent fallback to the
    # (cropped) annotations of the Raw.
    annotations = raw.annotations
    name = Path(filename).name if filename is not None else "recording"
    if filename is not None and Path(filename).suffix.lower() in (".edf", ".bdf"):
        try:
            annotations = mne.read_annotations(filename, encoding=encoding)
        except (ValueError, IndexError) as exc:  # UnicodeDecodeError is a ValueError
            raise ValueError(
                f"{name}: its EDF+ annotations cannot be read ({type(exc).__name__}: "
                f"{exc}). Pass the right encoding=..., fix the annotation, or give the "
                "seizures another way (read_chbmit_summary, read_seizure_table).") from exc
    shift = first if annotations is raw.annotations else 0.0
    out = seizures_from_events(
        ((float(a["onset"]) - shift, float(a["duration"]), str(a["description"]))
         for a in annotations), name, pattern)
    _check_seizures(out, duration, name)
    return out


def _clock_and_durations(blocks, recordings, name):
    """Clock starts (seconds from the first file) for the kept recordings."""
    starts = clock_starts(blocks, name)
    if starts is None:
        warn_no_clock(name)
        starts, t = [], 0.0
        for rec in recordings:
            starts.append(t)
            if rec is not None:
                t += rec.duration if rec.duration is not None else _duration(rec)
    return starts


def read_chbmit_summary(summary: str | Path, *, on_missing: str = "raise",
                        check: bool = True) -> list[SeizureRecording]:
    """Recordings and seizures listed in a CHB-MIT ``chbNN-summary.txt``.

    The file is read line by line: every line must be a field the real summaries use
    (see ``neuroattn/data/seizure/_chbmit.py``: ``File Name``, ``File Start/End Time``
    as ``H:MM:SS`` with hours possibly past 24, ``Number of Seizures in File``,
    ``Seizure [n] Start/End Time: <t> seconds``, channel lists); anything else is
    refused with its line number, so no seizure is dropped unseen.

    Parameters
    ----------
    summary : str | Path
        The summary file; the EDF files it names are looked for in its folder.
    on_missing : {"raise", "warn"}
        What to do when a named EDF file is absent: raise, or warn and skip it.
    check : bool
        Open each file's header to read its length and check that its seizures lie
        inside it and that files do not overlap in time.

    Returns
    -------
    list of SeizureRecording
        In clock order; ``start`` is seconds since the first file's start (clock times
        past midnight, written 24:xx:xx or wrapping to 00:xx:xx, are handled). When
        the summary gives no clock time (chb24), the files are placed end to end in
        the listed order, with a warning.

    Raises
    ------
    ValueError
        If ``summary`` is a folder (the summary files in it are listed), the file
        names no recording, names a missing file (with
        ``on_missing="raise"``), has a line it cannot read (a clock time such as
        ``12:35`` or ``99:99:99``, a seizure time without its unit of seconds), lists
        a seizure ending before it starts, overlapping seizures, a seizure count that
        differs from the listed seizures, a seizure outside its file, or files that
        overlap in time. The message names the summary and the line.
    """
    if on_missing not in ("raise", "warn"):
        raise ValueError(f"on_missing must be 'raise' or 'warn', got {on_missing!r}.")
    summary = Path(summary)
    if summary.is_dir():
        found = sorted(p.name for p in summary.glob("*-summary.txt"))
        raise ValueError(
            f"{summary} is a folder; expected a chbNN-summary.txt file. "
            + (f"It holds {', '.join(found)}: pass one of them." if found
               else "It holds no *-summary.txt file."))
    if not summary.is_file():
        raise ValueError(f"Summary file {summary} does not exist.")
    subject = summary.name.split("-summary")[0]
    blocks = parse_chbmit_summary(summary)
    recordings: list[SeizureRecording | None] = []
    for block in blocks:
        path = summary.parent / block.name
        if not path.is_file():
            msg = (f"{summary.name}, line {block.line} names {block.name}, which is not in "
                   f"{summary.parent}.")
            if on_missing == "raise":
                raise ValueError(msg + " Pass on_missing='warn' to skip it.")
            warnings.warn(msg + " Skipped.", stacklevel=2)
            recordings.append(None)
            continue
        rec = SeizureRecording(path, block.seizures, subject=subject)
        if check:
            try:
                rec.check()
            except ValueError as exc:
                raise ValueError(f"{summary.name}, line {block.line}: {exc}") from exc
            expected = clock_duration(block)
            if expected is not None and abs(expected - rec.duration) > 60.0:
                warnings.warn(f"{summary.name}, line {block.line}: {block.name} lasts "
                              f"{rec.duration:g} s, but its File Start and End Times span "
                              f"{expected:g} s; check its clock times.", UserWarning,
                              stacklevel=2)
        recordings.append(rec)
    if not any(r is not None for r in recordings):
        raise ValueError(f"{summary} names no recording (no 'File Name:' lines with files).")
    starts = _clock_and_durations(blocks, recordings, summary.name)
    kept = [(r, s, b) for r, s, b in zip(recordings, starts, blocks) if r is not None]
    origin = min(s for _, s, _ in kept)
    for rec, start, _ in kept:
        rec.start = float(start - origin)
    if check:
        check_recordings_disjoint([r for r, _, _ in kept], where=[
            f"{summary.name}, line {b.line}" for _, _, b in kept])
    return sorted((r for r, _, _ in kept), key=lambda r: r.start)


def read_events_tsv(path: str | Path, pattern: str = SEIZURE_PATTERN,
                    ) -> list[tuple[float, float]]:
    """Seizures from a BIDS ``*_events.tsv`` (columns ``onset``, ``duration`` and one of
    ``trial_type``, ``eventType``, ``value``).

    Parameters
    ----------
    path : str | Path
        The events file.
    pattern : str
        Regular expression a whole event type must match to be a seizure onset (see
        :func:`read_edf_seizures`).

    Returns
    -------
    list of tuple of float
        ``(onset, offset)`` in seconds (``n/a`` durations count as 0, see
        :func:`read_edf_seizures` for zero-duration onsets).

    Raises
    ------
    ValueError
        If the columns are missing, or a seizure's onset or duration is not a finite
        number of seconds, or two seizures overlap.

    Warns
    -----
    UserWarning
        Naming the event types that mention a seizure but were not taken as onsets.
    """
    import pandas as pd

    path = Path(path)
    table = pd.read_csv(path, sep="\t")
    kind = next((c for c in ("trial_type", "eventType", "value") if c in table), None)
    if "onset" not in table or "duration" not in table or kind is None:
        raise ValueError(f"{path} must have columns onset, duration and one of trial_type, "
                         f"eventType, value; found {list(table.columns)}.")
    onsets = pd.to_numeric(table["onset"], errors="coerce")
    durations = pd.to_numeric(table["duration"], errors="coerce").fillna(0.0)
    out = seizures_from_events(zip(onsets, durations, table[kind].astype(str)), path.name,
                               pattern)
    _check_seizures(out, float("inf"), path.name)
    return out


def read_seizure_table(path: str | Path) -> dict[str, list[tuple[float, float]]]:
    """Seizures from a plain CSV/TSV table with columns ``file, onset`` and ``offset``
    (or ``duration``), seconds from each file's start.

    Parameters
    ----------
    path : str | Path
        The table (separator guessed).

    Returns
    -------
    dict of str to list of tuple of float
        File name to its seizures.

    Raises
    ------
    ValueError
        If the columns are missing, a time is not a number, or a seizure ends before
        it starts or overlaps another of its file (naming the row).
    """
    import pandas as pd

    table = pd.read_csv(path, sep=None, engine="python")
    if "file" not in table or "onset" not in table or not (
            "offset" in table or "duration" in table):
        raise ValueError(f"{path} must have columns file, onset and offset (or duration); "
                         f"found {list(table.columns)}.")
    offset = table["offset"] if "offset" in table else table["onset"] + table["duration"]
    out: dict[str, list[tuple[float, float]]] = {}
    for row, (f, on, off) in enumerate(zip(table["file"], table["onset"], offset), start=2):
        try:
            on, off = float(on), float(off)
        except (TypeError, ValueError):
            on = off = float("nan")
        if not (np.isfinite(on) and np.isfinite(off) and 0 <= on < off):
            raise ValueError(f"{Path(path).name}, line {row}: seizure of {f} from {on} to "
                             f"{off} s; expected finite seconds with 0 <= onset < offset.")
        out.setdefault(str(f), []).append((on, off))
    for f, seizures in out.items():
        _check_seizures(seizures, float("inf"), f"{Path(path).name} ({f})")
    return out
