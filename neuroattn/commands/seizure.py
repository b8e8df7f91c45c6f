"""``neuroattn seizure``: simulate, window, train and monitor seizure forecasting from files."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ._common import add_device, add_seed, add_threads, add_training, add_verbosity, set_threads

NAME = "seizure"
HELP = ("Seizure forecasting from EDF files: simulate a CHB-MIT-layout subject, window and "
        "label recordings, train a forecaster, monitor recordings for alarms.")


def _labelling(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window", type=float, default=5.0, help="window length, s (5)")
    p.add_argument("--sph", type=float, default=300.0, help="prediction horizon, s (300)")
    p.add_argument("--sop", type=float, default=900.0, help="preictal length (SOP), s (900)")
    p.add_argument("--min-interictal", type=float, default=14400.0,
                   help="minimum distance of interictal windows from seizures, s (14400)")
    p.add_argument("--postictal", type=float, default=1800.0, help="postictal period, s")
    p.add_argument("--sfreq", type=float, help="resample to this rate (Hz)")
    p.add_argument("--l-freq", type=float, help="band-pass low edge (Hz)")
    p.add_argument("--h-freq", type=float, help="band-pass high edge (Hz)")
    p.add_argument("--channels", help="comma-separated channel names (default: CHB-MIT's "
                   "18 bipolar pairs when present, else all of the first file)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("simulate", help="write a simulated subject (EDF + chbNN-summary.txt)")
    p.add_argument("--out", required=True, help="folder in which chbNN/ is written")
    p.add_argument("--subject", type=int, default=1)
    p.add_argument("--n-seizures", type=int, default=4)
    p.add_argument("--n-interictal-files", type=int, default=4)
    p.add_argument("--sfreq", type=float, default=128.0)
    p.add_argument("--interictal-minutes", type=float, default=30.0)
    p.add_argument("--seizure-minutes", type=float, default=35.0)
    p.add_argument("--preictal", type=float, default=1200.0,
                   help="planted change starts this long before onsets, s")
    p.add_argument("--gap-hours", type=float, default=4.5,
                   help="clock gap between interictal and seizure files, h")
    p.add_argument("--margin", type=float, default=300.0,
                   help="time before the preictal change and after seizures, s")
    add_seed(p)
    add_verbosity(p, default=1)

    p = sub.add_parser("window", help="window and label the files of a summary")
    p.add_argument("summary", help="chbNN-summary.txt (EDF files beside it)")
    p.add_argument("--out", required=True,
                   help="output folder (written whole or not at all): X.npy, labels.npz, "
                        "meta.json with the labelling and band-pass")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing non-empty --out folder")
    _labelling(p)
    add_verbosity(p, default=1)

    p = sub.add_parser("train", help="train a SeizureForecaster on windowed data")
    p.add_argument("windows", help="folder written by 'neuroattn seizure window'")
    p.add_argument("--out", required=True, help="output .safetensors file")
    p.add_argument("--model", default="stan")
    # Unset options keep SeizureForecaster's / STAN's defaults (2.3 M parameters, 15
    # epochs with warm-up: about 10 min on one CPU thread when an epoch draws 1,000
    # windows, i.e. 500 preictal ones).
    add_training(p, max_epochs=None)
    p.add_argument("--lr", type=float, help="peak learning rate (default: 3e-3)")
    p.add_argument("--batch-size", type=int, help="(default: 64)")
    p.add_argument("--adversarial-weight", type=float, help="critic weight (default: 0.05)")
    p.add_argument("--patch-size", type=int, help="STAN patch samples (default: 128)")
    p.add_argument("--embed-dim", type=int, help="STAN width (default: 216)")
    p.add_argument("--depth", type=int, help="STAN blocks (default: 3)")
    p.add_argument("--n-heads", type=int, help="STAN heads (default: 8)")
    add_verbosity(p, default=0)

    # No band-pass, channel or rate options: the model carries those of its training
    # windows (bandpass_, ch_names_, sfreq_) and monitor applies them.
    p = sub.add_parser("monitor", help="monitor recordings with a trained forecaster "
                                       "(windowed as at training)")
    p.add_argument("model", help=".safetensors file written by 'train'")
    p.add_argument("summary", help="chbNN-summary.txt listing the recordings to monitor")
    p.add_argument("--plot", help="folder for one alarm-timeline PNG per file")
    p.add_argument("--json", help="write probabilities and alarms to this JSON file")
    add_device(p)
    add_threads(p)
    add_verbosity(p, default=1)


def _channels(args, recordings) -> list[str] | None:
    from ..data.simulate.seizure import CHBMIT_CHANNELS

    if args.channels:
        return [c.strip() for c in args.channels.split(",")]
    names = {c.upper() for c in recordings[0].open().ch_names}
    return list(CHBMIT_CHANNELS) if all(c in names for c in CHBMIT_CHANNELS) else None


def _simulate(args) -> int:
    from ..data.simulate import simulate_seizure_recordings

    sim = simulate_seizure_recordings(args.out, subject=args.subject,
                                      n_seizures=args.n_seizures,
                                      n_interictal_files=args.n_interictal_files,
                                      interictal_file_minutes=args.interictal_minutes,
                                      seizure_file_minutes=args.seizure_minutes,
                                      preictal_seconds=args.preictal,
                                      interictal_gap_hours=args.gap_hours,
                                      margin_seconds=args.margin, seizure_seconds=(20.0, 60.0),
                                      sfreq=args.sfreq, random_state=args.seed)
    if args.verbose:
        print(f"wrote {len(sim.edf_paths)} EDF files and {sim.summary_path}")
    return 0


def _window(args) -> int:
    import tempfile

    from ..data.seizure import extract_windows, read_chbmit_summary, save_windows

    recs = read_chbmit_summary(args.summary, on_missing="warn")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; windows are written to a folder.")
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise ValueError(f"--out {out} exists and is not empty; pass --overwrite to "
                         "replace it.")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Windows stream into a memory map beside --out (same disk, flat memory);
    # save_windows then writes the folder whole or not at all.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.x-") as tmp:
        win = extract_windows(recs, window_seconds=args.window,
                              ch_names=_channels(args, recs), sfreq=args.sfreq,
                              l_freq=args.l_freq, h_freq=args.h_freq, sph_seconds=args.sph,
                              sop_seconds=args.sop,
                              min_interictal_seconds=args.min_interictal,
                              postictal_seconds=args.postictal, out=Path(tmp) / "X.npy",
                              verbose=args.verbose)
        save_windows(win, out, overwrite=args.overwrite)
        y = win.y
        del win  # release the memory map before its folder goes
    if args.verbose:
        print(f"{len(y)} windows ({int((y == 1).sum())} preictal, "
              f"{int((y == 0).sum())} interictal) -> {out}")
    return 0


def _train(args) -> int:
    from ..data.seizure import load_windows
    from ..estimators.seizure import SeizureForecaster

    try:
        windows = load_windows(args.windows)
    except FileNotFoundError as exc:
        raise ValueError(f"{exc} Run 'neuroattn seizure window' first.") from exc
    # The destination is checked before training, not after minutes of it.
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.is_dir() or not os.access(out.parent, os.W_OK):
        raise ValueError(f"--out {out}: cannot write a model file there (a folder, or "
                         "its folder is not writable).")
    set_threads(args.threads)
    given = {"max_epochs": args.max_epochs, "lr": args.lr, "batch_size": args.batch_size,
             "adversarial_weight": args.adversarial_weight}
    if args.model == "stan":
        given.update(model__embed_dim=args.embed_dim, model__depth=args.depth,
                     model__n_heads=args.n_heads, model__patch_size=args.patch_size)
    # The alarm rule's SOP is the one the windows were labelled with.
    est = SeizureForecaster(args.model, sop_seconds=windows.sop_seconds,
                            random_state=args.seed,
                            verbose=args.verbose, device=args.device,
                            **{k: v for k, v in given.items() if v is not None})
    # Channels, rate and band-pass of the windows become fitted attributes, saved
    # with the weights: 'monitor' windows new recordings the same way.
    est.fit(windows)
    path = est.save(args.out)
    if args.verbose:
        print(f"saved {path}")
    return 0


def _monitor(args) -> int:
    import numpy as np

    from ..data.seizure import read_chbmit_summary
    from ..estimators.seizure import SeizureForecaster

    set_threads(args.threads)
    est = SeizureForecaster.load(args.model, device=args.device)
    recs = read_chbmit_summary(args.summary, on_missing="warn")
    report = {}
    for rec in recs:
        res = est.monitor(rec)
        alarms = ", ".join(f"{a / 60:.1f}" for a in res.alarms) or "none"
        onsets = ", ".join(f"{s / 60:.1f}" for s, _ in rec.seizures) or "none"
        if args.verbose:
            print(f"{rec.path.name}: alarms at {alarms} min; seizure onsets at {onsets} min")
        report[rec.path.name] = {"times": res.times.tolist(),
                                 "probability": np.round(res.probability, 4).tolist(),
                                 "alarms": res.alarms.tolist(), "seizures": rec.seizures}
        if args.plot:
            import matplotlib.pyplot as plt

            from ..viz.seizure import plot_alarm_timeline

            Path(args.plot).mkdir(parents=True, exist_ok=True)
            fig = plot_alarm_timeline(res.times, res.probability, score=res.score,
                                      threshold=res.threshold, alarms=res.alarms,
                                      seizures=rec.seizures, sop_seconds=est.sop_seconds,
                                      title=rec.path.name)
            fig.savefig(Path(args.plot) / f"{rec.path.stem}.png", dpi=100)
            plt.close(fig)  # one figure per file: do not pile them up in pyplot
    if args.json:
        Path(args.json).write_text(json.dumps(report))
    return 0


def run(args: argparse.Namespace) -> int:
    return {"simulate": _simulate, "window": _window, "train": _train,
            "monitor": _monitor}[args.action](args)
