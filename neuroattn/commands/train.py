"""``neuroattn train --config cfg.yml``: fit one estimator from a YAML file, in one
process or data-parallel under ``accelerate launch``.

The file names the estimator, its parameters, the data and where the model goes::

    estimator: NeuroClassifier          # NeuroClassifier, NeuroRegressor,
                                        # SeizureForecaster, BrainMAEPretrainer
    params: {model: eeg_transformer, max_epochs: 20, random_state: 0,
             mixed_precision: bf16}
    data:                               # exactly one source:
      simulate: motor_imagery           #   motor_imagery | fmri (options: the simulator's)
      options: {n_trials: 120, random_state: 0}
      # npz: data.npz                   #   arrays X (and y)
      # npy: {X: X.npy, y: y.npy}       #   memory-mapped .npy files
      # windows: windows/               #   a folder of `neuroattn seizure window`
    test_fraction: 0.25                 # optional held-out share (arrays only)
    out: model.safetensors

Relative paths are read from the YAML file's folder. Several processes::

    accelerate launch --multi_gpu --num_processes 2 -m neuroattn.cli train --config cfg.yml

(``--multi_gpu`` also for CPU processes with gloo: accelerate's ``--cpu`` starts one
process). Every process reads the same data and trains on its
share of each epoch's batches; only the main process writes the model and prints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._common import add_overwrite, add_threads, add_verbosity, require_existing, set_threads

NAME = "train"
HELP = "Fit an estimator described by a YAML file (data-parallel under accelerate launch)."

_ESTIMATORS = ("NeuroClassifier", "NeuroRegressor", "SeizureForecaster", "BrainMAEPretrainer")
_SOURCES = ("simulate", "npz", "npy", "windows")
_SIMULATORS = ("motor_imagery", "fmri")
_KEYS = {"estimator", "params", "data", "test_fraction", "out"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the YAML file (see the module help)")
    parser.add_argument("--json", help="also write the run's scores and sizes to this file")
    add_overwrite(parser, "the model file")
    add_threads(parser)
    add_verbosity(parser)
    require_existing(parser, "--config")


def read_config(path: str | Path) -> dict[str, Any]:
    """Read and check a training YAML file.

    Parameters
    ----------
    path : str | Path
        The YAML file.

    Returns
    -------
    dict
        ``estimator`` (str), ``params`` (dict), ``data`` (dict), ``test_fraction``
        (float | None) and ``out`` (Path, relative to the file's folder).

    Raises
    ------
    ValueError
        Naming the file and the key that is missing, unknown or of the wrong type.
    """
    import yaml

    path = Path(path)
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc}).") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: expected a mapping with keys {sorted(_KEYS)}.")
    unknown = sorted(set(cfg) - _KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; accepted: {sorted(_KEYS)}.")
    for key in ("estimator", "data", "out"):
        if key not in cfg:
            raise ValueError(f"{path}: missing key {key!r}.")
    if cfg["estimator"] not in _ESTIMATORS:
        raise ValueError(f"{path}: estimator {cfg['estimator']!r} is not one of "
                         f"{list(_ESTIMATORS)}.")
    params = cfg.get("params") or {}
    data = cfg["data"]
    if not isinstance(params, dict):
        raise ValueError(f"{path}: params must be a mapping, found {type(params).__name__}.")
    if not isinstance(data, dict) or len(set(data) & set(_SOURCES)) != 1:
        raise ValueError(f"{path}: data must name exactly one source of {list(_SOURCES)}, "
                         f"found {data!r}.")
    frac = cfg.get("test_fraction")
    if frac is not None and not (isinstance(frac, (int, float)) and 0 < frac < 1):
        raise ValueError(f"{path}: test_fraction must be in (0, 1), found {frac!r}.")
    return {"estimator": cfg["estimator"], "params": params, "data": data,
            "test_fraction": frac, "out": path.parent / str(cfg["out"]), "base": path.parent}


def load_data(data: dict[str, Any], base: Path, config: Path) -> tuple[Any, Any]:
    """``(X, y)`` of a config's ``data`` entry (``y`` None for windows and fMRI series).

    Raises
    ------
    ValueError
        For an unknown simulator or a file without the arrays named.
    FileNotFoundError
        If a named file or folder does not exist.
    """
    import numpy as np

    def local(name: Any) -> Path:
        file = base / str(name)
        if not file.exists():
            raise FileNotFoundError(f"{config}: data file {file} does not exist.")
        return file

    if "simulate" in data:
        kind, options = data["simulate"], dict(data.get("options") or {})
        if kind == "motor_imagery":
            from ..data.simulate import simulate_motor_imagery

            return simulate_motor_imagery(return_epochs=False, **options)
        if kind == "fmri":
            from ..data.simulate import simulate_fmri_rois

            return simulate_fmri_rois(**options), None
        raise ValueError(f"{config}: data.simulate {kind!r} is not one of {list(_SIMULATORS)}.")
    if "npz" in data:
        with np.load(local(data["npz"])) as arrays:
            if "X" not in arrays:
                raise ValueError(f"{config}: {data['npz']} holds {sorted(arrays)}, no 'X'.")
            return arrays["X"], arrays.get("y")
    if "npy" in data:
        files = data["npy"]
        if not isinstance(files, dict) or "X" not in files:
            raise ValueError(f"{config}: data.npy must map X (and y) to .npy files.")
        X = np.load(local(files["X"]), mmap_mode="r")
        return X, (np.load(local(files["y"])) if "y" in files else None)
    from ..data.seizure import load_windows

    return load_windows(local(data["windows"])), None


def run(args: argparse.Namespace) -> int:
    from .. import estimators
    from .._files import check_output_file
    from ..estimators._accelerate import is_main_process, launched_processes

    set_threads(args.threads)
    cfg = read_config(args.config)
    main = is_main_process()
    out = cfg["out"] if cfg["out"].suffix else cfg["out"].with_suffix(".safetensors")
    if main:  # both outputs are checked before any data is read or trained on
        check_output_file(out, overwrite=args.overwrite, parameter="out")
        if args.json:
            check_output_file(args.json, parameter="--json")
    X, y = load_data(cfg["data"], cfg["base"], Path(args.config))
    params = {"verbose": args.verbose, **cfg["params"]}
    est = getattr(estimators, cfg["estimator"])(**params)
    X_test = y_test = None
    if cfg["test_fraction"] is not None:
        if y is None:
            raise ValueError(f"{args.config}: test_fraction needs labelled arrays (data "
                             "with y).")
        from sklearn.model_selection import train_test_split

        strat = y if cfg["estimator"] == "NeuroClassifier" else None
        X, X_test, y, y_test = train_test_split(
            X, y, test_size=cfg["test_fraction"], stratify=strat,
            random_state=params.get("random_state", 0) or 0)
    est.fit(X, y) if y is not None else est.fit(X)
    report = {"estimator": cfg["estimator"], "n_processes": launched_processes(),
              "n_train": _n_samples(X), "model": str(out)}
    if X_test is not None:  # every process predicts its share; all get every score
        report.update(score_train=float(est.score(X, y)),
                      score_test=float(est.score(X_test, y_test)), n_test=len(X_test))
    if main:
        est.save(out)
        if args.json:
            path = check_output_file(args.json, parameter="--json")
            path.write_text(json.dumps(report, indent=1))
        print(json.dumps(report))
    return 0


def _n_samples(X: Any) -> int:
    """Samples of what was fitted (arrays, windows, ROI series)."""
    for value in (X, getattr(X, "y", None), getattr(X, "X", None)):
        try:
            return len(value)
        except TypeError:
            continue
    return -1
