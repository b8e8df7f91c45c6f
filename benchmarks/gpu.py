"""GPU benchmark: throughput, peak memory and time to accuracy of every registered model.

For every model of ``neuroattn.list_models()`` at its track's standard input size
(:data:`STANDARD`), and for braindecode's AttentionBaseNet, EEGNet (EEGNetv4) and
EEGConformer at the motor-imagery size, in float32 (``mixed_precision="no"``) and
bfloat16 autocast (``mixed_precision="bf16"``, through Hugging Face Accelerate):

* training throughput (windows/s, the fit's time without the per-epoch evaluation),
* inference throughput (windows/s, ``predict_proba`` / ``predict`` after a warm-up),
* peak GPU memory of the fit and of inference (``torch.cuda.max_memory_allocated``),
* time to a fixed accuracy (classification: held-out accuracy >= ``--target``; the
  encoder: held-out R^2 >= ``--target-r2``) on data with a planted, learnable signal,
  or null when the fit's ``--max-epochs`` do not reach it;
* with several GPUs, the training throughput on all of them: the script relaunches its
  training part itself with ``accelerate launch --multi_gpu --num_processes N`` (the
  estimators then train data-parallel, one process per GPU).

The exact command on a CUDA machine (one GPU or several; about 5-7 minutes on one
modern GPU, stopped at ``--budget-seconds``, default 420 s, whatever is left being
listed as skipped)::

    pip install "neuroattn[braindecode]" accelerate
    python benchmarks/gpu.py

writes ``benchmarks/results/gpu.json`` (``--out`` to change). The data-parallel part
alone, by hand: ``accelerate launch --multi_gpu --num_processes 2 benchmarks/gpu.py
--ddp-worker --out ddp.json``. On a CPU, ``python benchmarks/gpu.py --smoke`` runs every
model once at its small example size, float32 only (``--precisions no bf16`` adds
bfloat16), in about 30 seconds (tested in tests/benchmark/test_gpu_script.py).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

#: Standard input size of each track (signal arguments of the models).
TRACKS = {
    "mi": dict(n_chans=22, n_times=1000, sfreq=250.0, n_outputs=4),   # BNCI2014_001, 4 s
    "seizure": dict(n_chans=18, n_times=1024, sfreq=256.0, n_outputs=2),  # CHB-MIT, 4 s
    "ssvep": dict(n_chans=8, n_times=512, sfreq=256.0, n_outputs=3),  # Kalunga2016, 2 s
    "fmri": dict(n_chans=200, n_times=32, sfreq=0.5, n_outputs=2),    # CC200, 64 s
    "fmri_connectome": dict(n_chans=200, n_times=200, n_outputs=2),   # CC200 x CC200
    "encoding": dict(n_chans=196, n_times=384, n_outputs=1000),       # ViT-S/16 tokens
}
#: The track of each registered model (a model not listed runs at its example size).
STANDARD = {"channel_attention_net": "mi", "dbconformer": "mi", "eeg_transformer": "mi",
            "tangent_attention": "mi", "stan": "seizure", "ssvep_dnn": "ssvep",
            "brain_mae": "fmri", "brain_network_transformer": "fmri_connectome",
            "brain_encoder": "encoding"}
BRAINDECODE = ("AttentionBaseNet", "EEGNet", "EEGConformer")
#: Classes of the planted task / regions of the encoder's voxels.
N_REGIONS = 10


# ----------------------------------------------------------------------------- data
def _signal_args(name: str, smoke: bool) -> tuple[str, dict]:
    from neuroattn.models import model_registry

    cls = model_registry.get(name)
    args = dict(cls.example_signal_args)
    track = STANDARD.get(name, "example")
    if smoke or track == "example":
        return ("example" if smoke else track), args
    args.update({k: v for k, v in TRACKS[track].items() if k in args or k != "sfreq"})
    if "voxel_regions" in args:
        n = args["n_outputs"]
        args["voxel_regions"] = [int(v) for v in np.arange(n) * N_REGIONS // n]
    return track, args


def _example_model(name: str, args: dict):
    import torch

    from neuroattn.models import model_registry

    with torch.random.fork_rng():
        return model_registry.get(name)(**args)


def _inputs(model, n: int, seed: int) -> np.ndarray:
    """``n`` inputs as the model expects them (its ``example_input``: a connectivity
    model gets correlation matrices, the SSVEP net sub-bands), float32, in chunks."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    return np.concatenate([model.example_input(min(256, n - k), generator=gen).numpy()
                           for k in range(0, n, 256)]).astype(np.float32)


def _planted(model, n: int, n_outputs: int, regression: bool, seed: int):
    """Inputs plus a class template (classification, ``n_outputs`` balanced classes; a
    template is the difference of two valid inputs, so symmetric matrices stay
    symmetric), or a linear read-out of the inputs plus noise (regression)."""
    X = _inputs(model, n, seed)
    rng = np.random.default_rng(seed)
    if regression:
        W = rng.standard_normal((int(np.prod(X.shape[1:])), n_outputs)).astype(np.float32)
        Y = X.reshape(n, -1) @ W / np.sqrt(W.shape[0])
        return X, (Y + 0.3 * Y.std() * rng.standard_normal(Y.shape)).astype(np.float32)
    y = np.arange(n) % n_outputs
    templates = _inputs(model, n_outputs, 1000) - _inputs(model, n_outputs, 2000)
    return (X + 0.5 * templates[y]).astype(np.float32), y


# ----------------------------------------------------------------------------- timing
def _clock(X_val: np.ndarray, y_val: np.ndarray, target: float, regression: bool):
    """A skorch callback timing each epoch and the first one reaching ``target``."""
    from skorch.callbacks import Callback

    class Clock(Callback):
        def initialize(self):
            self.start, self.evaluating, self.reached, self.curve = None, 0.0, None, []
            return self

        def on_train_begin(self, net, **kwargs):
            if self.start is None:
                self.start = time.perf_counter()

        def on_epoch_end(self, net, **kwargs):
            _sync()
            t = time.perf_counter()
            pred = net.predict(X_val) if regression else net.predict_proba(X_val)
            if regression:
                ss = ((y_val - pred) ** 2).sum(0) / ((y_val - y_val.mean(0)) ** 2).sum(0)
                score = float(np.mean(1 - ss))
            else:
                score = float((np.asarray(pred).argmax(1) == y_val).mean())
            self.curve.append(round(score, 4))
            if self.reached is None and score >= target:
                self.reached = t - self.start - self.evaluating
            self.evaluating += time.perf_counter() - t

    return Clock()


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _reset_peak() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_mb() -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**20, 1) if torch.cuda.is_available() \
        else None


# ----------------------------------------------------------------------------- estimators
def _neuroattn_estimator(name: str, args: dict, precision: str, settings: dict, clock):
    from neuroattn.estimators import NeuroClassifier, NeuroRegressor, SSVEPClassifier

    common = dict(max_epochs=settings["max_epochs"], batch_size=settings["batch_size"],
                  lr=1e-3, device=settings["device"], mixed_precision=precision,
                  random_state=0, callbacks=[("clock", clock)], verbose=0)
    extra = {f"model__{k}": v for k, v in args.items()
             if k not in ("n_chans", "n_times", "n_outputs")}
    if name == "ssvep_dnn":
        extra.pop("model__sfreq", None)
        return SSVEPClassifier(name, finetune_max_epochs=1, **common)
    if name == "brain_encoder":
        return NeuroRegressor(name, **common, **extra)
    return NeuroClassifier(name, **common, **extra)


def _braindecode_estimator(name: str, args: dict, precision: str, settings: dict, clock):
    import torch
    from accelerate import Accelerator
    from braindecode import EEGClassifier
    from skorch.hf import AccelerateMixin

    class AcceleratedEEGClassifier(AccelerateMixin, EEGClassifier):
        """braindecode's EEGClassifier trained through Accelerate (skorch's mixin)."""

    accelerator = Accelerator(mixed_precision=precision, cpu=settings["device"] == "cpu")
    return AcceleratedEEGClassifier(
        name, module__n_chans=args["n_chans"], module__n_times=args["n_times"],
        module__n_outputs=args["n_outputs"], module__sfreq=args["sfreq"],
        accelerator=accelerator, device=None, optimizer=torch.optim.AdamW, lr=1e-3,
        batch_size=settings["batch_size"], max_epochs=settings["max_epochs"],
        train_split=None, iterator_train__shuffle=True, callbacks=[("clock", clock)],
        verbose=0)


def measure(source: str, name: str, precision: str, settings: dict) -> dict:
    """One model in one precision: the row of the JSON (an ``error`` instead of figures
    when it fails, so that one model cannot stop the others)."""
    import torch

    smoke = settings["smoke"]
    regression = name == "brain_encoder"
    row: dict[str, Any] = {"source": source, "model": name, "precision": precision}
    try:
        if source == "neuroattn":
            track, args = _signal_args(name, smoke)
            model = _example_model(name, args)
        else:
            track = "mi"
            args = dict(n_chans=4, n_times=256, sfreq=128.0, n_outputs=2) if smoke \
                else dict(TRACKS["mi"])
            model = _example_model("eeg_transformer", {**args, "n_times": args["n_times"]})
        n_train, n_val, n_inf = settings["n_train"], settings["n_val"], settings["n_infer"]
        X, y = _planted(model, n_train + n_val, args["n_outputs"], regression, seed=0)
        shape = X.shape[1:]
        row.update(track=track, input_shape=list(shape))
        clock = _clock(X[n_train:], y[n_train:], settings["target_r2" if regression
                                                          else "target"], regression)
        make = _neuroattn_estimator if source == "neuroattn" else _braindecode_estimator
        est = make(name, args, precision, settings, clock)
        _reset_peak()
        _sync()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # braindecode's epoch table
            est.fit(X[:n_train], y[:n_train])
        _sync()
        fit_seconds = time.perf_counter() - t0 - clock.evaluating
        row["peak_gpu_mb_train"] = _peak_mb()
        module = getattr(est, "module_", None)
        row["n_params"] = int(sum(p.numel() for p in module.parameters())) if module \
            is not None else None
        X_inf = np.resize(X, (n_inf, *shape))
        predict = est.predict if regression else est.predict_proba
        predict(X_inf[: settings["batch_size"]])  # warm-up
        _reset_peak()
        _sync()
        t0 = time.perf_counter()
        with torch.inference_mode():
            predict(X_inf)
        _sync()
        infer_seconds = time.perf_counter() - t0
        epochs = len(clock.curve) or settings["max_epochs"]  # no per-epoch hook: all ran
        row.update(
            train_windows_per_s=round(n_train * epochs / fit_seconds, 1),
            infer_windows_per_s=round(n_inf / infer_seconds, 1),
            peak_gpu_mb_infer=_peak_mb(),
            time_to_target_s=None if clock.reached is None else round(clock.reached, 2),
            target=("r2>=" if regression else "accuracy>=")
            + str(settings["target_r2" if regression else "target"]),
            score_per_epoch=clock.curve, fit_seconds=round(fit_seconds, 2))
    except Exception as exc:  # recorded, and the run goes on with the next model
        row["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:400]}"
        if settings.get("debug"):
            traceback.print_exc()
    return row


# ----------------------------------------------------------------------------- runs
def _configs(args) -> list[tuple[str, str, str]]:
    import neuroattn

    models = args.models or neuroattn.list_models()
    configs = [("neuroattn", m, p) for m in models for p in args.precisions]
    if not args.no_braindecode and not args.ddp_worker:
        configs += [("braindecode", m, p) for m in BRAINDECODE for p in args.precisions]
    return configs


def _multi_gpu(args, n_gpus: int, budget: float) -> dict:
    """The training part on every GPU, through ``accelerate launch`` (its own JSON)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ddp.json"
        cmd = ["accelerate", "launch", "--multi_gpu", "--num_processes", str(n_gpus),
               __file__, "--ddp-worker", "--out", str(out), "--precisions",
               *args.precisions, "--budget-seconds", str(int(budget))]
        cmd += ["--models", *args.models] if args.models else []
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            return {"command": " ".join(cmd), "error": proc.stderr[-2000:]}
        return {"command": " ".join(cmd), **json.loads(out.read_text())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="CPU smoke run: example sizes, tiny data, one epoch (~30 s)")
    parser.add_argument("--models", nargs="+", help="registered models (default: all)")
    parser.add_argument("--precisions", nargs="+", choices=["no", "bf16", "fp16"],
                        help="mixed_precision values (default: no bf16; --smoke: no)")
    parser.add_argument("--no-braindecode", action="store_true")
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:1, cpu")
    parser.add_argument("--n-train", type=int, help="training windows (default 1024)")
    parser.add_argument("--max-epochs", type=int, help="epochs per fit (default 6)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--target", type=float, default=0.9,
                        help="held-out accuracy of the time-to-accuracy figure")
    parser.add_argument("--target-r2", type=float, default=0.3,
                        help="held-out R^2 of the encoder's time-to-accuracy figure")
    parser.add_argument("--budget-seconds", type=float, default=None,
                        help="stop starting new models after this (default 420; smoke 25)")
    parser.add_argument("--ddp-worker", action="store_true",
                        help="(under accelerate launch) the training part on every process")
    parser.add_argument("--out", default=str(RESULTS / "gpu.json"))
    parser.add_argument("--debug", action="store_true", help="print tracebacks of errors")
    args = parser.parse_args(argv)
    import torch

    from neuroattn.estimators import resolve_device

    device = resolve_device(args.device)
    if device == "cpu" and not args.smoke and not args.ddp_worker:
        print("no CUDA device: running the CPU smoke version (--smoke)", file=sys.stderr)
        args.smoke = True
    args.precisions = args.precisions or (["no"] if args.smoke else ["no", "bf16"])
    settings = dict(smoke=args.smoke, device=device, debug=args.debug,
                    n_train=args.n_train or (16 if args.smoke else 1024),
                    n_val=8 if args.smoke else 256, n_infer=32 if args.smoke else 2048,
                    max_epochs=args.max_epochs or (1 if args.smoke else 6),
                    batch_size=args.batch_size or (8 if args.smoke else 64),
                    target=args.target, target_r2=args.target_r2)
    budget = args.budget_seconds or (25.0 if args.smoke else 420.0)
    start = time.perf_counter()
    rows, skipped = [], []
    for source, name, precision in _configs(args):
        if time.perf_counter() - start > budget:
            skipped.append(f"{source}:{name}:{precision}")
            continue
        row = measure(source, name, precision, settings)
        rows.append(row)
        print(json.dumps(row), flush=True)
    n_gpus = torch.cuda.device_count() if device.startswith("cuda") else 0
    result = {
        "benchmark": "throughput, peak GPU memory and time to accuracy of every "
                     "registered model and braindecode's AttentionBaseNet, EEGNet, "
                     "EEGConformer, float32 vs bf16" + (" (CPU smoke run)" if args.smoke
                                                        else ""),
        "command": "python benchmarks/gpu.py " + " ".join(argv if argv is not None
                                                          else sys.argv[1:]),
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if n_gpus else None,
        "n_gpus": n_gpus, "processes": int(os.environ.get("WORLD_SIZE", "1")),
        "settings": {k: v for k, v in settings.items() if k != "debug"},
        "results": rows, "skipped_for_time": skipped,
        "errors": [f"{r['source']}:{r['model']}:{r['precision']}: {r['error']}"
                   for r in rows if "error" in r],
        "versions": {"torch": torch.__version__, "python": platform.python_version(),
                     "neuroattn": __import__("neuroattn").__version__},
    }
    if n_gpus > 1 and not args.ddp_worker:
        result["multi_gpu"] = _multi_gpu(args, n_gpus, budget / 2)
    result["seconds"] = round(time.perf_counter() - start, 1)
    if int(os.environ.get("RANK", "0")) == 0:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out} ({len(rows)} measurements, {len(result['errors'])} errors, "
              f"{len(skipped)} skipped, {result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
