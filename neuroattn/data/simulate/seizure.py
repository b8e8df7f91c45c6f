"""Simulated continuous EEG with seizures and a planted preictal change, in CHB-MIT's layout.

The recordings are written as EDF files named ``chbNN_MM.edf`` in a folder ``chbNN``
beside a ``chbNN-summary.txt`` that lists, as CHB-MIT's summaries do, the sampling rate,
the channels, and for every file its clock start and end times and the onset and end
(seconds from the file start) of each seizure in it. Everything that reads CHB-MIT
therefore reads these files too.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import signal as _signal

from ._noise import pink_noise

__all__ = ["CHBMIT_CHANNELS", "SimulatedSubject", "simulate_seizure_recordings"]

#: CHB-MIT's 18 bipolar "double banana" channels (the montage common to all subjects).
CHBMIT_CHANNELS = ("FP1-F7", "F7-T7", "T7-P7", "P7-O1", "FP1-F3", "F3-C3", "C3-P3", "P3-O1",
                   "FP2-F4", "F4-C4", "C4-P4", "P4-O2", "FP2-F8", "F8-T8", "T8-P8", "P8-O2",
                   "FZ-CZ", "CZ-PZ")

#: Channels of the simulated seizure focus (left temporal and parasagittal chain).
_FOCUS = ("F7-T7", "T7-P7", "P7-O1", "F3-C3", "C3-P3", "P3-O1")


@dataclass(frozen=True)
class SimulatedSubject:
    """What :func:`simulate_seizure_recordings` wrote, and the truth it planted.

    Attributes
    ----------
    summary_path : Path
        The ``chbNN-summary.txt`` file.
    edf_paths : list of Path
        EDF files in clock order.
    seizures : list of tuple of (str, float, float)
        ``(file name, onset s, offset s)`` per seizure, seconds from the file's start.
    preictal_seconds : float
        How long before each onset the planted change starts, in seconds.
    focus_channels : tuple of str
        Channels that carry the preictal change.
    sfreq : float
        Sampling frequency of the EDF files, Hz.
    file_starts : list of float
        True start of each file (in ``edf_paths`` order), seconds since the first
        file's start (the summary's clock; also when ``no_clock_times`` leaves it out).
    clock_seizures : list of tuple of float
        ``(onset, offset)`` of each seizure on that clock, seconds: one entry per
        seizure, also for a seizure listed in two files (``seizure_across_files``).
    file_channels : dict of str to list of str
        The channel labels written in each file, in file order (``-`` for dummies).
    """

    summary_path: Path
    edf_paths: list[Path]
    seizures: list[tuple[str, float, float]]
    preictal_seconds: float
    focus_channels: tuple[str, ...]
    sfreq: float
    file_starts: list[float] = field(default_factory=list)
    clock_seizures: list[tuple[float, float]] = field(default_factory=list)
    file_channels: dict[str, list[str]] = field(default_factory=dict)


def simulate_seizure_recordings(
        path: str | Path, *, subject: int = 1, n_seizures: int = 4,
        n_interictal_files: int = 4, interictal_file_minutes: float = 30.0,
        seizure_file_minutes: float = 35.0, preictal_seconds: float = 1200.0,
        seizure_seconds: tuple[float, float] = (40.0, 80.0),
        interictal_gap_hours: float = 4.5, margin_seconds: float = 300.0,
        sfreq: float = 128.0,
        ch_names: tuple[str, ...] | list[str] = CHBMIT_CHANNELS,
        noise_amplitude: float = 20.0, rhythm_amplitude: float = 8.0,
        preictal_power_gain: float = 0.3, preictal_coupling: float = 0.9,
        seizure_amplitude: float = 120.0, edf_annotations: bool = False,
        montage_changes: bool | Mapping[int, Sequence[str]] = False,
        dummy_channels: int = 0, duplicate_t8p8: bool = False,
        file_gaps: float | Sequence[float] | None = None, no_clock_times: bool = False,
        seizure_across_files: bool = False,
        focus_channels: Sequence[str] | None = None,
        random_state: int | None = None) -> SimulatedSubject:
    """Write hours of multichannel EEG with seizures and a planted preictal change as EDF.

    Background: independent pink (1/f) noise per channel, high-passed at 0.5 Hz
    (``noise_amplitude`` uV), plus
    an independent 13-20 Hz rhythm per channel (``rhythm_amplitude`` uV). Preictal
    change: from ``preictal_seconds`` before each onset, the rhythm of the focus
    channels becomes progressively *shared* (coupled): its shared fraction ramps from 0
    to ``preictal_coupling`` (square-root ramp, so it is visible early), and its power
    rises by up to ``preictal_power_gain`` (0.3 = +30 %). Total power in the band changes
    little on purpose, so that the change is mostly one of cross-channel coupling.
    Seizure: an evolving 3-5 Hz spike-wave discharge on every channel, strongest at the
    focus, for a duration drawn in ``seizure_seconds``; followed by ``margin_seconds``
    of attenuated (postictal) background.

    Timeline, CHB-MIT style: ``n_interictal_files`` seizure-free files come first,
    back to back; ``interictal_gap_hours`` later (so more than the 4 h minimum
    interictal distance away) come ``n_seizure`` files, one seizure each, 2 h apart.
    Each seizure file starts ``preictal_seconds + margin_seconds`` (at least) before its
    onset.

    Parameters
    ----------
    path : str | Path
        Folder in which the subject folder ``chbNN`` is created.
    subject : int
        Subject number NN.
    n_seizures : int
        Number of seizures (one per seizure file), >= 1.
    n_interictal_files : int
        Number of seizure-free files, >= 0.
    interictal_file_minutes, seizure_file_minutes : float
        File lengths in minutes. Seizure files must leave room for the preictal
        period, the seizure and 5 min after it.
    preictal_seconds : float
        Time before each onset at which the planted change starts, in seconds.
    seizure_seconds : tuple of float
        Range of seizure durations in seconds.
    interictal_gap_hours : float
        Clock gap between the last interictal file and the first seizure file, hours.
    margin_seconds : float
        Minimum time in a seizure file before the preictal change starts, and after
        the seizure ends (the postictal attenuation lasts this long too).
    sfreq : float
        Sampling frequency in Hz (CHB-MIT records at 256 Hz; 128 keeps tests fast).
    ch_names : sequence of str
        Channel names; the focus is the channels of :data:`_FOCUS` present here, or
        the first third of the channels when none is.
    noise_amplitude, rhythm_amplitude, seizure_amplitude : float
        Standard deviations / amplitudes in microvolts.
    preictal_power_gain : float
        Relative rise of the focus rhythm's amplitude at onset (>= 0).
    preictal_coupling : float
        Shared fraction of the focus rhythm at onset, in [0, 1].
    edf_annotations : bool
        Also write each seizure as an EDF+ annotation ``"seizure"`` (CHB-MIT files carry
        none; the summary is the reference).
    montage_changes : bool | mapping of int to sequence of str
        CHB-MIT's changing channel sets (``Channels changed:`` blocks, chb12-chb19
        among others). True: from the middle file on, the channels in reverse order
        plus ``FT9-FT10``. A mapping ``{file number (1-based): channels}``: from that
        file on, those channels (a channel may be added, dropped or moved; channels
        not in ``ch_names`` carry background EEG only). The summary lists each change.
    dummy_channels : int
        Number (0-5) of dummy channels named ``-`` (flat, as CHB-MIT's display padding)
        interspersed among the channels of every second file (files 2, 4, ...).
    duplicate_t8p8 : bool
        Write ``T8-P8`` a second time as the last channel of every file (as channels
        15 and 23 of CHB-MIT's 23-channel files), an identical copy.
    file_gaps : float | sequence of float | None
        Gaps between consecutive files, seconds (one number for all, or one per pair
        of files), rounded to whole seconds as the summary's clock gives them; files
        then follow one another with these gaps. None: the layout described above
        (10 s between interictal files; with ``seizure_across_files``, 5 s before the
        continuation file).
    no_clock_times : bool
        Write the summary without ``File Start Time`` / ``File End Time`` lines, as
        chb24's.
    seizure_across_files : bool
        The last seizure starts near the end of its file and goes on in one more
        file (of ``interictal_file_minutes``) after a short gap; the summary lists it
        as CHB-MIT's list seizures, in each file from that file's start: up to the
        end of the first file, and from 0 s in the next. The gap must be at least
        4 s shorter than ``seizure_seconds[0]``.
    focus_channels : sequence of str | None
        The channels that carry the preictal change and the strongest discharge (all
        in ``ch_names``); None: those of :data:`_FOCUS` present in ``ch_names``, or the
        first third of the channels when none is.
    random_state : int | None
        Seed; the same seed writes the same files.

    Returns
    -------
    SimulatedSubject
        Paths and the planted truth.

    Raises
    ------
    ValueError
        On non-positive sizes, a seizure file too short for its preictal period,
        out-of-range amplitudes, a non-finite or negative rate, gap or margin, or a
        quirk option that cannot be written (naming the parameter).
    """
    import edfio

    if n_seizures < 1 or n_interictal_files < 0:
        raise ValueError(f"n_seizures must be >= 1 and n_interictal_files >= 0, got "
                         f"{n_seizures} and {n_interictal_files}.")
    if sfreq <= 0 or noise_amplitude <= 0 or rhythm_amplitude < 0 or seizure_amplitude < 0:
        raise ValueError("sfreq and noise_amplitude must be > 0 and amplitudes >= 0.")
    if not 0 <= preictal_coupling <= 1 or preictal_power_gain < 0:
        raise ValueError(f"preictal_coupling must be in [0, 1] and preictal_power_gain >= 0, "
                         f"got {preictal_coupling} and {preictal_power_gain}.")
    lo, hi = seizure_seconds
    if not 0 < lo <= hi:
        raise ValueError(f"seizure_seconds must be (min, max) with 0 < min <= max, got "
                         f"{seizure_seconds}.")
    file_seconds = seizure_file_minutes * 60.0
    lead = preictal_seconds + margin_seconds
    if file_seconds < lead + hi + margin_seconds:
        raise ValueError(f"seizure_file_minutes={seizure_file_minutes} leaves no room for "
                         f"{preictal_seconds} s of preictal change, {margin_seconds} s before "
                         f"it, a seizure of up to {hi} s and {margin_seconds} s after it; use "
                         f"at least {(lead + hi + margin_seconds) / 60:.1f} min.")
    if interictal_file_minutes <= 0:
        raise ValueError(f"interictal_file_minutes must be > 0, got {interictal_file_minutes}.")
    for name, value, low in (("sfreq", sfreq, 0.0), ("preictal_seconds", preictal_seconds, 0.0),
                             ("interictal_gap_hours", interictal_gap_hours, None),
                             ("margin_seconds", margin_seconds, None)):
        # A negative gap or margin would write files overlapping on the clock.
        if not np.isfinite(value) or (value <= low if low is not None else value < 0):
            bound = "> 0" if low is not None else ">= 0"
            raise ValueError(f"{name} must be a finite number {bound}, got {value!r}.")

    rng = np.random.default_rng(random_state)
    ch_names = list(ch_names)
    n_files = n_interictal_files + n_seizures + int(bool(seizure_across_files))
    gaps = _check_gaps(file_gaps, n_files)
    labels = _file_labels(ch_names, n_files, montage_changes, dummy_channels, duplicate_t8p8)
    all_names = list(dict.fromkeys(ch for f in labels for ch in f if ch != "-"))
    all_names = ch_names + [ch for ch in all_names if ch not in ch_names]
    if focus_channels is not None:
        focus = tuple(str(ch) for ch in focus_channels)
        if not focus or any(ch not in ch_names for ch in focus):
            raise ValueError(f"focus_channels must be a non-empty subset of ch_names "
                             f"{ch_names}, got {list(focus)}.")
    else:
        focus = tuple(ch for ch in _FOCUS if ch in ch_names) or tuple(
            ch_names[: max(1, len(ch_names) // 3)])
    focus_idx = np.array([all_names.index(ch) for ch in focus])
    name = f"chb{subject:02d}"
    folder = Path(path) / name
    folder.mkdir(parents=True, exist_ok=True)

    # Files: (duration s, onset or None); clock starts in seconds since 08:00:00.
    files = [(interictal_file_minutes * 60.0, None)] * n_interictal_files
    for _ in range(n_seizures):
        files.append((file_seconds, float(rng.uniform(lead, file_seconds - hi - margin_seconds))))
    split_gap = None
    if seizure_across_files:
        split_gap = gaps[-1] if gaps is not None else 5.0
        if not split_gap + 4.0 < lo or interictal_file_minutes * 60.0 < hi:
            raise ValueError(f"seizure_across_files needs a gap before the continuation "
                             f"file ({split_gap:g} s) at least 4 s shorter than the shortest "
                             f"seizure ({lo:g} s) and a continuation file "
                             f"(interictal_file_minutes={interictal_file_minutes:g}) of at "
                             f"least {hi:g} s.")
        # Onset near the file's end: the seizure reaches past it and past the gap.
        files[-1] = (file_seconds, float(np.floor(file_seconds - (lo - split_gap) / 2)))
        files.append((interictal_file_minutes * 60.0, None))
    starts, clock = [], 0.0
    for k in range(len(files)):
        if gaps is not None and k:
            clock = starts[-1] + files[k - 1][0] + gaps[k - 1]
        elif k and split_gap is not None and k == len(files) - 1:
            clock = starts[-1] + files[k - 1][0] + split_gap
        elif k and k < n_interictal_files:
            clock = starts[-1] + interictal_file_minutes * 60.0 + 10.0
        elif k == n_interictal_files and k:
            clock = starts[-1] + interictal_file_minutes * 60.0 + 10.0 \
                + interictal_gap_hours * 3600.0
        elif k:
            clock = starts[-1] + 2 * 3600.0
        starts.append(clock)

    args = (sfreq, len(all_names), focus_idx, rng, noise_amplitude, rhythm_amplitude,
            preictal_seconds, preictal_power_gain, preictal_coupling, seizure_amplitude,
            seizure_seconds, margin_seconds)
    pieces = []  # (data, events) per file
    for k, (duration, onset) in enumerate(files):
        if split_gap is not None and k == len(files) - 1:
            continue  # written with the file before it
        if split_gap is not None and k == len(files) - 2:
            # One recording cut in two by the gap: the seizure goes on in the next file.
            nxt = files[-1][0]
            data, events = _simulate_file(duration + split_gap + nxt, onset, *args)
            n0, n1 = int(round(duration * sfreq)), int(round((duration + split_gap) * sfreq))
            (on, off), = events
            pieces += [(data[:, :n0], [(on, duration)]),
                       (data[:, n1:], [(0.0, off - duration - split_gap)])]
            continue
        pieces.append(_simulate_file(duration, onset, *args))

    edf_paths, seizures, entries, clock_seizures, written = [], [], [], [], {}
    for k, ((data, events), start, (duration, _)) in enumerate(
            zip(pieces, starts, files), start=1):
        fname = f"{name}_{k:02d}.edf"
        rows = [np.zeros(data.shape[1]) if ch == "-" else data[all_names.index(ch)]
                for ch in labels[k - 1]]
        starttime = (_dt.datetime(2000, 1, 1, 8) + _dt.timedelta(seconds=start)).time()
        annotations = [edfio.EdfAnnotation(on, off - on, "seizure") for on, off in events]
        signals = [edfio.EdfSignal(row, sfreq, label=ch, physical_dimension="uV",
                                   physical_range=_physical_range(row))
                   for ch, row in zip(labels[k - 1], rows)]
        edf = edfio.Edf(signals, starttime=starttime,
                        annotations=annotations if edf_annotations else None)
        edf.write(folder / fname)
        edf_paths.append(folder / fname)
        written[fname] = list(labels[k - 1])
        seizures += [(fname, on, off) for on, off in events]
        for on, off in events:
            if on == 0.0 and clock_seizures and split_gap is not None and k == len(files):
                clock_seizures[-1] = (clock_seizures[-1][0], start + off)
            else:
                clock_seizures.append((start + on, start + off))
        entries.append((fname, start, duration, events, labels[k - 1]))
    summary = folder / f"{name}-summary.txt"
    summary.write_text(_summary_text(sfreq, entries, clock=not no_clock_times))
    return SimulatedSubject(summary, edf_paths, seizures, float(preictal_seconds), focus,
                            float(sfreq), [float(t) for t in starts], clock_seizures, written)


def _check_gaps(file_gaps, n_files: int) -> list[float] | None:
    """``file_gaps`` as one whole number of seconds per pair of files (or None)."""
    if file_gaps is None:
        return None
    values = [file_gaps] * (n_files - 1) if np.isscalar(file_gaps) else list(file_gaps)
    if len(values) != n_files - 1 or not all(
            isinstance(g, (int, float, np.integer, np.floating)) and not isinstance(g, bool)
            and np.isfinite(g) and g >= 0 for g in values):
        raise ValueError(f"file_gaps must be one finite number >= 0 or {n_files - 1} of them "
                         f"(one per pair of the {n_files} files), got {file_gaps!r}.")
    return [float(round(g)) for g in values]


def _file_labels(ch_names, n_files, montage_changes, dummy_channels, duplicate_t8p8):
    """The channel labels written in each file (CHB-MIT's quirks applied)."""
    if isinstance(montage_changes, Mapping):
        changes = dict(montage_changes)
    elif montage_changes is True:
        if n_files < 2:
            raise ValueError("montage_changes=True needs at least 2 files.")
        changes = {n_files // 2 + 1: [*reversed(ch_names),
                                      *(["FT9-FT10"] if "FT9-FT10" not in ch_names else [])]}
    elif montage_changes is False:
        changes = {}
    else:
        raise ValueError(f"montage_changes must be True, False or a mapping {{file number: "
                         f"channels}}, got {montage_changes!r}.")
    for k, chans in changes.items():
        ok = isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 1 <= k <= n_files
        chans = [str(c) for c in chans] if not isinstance(chans, str) else []
        if not ok or not chans or len(set(chans)) != len(chans) or "-" in chans:
            raise ValueError(f"montage_changes: file {k!r} must be a file number in [1, "
                             f"{n_files}] with a non-empty list of distinct channel names "
                             f"(no '-'), got {montage_changes[k]!r}.")
        changes[k] = chans
    if isinstance(dummy_channels, bool) or not isinstance(dummy_channels, (int, np.integer)) \
            or not 0 <= dummy_channels <= 5:
        raise ValueError(f"dummy_channels must be an integer in [0, 5] (CHB-MIT has up to 5), "
                         f"got {dummy_channels!r}.")
    out, current = [], list(ch_names)
    for k in range(1, n_files + 1):
        current = changes.get(k, current)
        labels = list(current)
        if dummy_channels and k % 2 == 0:
            n = len(labels)
            for pos in sorted((round(j * n / (dummy_channels + 1))
                               for j in range(1, dummy_channels + 1)), reverse=True):
                labels.insert(pos, "-")
        if duplicate_t8p8:
            if "T8-P8" not in current:
                raise ValueError(f"duplicate_t8p8=True needs a T8-P8 channel; file {k} has "
                                 f"{current}.")
            labels.append("T8-P8")
        out.append(labels)
    return out


def _physical_range(row: np.ndarray) -> tuple[float, float]:
    peak = float(np.ceil(np.abs(row).max() + 1.0))
    return (-peak, peak)


def _background(n_rows: int, n_times: int, sfreq: float, rng: np.random.Generator,
                ) -> np.ndarray:
    # Pink noise high-passed at 0.5 Hz (as EEG amplifiers do) before scaling to unit
    # variance: otherwise the random power of the slowest components, a few cycles per
    # file, sets each file's scale and gives every file a spectral fingerprint that a
    # model could learn instead of the planted change.
    sos = _signal.butter(2, 0.5, btype="highpass", fs=sfreq, output="sos")
    out = _signal.sosfiltfilt(sos, pink_noise((n_rows, n_times), rng), axis=-1)
    return out / out.std(axis=-1, keepdims=True)


def _band_noise(n_rows: int, n_times: int, sfreq: float, band: tuple[float, float],
                rng: np.random.Generator) -> np.ndarray:
    sos = _signal.butter(4, band, btype="bandpass", fs=sfreq, output="sos")
    out = _signal.sosfilt(sos, rng.normal(size=(n_rows, n_times)), axis=-1)
    return out / out.std(axis=-1, keepdims=True)


def _simulate_file(duration, onset, sfreq, n_chans, focus_idx, rng, noise_amplitude,
                   rhythm_amplitude, preictal_seconds, power_gain, coupling,
                   seizure_amplitude, seizure_seconds, margin_seconds):
    n = int(round(duration * sfreq))
    t = np.arange(n) / sfreq
    data = noise_amplitude * _background(n_chans, n, sfreq, rng)
    own = _band_noise(n_chans, n, sfreq, (13.0, 20.0), rng)
    events = []
    if onset is None:
        data += rhythm_amplitude * own
        return data, events

    # Whole seconds, as CHB-MIT's summaries give them.
    onset = float(round(onset))
    offset = onset + float(round(rng.uniform(*seizure_seconds)))
    events.append((onset, offset))
    # Preictal ramp r in [0, 1]: square root of the elapsed fraction.
    ramp = np.clip((t - (onset - preictal_seconds)) / preictal_seconds, 0.0, 1.0) ** 0.5
    ramp[t >= onset] = 0.0
    shared = _band_noise(1, n, sfreq, (13.0, 20.0), rng)[0]
    rhythm = own.copy()
    mix = coupling * ramp
    gain = 1.0 + power_gain * ramp
    rhythm[focus_idx] = gain * (np.sqrt(1.0 - mix ** 2) * own[focus_idx] + mix * shared)
    data += rhythm_amplitude * rhythm

    # Seizure: evolving spike-wave, strongest at the focus.
    ictal = (t >= onset) & (t < offset)
    ti = t[ictal] - onset
    length = offset - onset
    freq = 5.0 - 2.0 * ti / length
    phase = 2 * np.pi * np.cumsum(freq) / sfreq
    envelope = np.sin(np.pi * ti / length) ** 0.5
    wave = envelope * (np.sin(phase) + 0.6 * np.sign(np.sin(phase)) * np.abs(
        np.sin(phase)) ** 8)
    weights = np.full(n_chans, 0.4)
    weights[focus_idx] = 1.0
    data[:, ictal] += seizure_amplitude * weights[:, None] * wave[None]
    # Postictal attenuation, recovering over margin_seconds.
    post = (t >= offset) & (t < offset + margin_seconds)
    data[:, post] *= 0.3 + 0.7 * (t[post] - offset) / margin_seconds
    return data, events


def _clock(seconds: float) -> str:
    # CHB-MIT writes clock times past midnight as 24:xx:xx, 25:xx:xx, ...
    s = int(round(seconds)) + 8 * 3600
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _summary_text(sfreq, entries, clock: bool = True) -> str:
    lines = [f"Data Sampling Rate: {sfreq:g} Hz", "*" * 25, ""]
    previous = None
    for fname, start, duration, events, labels in entries:
        if labels != previous:  # CHB-MIT lists the channels again where they change
            head = "Channels in EDF Files:" if previous is None else "Channels changed:"
            lines += [head, "*" * len(head)]
            lines += [f"Channel {i}: {ch}" for i, ch in enumerate(labels, start=1)]
            lines.append("")
            previous = labels
        lines.append(f"File Name: {fname}")
        if clock:
            lines += [f"File Start Time: {_clock(start)}",
                      f"File End Time: {_clock(start + duration)}"]
        lines.append(f"Number of Seizures in File: {len(events)}")
        for on, off in events:
            lines += [f"Seizure Start Time: {on:.0f} seconds",
                      f"Seizure End Time: {off:.0f} seconds"]
        lines.append("")
    return "\n".join(lines)
