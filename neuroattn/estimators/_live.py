"""Live seizure monitoring of a Lab Streaming Layer stream (``SeizureForecaster.monitor_stream``).

The stream is read through :class:`mne_lsl.stream.StreamLSL` (acquisition pulled by
this loop, no background thread). Samples are placed on the result's clock from their
LSL timestamps; a step between consecutive timestamps longer than one sample period
plus ``gap_tolerance`` is a *gap* (missing samples): it is reported, the causal filter
restarts after it, and every window that overlaps it (or starts before the first
received sample, or whose filtered samples needed samples lost in the gap) is
*skipped*, i.e. not scored and reported as such.

The band-pass is the offline (zero-phase, linear-phase FIR) filter applied causally
and read half its length later (``filter_phase="linear"``, the default): the windows
then equal the offline ones, at the price of scoring each window that much later
(1.7 s for a 1 Hz high-pass). ``filter_phase="minimum"`` scores at once with the
minimum-phase version of the filter (same magnitude response, another waveform). The alarm rule is
:meth:`SeizureForecaster.alarms_from_proba`'s computed one window at a time; skipped
windows simply do not count in the smoothing span.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._online import CausalBandpass, OnlineAlarmRule
from .seizure import MonitorResult

logger = logging.getLogger("neuroattn.estimators.live")

__all__ = ["StreamMonitorResult", "OnlineAlarmRule", "CausalBandpass", "iter_stream"]


@dataclass
class StreamMonitorResult(MonitorResult):
    """Output of :meth:`SeizureForecaster.monitor_stream` (a :class:`MonitorResult`).

    ``times`` are seconds from time zero (the first received sample, or
    ``start_timestamp``) to the end of each scored window, on the stream's sample clock
    (sample index / sfreq), so they compare with :meth:`SeizureForecaster.monitor`'s.

    Attributes
    ----------
    timestamps : numpy.ndarray
        ``(n,)`` LSL timestamp (s) of the last sample of each scored window.
    latency : numpy.ndarray
        ``(n,)`` processing latency per window, seconds: from pulling the chunk that
        completed the window to its probability and alarm decision.
    delay : numpy.ndarray
        ``(n,)`` end-to-end delay per window, seconds: LSL clock at the decision minus
        the timestamp of the window's last sample (transport, polling and processing).
    gaps : list of dict
        Missing samples: ``{"start", "end"}`` (s, the hole on the result's clock) and
        ``"missing_samples"``.
    skipped : list of dict
        Windows not scored: ``{"start", "end"}`` (s, first window start to last
        window end), ``"n_windows"`` and ``"reason"`` (``"gap"`` or
        ``"before first sample"``).
    stop_reason : str
        ``"n_windows"``, ``"duration"``, ``"timeout"`` (no sample for ``timeout``
        seconds: the stream stopped) or ``"interrupted"`` (Ctrl-C).
    message : str
        One line saying why monitoring stopped and what was kept.
    filter_delay : float
        Seconds by which each window is scored after its last sample arrived, so that
        the causal filter's output equals the offline zero-phase one (half the FIR
        length with ``filter_phase="linear"``; 0 with ``"minimum"``). Included in
        ``delay``.
    """

    timestamps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    latency: np.ndarray = field(default_factory=lambda: np.zeros(0))
    delay: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gaps: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    stop_reason: str = ""
    message: str = ""
    filter_delay: float = 0.0


def _scales(info) -> np.ndarray:
    from mne.io.constants import FIFF

    return np.array([1e6 if ch["unit"] == FIFF.FIFF_UNIT_V else 1.0 for ch in info["chs"]])


def _stream_picks(available: list[str], wanted: list[str], name: str) -> list[int]:
    lookup = {c.strip().upper(): i for i, c in reversed(list(enumerate(available)))}
    missing = [c for c in wanted if c.strip().upper() not in lookup]
    if missing:
        wanted_up = {c.strip().upper() for c in wanted}
        unexpected = [c for c in available if c.strip().upper() not in wanted_up]
        raise ValueError(f"LSL stream {name!r} lacks the model's channels {missing}; it has "
                         f"channels the model does not know: {unexpected} (the model needs "
                         f"{list(wanted)}).")
    return [lookup[c.strip().upper()] for c in wanted]


class _Windower:
    """Samples in, scored windows and gap/skip events out (no LSL: testable alone).

    Sample indices count from time zero; ``buf`` holds filtered samples from index
    ``buf_start`` (the filter's output lags its input by ``filter.delay`` samples) and
    ``tbuf`` the input timestamps from ``tbuf_start``. Windows starting before
    ``valid_from`` (the first sample of the current gap-free segment) are skipped.
    """

    def __init__(self, est, ch_names: list[str], info_scales: np.ndarray, sfreq: float,
                 window_seconds: float, stride_seconds: float, picks: list[int],
                 band: tuple, start_timestamp: float | None, gap_tolerance: float,
                 filter_phase: str = "linear") -> None:
        self.est, self.sfreq = est, float(sfreq)
        self.n_times = int(round(window_seconds * sfreq))
        self.stride = int(round(stride_seconds * sfreq))
        self.picks = picks
        self.scale = info_scales[picks][:, None]
        self.filter = CausalBandpass(sfreq, *band, phase=filter_phase)
        self.rule = OnlineAlarmRule(est, self.stride / self.sfreq)
        self.t0 = start_timestamp
        self.gap_tolerance = float(gap_tolerance)
        self.next_index = None  # index of the next expected sample
        self.last_ts = None
        self.next_window = 0  # sample index where the next window starts
        self.skip: list[int] = []  # window starts skipped since the last report
        self.reason = "before first sample"

    def _new_segment(self) -> None:
        self.filter.reset()
        self.valid_from = self.tbuf_start = self.next_index
        self.buf_start = self.next_index - self.filter.delay
        self.buf = np.zeros((len(self.picks), 0))
        self.tbuf = np.zeros(0)

    def _skip_event(self) -> dict:
        event = {"event": "skipped", "start": self.skip[0] / self.sfreq,
                 "end": (self.skip[-1] + self.n_times) / self.sfreq,
                 "n_windows": len(self.skip), "reason": self.reason}
        self.skip = []
        return event

    def push(self, data: np.ndarray, timestamps: np.ndarray, t_pull: float) -> list[dict]:
        """Add ``(n_stream_chans, n)`` samples; return the events they complete."""
        if timestamps.size == 0:
            return []
        x = data[self.picks] * self.scale
        events: list[dict] = []
        if self.next_index is None:  # the first sample
            if self.t0 is None:
                self.t0 = float(timestamps[0])
            first = int(round((timestamps[0] - self.t0) * self.sfreq))
            keep = first + np.arange(timestamps.size) >= 0  # samples before time zero
            x, timestamps = x[:, keep], timestamps[keep]
            if timestamps.size == 0:
                return []
            self.next_index = max(first, 0)
            self.last_ts = float(timestamps[0]) - 1.0 / self.sfreq
            self._new_segment()
        steps = np.diff(np.concatenate([[self.last_ts], timestamps]))
        cuts = np.flatnonzero(steps > 1.0 / self.sfreq + self.gap_tolerance)
        bounds = [0, *cuts.tolist(), timestamps.size]
        windows: list[tuple[int, np.ndarray, float]] = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            missing = int(round(steps[a] * self.sfreq)) - 1 if a in cuts else 0
            if missing > 0:  # samples are missing before sample a
                events.append({"event": "gap", "start": self.next_index / self.sfreq,
                               "end": (self.next_index + missing) / self.sfreq,
                               "missing_samples": missing})
                logger.debug("%d samples missing at %.2f s", missing,
                             self.next_index / self.sfreq)
                if self.skip:  # windows skipped before: reported under their reason
                    events.append(self._skip_event())
                self.next_index += missing
                self.reason = "gap"
                self._new_segment()
            if b <= a:
                continue
            self.buf = np.concatenate([self.buf, self.filter(x[:, a:b])], axis=1)
            self.tbuf = np.concatenate([self.tbuf, timestamps[a:b]])
            self.next_index += b - a
            end = self.buf_start + self.buf.shape[1]  # filtered samples known up to here
            while self.next_window + self.n_times <= end:
                ws = self.next_window
                if ws < self.valid_from:
                    self.skip.append(ws)
                else:
                    if self.skip:
                        events.append(self._skip_event())
                    i = ws - self.buf_start
                    ts_end = float(self.tbuf[ws + self.n_times - 1 - self.tbuf_start])
                    windows.append((ws, self.buf[:, i:i + self.n_times], ts_end))
                self.next_window += self.stride
            for name in ("buf", "tbuf"):
                start = getattr(self, f"{name}_start")
                held = getattr(self, name)
                drop = min(max(self.next_window - start, 0), held.shape[-1])
                setattr(self, name, held[..., drop:])
                setattr(self, f"{name}_start", start + drop)
        self.last_ts = float(timestamps[-1])
        if windows:
            X = np.stack([w for _, w, _ in windows]).astype(np.float32)
            proba = self.est.preictal_proba(X)
            from mne_lsl.lsl import local_clock

            now = local_clock()
            latency = time.perf_counter() - t_pull
            for (ws, _, ts_end), p in zip(windows, proba):
                t = (ws + self.n_times) / self.sfreq
                score, alarm = self.rule.update(t, float(p))
                events.append({"event": "window", "time": t, "probability": float(p),
                               "score": score, "alarm": alarm, "timestamp": ts_end,
                               "latency": latency, "delay": now - ts_end})
        # Gap, skip and window events in the order of their time on the result's clock.
        events.sort(key=lambda e: e.get("time", e.get("end", 0.0)))
        return events


def _jsonl_writer(path: str | Path | None):
    """Append one JSON object per line, each with a single ``write`` (never truncated)."""
    if path is None:
        return None, lambda event: None
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def write(event: dict) -> None:
        line = (json.dumps(event) + "\n").encode()
        os.write(fd, line)  # O_APPEND: one write is one whole line at the end

    return fd, write


def _connect(stream, bufsize: float, timeout: float):
    """A connected StreamLSL (ours to disconnect when given a name) and whether we pull."""
    try:
        from mne_lsl.stream import StreamLSL
    except ImportError as exc:  # pragma: no cover - the lsl extra is missing
        raise ImportError("Live monitoring needs mne-lsl: pip install 'neuroattn[lsl]'."
                          ) from exc
    if isinstance(stream, str):
        if not stream.strip():
            raise ValueError("stream must name an LSL stream, got an empty name.")
        stream = StreamLSL(bufsize, name=stream)
    elif not isinstance(stream, StreamLSL):
        raise ValueError(f"stream must be an LSL stream name or a mne_lsl.stream.StreamLSL, "
                         f"got {type(stream).__name__}.")
    owned = not stream.connected
    if owned:
        try:
            stream.connect(acquisition_delay=None, timeout=timeout)
        except (RuntimeError, TimeoutError) as exc:
            raise ValueError(f"No single LSL stream named {stream.name!r} found within "
                             f"{timeout:g} s ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())}).") from None
    try:
        stream.acquire()
        pull = True
    except RuntimeError:  # acquired by the stream's own background thread
        pull = False
    return stream, owned, pull


def iter_stream(est, stream, *, window_seconds: float | None = None,
                stride_seconds: float | None = None, ch_names: list[str] | None = None,
                n_windows: int | None = None, duration: float | None = None,
                timeout: float = 10.0, start_timestamp: float | None = None,
                gap_tolerance: float = 0.05, poll_seconds: float = 0.005,
                filter_phase: str = "linear",
                jsonl: str | Path | None = None) -> Iterator[dict]:
    """Events of a live monitoring run (see ``SeizureForecaster.monitor_stream``).

    Yields dicts with ``"event"`` = ``"start"`` (first: stream, channels, window,
    band, ``filter_delay``), ``"window"`` (``time``, ``probability``, ``score``,
    ``alarm``, ``timestamp``, ``latency``, ``delay``), ``"gap"``, ``"skipped"`` and,
    last, ``"stop"`` (``reason``, ``message``). Every event is also appended to
    ``jsonl`` as one line.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "net_")
    for name, value in (("window_seconds", window_seconds), ("stride_seconds", stride_seconds),
                        ("duration", duration), ("timeout", timeout),
                        ("poll_seconds", poll_seconds)):
        if value is not None and (isinstance(value, bool) or not np.isfinite(value)
                                  or not value > 0):
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}.")
    if not (np.isfinite(gap_tolerance) and gap_tolerance >= 0):
        raise ValueError(f"gap_tolerance must be >= 0 seconds, got {gap_tolerance!r}.")
    if n_windows is not None and (isinstance(n_windows, bool) or int(n_windows) != n_windows
                                  or n_windows < 1):
        raise ValueError(f"n_windows must be an integer >= 1, got {n_windows!r}.")
    wanted = list(ch_names) if ch_names is not None else est.ch_names_
    fitted_fs = getattr(est, "sfreq_", None)
    # Finding the stream and estimating its clock offset may take a second or two
    # even when the samples are meant to arrive faster than ``timeout``.
    stream, owned, pull = _connect(stream, bufsize=max(60.0, 4 * est.n_times_ / (
        fitted_fs or 1.0)), timeout=max(timeout, 2.0))
    fd = None
    try:
        name, fs = stream.name, float(stream.info["sfreq"])
        if fs <= 0:
            raise ValueError(f"LSL stream {name!r} has an irregular sampling rate (0); the "
                             f"model needs regularly sampled EEG"
                             f"{f' at {fitted_fs:g} Hz' if fitted_fs else ''}.")
        if fitted_fs is not None and abs(fs - fitted_fs) > 1e-6 * fitted_fs:
            raise ValueError(f"LSL stream {name!r} samples at {fs:g} Hz; the model was "
                             f"fitted on windows at {fitted_fs:g} Hz (resample the "
                             f"stream or use a model trained at {fs:g} Hz).")
        window_seconds = est.n_times_ / fs if window_seconds is None else window_seconds
        stride_seconds = window_seconds if stride_seconds is None else stride_seconds
        if int(round(window_seconds * fs)) != est.n_times_:
            raise ValueError(f"Windows of {window_seconds} s at {fs} Hz have "
                             f"{int(round(window_seconds * fs))} samples; the model was "
                             f"fitted on {est.n_times_}.")
        if wanted is None:
            if len(stream.ch_names) != est.n_chans_:
                raise ValueError(f"LSL stream {name!r} has {len(stream.ch_names)} channels; "
                                 f"the model has {est.n_chans_} (and no channel names to "
                                 "pick by: pass ch_names).")
            picks = list(range(est.n_chans_))
        else:
            picks = _stream_picks(stream.ch_names, wanted, name)
        band = getattr(est, "bandpass_", None) or (None, None)
        win = _Windower(est, stream.ch_names, _scales(stream.info), fs, window_seconds,
                        stride_seconds, picks, band, start_timestamp, gap_tolerance,
                        filter_phase)
        fd, write = _jsonl_writer(jsonl)
        event = {"event": "start", "stream": name, "sfreq": fs,
                 "channels": [stream.ch_names[i] for i in picks],
                 "window_seconds": window_seconds, "stride_seconds": stride_seconds,
                 "band": list(band), "filter_phase": filter_phase,
                 "filter_delay": win.filter.delay / fs}
        write(event)
        yield event
        scored, last_data, stop = 0, time.perf_counter(), None
        while stop is None:
            if pull:
                stream.acquire()
            n_new = stream.n_new_samples
            if n_new == 0:
                if time.perf_counter() - last_data > timeout:
                    stop = "timeout"
                    break
                time.sleep(poll_seconds)
                continue
            t_pull = last_data = time.perf_counter()
            data, ts = stream.get_data(winsize=(n_new - 0.5) / fs)
            for event in win.push(np.array(data, dtype=float), np.array(ts), t_pull):
                write(event)
                yield event
                if event["event"] == "window":
                    scored += 1
                    if est.verbose:
                        logger.info("%.1f s: p=%.3f score=%.2f%s (latency %.1f ms)",
                                    event["time"], event["probability"], event["score"],
                                    " ALARM" if event["alarm"] else "",
                                    1e3 * event["latency"])
                    if n_windows is not None and scored >= n_windows:
                        stop = "n_windows"
                    elif duration is not None and event["time"] >= duration - 1e-9:
                        stop = "duration"
                if stop:
                    break
        at = (win.next_index or 0) / fs
        if stop == "timeout":
            message = (f"LSL stream {name!r} sent no sample for {timeout:g} s (it stopped?); "
                       f"kept {scored} scored windows up to {at:.1f} s")
        elif stop == "n_windows":
            message = f"{scored} windows scored"
        else:
            message = f"{duration:g} s of stream monitored ({scored} windows)"
        event = {"event": "stop", "reason": stop, "message": message}
        write(event)
        yield event
    finally:
        if fd is not None:
            os.close(fd)
        if owned:
            stream.disconnect()


def collect(est, events: Iterator[dict]) -> StreamMonitorResult:
    """Gather the events of :func:`iter_stream` into a result; Ctrl-C keeps what came."""
    rows, gaps, skipped, filter_delay = [], [], [], 0.0
    reason, message = "interrupted", ""
    try:
        for event in events:
            kind = event["event"]
            if kind == "window":
                rows.append(event)
            elif kind == "gap":
                gaps.append({k: v for k, v in event.items() if k != "event"})
            elif kind == "skipped":
                skipped.append({k: v for k, v in event.items() if k != "event"})
            elif kind == "start":
                filter_delay = event["filter_delay"]
            else:
                reason, message = event["reason"], event["message"]
    except KeyboardInterrupt:
        events.close()
        message = f"interrupted; kept {len(rows)} scored windows"
    if reason == "timeout":
        warnings.warn(message, UserWarning, stacklevel=3)

    def col(key):
        return np.array([r[key] for r in rows], dtype=float)

    times = col("time")
    alarms = times[np.array([r["alarm"] for r in rows], dtype=bool)] if rows else times
    return StreamMonitorResult(
        times, col("probability"), col("score"), alarms, float(est.threshold), [],
        float(times[-1]) if rows else 0.0, timestamps=col("timestamp"),
        latency=col("latency"), delay=col("delay"), gaps=gaps, skipped=skipped,
        stop_reason=reason, message=message, filter_delay=filter_delay)
