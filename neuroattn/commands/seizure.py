"""``neuroattn seizure``: simulate, window, train and monitor seizure forecasting from files.

Every action checks its inputs and destinations before the work, holds a lock on its
output folder, publishes its outputs only when complete, and refuses to replace a
previous result unless given ``--overwrite``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import (
    Interrupted,
    Outputs,
    add_check,
    add_device,
    add_overwrite,
    add_seed,
    add_threads,
    add_training,
    add_verbosity,
    nonnegative_float,
    nonnegative_int,
    output_dir,
    positive_float,
    positive_int,
    require_existing,
    set_threads,
)
from ._seizure_live import add_live_arguments, monitor_lsl

NAME = "seizure"
HELP = ("Seizure forecasting from EDF files: simulate a CHB-MIT-layout subject, window and "
        "label recordings, train a forecaster, monitor recordings for alarms.")


def _band_problem(args: argparse.Namespace) -> str | None:
    if args.l_freq is not None and args.h_freq is not None and args.l_freq >= args.h_freq:
        return (f"--l-freq ({args.l_freq:g} Hz) must be below --h-freq ({args.h_freq:g} Hz): "
                "the reverse would be a band-stop filter")
    if args.sfreq is not None and args.h_freq is not None and args.h_freq >= args.sfreq / 2:
        return (f"--h-freq ({args.h_freq:g} Hz) must be below the Nyquist frequency of "
                f"--sfreq ({args.sfreq / 2:g} Hz)")
    return None


def _channels_problem(args: argparse.Namespace) -> str | None:
    if args.channels is None:
        return None
    names = [c.strip() for c in args.channels.split(",")]
    if not all(names):
        return (f"--channels {args.channels!r} has an empty name; expected comma-separated "
                "channel names (FP1-F7,F7-T7,...)")
    first: dict[str, str] = {}  # upper-case name -> its first spelling
    twice: list[str] = []
    for name in names:
        key = name.upper()
        if key in first and first[key] not in twice:
            twice.append(first[key])
        first.setdefault(key, name)
    if twice:
        return f"--channels lists {twice} more than once (names ignore case); list each once"
    return None


def _labelling(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window", type=positive_float, default=5.0, help="window length, s (5)")
    p.add_argument("--sph", type=nonnegative_float, default=300.0,
                   help="prediction horizon, s (300)")
    p.add_argument("--sop", type=positive_float, default=900.0,
                   help="preictal length (SOP), s (900)")
    p.add_argument("--min-interictal", type=nonnegative_float, default=14400.0,
                   help="minimum distance of interictal windows from seizures, s (14400)")
    p.add_argument("--postictal", type=nonnegative_float, default=1800.0,
                   help="postictal period, s (1800)")
    p.add_argument("--sfreq", type=positive_float, help="resample to this rate (Hz)")
    p.add_argument("--l-freq", type=positive_float,
                   help="band-pass low edge (Hz), below --h-freq")
    p.add_argument("--h-freq", type=positive_float, help="band-pass high edge (Hz)")
    p.add_argument("--channels", help="comma-separated channel names (default: CHB-MIT's "
                   "18 bipolar pairs when present, else all of the first file)")
    add_check(p, _band_problem)
    add_check(p, _channels_problem)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("simulate", help="write a simulated subject (EDF + chbNN-summary.txt)")
    p.add_argument("--out", required=True, help="folder in which chbNN/ is written "
                   "(whole or not at all)")
    add_overwrite(p, "an existing chbNN/ folder in --out")
    p.add_argument("--subject", type=positive_int, default=1)
    p.add_argument("--n-seizures", type=positive_int, default=4)
    p.add_argument("--n-interictal-files", type=nonnegative_int, default=4)
    p.add_argument("--sfreq", type=positive_float, default=128.0)
    p.add_argument("--interictal-minutes", type=positive_float, default=30.0)
    p.add_argument("--seizure-minutes", type=positive_float, default=35.0)
    p.add_argument("--preictal", type=positive_float, default=1200.0,
                   help="planted change starts this long before onsets, s")
    p.add_argument("--gap-hours", type=nonnegative_float, default=4.5,
                   help="clock gap between interictal and seizure files, h")
    p.add_argument("--margin", type=nonnegative_float, default=300.0,
                   help="time before the preictal change and after seizures, s")
    add_seed(p)
    add_verbosity(p, default=1)

    p = sub.add_parser("window", help="window and label the files of a summary")
    p.add_argument("summary", help="chbNN-summary.txt (EDF files beside it)")
    require_existing(p, "summary")
    p.add_argument("--out", required=True,
                   help="output folder (written whole or not at all): X.npy, labels.npz, "
                        "meta.json with the labelling and band-pass")
    add_overwrite(p, "an existing non-empty --out folder")
    _labelling(p)
    add_verbosity(p, default=1)

    p = sub.add_parser("train", help="train a SeizureForecaster on windowed data")
    p.add_argument("windows", help="folder written by 'neuroattn seizure window'")
    require_existing(p, "windows", kind="folder")
    p.add_argument("--out", required=True, help="output .safetensors file (written when "
                   "training completes; Ctrl-C saves nothing)")
    add_overwrite(p, "an existing --out model file")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="folder of per-epoch training checkpoints: after Ctrl-C (or a "
                        "crash) the same command resumes from the last complete epoch")
    p.add_argument("--model", default="stan")
    # Unset options keep SeizureForecaster's / STAN's defaults (2.3 M parameters, 15
    # epochs with warm-up: about 10 min on one CPU thread when an epoch draws 1,000
    # windows, i.e. 500 preictal ones).
    add_training(p, max_epochs=None)
    p.add_argument("--lr", type=positive_float, help="peak learning rate (default: 3e-3)")
    p.add_argument("--batch-size", type=positive_int, help="(default: 64)")
    p.add_argument("--adversarial-weight", type=nonnegative_float,
                   help="critic weight (default: 0.05)")
    p.add_argument("--patch-size", type=positive_int, help="STAN patch samples (default: 128)")
    p.add_argument("--embed-dim", type=positive_int, help="STAN width (default: 216)")
    p.add_argument("--depth", type=positive_int, help="STAN blocks (default: 3)")
    p.add_argument("--n-heads", type=positive_int, help="STAN heads (default: 8)")
    add_verbosity(p, default=0)

    # No band-pass, channel or rate options: the model carries those of its training
    # windows (bandpass_, ch_names_, sfreq_) and monitor applies them.
    p = sub.add_parser("monitor", help="monitor recordings with a trained forecaster "
                                       "(windowed as at training)")
    p.add_argument("model", help=".safetensors file written by 'train'")
    p.add_argument("summary", nargs="?",
                   help="chbNN-summary.txt listing the recordings to monitor (not with --lsl)")
    require_existing(p, "model")
    require_existing(p, "summary")
    p.add_argument("--plot", help="folder for one alarm-timeline PNG per file")
    p.add_argument("--json", help="write probabilities and alarms to this JSON file")
    add_overwrite(p, "existing --json, --jsonl and --plot files")
    add_live_arguments(p)
    add_device(p)
    add_threads(p)
    add_verbosity(p, default=1)

    from ._seizure_evaluate import add_evaluate
    add_evaluate(sub, _labelling)


def _channels(args, recordings) -> list[str] | None:
    from ..data.simulate.seizure import CHBMIT_CHANNELS

    if args.channels:
        return [c.strip() for c in args.channels.split(",")]
    names = {c.upper() for c in recordings[0].open().ch_names}
    return list(CHBMIT_CHANNELS) if all(c in names for c in CHBMIT_CHANNELS) else None


def _simulate(args) -> int:
    import shutil

    from .._files import atomic_folder
    from ..data.simulate import simulate_seizure_recordings

    name = f"chb{args.subject:02d}"
    with output_dir(args.out) as out:
        dest = out / name
        if dest.is_dir() and any(dest.iterdir()) and not args.overwrite:
            raise ValueError(f"--out: {dest} exists and is not empty; pass --overwrite to "
                             "replace it.")
        # Simulated in a hidden folder, swapped into place when every file is written.
        with atomic_folder(dest, overwrite=True) as tmp:
            root = tmp.parent / f"{tmp.name}.root"
            try:
                sim = simulate_seizure_recordings(
                    root, subject=args.subject, n_seizures=args.n_seizures,
                    n_interictal_files=args.n_interictal_files,
                    interictal_file_minutes=args.interictal_minutes,
                    seizure_file_minutes=args.seizure_minutes,
                    preictal_seconds=args.preictal, interictal_gap_hours=args.gap_hours,
                    margin_seconds=args.margin, seizure_seconds=(20.0, 60.0),
                    sfreq=args.sfreq, random_state=args.seed)
                for f in sim.summary_path.parent.iterdir():
                    f.replace(tmp / f.name)
            finally:
                shutil.rmtree(root, ignore_errors=True)
    if args.verbose:
        print(f"wrote {len(sim.edf_paths)} EDF files and {dest / sim.summary_path.name}")
    return 0


def _window(args) -> int:
    import tempfile

    from ..data.seizure import extract_windows, read_chbmit_summary, save_windows

    with output_dir(args.out) as out:
        if not args.overwrite and [p for p in out.iterdir() if p.name != ".neuroattn.lock"]:
            raise ValueError(f"--out {out} exists and is not empty; pass --overwrite to "
                             "replace it.")
        recs = read_chbmit_summary(args.summary, on_missing="warn")
        if not recs:
            raise ValueError(f"{args.summary} lists no readable recording.")
        # Windows stream into a memory map beside --out (same disk, flat memory);
        # save_windows then swaps the complete folder into place (the lock file of
        # this run goes with the replaced folder).
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.x-") as tmp:
            win = extract_windows(recs, window_seconds=args.window,
                                  ch_names=_channels(args, recs), sfreq=args.sfreq,
                                  l_freq=args.l_freq, h_freq=args.h_freq,
                                  sph_seconds=args.sph, sop_seconds=args.sop,
                                  min_interictal_seconds=args.min_interictal,
                                  postictal_seconds=args.postictal, out=Path(tmp) / "X.npy",
                                  verbose=args.verbose)
            save_windows(win, out, overwrite=True)
            y = win.y
            del win  # release the memory map before its folder goes
    if args.verbose:
        print(f"{len(y)} windows ({int((y == 1).sum())} preictal, "
              f"{int((y == 0).sum())} interictal) -> {out}")
    return 0


def _model_path(text: str) -> Path:
    """The file ``save`` writes for ``--out text`` (``.safetensors`` appended if missing)."""
    path = Path(text)
    return path if path.suffix == ".safetensors" else path.with_name(
        path.name + ".safetensors")


def _train(args) -> int:
    from .._files import check_output_dir, check_output_file, check_regular_destination
    from ..data.seizure import load_windows
    from ..estimators.seizure import SeizureForecaster

    # The destination is checked before training, not after minutes of it; the path
    # as given too (--out /dev/null must not become /dev/null.safetensors).
    check_regular_destination(args.out, parameter="--out")
    if Path(args.out).is_dir():
        raise ValueError(f"--out: {args.out} is a folder, expected a model file name "
                         "(e.g. model.safetensors).")
    out = check_output_file(_model_path(args.out), overwrite=args.overwrite,
                            parameter="--out")
    if args.checkpoint:
        check_output_dir(args.checkpoint, parameter="--checkpoint")
    try:
        windows = load_windows(args.windows)
    except FileNotFoundError as exc:
        raise ValueError(f"{exc} Run 'neuroattn seizure window' first.") from exc
    set_threads(args.threads)
    given = {"max_epochs": args.max_epochs, "lr": args.lr, "batch_size": args.batch_size,
             "adversarial_weight": args.adversarial_weight}
    if args.model == "stan":
        given.update(model__embed_dim=args.embed_dim, model__depth=args.depth,
                     model__n_heads=args.n_heads, model__patch_size=args.patch_size)
    if args.checkpoint:
        given["checkpoint_dir"] = args.checkpoint
    # The alarm rule's SOP is the one the windows were labelled with.
    est = SeizureForecaster(args.model, sop_seconds=windows.sop_seconds,
                            random_state=args.seed,
                            verbose=args.verbose, device=args.device,
                            **{k: v for k, v in given.items() if v is not None})
    # Channels, rate and band-pass of the windows become fitted attributes, saved
    # with the weights: 'monitor' windows new recordings the same way. An interrupted
    # fit raises KeyboardInterrupt here: no model is saved (cli.main exits 130).
    with Outputs(overwrite=args.overwrite) as outputs:
        try:
            est.fit(windows)
        except KeyboardInterrupt:
            from ..estimators._checkpoint import read_checkpoint

            done = read_checkpoint(Path(args.checkpoint)) if args.checkpoint else None
            if done is not None:
                raise Interrupted(f"no model saved to {out}; partial checkpoint kept in "
                                  f"{args.checkpoint} (epoch {done['epoch']} of "
                                  f"{est.max_epochs}): run the same command to resume"
                                  ) from None
            raise
        est.save(outputs.file(out))
    if args.verbose:
        print(f"saved {out}")
    return 0


def _load_model(path: Path, device: str):
    """``SeizureForecaster.load``, with errors of the file naming it."""
    from safetensors import SafetensorError

    from ..estimators.seizure import SeizureForecaster

    try:
        return SeizureForecaster.load(path, device=device)
    except (ValueError, OSError, EOFError, SafetensorError) as exc:
        text = " ".join(str(exc).split())
        if str(path) in text:
            raise
        raise ValueError(f"{path}: not a readable neuroattn model file ({text}).") from exc


def _monitor(args) -> int:
    if args.lsl:
        return monitor_lsl(args, _load_model)
    import contextlib

    import numpy as np

    from .._files import check_output_file
    from ..data.seizure import read_chbmit_summary

    # Destinations first: a bad --json or --plot is refused before anything is read.
    if args.json:
        json_path = check_output_file(args.json, overwrite=args.overwrite,
                                      parameter="--json")
    with contextlib.ExitStack() as stack:
        plot_dir = (stack.enter_context(output_dir(args.plot, parameter="--plot"))
                    if args.plot else None)
        set_threads(args.threads)
        est = _load_model(args.model, args.device)
        recs = read_chbmit_summary(args.summary, on_missing="warn")
        if plot_dir is not None:
            for rec in recs:
                check_output_file(plot_dir / f"{rec.path.stem}.png",
                                  overwrite=args.overwrite, parameter="--plot")
        outputs = stack.enter_context(Outputs(overwrite=args.overwrite))
        report = {}
        for rec in recs:
            res = est.monitor(rec)
            alarms = ", ".join(f"{a / 60:.1f}" for a in res.alarms) or "none"
            onsets = ", ".join(f"{s / 60:.1f}" for s, _ in rec.seizures) or "none"
            if args.verbose:
                print(f"{rec.path.name}: alarms at {alarms} min; seizure onsets at "
                      f"{onsets} min")
            report[rec.path.name] = {"times": res.times.tolist(),
                                     "probability": np.round(res.probability, 4).tolist(),
                                     "alarms": res.alarms.tolist(), "seizures": rec.seizures}
            if plot_dir is not None:
                import matplotlib.pyplot as plt

                from ..viz.seizure import plot_alarm_timeline

                fig = plot_alarm_timeline(res.times, res.probability, score=res.score,
                                          threshold=res.threshold, alarms=res.alarms,
                                          seizures=rec.seizures,
                                          sop_seconds=est.sop_seconds, title=rec.path.name)
                try:
                    fig.savefig(outputs.file(plot_dir / f"{rec.path.stem}.png"), dpi=100)
                finally:
                    plt.close(fig)  # one figure per file: do not pile them up in pyplot
        if args.json:
            outputs.file(json_path).write_text(json.dumps(report))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "evaluate":
        from ._seizure_evaluate import run_evaluate
        return run_evaluate(args, _channels)
    return {"simulate": _simulate, "window": _window, "train": _train,
            "monitor": _monitor}[args.action](args)
