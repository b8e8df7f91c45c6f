"""Training checkpoints: one folder per run, rewritten atomically after every epoch.

Layout of a ``checkpoint_dir``:

- ``checkpoint.json``: the manifest, written last with :func:`~neuroattn._files.
  atomic_write` -- ``status`` (``"partial"`` until the fit completes, then
  ``"complete"``), ``epoch`` / ``max_epochs``, the estimator class, its parameters,
  SHA-256 digests of the training data and of the signal arguments, the run's seed,
  the history, and the name and SHA-256 of the state file;
- ``state-epochNNNN.pt`` (``state-final.pt`` once complete): weights, optimizer, the
  train step's critic and optimizer, and callback states, read back with
  ``torch.load(weights_only=True)`` (no pickle code runs).

A reader sees the previous complete epoch or the new one, never half of one: the state
file is written before the manifest that names it, and older state files are removed
only after. The torch RNG and the batch generator are reseeded per epoch from the
run's seed (:func:`~neuroattn.estimators._nets.epoch_seeds`), so no RNG state is
stored.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from skorch.callbacks import Callback

from .._files import FolderLock, atomic_write, check_output_dir
from .._hashing import hash_update, random_state_digest, without_addresses

__all__ = ["MANIFEST", "TrainingCheckpoint", "fingerprint", "read_checkpoint",
           "check_same_run", "train_checkpointed"]

MANIFEST = "checkpoint.json"
_FORMAT = "neuroattn-training-checkpoint"

#: Parameters that do not change what is trained (compared by nothing else).
_NOT_COMPARED = ("verbose", "device", "checkpoint_dir")

def _param_text(value: Any) -> str:
    digest = random_state_digest(value)
    if digest is not None:
        # Its state (after fit drew the run's seed from it) tells RandomState(0) from
        # RandomState(1); the type name alone would not.
        return f"{type(value).__name__}(state={digest})"
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return without_addresses(repr(value))


def _callbacks_text(value: Any) -> str:
    """User callbacks change what is trained (clipping, schedules): compared by class and
    parameters, memory addresses removed."""
    if not value:
        return "[]"
    items = []
    for item in value:
        name, cb = item if isinstance(item, tuple) and len(item) == 2 else (None, item)
        params = cb.get_params() if hasattr(cb, "get_params") else {}
        text = (f"{type(cb).__module__}.{type(cb).__qualname__}("
                + ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())) + ")")
        items.append(f"{name}={text}" if name else text)
    return without_addresses("[" + ", ".join(items) + "]")


def _data_digest(X: Any, y: Any) -> str:
    """SHA-256 of what the net is fitted on; a Dataset item by item (never all at once)."""
    digest = hashlib.sha256()
    if isinstance(X, torch.utils.data.Dataset) and not isinstance(X, np.ndarray):
        hash_update(digest, len(X))
        for i in range(len(X)):
            hash_update(digest, X[i])
    else:
        hash_update(digest, X)
    hash_update(digest, y)
    return digest.hexdigest()


def fingerprint(estimator: Any, X: Any, y: Any) -> dict[str, Any]:
    """What identifies a training run: class, parameters, data and signal arguments.

    Parameters
    ----------
    estimator : NeuroEstimatorMixin
        With its fitted signal attributes set (``_signal_args()`` works).
    X, y
        Exactly what the net is fitted on (arrays, or a Dataset and None).

    Returns
    -------
    dict
        ``estimator``, ``params`` (name to ``repr``), ``data_sha256``, ``signal_sha256``.
    """
    params = {k: _callbacks_text(v) if k == "callbacks" else _param_text(v)
              for k, v in sorted(estimator.get_params(deep=False).items())
              if k not in _NOT_COMPARED}
    signal = json.dumps(estimator._signal_args(), sort_keys=True, default=repr)
    return {"estimator": type(estimator).__name__, "params": params,
            "data_sha256": _data_digest(X, y),
            "signal_sha256": hashlib.sha256(signal.encode()).hexdigest()}


def read_checkpoint(folder: Path) -> dict[str, Any] | None:
    """The manifest of ``folder``, or None when it holds no checkpoint.

    Raises
    ------
    ValueError
        If the manifest is not valid JSON or was not written by neuroattn.
    """
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"checkpoint_dir: {path} is not a readable checkpoint manifest "
                         f"({exc}); remove {folder} or choose another folder.") from exc
    keys = ("format", "status", "epoch", "state_file", "state_sha256", "history", "seed",
            "params", "data_sha256", "signal_sha256", "estimator")
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT or any(
            k not in manifest for k in keys):
        raise ValueError(f"checkpoint_dir: {path} is not a neuroattn training checkpoint "
                         f"(expected the keys {list(keys)}); remove {folder} or choose "
                         "another folder.")
    return manifest


def check_same_run(folder: Path, manifest: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse a checkpoint written by another estimator, parameters or data.

    Raises
    ------
    ValueError
        Naming ``folder`` and every difference found.
    """
    diffs = []
    if manifest["estimator"] != current["estimator"]:
        diffs.append(f"estimator: checkpoint {manifest['estimator']}, now "
                     f"{current['estimator']}")
    old, new = manifest["params"], current["params"]
    if old.get("callbacks", "[]") != new.get("callbacks", "[]"):
        # Callbacks may only observe (logging, a test's interruption) or change what is
        # trained (gradient clipping): say so rather than refuse the resume.
        warnings.warn(f"checkpoint_dir {folder}: resuming with other callbacks than the "
                      f"checkpoint's ({old.get('callbacks', '[]')} then, "
                      f"{new.get('callbacks', '[]')} now); the result equals an "
                      "uninterrupted run only if the callbacks do not change training.",
                      UserWarning, stacklevel=4)
    for name in sorted((set(old) | set(new)) - {"callbacks"}):
        if old.get(name) != new.get(name):
            diffs.append(f"{name}: checkpoint {old.get(name, '(absent)')}, now "
                         f"{new.get(name, '(absent)')}")
    if manifest["data_sha256"] != current["data_sha256"]:
        diffs.append("the training data (X, y) differ (SHA-256 "
                     f"{manifest['data_sha256'][:12]}... vs {current['data_sha256'][:12]}...)")
    if manifest["signal_sha256"] != current["signal_sha256"]:
        diffs.append("the signal description (channels, sampling rate, shape) differs")
    if diffs:
        raise ValueError(f"checkpoint_dir {folder} holds a {manifest['status']} checkpoint of "
                         f"another run: " + "; ".join(diffs) + ". Fit with the same "
                         "parameters and data to resume, or use another (or an emptied) "
                         "checkpoint_dir.")


def load_state(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The state file a manifest names, checked against its SHA-256, plus the history.

    Raises
    ------
    ValueError
        If the file is missing, corrupted (digest mismatch) or unreadable.
    """
    path = folder / str(manifest["state_file"])
    if path.parent != folder or not path.is_file():
        raise ValueError(f"checkpoint_dir: {path} named by {folder / MANIFEST} is missing; "
                         f"remove {folder} to start again.")
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != manifest["state_sha256"]:
        raise ValueError(f"checkpoint_dir: {path} is corrupted (its SHA-256 differs from "
                         f"the one in {MANIFEST}); remove {folder} to start again.")
    import io

    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types on bad pickles
        raise ValueError(f"checkpoint_dir: cannot read {path} ({exc}).") from exc
    state["history"] = manifest["history"]
    return state


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} in the training history cannot be checkpointed")


class TrainingCheckpoint(Callback):
    """Write the run's state into ``folder`` after every epoch and when training ends.

    Made by the training core when ``checkpoint_dir`` is set (always the last callback,
    so every other callback's epoch is complete when it writes).

    Parameters
    ----------
    folder : Path
        The checkpoint folder (exists and is locked by the core).
    run : dict
        :func:`fingerprint` of the run plus ``seed`` and ``max_epochs``.
    """

    def __init__(self, folder: Path, run: dict[str, Any]) -> None:
        self.folder = folder
        self.run = run

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        self._write(net, f"state-epoch{epoch:04d}.pt", "partial", epoch)

    def on_train_end(self, net, **kwargs):
        self._write(net, "state-final.pt", "complete", len(net.history))

    def _write(self, net, name: str, status: str, epoch: int) -> None:
        state = net.training_state()
        digest = hashlib.sha256()

        def write_state(fh):
            data = _to_bytes(state)
            digest.update(data)
            fh.write(data)

        atomic_write(self.folder / name, write_state, binary=True)
        manifest = {"format": _FORMAT, "status": status, "epoch": epoch, **self.run,
                    "state_file": name, "state_sha256": digest.hexdigest(),
                    "history": net.history.to_list()}
        text = json.dumps(manifest, default=_json_default, indent=1)
        atomic_write(self.folder / MANIFEST, lambda fh: fh.write(text))
        for old in self.folder.glob("state-*.pt"):
            if old.name != name:
                old.unlink(missing_ok=True)


def _to_bytes(state: dict[str, Any]) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def train_checkpointed(self: Any, X: Any, y: Any, seed: int) -> Any:
    """Train ``self`` (an estimator) with ``checkpoint_dir``: lock the folder, refuse
    another run's checkpoint, resume a partial one (with its seed), restore a complete
    one without training; returns the skorch net.

    Raises
    ------
    ValueError
        If the folder holds another run's, or a corrupted, checkpoint.
    KeyboardInterrupt
        If training is interrupted; the message says what the folder holds.
    """
    folder = check_output_dir(self.checkpoint_dir, parameter="checkpoint_dir")
    run = fingerprint(self, X, y)
    with FolderLock(folder):
        manifest = read_checkpoint(folder)
        state = None
        if manifest is not None:
            check_same_run(folder, manifest, run)
            seed = int(manifest["seed"])
            state = load_state(folder, manifest)
            if manifest["status"] == "complete":
                return self._run_net(X, y, seed, state=state, complete=True)
        run.update(seed=seed, max_epochs=int(self.max_epochs))
        try:
            return self._run_net(X, y, seed, state=state,
                                 checkpoint=TrainingCheckpoint(folder, run))
        except KeyboardInterrupt:
            done = read_checkpoint(folder)
            where = ("no epoch was completed, so it holds no checkpoint" if done is None
                     else f"it holds a partial checkpoint after epoch {done['epoch']} of "
                     f"{self.max_epochs}; fit again with the same parameters and data "
                     "to resume")
            raise KeyboardInterrupt(f"Training interrupted (checkpoint_dir {folder}: "
                                    f"{where}).") from None
