"""Streaming fixed-length windows from recordings and extracting labelled windows."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..._files import atomic_folder, check_output_file
from ._labels import INTERICTAL, PREICTAL, _check_number, label_windows, subject_seizures
from ._reading import (
    SeizureRecording,
    check_recordings_disjoint,
    check_subject_recordings,
    pick_channel_indices,
)


def _check_window_args(window_seconds, stride_seconds=None, sfreq=None, l_freq=None,
                       h_freq=None) -> None:
    """Refuse windowing parameters that cannot be right, naming the parameter."""
    _check_number("window_seconds", window_seconds, positive=True)
    for name, value in (("stride_seconds", stride_seconds), ("sfreq", sfreq),
                        ("l_freq", l_freq), ("h_freq", h_freq)):
        if value is not None:
            _check_number(name, value, positive=True)
    if l_freq is not None and h_freq is not None and not l_freq < h_freq:
        raise ValueError(f"l_freq={l_freq} must be below h_freq={h_freq} (Hz): a band-pass "
                         "needs l_freq < h_freq; l_freq > h_freq would filter a band-stop.")


def _check_band(l_freq, h_freq, rates: Sequence[float]) -> None:
    """Band edges below the Nyquist frequency of every rate the data passes through."""
    nyquist = min(rates) / 2.0
    for name, value in (("l_freq", l_freq), ("h_freq", h_freq)):
        if value is not None and value >= nyquist:
            raise ValueError(f"{name}={value} Hz is at or above the Nyquist frequency "
                             f"({nyquist:g} Hz at {min(rates):g} Hz sampling); use a lower "
                             f"{name} (or None).")


def window_starts(duration: float, window_seconds: float,
                  stride_seconds: float | None = None) -> np.ndarray:
    """Start times (s) of the fixed-length windows that fit in ``duration`` seconds.

    Parameters
    ----------
    duration : float
        Recording length, seconds (>= 0).
    window_seconds : float
        Window length, seconds (> 0, finite).
    stride_seconds : float | None
        Step between starts, seconds (> 0, finite); None: ``window_seconds``.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` starts in seconds.

    Raises
    ------
    ValueError
        If a length is not a positive finite number, or the recording is shorter than
        one window (naming the parameter).
    """
    _check_window_args(window_seconds, stride_seconds)
    _check_number("duration", duration)
    stride = window_seconds if stride_seconds is None else stride_seconds
    if duration < window_seconds:
        raise ValueError(f"window_seconds={window_seconds:g} is longer than the recording "
                         f"({duration:g} s): the recording is shorter than one window.")
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
        If the recording is shorter than one window or lacks a channel, or a parameter
        cannot be right (naming it): a length, rate or band edge that is not a
        positive finite number, ``l_freq >= h_freq`` (a band-stop), a band edge at or
        above the Nyquist frequency of the file's or the output rate, or window starts
        outside the recording.
    """
    import mne

    _check_window_args(window_seconds, stride_seconds, sfreq, l_freq, h_freq)
    if isinstance(chunk_windows, bool) or not isinstance(chunk_windows, (int, np.integer)) \
            or chunk_windows < 1:
        raise ValueError(f"chunk_windows must be an integer >= 1, got {chunk_windows!r}.")
    raw = recording.open()
    fs0 = float(raw.info["sfreq"])
    fs = fs0 if sfreq is None else float(sfreq)
    _check_band(l_freq, h_freq, (fs0, fs))
    picks = (list(range(len(raw.ch_names))) if ch_names is None
             else pick_channel_indices(raw.ch_names, ch_names, name=recording.path.name))
    scale = np.array([1e6 if raw.info["chs"][p]["unit"] == mne.io.constants.FIFF.FIFF_UNIT_V
                      else 1.0 for p in picks])[:, None]
    if starts is None:
        starts = window_starts(recording.duration, window_seconds, stride_seconds)
    starts = np.asarray(starts, dtype=float)
    if starts.ndim != 1 or not np.isfinite(starts).all():
        raise ValueError(f"{recording.path.name}: starts must be a 1-D array of finite "
                         "seconds.")
    if starts.size and (starts.min() < 0 or starts.max() + window_seconds >
                        recording.duration + 1e-6):
        raise ValueError(f"{recording.path.name}: window starts must lie in [0, "
                         f"{recording.duration - window_seconds:g}] s.")
    n_times = int(round(window_seconds * fs))
    if n_times < 1:
        raise ValueError(f"window_seconds={window_seconds:g} holds no sample at {fs:g} Hz.")
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
        The files the windows come from (``recording`` indexes them).
    ch_names : list of str
        Channels of ``X``, in order.
    sfreq : float
        Sampling rate of ``X``, Hz.
    window_seconds : float
        Window length, seconds.
    sph_seconds, sop_seconds, postictal_seconds, min_interictal_seconds : float
        The labelling the windows were made with (see :func:`label_windows`), seconds.
        Evaluations read them from here, so they cannot disagree with the labels.
    l_freq, h_freq : float | None
        Band-pass edges applied to ``X``, Hz (None: that edge was not filtered).
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
    sph_seconds: float
    sop_seconds: float
    postictal_seconds: float
    min_interictal_seconds: float
    l_freq: float | None
    h_freq: float | None


def extract_windows(recordings: Sequence[SeizureRecording], *, window_seconds: float = 5.0,
                    stride_seconds: float | None = None,
                    ch_names: Sequence[str] | None = None, sfreq: float | None = None,
                    l_freq: float | None = None, h_freq: float | None = None,
                    sph_seconds: float = 300.0, sop_seconds: float = 900.0,
                    min_interictal_seconds: float = 4 * 3600.0,
                    postictal_seconds: float = 1800.0, out: str | Path | None = None,
                    overwrite: bool = False, verbose: int = 0) -> SeizureWindows:
    """Labelled preictal and interictal windows of every recording (excluded ones dropped).

    Labels are computed from the headers before any data is read, so the output is
    allocated once: in memory, or as a ``.npy`` memory map on disk with ``out`` (then
    memory stays flat however many hours are windowed). Recordings shorter than one
    window are skipped with a warning.

    Parameters
    ----------
    recordings : sequence of SeizureRecording
        Files of one or more subjects (``subject`` tells them apart; each subject's
        seizures are pooled across its files to measure distances, a seizure listed
        up to the end of one file and from the start of the next counted once, see
        :func:`subject_seizures`; a subject's files must not overlap on its clock).
        Windows never span two files, so no window crosses a gap between files.
    ch_names : sequence of str | None
        The declared montage, picked by name in every file (files whose channels
        changed order or gained channels are fine; dummy ``-`` channels are never
        picked; CHB-MIT's duplicated ``T8-P8`` resolves to its first copy). None takes
        the real channels of each subject's first file. See
        :func:`check_subject_recordings`.
    window_seconds, stride_seconds, sfreq, l_freq, h_freq
        See :func:`iter_windows`.
    sph_seconds, sop_seconds, min_interictal_seconds, postictal_seconds
        See :func:`label_windows`.
    out : str | Path | None
        A folder: the whole window store (``X.npy``, ``labels.npz``, ``meta.json``, as
        :func:`save_windows` writes it) is written into a temporary sibling folder
        that replaces ``out`` only when complete, so a failure midway leaves ``out`` as
        it was. A path ending in ``.npy``: only ``X``, written beside it and renamed
        into place when complete. Files get the permissions of the user's umask.
    overwrite : bool
        Replace an existing non-empty ``out`` folder (or ``.npy`` file); otherwise
        refuse, before any work.
    verbose : int
        Show a progress bar over recordings when > 0.

    Returns
    -------
    SeizureWindows
        ``X`` of shape ``(n, n_chans, n_times)`` float32 microvolts (a memory map of
        the written ``X.npy`` with ``out``), with the labelling and band-pass above
        recorded on it.

    Raises
    ------
    ValueError
        If a parameter cannot be right (see :func:`iter_windows` and
        :func:`label_windows`; checked before any file is read), ``window_seconds`` is
        longer than every recording, files of a subject lack declared channels (one
        message lists what each file lacks) or disagree on rate (when ``sfreq`` is
        None) or overlap in time, a seizure lies outside its file,
        ``out`` exists and is not empty (without ``overwrite``), or no window is
        preictal or none interictal (e.g. no interictal time at least
        ``min_interictal_seconds`` from seizures).
    """
    from tqdm.auto import tqdm

    _check_window_args(window_seconds, stride_seconds, sfreq, l_freq, h_freq)
    for nm, v in (("sph_seconds", sph_seconds), ("min_interictal_seconds",
                  min_interictal_seconds), ("postictal_seconds", postictal_seconds)):
        _check_number(nm, v)
    _check_number("sop_seconds", sop_seconds, positive=True)
    out = _check_out(out, overwrite)
    recordings = [r.check() for r in recordings]
    subjects = sorted({r.subject for r in recordings})
    names = list(ch_names) if ch_names is not None else None
    for subj in subjects:
        recs = [r for r in recordings if r.subject == subj]
        names, _ = check_subject_recordings(recs, names, same_sfreq=sfreq is None)
        check_recordings_disjoint(recs)
    rates = [float(r.open().info["sfreq"]) for r in recordings]
    _check_band(l_freq, h_freq, rates + ([] if sfreq is None else [float(sfreq)]))
    plan, seizure_offset, n_fit, skipped = [], 0, 0, []
    for subj in subjects:
        recs = [(i, r) for i, r in enumerate(recordings) if r.subject == subj]
        all_sz = subject_seizures([r for _, r in recs])
        for i, r in recs:
            try:
                starts = window_starts(r.duration, window_seconds, stride_seconds)
            except ValueError as exc:
                skipped.append(f"{r.path.name} skipped: {exc}")
                continue
            n_fit += 1
            lab, sz = label_windows(r.start + starts, window_seconds, all_sz,
                                    sph_seconds=sph_seconds, sop_seconds=sop_seconds,
                                    min_interictal_seconds=min_interictal_seconds,
                                    postictal_seconds=postictal_seconds)
            keep = lab >= 0
            if keep.any():
                plan.append((i, r, starts[keep], lab[keep],
                             np.where(sz[keep] >= 0, sz[keep] + seizure_offset, -1)))
        seizure_offset += len(all_sz)
    if recordings and not n_fit:
        raise ValueError(f"window_seconds={window_seconds:g} is longer than every recording "
                         f"(the longest lasts {max(r.duration for r in recordings):g} s).")
    for msg in skipped:
        warnings.warn(msg, UserWarning, stacklevel=2)
    y = np.concatenate([p[3] for p in plan]) if plan else np.zeros(0, np.int8)
    if not (y == PREICTAL).any() or not (y == INTERICTAL).any():
        raise ValueError(
            f"Found {(y == PREICTAL).sum()} preictal and {(y == INTERICTAL).sum()} "
            f"interictal windows: both are needed. Interictal windows must be at least "
            f"min_interictal_seconds={min_interictal_seconds:g} s from every seizure, "
            f"preictal ones within [onset - {sph_seconds + sop_seconds:g}, onset - "
            f"{sph_seconds:g}] s; add recordings or change these parameters.")
    fs = float(sfreq) if sfreq is not None else rates[plan[0][0]]
    shape = (len(y), len(names), int(round(window_seconds * fs)))

    def build(X):
        return SeizureWindows(
            X=X, y=y.astype(np.int64), seizure=np.concatenate([p[4] for p in plan]),
            recording=np.concatenate([np.full(len(p[2]), p[0]) for p in plan]),
            start=np.concatenate([p[1].start + p[2] for p in plan]),
            subject=np.concatenate([np.full(len(p[2]), p[1].subject, dtype=object)
                                    for p in plan]),
            recordings=list(recordings), ch_names=list(names), sfreq=fs,
            window_seconds=float(window_seconds), sph_seconds=float(sph_seconds),
            sop_seconds=float(sop_seconds), postictal_seconds=float(postictal_seconds),
            min_interictal_seconds=float(min_interictal_seconds),
            l_freq=None if l_freq is None else float(l_freq),
            h_freq=None if h_freq is None else float(h_freq))

    def fill(X):
        pos = 0
        for _, r, starts, _, _ in tqdm(plan, disable=not verbose, desc="windowing"):
            for chunk, win in iter_windows(r, window_seconds=window_seconds, ch_names=names,
                                           sfreq=sfreq, l_freq=l_freq, h_freq=h_freq,
                                           starts=starts):
                X[pos: pos + len(chunk)] = win
                pos += len(chunk)

    if out is None:
        X = np.empty(shape, dtype=np.float32)
        fill(X)
        return build(X)
    if out.suffix.lower() == ".npy":
        tmp = out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:8]}")
        try:
            X = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
            fill(X)
            X.flush()
            del X
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return build(np.load(out, mmap_mode="r+"))
    from ._store import _check_windows, _write_description

    with atomic_folder(out, overwrite=overwrite) as tmp:
        X = np.lib.format.open_memmap(tmp / "X.npy", mode="w+", dtype=np.float32,
                                      shape=shape)
        fill(X)
        X.flush()
        windows = build(X)
        _check_windows(windows)
        _write_description(windows, tmp)
        del X
        windows.X = None
    windows.X = np.load(out / "X.npy", mmap_mode="r")
    return windows


def _check_out(out: str | Path | None, overwrite: bool) -> Path | None:
    """The destination of :func:`extract_windows`, checked before the work."""
    if out is None:
        return None
    out = Path(out)
    if out.suffix.lower() == ".npy":
        return check_output_file(out, overwrite=overwrite, parameter="out")
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {out} is a file, expected a folder (or a path ending in "
                         ".npy for X alone).")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"out: folder {out} exists and is not empty; pass overwrite=True "
                         "to replace it.")
    return out
