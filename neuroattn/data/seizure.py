"""Continuous recordings with seizures: annotations, streamed windows, labels and splits.

A :class:`SeizureRecording` is one EDF/BDF/FIF file (read lazily by MNE) with its
seizures (onset, offset in seconds from the file start) and its start on the subject's
clock. Seizures come from EDF+ annotations, a CHB-MIT ``chbNN-summary.txt``, a BIDS
``events.tsv`` or a plain table. Windows are streamed from disk chunk by chunk, so
memory does not grow with the recording's length, and labelled by explicit
parameters:

* ``sph_seconds`` - seizure prediction horizon: the gap between the end of the
  preictal period and the onset (an alarm must come at least this early);
* ``sop_seconds`` - seizure occurrence period, the preictal length (default 15 min):
  windows entirely in ``[onset - sph - sop, onset - sph]`` are preictal (label 1);
* ``min_interictal_seconds`` - windows at least this far (default 4 h) from every
  seizure (before its onset and after its offset) are interictal (label 0);
* ``postictal_seconds`` - time after an offset excluded from the preictal period of the
  next seizure.

Every other window (ictal, postictal, the prediction horizon, the grey zone between
preictal and interictal) is labelled -1 and left out: no window is silently
mislabelled.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = ["SeizureRecording", "SeizureWindows", "read_raw_lazy", "read_edf_seizures",
           "read_chbmit_summary", "read_events_tsv", "read_seizure_table",
           "check_subject_recordings", "pick_channel_indices", "window_starts",
           "iter_windows", "label_windows", "extract_windows", "leave_one_seizure_out",
           "cross_subject_splits", "balanced_indices"]

#: Annotation descriptions taken as seizures (not "preictal", "interictal", "postictal").
SEIZURE_PATTERN = r"(?i)^(?!.*(pre|inter|post)ictal).*(seiz|^sz|ictal)"

PREICTAL, INTERICTAL, EXCLUDED = 1, 0, -1


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


def read_edf_seizures(path_or_raw, pattern: str = SEIZURE_PATTERN) -> list[tuple[float, float]]:
    """Seizures from the annotations of an EDF+/BDF+/FIF file.

    Parameters
    ----------
    path_or_raw : str | Path | mne.io.BaseRaw
        The recording.
    pattern : str
        Regular expression matched against annotation descriptions; by default any
        description mentioning a seizure or ictal activity but not pre-, inter- or
        postictal.

    Returns
    -------
    list of tuple of float
        ``(onset, offset)`` seconds from the start of the recording; offset = onset +
        duration (a zero-duration annotation gives a 1-s seizure).

    Raises
    ------
    ValueError
        If an annotation points outside the recording.
    """
    import mne

    raw = path_or_raw if hasattr(path_or_raw, "annotations") else read_raw_lazy(path_or_raw)
    duration = raw.n_times / raw.info["sfreq"]
    first = raw.first_samp / raw.info["sfreq"]
    filename = raw.filenames[0] if raw.filenames and raw.filenames[0] else None
    # Read the annotations from the file itself: MNE crops those reaching past the
    # data when it attaches them to a Raw, which would hide a bad annotation.
    annotations = raw.annotations
    if filename is not None and Path(filename).suffix.lower() in (".edf", ".bdf"):
        try:
            annotations = mne.read_annotations(filename)
        except (ValueError, UnicodeDecodeError, OSError, IndexError):
            annotations = raw.annotations  # plain EDF: no annotation channel
    regex = re.compile(pattern)
    out = []
    for ann in annotations:
        if regex.search(str(ann["description"])):
            onset = float(ann["onset"]) - (first if annotations is raw.annotations else 0.0)
            out.append((onset, onset + max(float(ann["duration"]), 1.0)))
    name = Path(filename).name if filename is not None else "recording"
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


def window_starts(duration: float, window_seconds: float,
                  stride_seconds: float | None = None) -> np.ndarray:
    """Start times (s) of the fixed-length windows that fit in ``duration`` seconds.

    Raises
    ------
    ValueError
        If the recording is shorter than one window, or lengths are not positive.
    """
    stride = window_seconds if stride_seconds is None else stride_seconds
    if window_seconds <= 0 or stride <= 0:
        raise ValueError(f"window_seconds and stride_seconds must be > 0, got "
                         f"{window_seconds} and {stride}.")
    if duration < window_seconds:
        raise ValueError(f"Recording of {duration:g} s is shorter than one window "
                         f"({window_seconds:g} s).")
    n = int(np.floor((duration - window_seconds) / stride + 1e-9)) + 1
    return np.arange(n) * stride


def iter_windows(recording: SeizureRecording, *, window_seconds: float = 5.0,
                 stride_seconds: float | None = None, ch_names: Sequence[str] | None = None,
                 sfreq: float | None = None, l_freq: float | None = None,
                 h_freq: float | None = None, starts: np.ndarray | None = None,
                 chunk_windows: int = 120,
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream fixed-length windows from disk, a chunk at a time.

    Only ``chunk_windows`` windows (plus a filter margin) are in memory at once, so
    memory does not grow with the recording's length.

    Parameters
    ----------
    recording : SeizureRecording
        The file.
    window_seconds : float
        Window length in seconds.
    stride_seconds : float | None
        Step between window starts (default: ``window_seconds``, no overlap).
    ch_names : sequence of str | None
        Channels, in this order (e.g. a bipolar montage); None keeps all.
    sfreq : float | None
        Resample to this rate (Hz); None keeps the file's.
    l_freq, h_freq : float | None
        Band-pass edges in Hz (zero-phase FIR, MNE's defaults); None skips that edge.
    starts : numpy.ndarray | None
        Explicit window starts in seconds from the file start (overrides the stride).
    chunk_windows : int
        Windows read per chunk.

    Yields
    ------
    starts : numpy.ndarray
        ``(n,)`` start of each window, seconds from the file's start.
    windows : numpy.ndarray
        ``(n, n_chans, n_times)`` float32 in microvolts (EEG/iEEG channels).

    Raises
    ------
    ValueError
        If the recording is shorter than one window or lacks a channel.
    """
    import mne

    raw = recording.open()
    fs0 = float(raw.info["sfreq"])
    fs = fs0 if sfreq is None else float(sfreq)
    picks = (list(range(len(raw.ch_names))) if ch_names is None
             else pick_channel_indices(raw.ch_names, ch_names, name=recording.path.name))
    scale = np.array([1e6 if raw.info["chs"][p]["unit"] == mne.io.constants.FIFF.FIFF_UNIT_V
                      else 1.0 for p in picks])[:, None]
    if starts is None:
        starts = window_starts(recording.duration, window_seconds, stride_seconds)
    starts = np.asarray(starts, dtype=float)
    if starts.size and (starts.min() < 0 or starts.max() + window_seconds >
                        recording.duration + 1e-6):
        raise ValueError(f"{recording.path.name}: window starts must lie in [0, "
                         f"{recording.duration - window_seconds:g}] s.")
    n_times = int(round(window_seconds * fs))
    ratio = Fraction(fs / fs0).limit_denominator(1000)
    filtering = l_freq is not None or h_freq is not None
    margin = (10.0 if filtering else 0.0) + (1.0 if ratio != 1 else 0.0)
    for i in range(0, len(starts), chunk_windows):
        chunk = starts[i: i + chunk_windows]
        a = max(0, int(np.floor((chunk[0] - margin) * fs0)))
        b = min(raw.n_times, int(np.ceil((chunk[-1] + window_seconds + margin) * fs0)) + 1)
        data = raw.get_data(picks=picks, start=a, stop=b) * scale
        if filtering:
            data = mne.filter.filter_data(data, fs0, l_freq, h_freq, verbose="error")
        if ratio != 1:
            from scipy.signal import resample_poly

            data = resample_poly(data, ratio.numerator, ratio.denominator, axis=-1)
        offsets = np.round((chunk - a / fs0) * fs).astype(int)
        offsets = np.minimum(offsets, data.shape[-1] - n_times)
        idx = offsets[:, None] + np.arange(n_times)[None]
        yield chunk, np.ascontiguousarray(data[:, idx].transpose(1, 0, 2), dtype=np.float32)


def label_windows(starts: np.ndarray, window_seconds: float,
                  seizures: Sequence[tuple[float, float]], *, sph_seconds: float = 300.0,
                  sop_seconds: float = 900.0, min_interictal_seconds: float = 4 * 3600.0,
                  postictal_seconds: float = 1800.0) -> tuple[np.ndarray, np.ndarray]:
    """Label windows preictal (1), interictal (0) or excluded (-1).

    Parameters
    ----------
    starts : numpy.ndarray
        ``(n,)`` window starts in seconds, on the same clock as ``seizures``.
    window_seconds : float
        Window length in seconds.
    seizures : sequence of tuple of float
        ``(onset, offset)`` of every seizure of the subject, seconds (all files).
    sph_seconds : float
        Seizure prediction horizon: preictal windows end at least this long before
        the onset.
    sop_seconds : float
        Seizure occurrence period (preictal length): preictal windows lie within
        ``[onset - sph - sop, onset - sph]``.
    min_interictal_seconds : float
        Interictal windows are at least this far from every seizure.
    postictal_seconds : float
        Time after a seizure's offset that is never preictal (nor interictal).

    Returns
    -------
    labels : numpy.ndarray
        ``(n,)`` int8 in {1, 0, -1}.
    seizure_index : numpy.ndarray
        ``(n,)`` index (in onset order) of the seizure a preictal window precedes,
        -1 for other windows.

    Raises
    ------
    ValueError
        On negative lengths.
    """
    for nm, v in (("sph_seconds", sph_seconds), ("sop_seconds", sop_seconds),
                  ("min_interictal_seconds", min_interictal_seconds),
                  ("postictal_seconds", postictal_seconds)):
        if v < 0:
            raise ValueError(f"{nm} must be >= 0 seconds, got {v}.")
    if sop_seconds <= 0 or window_seconds <= 0:
        raise ValueError("sop_seconds and window_seconds must be > 0.")
    starts = np.asarray(starts, dtype=float)
    ends = starts + window_seconds
    labels = np.zeros(starts.shape, dtype=np.int8)
    seizure_index = np.full(starts.shape, -1, dtype=np.int64)
    seizures = sorted(seizures)
    for k, (onset, offset) in enumerate(seizures):
        near = (ends > onset - min_interictal_seconds) & (starts < offset + min_interictal_seconds)
        labels[near] = EXCLUDED
        pre = (starts >= onset - sph_seconds - sop_seconds) & (ends <= onset - sph_seconds)
        seizure_index[pre & (seizure_index < 0)] = k
    for k in range(len(seizures)):
        labels[seizure_index == k] = PREICTAL
    # No preictal window inside any seizure or its postictal period.
    for onset, offset in seizures:
        bad = (ends > onset) & (starts < offset + postictal_seconds)
        labels[bad] = EXCLUDED
        seizure_index[bad] = -1
    return labels, seizure_index


@dataclass
class SeizureWindows:
    """Labelled windows of one or more subjects, ready for an estimator.

    Attributes
    ----------
    X : numpy.ndarray
        ``(n, n_chans, n_times)`` float32 microvolts (a ``numpy.memmap`` when written
        to disk).
    y : numpy.ndarray
        ``(n,)`` 1 preictal, 0 interictal.
    seizure : numpy.ndarray
        ``(n,)`` global seizure id of preictal windows (-1 for interictal).
    recording : numpy.ndarray
        ``(n,)`` index into ``recordings``.
    start : numpy.ndarray
        ``(n,)`` start on the subject's clock, seconds.
    subject : numpy.ndarray
        ``(n,)`` subject of each window.
    recordings : list of SeizureRecording
    ch_names : list of str
    sfreq : float
    window_seconds : float
    """

    X: np.ndarray
    y: np.ndarray
    seizure: np.ndarray
    recording: np.ndarray
    start: np.ndarray
    subject: np.ndarray
    recordings: list[SeizureRecording]
    ch_names: list[str]
    sfreq: float
    window_seconds: float


def extract_windows(recordings: Sequence[SeizureRecording], *, window_seconds: float = 5.0,
                    stride_seconds: float | None = None,
                    ch_names: Sequence[str] | None = None, sfreq: float | None = None,
                    l_freq: float | None = None, h_freq: float | None = None,
                    sph_seconds: float = 300.0, sop_seconds: float = 900.0,
                    min_interictal_seconds: float = 4 * 3600.0,
                    postictal_seconds: float = 1800.0, out: str | Path | None = None,
                    verbose: bool = False) -> SeizureWindows:
    """Labelled preictal and interictal windows of every recording (excluded ones dropped).

    Labels are computed from the headers before any data is read, so the output is
    allocated once: in memory, or as a ``.npy`` memory map at ``out`` (then memory
    stays flat however many hours are windowed). Recordings shorter than one window
    are skipped with a warning.

    Parameters
    ----------
    recordings : sequence of SeizureRecording
        Files of one or more subjects (``subject`` tells them apart; each subject's
        seizures are pooled across its files to measure distances).
    window_seconds, stride_seconds, ch_names, sfreq, l_freq, h_freq
        See :func:`iter_windows`.
    sph_seconds, sop_seconds, min_interictal_seconds, postictal_seconds
        See :func:`label_windows`.
    out : str | Path | None
        Write ``X`` to this ``.npy`` file as a memory map.
    verbose : bool
        Show a progress bar over recordings.

    Returns
    -------
    SeizureWindows

    Raises
    ------
    ValueError
        If files of a subject disagree on channels or rate (when ``sfreq`` is None),
        a seizure lies outside its file, or no window is preictal or none interictal
        (e.g. no interictal time at least ``min_interictal_seconds`` from seizures).
    """
    from tqdm.auto import tqdm

    recordings = [r.check() for r in recordings]
    subjects = sorted({r.subject for r in recordings})
    names = list(ch_names) if ch_names is not None else None
    for subj in subjects:
        recs = [r for r in recordings if r.subject == subj]
        names, _ = check_subject_recordings(recs, names, same_sfreq=sfreq is None)
    plan, seizure_offset = [], 0
    for subj in subjects:
        recs = [(i, r) for i, r in enumerate(recordings) if r.subject == subj]
        all_sz = sorted(s for _, r in recs for s in r.absolute_seizures)
        for i, r in recs:
            try:
                starts = window_starts(r.duration, window_seconds, stride_seconds)
            except ValueError as exc:
                warnings.warn(f"{r.path.name} skipped: {exc}", stacklevel=2)
                continue
            lab, sz = label_windows(r.start + starts, window_seconds, all_sz,
                                    sph_seconds=sph_seconds, sop_seconds=sop_seconds,
                                    min_interictal_seconds=min_interictal_seconds,
                                    postictal_seconds=postictal_seconds)
            keep = lab >= 0
            if keep.any():
                plan.append((i, r, starts[keep], lab[keep],
                             np.where(sz[keep] >= 0, sz[keep] + seizure_offset, -1)))
        seizure_offset += len(all_sz)
    y = np.concatenate([p[3] for p in plan]) if plan else np.zeros(0, np.int8)
    if not (y == PREICTAL).any() or not (y == INTERICTAL).any():
        raise ValueError(
            f"Found {(y == PREICTAL).sum()} preictal and {(y == INTERICTAL).sum()} "
            f"interictal windows: both are needed. Interictal windows must be at least "
            f"min_interictal_seconds={min_interictal_seconds:g} s from every seizure, "
            f"preictal ones within [onset - {sph_seconds + sop_seconds:g}, onset - "
            f"{sph_seconds:g}] s; add recordings or change these parameters.")
    fs = sfreq
    if fs is None:
        fs = float(recordings[plan[0][0]].open().info["sfreq"])
    n_times = int(round(window_seconds * fs))
    shape = (len(y), len(names), n_times)
    if out is not None:
        X = np.lib.format.open_memmap(Path(out), mode="w+", dtype=np.float32, shape=shape)
    else:
        X = np.empty(shape, dtype=np.float32)
    pos = 0
    for _, r, starts, _, _ in tqdm(plan, disable=not verbose, desc="windowing"):
        for chunk, win in iter_windows(r, window_seconds=window_seconds, ch_names=names,
                                       sfreq=sfreq, l_freq=l_freq, h_freq=h_freq,
                                       starts=starts):
            X[pos: pos + len(chunk)] = win
            pos += len(chunk)
    if out is not None:
        X.flush()
    return SeizureWindows(
        X=X, y=y.astype(np.int64), seizure=np.concatenate([p[4] for p in plan]),
        recording=np.concatenate([np.full(len(p[2]), p[0]) for p in plan]),
        start=np.concatenate([p[1].start + p[2] for p in plan]),
        subject=np.concatenate([np.full(len(p[2]), p[1].subject, dtype=object)
                                for p in plan]),
        recordings=list(recordings), ch_names=list(names), sfreq=float(fs),
        window_seconds=float(window_seconds))


def leave_one_seizure_out(y: np.ndarray, seizure: np.ndarray, start: np.ndarray,
                          ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-seizure-out splits of one subject's windows.

    Fold k tests on the preictal windows of seizure k and on the k-th of as many
    contiguous blocks of interictal time (in clock order); it trains on the rest.

    Parameters
    ----------
    y : numpy.ndarray
        ``(n,)`` labels, 1 preictal, 0 interictal.
    seizure : numpy.ndarray
        ``(n,)`` seizure id of preictal windows.
    start : numpy.ndarray
        ``(n,)`` window starts on the subject's clock (orders the interictal blocks).

    Yields
    ------
    train, test : numpy.ndarray
        Index arrays.

    Raises
    ------
    ValueError
        If there are fewer than 2 seizures with preictal windows, or fewer interictal
        windows than seizures (no interictal time to compare).
    """
    y, seizure, start = np.asarray(y), np.asarray(seizure), np.asarray(start)
    ids = np.unique(seizure[(y == PREICTAL) & (seizure >= 0)])
    inter = np.flatnonzero(y == INTERICTAL)
    if len(ids) < 2:
        raise ValueError(f"Leave-one-seizure-out needs at least 2 seizures with preictal "
                         f"windows, found {len(ids)}.")
    if len(inter) < len(ids):
        raise ValueError(f"Found {len(inter)} interictal windows for {len(ids)} seizures: "
                         "each fold needs interictal time to compare against.")
    blocks = np.array_split(inter[np.argsort(start[inter], kind="stable")], len(ids))
    for k, sid in enumerate(ids):
        test = np.concatenate([np.flatnonzero(seizure == sid), blocks[k]])
        mask = np.ones(len(y), dtype=bool)
        mask[test] = False
        yield np.flatnonzero(mask), np.sort(test)


def cross_subject_splits(subject: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-subject-out splits.

    Parameters
    ----------
    subject : numpy.ndarray
        ``(n,)`` subject of each window.

    Yields
    ------
    train, test : numpy.ndarray
        Index arrays; each subject is the test set once.

    Raises
    ------
    ValueError
        With fewer than 2 subjects.
    """
    subject = np.asarray(subject)
    names = list(dict.fromkeys(subject.tolist()))
    if len(names) < 2:
        raise ValueError(f"Cross-subject splits need at least 2 subjects, found {len(names)}.")
    for name in names:
        test = subject == name
        yield np.flatnonzero(~test), np.flatnonzero(test)


def balanced_indices(y: np.ndarray, *, mode: str = "undersample",
                     random_state: int | np.random.Generator | None = None) -> np.ndarray:
    """Indices that balance the classes by sampling (no data is copied).

    Parameters
    ----------
    y : numpy.ndarray
        ``(n,)`` labels.
    mode : {"undersample", "oversample"}
        Draw every class down to the rarest one's count (without replacement), or up to
        the most frequent one's (with replacement).
    random_state : int | numpy.random.Generator | None
        Seed.

    Returns
    -------
    numpy.ndarray
        Sorted indices into ``y``; use ``X[idx]`` lazily (e.g. in a sampler).

    Raises
    ------
    ValueError
        With an unknown mode or a single class.
    """
    if mode not in ("undersample", "oversample"):
        raise ValueError(f"mode must be 'undersample' or 'oversample', got {mode!r}.")
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"Balancing needs at least 2 classes, found {classes.tolist()}.")
    rng = np.random.default_rng(random_state)
    n = counts.min() if mode == "undersample" else counts.max()
    out = [rng.choice(np.flatnonzero(y == c), size=n, replace=mode == "oversample"
                      and cnt < n) for c, cnt in zip(classes, counts)]
    return np.sort(np.concatenate(out))
