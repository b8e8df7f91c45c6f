"""``neuroattn seizure``: simulate, window, train and monitor seizure forecasting from files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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
    p.add_argument("out", help="folder in which chbNN/ is written")
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
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("window", help="window and label the files of a summary")
    p.add_argument("summary", help="chbNN-summary.txt (EDF files beside it)")
    p.add_argument("out", help="output folder: X.npy (memory map) and labels.npz")
    _labelling(p)

    p = sub.add_parser("train", help="train a SeizureForecaster on windowed data")
    p.add_argument("windows", help="folder written by 'neuroattn seizure window'")
    p.add_argument("model_out", help="output .safetensors file")
    p.add_argument("--model", default="stan")
    # Unset options keep SeizureForecaster's / STAN's defaults (2.3 M parameters, 15
    # epochs with warm-up: about 10 min on one CPU thread when an epoch draws 1,000
    # windows, i.e. 500 preictal ones).
    p.add_argument("--epochs", type=int, help="max_epochs (default: 15)")
    p.add_argument("--lr", type=float, help="peak learning rate (default: 3e-3)")
    p.add_argument("--batch-size", type=int, help="(default: 64)")
    p.add_argument("--adversarial-weight", type=float, help="critic weight (default: 0.05)")
    p.add_argument("--patch-size", type=int, help="STAN patch samples (default: 128)")
    p.add_argument("--embed-dim", type=int, help="STAN width (default: 216)")
    p.add_argument("--depth", type=int, help="STAN blocks (default: 3)")
    p.add_argument("--heads", type=int, help="STAN heads (default: 8)")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("monitor", help="monitor recordings with a trained forecaster")
    p.add_argument("model", help=".safetensors file written by 'train'")
    p.add_argument("summary", help="chbNN-summary.txt listing the recordings to monitor")
    p.add_argument("--plot", help="folder for one alarm-timeline PNG per file")
    p.add_argument("--json", help="write probabilities and alarms to this JSON file")
    p.add_argument("--l-freq", type=float, help="band-pass low edge used at training (Hz)")
    p.add_argument("--h-freq", type=float, help="band-pass high edge used at training (Hz)")


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
    print(f"wrote {len(sim.edf_paths)} EDF files and {sim.summary_path}")
    return 0


def _window(args) -> int:
    import numpy as np

    from ..data.seizure import extract_windows, read_chbmit_summary

    recs = read_chbmit_summary(args.summary, on_missing="warn")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    win = extract_windows(recs, window_seconds=args.window, ch_names=_channels(args, recs),
                          sfreq=args.sfreq, l_freq=args.l_freq, h_freq=args.h_freq,
                          sph_seconds=args.sph, sop_seconds=args.sop,
                          min_interictal_seconds=args.min_interictal,
                          postictal_seconds=args.postictal, out=out / "X.npy", verbose=True)
    np.savez(out / "labels.npz", y=win.y, seizure=win.seizure, start=win.start,
             recording=win.recording)
    (out / "meta.json").write_text(json.dumps({
        "ch_names": win.ch_names, "sfreq": win.sfreq, "window_seconds": win.window_seconds,
        "l_freq": args.l_freq, "h_freq": args.h_freq, "sph": args.sph, "sop": args.sop,
        "files": [str(r.path) for r in win.recordings]}, indent=1))
    print(f"{len(win.y)} windows ({int((win.y == 1).sum())} preictal, "
          f"{int((win.y == 0).sum())} interictal) -> {out}")
    return 0


def _train(args) -> int:
    import numpy as np

    from ..estimators.seizure import SeizureForecaster

    folder = Path(args.windows)
    if not (folder / "X.npy").is_file():
        raise ValueError(f"{folder} has no X.npy: run 'neuroattn seizure window' first.")
    X = np.load(folder / "X.npy", mmap_mode="r")
    y = np.load(folder / "labels.npz")["y"]
    meta = json.loads((folder / "meta.json").read_text())
    given = {"max_epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
             "adversarial_weight": args.adversarial_weight}
    if args.model == "stan":
        given.update(model__embed_dim=args.embed_dim, model__depth=args.depth,
                     model__n_heads=args.heads, model__patch_size=args.patch_size)
    est = SeizureForecaster(args.model, sop_seconds=meta["sop"], random_state=args.seed,
                            verbose=0, device="cpu",
                            **{k: v for k, v in given.items() if v is not None})
    est.fit(np.asarray(X), y)
    est.ch_names_ = meta["ch_names"]
    est.sfreq_ = meta["sfreq"]
    path = est.save(args.model_out)
    print(f"saved {path}")
    return 0


def _monitor(args) -> int:
    import numpy as np

    from ..data.seizure import read_chbmit_summary
    from ..estimators.seizure import SeizureForecaster

    est = SeizureForecaster.load(args.model, device="cpu")
    recs = read_chbmit_summary(args.summary, on_missing="warn")
    report = {}
    for rec in recs:
        res = est.monitor(rec, l_freq=args.l_freq, h_freq=args.h_freq)
        alarms = ", ".join(f"{a / 60:.1f}" for a in res.alarms) or "none"
        onsets = ", ".join(f"{s / 60:.1f}" for s, _ in rec.seizures) or "none"
        print(f"{rec.path.name}: alarms at {alarms} min; seizure onsets at {onsets} min")
        report[rec.path.name] = {"times": res.times.tolist(),
                                 "probability": np.round(res.probability, 4).tolist(),
                                 "alarms": res.alarms.tolist(), "seizures": rec.seizures}
        if args.plot:
            import matplotlib

            matplotlib.use("Agg")
            from ..viz.seizure import plot_alarm_timeline

            Path(args.plot).mkdir(parents=True, exist_ok=True)
            fig = plot_alarm_timeline(res.times, res.probability, score=res.score,
                                      threshold=res.threshold, alarms=res.alarms,
                                      seizures=rec.seizures, sop_seconds=est.sop_seconds,
                                      title=rec.path.name)
            fig.savefig(Path(args.plot) / f"{rec.path.stem}.png", dpi=100)
    if args.json:
        Path(args.json).write_text(json.dumps(report))
    return 0


def run(args: argparse.Namespace) -> int:
    return {"simulate": _simulate, "window": _window, "train": _train,
            "monitor": _monitor}[args.action](args)
