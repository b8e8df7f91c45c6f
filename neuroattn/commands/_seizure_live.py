"""``neuroattn seizure monitor MODEL --lsl STREAM``: live alarms from an LSL stream."""

from __future__ import annotations

import argparse

from ._common import Interrupted, add_check, positive_float, positive_int, set_threads


def _live_problem(args: argparse.Namespace) -> str | None:
    if args.lsl is not None:
        if args.summary is not None:
            return (f"give either a summary file ({args.summary}) or --lsl {args.lsl}, not "
                    "both")
        if args.plot or args.json:
            return "--plot and --json are for recordings; with --lsl use --jsonl"
        if not args.lsl.strip():
            return "--lsl needs a stream name, got an empty one"
        return None
    if args.summary is None:
        return "expected a summary file (chbNN-summary.txt) or --lsl STREAM_NAME"
    given = [f for f, v in (("--duration", args.duration), ("--n-windows", args.n_windows),
                            ("--jsonl", args.jsonl)) if v is not None]
    if given:
        return f"{', '.join(given)} only apply with --lsl"
    return None


def add_live_arguments(p: argparse.ArgumentParser) -> None:
    """The ``--lsl`` flags of ``seizure monitor``."""
    p.add_argument("--lsl", metavar="STREAM_NAME",
                   help="monitor this live Lab Streaming Layer stream instead of files: "
                        "one line per window (probability, alarm, latency)")
    p.add_argument("--duration", type=positive_float,
                   help="with --lsl: stop after this many seconds of stream")
    p.add_argument("--n-windows", type=positive_int,
                   help="with --lsl: stop after this many scored windows")
    p.add_argument("--timeout", type=positive_float, default=10.0,
                   help="with --lsl: seconds to find the stream and to wait for samples "
                        "before deciding it stopped (10)")
    p.add_argument("--jsonl", metavar="PATH",
                   help="with --lsl: append one JSON line per window, gap and stop as they "
                        "happen (kept on Ctrl-C)")
    add_check(p, _live_problem)


def _line(event: dict) -> str:
    kind = event["event"]
    if kind == "window":
        alarm = "  ALARM" if event["alarm"] else ""
        return (f"{event['time']:9.1f} s  p={event['probability']:.3f}  "
                f"score={event['score']:.2f}  latency {1e3 * event['latency']:.1f} ms{alarm}")
    if kind == "gap":
        return (f"gap: {event['missing_samples']} samples missing, {event['start']:.2f}-"
                f"{event['end']:.2f} s")
    if kind == "start":
        low, high = event["band"]
        band = "" if low is None and high is None else f", band-pass {low}-{high} Hz"
        return (f"monitoring {event['stream']!r}: {len(event['channels'])} channels at "
                f"{event['sfreq']:g} Hz, windows of {event['window_seconds']:g} s every "
                f"{event['stride_seconds']:g} s{band} (each scored "
                f"{event['filter_delay']:.2f} s after its end, the filter's delay)")
    if kind == "skipped":
        return (f"{event['n_windows']} window(s) not scored ({event['reason']}), "
                f"{event['start']:.1f}-{event['end']:.1f} s")
    return event["message"]


def monitor_lsl(args: argparse.Namespace, load_model) -> int:
    """Run ``seizure monitor --lsl``: print each event; Ctrl-C keeps what was written."""
    import numpy as np

    from .._files import check_output_file
    from ..estimators._live import iter_stream

    jsonl = None
    if args.jsonl:
        jsonl = check_output_file(args.jsonl, overwrite=args.overwrite, parameter="--jsonl")
        if jsonl.exists():  # --overwrite: a new run starts a new file
            jsonl.unlink()
    set_threads(args.threads)
    est = load_model(args.model, args.device)
    windows, alarms, latency = 0, [], []
    events = iter_stream(est, args.lsl, n_windows=args.n_windows, duration=args.duration,
                         timeout=args.timeout, jsonl=jsonl)
    try:
        for event in events:
            if event["event"] == "window":
                windows += 1
                latency.append(event["latency"])
                if event["alarm"]:
                    alarms.append(event["time"])
            if args.verbose or event["event"] in ("gap", "stop") or (
                    event["event"] == "window" and event["alarm"]):
                print(_line(event), flush=True)
    except KeyboardInterrupt:
        events.close()
        where = f"; every window is in {jsonl}" if jsonl else ""
        raise Interrupted(f"monitoring of {args.lsl!r} stopped after {windows} scored "
                          f"windows ({len(alarms)} alarms){where}") from None
    if windows:
        lat = 1e3 * np.asarray(latency)
        print(f"{windows} windows, {len(alarms)} alarms"
              f"{' at ' + ', '.join(f'{a:.1f}' for a in alarms) + ' s' if alarms else ''}; "
              f"latency median {np.median(lat):.1f} ms, 95th percentile "
              f"{np.percentile(lat, 95):.1f} ms")
    return 0
