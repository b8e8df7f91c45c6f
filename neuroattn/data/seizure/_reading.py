"""Reading seizure recordings and their annotations.

EDF/BDF/FIF files (opened lazily by MNE), seizures from EDF+ annotations, CHB-MIT
``chbNN-summary.txt`` files, BIDS ``events.tsv`` and plain tables, and the per-subject
checks of channels and sampling rate.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Annotation descriptions taken as seizures (not "preictal", "interictal", "postictal").
SEIZURE_PATTERN = r"(?i)^(?!.*(pre|inter|post)ictal).*(seiz|^sz|ictal)"


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
        If the file does not exist.
    """
    import mne

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"Recording {path} does not exist.")
    return mne.io.read_raw(path, preload=False, verbose="error")


def _check_seizures(seizures: Sequence[tuple[float, float]], duration: float,
                    name: str) -> None:
    for onset, offset in seizures:
        if not (0 <= onset < offset <= duration + 1e-6):
            raise ValueError(f"{name}: seizure ({onset:g} s, {offset:g} s) is outside the "
                             f"recording (0 to {duration:g} s) or ends before it starts; "
                             "expected 0 <= onset < offset <= duration.")


def read_edf_seizures(path_or_raw, pattern: str = SEIZURE_PATTERN, *,
                      encoding: str = "utf8") -> list[tuple[float, float]]:
    """Seizures from the annotations of an EDF+/BDF+/FIF file.

    Parameters
    ----------
    path_or_raw : str | Path | mne.io.BaseRaw
        The recording.
    pattern : str
        Regular expression matched against annotation descriptions; by default any
        description mentioning a seizure or ictal activity but not pre-, inter- or
        postictal.
    encoding : str
        Character encoding of an EDF+/BDF+ annotation channel (as in
        ``mne.read_annotations``).

    Returns
    -------
    list of tuple of float
        ``(onset, offset)`` seconds from the start of the recording; offset = onset +
        duration (a zero-duration annotation gives a 1-s seizure).

    Raises
    ------
    ValueError
        If an annotation points outside the recording, or the annotation channel of an
        EDF+/BDF+ file cannot be read (naming the file).
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
    regex = re.compile(pattern)
    out = []
    for ann in annotations:
        if regex.search(str(ann["description"])):
            onset = float(ann["onset"]) - (first if annotations is raw.annotations else 0.0)
            out.append((onset, onset + max(float(ann["duration"]), 1.0)))
    _check_seizures(out, duration, name)
    return sorted(out)


_SUMMARY_FILE = re.compile(r"File Name:\s*(\S+)")
_SUMMARY_TIME = re.compile(r"File (Start|End) Time:\s*(\d+):(\d+):(\d+)")
_SUMMARY_SZ = re.compile(r"Seizure\s*\d*\s*(Start|End)\s*Time:\s*([\d.]+)\s*seconds", re.I)


def read_chbmit_summary(summary: str | Path, *, on_missing: str = "raise",
                        check: bool = True) -> list[SeizureRecording]:
    """Recordings and seizures listed in a CHB-MIT ``chbNN-summary.txt``.

    Parameters
    ----------
    summary : str | Path
        The summary file; the EDF files it names are looked for in its folder.
    on_missing : {"raise", "warn"}
        What to do when a named EDF file is absent: raise, or warn and skip it.
    check : bool
        Open each file's header to read its length and check that its seizures lie
        inside it.

    Returns
    -------
    list of SeizureRecording
        In clock order; ``start`` is seconds since the first file's start (clock times
        past midnight, written 24:xx:xx or wrapping to 00:xx:xx, are handled).

    Raises
    ------
    ValueError
        If the file names no recording, names a missing file (with
        ``on_missing="raise"``), or lists a seizure outside its file.
    """
    if on_missing not in ("raise", "warn"):
        raise ValueError(f"on_missing must be 'raise' or 'warn', got {on_missing!r}.")
    summary = Path(summary)
    if not summary.is_file():
        raise ValueError(f"Summary file {summary} does not exist.")
    subject = summary.name.split("-summary")[0]
    blocks = re.split(r"(?=File Name:)", summary.read_text(errors="replace"))
    recordings, previous, day = [], None, 0.0
    for block in blocks:
        match = _SUMMARY_FILE.search(block)
        if not match:
            continue
        times = {kind: int(h) * 3600 + int(m) * 60 + int(s)
                 for kind, h, m, s in _SUMMARY_TIME.findall(block)}
        start = times.get("Start")
        if start is not None:
            start += day
            if previous is not None and start < previous:  # wrapped past midnight
                day += 86400.0
                start += 86400.0
            previous = start
        onsets = [float(v) for k, v in _SUMMARY_SZ.findall(block) if k.lower() == "start"]
        offsets = [float(v) for k, v in _SUMMARY_SZ.findall(block) if k.lower() == "end"]
        if len(onsets) != len(offsets):
            raise ValueError(f"{summary.name}: {match.group(1)} lists {len(onsets)} seizure "
                             f"starts but {len(offsets)} ends.")
        path = summary.parent / match.group(1)
        if not path.is_file():
            msg = f"{summary.name} names {match.group(1)}, which is not in {summary.parent}."
            if on_missing == "raise":
                raise ValueError(msg + " Pass on_missing='warn' to skip it.")
            warnings.warn(msg + " Skipped.", stacklevel=2)
            continue
        rec = SeizureRecording(path, list(zip(onsets, offsets)), start=float(start or 0.0),
                               subject=subject)
        recordings.append(rec.check() if check else rec)
    if not recordings:
        raise ValueError(f"{summary} names no recording (no 'File Name:' lines with files).")
    origin = min(r.start for r in recordings)
    for r in recordings:
        r.start -= origin
    return sorted(recordings, key=lambda r: r.start)


def read_events_tsv(path: str | Path, pattern: str = SEIZURE_PATTERN,
                    ) -> list[tuple[float, float]]:
    """Seizures from a BIDS ``*_events.tsv`` (columns ``onset``, ``duration`` and one of
    ``trial_type``, ``eventType``, ``value``).

    Parameters
    ----------
    path : str | Path
        The events file.
    pattern : str
        Regular expression matched against the event type column (see
        :func:`read_edf_seizures`).

    Returns
    -------
    list of tuple of float
        ``(onset, offset)`` in seconds.

    Raises
    ------
    ValueError
        If the columns are missing.
    """
    import pandas as pd

    table = pd.read_csv(path, sep="\t")
    kind = next((c for c in ("trial_type", "eventType", "value") if c in table), None)
    if "onset" not in table or "duration" not in table or kind is None:
        raise ValueError(f"{path} must have columns onset, duration and one of trial_type, "
                         f"eventType, value; found {list(table.columns)}.")
    regex = re.compile(pattern)
    keep = table[kind].astype(str).map(lambda v: bool(regex.search(v)))
    rows = table[keep]
    return sorted((float(o), float(o) + max(float(d), 1.0))
                  for o, d in zip(rows["onset"], rows["duration"].fillna(0)))


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
        If the columns are missing.
    """
    import pandas as pd

    table = pd.read_csv(path, sep=None, engine="python")
    if "file" not in table or "onset" not in table or not (
            "offset" in table or "duration" in table):
        raise ValueError(f"{path} must have columns file, onset and offset (or duration); "
                         f"found {list(table.columns)}.")
    offset = table["offset"] if "offset" in table else table["onset"] + table["duration"]
    out: dict[str, list[tuple[float, float]]] = {}
    for f, on, off in zip(table["file"], table["onset"], offset):
        out.setdefault(str(f), []).append((float(on), float(off)))
    return out


def pick_channel_indices(available: Sequence[str], wanted: Sequence[str], *,
                         name: str = "recording") -> list[int]:
    """Indices of ``wanted`` channels in ``available``, matched by name.

    Matching ignores case, and accepts MNE's renaming of duplicated names
    (CHB-MIT's second ``T8-P8`` becomes ``T8-P8-1``; ``T8-P8-0`` matches ``T8-P8``).

    Raises
    ------
    ValueError
        Naming the channels that are missing.
    """
    lookup: dict[str, int] = {}
    for i, ch in enumerate(available):
        lookup.setdefault(ch.upper(), i)
        base = re.sub(r"-0$", "", ch.upper())
        lookup.setdefault(base, i)
    missing = [ch for ch in wanted if ch.upper() not in lookup]
    if missing:
        raise ValueError(f"{name} lacks channels {missing}; it has {list(available)}.")
    return [lookup[ch.upper()] for ch in wanted]


def check_subject_recordings(recordings: Sequence[SeizureRecording],
                             ch_names: Sequence[str] | None = None, *,
                             same_sfreq: bool = True) -> tuple[list[str], float]:
    """Check that the files of a subject share the channels and the sampling rate.

    Parameters
    ----------
    recordings : sequence of SeizureRecording
        Files of one subject.
    ch_names : sequence of str | None
        Channels to use (e.g. the 18 bipolar pairs); None takes those of the first
        file.
    same_sfreq : bool
        Require one sampling rate (set False when the windows are resampled anyway).

    Returns
    -------
    ch_names : list of str
        The common channels.
    sfreq : float
        The common sampling rate, Hz.

    Raises
    ------
    ValueError
        If there is no recording, a file lacks a channel, or the rates differ.
    """
    if not recordings:
        raise ValueError("No recording given.")
    sfreq, names = None, list(ch_names) if ch_names is not None else None
    for rec in recordings:
        raw = rec.open()
        if names is None:
            names = list(raw.ch_names)
        pick_channel_indices(raw.ch_names, names, name=rec.path.name)
        if sfreq is None:
            sfreq = float(raw.info["sfreq"])
        elif same_sfreq and float(raw.info["sfreq"]) != sfreq:
            raise ValueError(f"{rec.path.name} is sampled at {raw.info['sfreq']} Hz, the "
                             f"first file at {sfreq} Hz; resample them to one rate (pass "
                             "sfreq=... to the windowing).")
    return names, sfreq

