"""A folder of patients as recordings: CHB-MIT layout or BIDS, checked against the headers."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from ..data.seizure import (
    SeizureRecording,
    montage_channels,
    read_chbmit_summary,
    read_edf_seizures,
    read_events_tsv,
)

__all__ = ["read_cohort", "check_summary_headers"]

_RATE = re.compile(r"Data Sampling Rate\s*:\s*([0-9.]+)\s*Hz", re.IGNORECASE)
_CHANNEL = re.compile(r"Channel\s+\d+\s*:\s*(\S+)", re.IGNORECASE)
_FILE = re.compile(r"File Name\s*:\s*(\S+)", re.IGNORECASE)
_BIDS_SUFFIXES = (".edf", ".bdf", ".fif", ".vhdr", ".set")


def check_summary_headers(summary: Path, recordings: list[SeizureRecording]) -> None:
    """Refuse a summary whose sampling rate or channel lists disagree with the EDF headers.

    Raises
    ------
    ValueError
        Naming the summary (and line) and the file: the rate it gives differs from the
        file's, or the channels it lists for the file are not those the file holds
        (dummy ``-`` channels and a duplicated name counted once).
    """
    rate, channels, listed, where = None, [], {}, {}
    current: list[str] | None = None
    for n, line in enumerate(summary.read_text(errors="replace").splitlines(), start=1):
        if m := _RATE.search(line):
            rate = (float(m.group(1)), n)
        elif m := _CHANNEL.match(line.strip()):
            if current is None:
                current = []
                channels.append((current, n))
            current.append(m.group(1))
        elif m := _FILE.match(line.strip()):
            current = None
            if channels:
                listed[m.group(1)] = channels[-1][0]
                where[m.group(1)] = channels[-1][1]
    for rec in recordings:
        raw = rec.open()
        fs = float(raw.info["sfreq"])
        if rate is not None and abs(rate[0] - fs) > 1e-6:
            raise ValueError(f"{summary.name}, line {rate[1]}: Data Sampling Rate "
                             f"{rate[0]:g} Hz, but {rec.path.name} is sampled at {fs:g} Hz "
                             "(EDF header); expected the summary to describe its files.")
        names = listed.get(rec.path.name)
        if names is None:
            continue
        said = {c.upper() for c in montage_channels(names)}
        has = {c.upper() for c in montage_channels(raw.ch_names)}
        if said != has:
            raise ValueError(
                f"{summary.name}, line {where[rec.path.name]}: the channels listed for "
                f"{rec.path.name} are not those of its EDF header (listed but absent: "
                f"{sorted(said - has)}; present but not listed: {sorted(has - said)}); "
                "expected the summary to describe its files.")


def _chbmit(summary: Path) -> list[SeizureRecording]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recs = read_chbmit_summary(summary, on_missing="raise")
    for w in caught:
        text = str(w.message)
        if "File Start and End Times span" in text:
            raise ValueError(f"{text} The summary disagrees with the EDF header; expected "
                             "them to agree.")
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    check_summary_headers(summary, recs)
    return recs


def _bids_start(path: Path) -> float | None:
    """``acq_time`` of ``path`` in the subject's ``*_scans.tsv`` (seconds), or None."""
    import pandas as pd

    sub = next((p for p in path.parents if p.name.startswith("sub-")), None)
    if sub is None:
        return None
    for scans in sub.rglob("*_scans.tsv"):
        table = pd.read_csv(scans, sep="\t")
        if "filename" not in table or "acq_time" not in table:
            continue
        for fname, acq in zip(table["filename"], table["acq_time"]):
            if Path(str(fname)).name == path.name:
                t = pd.to_datetime(acq, errors="coerce")
                if pd.isna(t):
                    raise ValueError(f"{scans}: acq_time {acq!r} of {path.name} is not a "
                                     "date-time; expected ISO 8601 (2000-01-01T08:00:00).")
                return t.timestamp()
    return None


def _bids(root: Path) -> list[SeizureRecording]:
    recs = []
    files = sorted(p for p in root.glob("sub-*/**/*_eeg.*")
                   if p.suffix.lower() in _BIDS_SUFFIXES)
    by_subject: dict[str, list] = {}
    for path in files:
        subject = next(p.name for p in path.parents if p.name.startswith("sub-"))
        events = path.with_name(path.name.rsplit("_eeg", 1)[0] + "_events.tsv")
        seizures = (read_events_tsv(events) if events.is_file()
                    else read_edf_seizures(path))
        by_subject.setdefault(subject, []).append(
            (path, seizures, _bids_start(path)))
    for subject, items in by_subject.items():
        starts = [s for _, _, s in items]
        if any(s is None for s in starts):
            warnings.warn(f"{subject}: no acq_time in *_scans.tsv for every recording; its "
                          "files are placed end to end in name order (distances between "
                          "seizures and interictal windows then assume no gaps).",
                          UserWarning, stacklevel=3)
            clock = 0.0
            for path, seizures, _ in items:
                rec = SeizureRecording(path, seizures, start=clock, subject=subject).check()
                recs.append(rec)
                clock += rec.duration
            continue
        origin = min(starts)
        recs += [SeizureRecording(path, seizures, start=s - origin, subject=subject).check()
                 for path, seizures, s in items]
    return recs


def read_cohort(data_dir: str | Path) -> list[SeizureRecording]:
    """The recordings and seizures of every patient in ``data_dir``.

    Parameters
    ----------
    data_dir : str | Path
        A folder of patient folders in CHB-MIT's layout (``chbNN/chbNN-summary.txt``
        beside the EDF files; a single patient folder works too), or a BIDS dataset
        (``sub-*/.../*_eeg.edf`` with ``*_events.tsv``, clock from ``*_scans.tsv``).

    Returns
    -------
    list of SeizureRecording
        ``subject`` is the patient (``chbNN`` or ``sub-XX``).

    Raises
    ------
    ValueError
        If ``data_dir`` holds neither layout, or a summary disagrees with its EDF
        headers (rate, channels, duration), names a missing file, or cannot be read
        (naming the file and line).
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise ValueError(f"DATA_DIR {root} is not a folder; expected a folder of patients "
                         "(chbNN/chbNN-summary.txt or BIDS sub-*/).")
    summaries = sorted(root.glob("*/*-summary.txt")) or sorted(root.glob("*-summary.txt"))
    if summaries:
        return [r for s in summaries for r in _chbmit(s)]
    recs = _bids(root)
    if not recs:
        raise ValueError(f"DATA_DIR {root} holds no patient: expected chbNN/chbNN-summary.txt "
                         "files (CHB-MIT layout) or BIDS sub-*/**/*_eeg.edf recordings.")
    return recs
