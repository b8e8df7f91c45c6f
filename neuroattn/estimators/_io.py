"""Model files: one ``.safetensors`` file per fitted estimator (weights as tensors,
parameters and fitted attributes as JSON metadata), nothing pickled.

The file's metadata holds two strings:

- ``"neuroattn"``: JSON with ``format_version`` (:data:`FORMAT_VERSION`), ``class``,
  ``neuroattn_version``, ``params`` (``get_params(deep=False)``) and ``fitted`` (the
  fitted attributes ``<name>_``). Tuples, arrays, paths and classes are tagged
  (``{"__tuple__": ...}``, ``{"__ndarray__": ..., "dtype": ...}``, ``{"__path__": ...}``,
  ``{"__class__": "module.Name"}``).
- ``"neuroattn_sha256"``: a SHA-256 of every tensor (name, dtype, shape and bytes, in
  sorted name order) and of the ``"neuroattn"`` JSON text, checked at load.

Loading imports nothing: a ``__class__`` is looked up in an allow-list of classes in
memory (:func:`_allowed_classes`); anything else is refused.

The checksum detects damage (a flipped bit, a truncated copy, an edit that did not
recompute it), not deliberate tampering: whoever recomputes the SHA-256 after an edit
gets a file that passes it. The content checks at load (allowed classes, known
parameters, the fitted attributes each class needs, consistent ``classes_``) still
apply, but an edit that stays consistent (``classes_`` relabelled, in order) cannot be
detected. Load model files from sources you trust.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .._files import atomic_write, check_output_file, check_regular_destination
from ._base import ROUTED_PREFIXES
from ._nets import resolve_device
from ._params import check_fitted

__all__ = ["FORMAT_VERSION", "save_estimator", "load_estimator"]

#: Layout of the metadata written by :func:`save_estimator` (0: files written before
#: format versions and checksums existed, read with a warning).
FORMAT_VERSION = 1

_META_KEY = "neuroattn"
_HASH_KEY = "neuroattn_sha256"
_REQUIRED = ("class", "params", "fitted")
_NOT_STORED = ("net_", "module_", "history_")
_TAGS = ("__tuple__", "__ndarray__", "__path__", "__class__")
#: The first bytes of files that are pickles (``torch.save``, ``pickle``, joblib).
_PICKLE_MAGIC = (b"PK\x03\x04", b"\x80")
_ALLOWED_MODULES = ("activation", "normalization", "batchnorm", "instancenorm")


# ----------------------------------------------------------------------------- save
def save_estimator(self: Any, path: str | Path) -> Path:
    """Save a fitted estimator to one ``.safetensors`` file, atomically.

    Weights are stored as tensors; parameters and fitted attributes as JSON in the
    file's metadata, with a SHA-256 checksum of both. Nothing is pickled, so loading
    never runs foreign code. The file is written to a temporary sibling and renamed
    into place, so an existing ``path`` is either replaced whole or left untouched; it
    gets the permissions of the user's umask. Missing parent folders are created.

    Training callbacks and a ``random_state`` generator object belong to a training
    run, not to the fitted model: they are not stored (a warning says so; the loaded
    estimator has None). Classes given as parameters (``model=``,
    ``model__activation=``, ``model__attention=``) are stored by name and must be ones
    :func:`load_estimator` accepts (registered neuroattn models and attention blocks,
    torch.nn activation and normalisation layers).

    Parameters
    ----------
    self : NeuroEstimatorMixin
        The fitted estimator.
    path : str | Path
        The file to write; the suffix ``.safetensors`` is added if it has another.

    Returns
    -------
    Path
        ``path`` with its suffix, complete on disk.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted (a ``ValueError``; the message names the file).
    ValueError
        If ``path`` (as given, or with the suffix) is a folder, a device, FIFO or
        socket, under ``/dev`` or a symbolic link loop, or a parameter or fitted
        attribute cannot be stored (the message names it).
    OSError
        If the folder of ``path`` cannot be created or written.
    """
    from safetensors import torch as st

    path = check_regular_destination(path, parameter="path")
    if path.is_dir():  # not "<folder>.safetensors" beside it
        raise ValueError(f"path: {path} is a folder, expected a model file name (e.g. "
                         f"{path / 'model.safetensors'}).")
    if path.suffix != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    name = type(self).__name__
    try:
        check_is_fitted(self, "net_")
    except NotFittedError:
        raise NotFittedError(f"Cannot save to {path}: this {name} is not fitted yet; call "
                             "fit before save.") from None
    fitted = {k: v for k, v in vars(self).items()
              if k.endswith("_") and not k.startswith("_") and k not in _NOT_STORED}
    params = self.get_params(deep=False)
    if params.get("callbacks"):
        warnings.warn("save() does not store the training callbacks; the loaded "
                      "estimator has callbacks=None.", UserWarning, stacklevel=3)
        params["callbacks"] = None
    if isinstance(params.get("random_state"), (np.random.RandomState, np.random.Generator)):
        warnings.warn("save() does not store a random_state generator object; the loaded "
                      "estimator has random_state=None.", UserWarning, stacklevel=3)
        params["random_state"] = None
    if isinstance(params.get("device"), torch.device):
        params["device"] = str(params["device"])
    allowed = _allowed_classes()
    meta = {"format_version": FORMAT_VERSION, "class": name,
            "neuroattn_version": _version(),
            "params": {k: _to_json(v, f"{name} parameter {k}", allowed)
                       for k, v in params.items()},
            "fitted": {k: _to_json(v, f"{name} fitted attribute {k}", allowed)
                       for k, v in fitted.items()}}
    text = json.dumps(meta)  # plain JSON values only, after _to_json
    state = {k: v.detach().cpu().contiguous() for k, v in self.module_.state_dict().items()}
    metadata = {_META_KEY: text, _HASH_KEY: _digest(state, text)}
    check_output_file(path, parameter="path")
    atomic_write(path, lambda fh: fh.write(st.save(state, metadata=metadata)), binary=True)
    return path


# ----------------------------------------------------------------------------- load
def load_estimator(cls: type, path: str | Path, device: str = "auto") -> Any:
    """Load an estimator written by :func:`save_estimator`, checking it first.

    Checked in order: a whole safetensors file; metadata with ``class``, ``params``,
    ``fitted`` in a known format; the SHA-256 checksum (a file written before checksums
    loads with a warning); the major.minor ``neuroattn`` version (else a warning); the
    class; classes named in it in the allow-list (nothing imported); consistent
    parameters and fitted attributes (``classes_`` unique, sorted, one per output).
    The model is then rebuilt (:meth:`_rebuild_module`) and the weights loaded.

    Parameters
    ----------
    cls : type
        The estimator class expected in the file.
    path : str | Path
        A file written by ``save`` (``.safetensors`` may be left out, as ``save``
        appends it).
    device : str
        Device of the loaded model, checked by :func:`._nets.resolve_device`.

    Returns
    -------
    estimator
        A fitted instance of ``cls``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is a folder, empty, truncated, not a safetensors file, not written
        by a neuroattn estimator, corrupted or modified (checksum mismatch), from a
        newer file format, holds another class or a class outside the allow-list, or
        its parameters, fitted attributes or weights are inconsistent; if ``device``
        is not a device. Every message names the file (or ``device``).
    """
    from safetensors.torch import load_file

    path = _existing_file(path)
    resolve_device(device)  # a bad device fails first, named
    metadata = _read_header(path)
    try:
        state = load_file(str(path))
    except Exception as exc:  # safetensors' own error type is not public API
        raise ValueError(f"{path} is not a valid safetensors file ({exc}).") from exc
    raw = metadata.get(_META_KEY)
    if raw is None:
        raise ValueError(f"{path} was not written by a neuroattn estimator: its metadata "
                         f"has no {_META_KEY!r} entry.")
    meta = _parse_meta(raw, path)
    _verify(path, state, raw, metadata.get(_HASH_KEY), meta["format_version"])
    _check_version(path, meta)
    if meta["class"] != cls.__name__:
        raise ValueError(f"{path} holds a {meta['class']}, not a {cls.__name__}.")
    allowed = _allowed_classes()
    params = _decode(meta["params"], path, allowed)
    fitted = _decode(meta["fitted"], path, allowed)
    _check_param_names(cls, params, path)
    check_fitted(cls, fitted, path, not_stored=_NOT_STORED)
    est = cls(**{**params, "device": device})
    try:
        est._check_params()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: a stored parameter is invalid: {exc}") from exc
    for key, value in fitted.items():
        setattr(est, key, value)
    try:
        module = est._rebuild_module()
    except AttributeError as exc:  # a class whose _fitted_required misses one
        raise ValueError(f"{path}: the file is missing the fitted attribute "
                         f"{getattr(exc, 'name', None) or exc} that {cls.__name__} needs.") from exc
    except (ValueError, TypeError, RuntimeError) as exc:
        raise ValueError(f"{path}: the model cannot be rebuilt from the stored parameters "
                         f"and fitted attributes: {exc}") from exc
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise ValueError(f"{path}: the stored weights do not match the model built from "
                         f"its parameters ({detail[:500]}).") from exc
    est.net_ = est._make_net(module, seed=0).initialize()
    est.module_ = est.net_.module_
    est.history_ = est.net_.history
    return est


def _existing_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists() and path.suffix != ".safetensors":
        with_suffix = path.with_name(path.name + ".safetensors")
        if with_suffix.exists():
            path = with_suffix
    if not path.exists():
        raise FileNotFoundError(f"Model file {path} does not exist.")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; expected a .safetensors model file written "
                         "by save().")
    return path


def _read_header(path: Path) -> dict[str, str]:
    """The safetensors metadata of ``path``, after checking the file is whole."""
    expected = "expected a .safetensors model file written by save()"
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path} is empty (0 bytes); {expected}.")
    with open(path, "rb") as fh:
        head = fh.read(9)
        # A header length starts with 0x80 for some sizes: a pickle's first 8 bytes read
        # as one are beyond safetensors' 100 MB limit of a header.
        if head[8:9] != b"{" and head.startswith(_PICKLE_MAGIC) and int.from_bytes(
                head[:8], "little") > 100_000_000:
            raise ValueError(f"{path} is not a safetensors file: it looks like a pickle "
                             "(torch.save / joblib), which neuroattn never loads since "
                             f"unpickling can run code; {expected}.")
        if size < 9:
            raise ValueError(f"{path} is truncated ({size} bytes; a safetensors file "
                             "starts with an 8-byte header length and a JSON header).")
        n_header = int.from_bytes(head[:8], "little")
        if head[8:9] != b"{":
            raise ValueError(f"{path} is not a safetensors file (no JSON header after "
                             f"the first 8 bytes); {expected}.")
        if 8 + n_header > size:
            raise ValueError(f"{path} is truncated or not a safetensors file: its header "
                             f"announces {n_header} bytes but the file has {size}.")
        fh.seek(8)
        header_bytes = fh.read(n_header)
    try:
        header = json.loads(header_bytes)
        end = max([int(v["data_offsets"][1]) for k, v in header.items()
                   if k != "__metadata__"], default=0)
        metadata = header.get("__metadata__") or {}
        if not isinstance(metadata, dict):
            raise TypeError("__metadata__ is not an object")
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(f"{path} is not a valid safetensors file (unreadable header: "
                         f"{exc}); {expected}.") from exc
    if size < 8 + n_header + end:
        raise ValueError(f"{path} is truncated: it has {size} bytes, its header describes "
                         f"{8 + n_header + end}.")
    return metadata


def _parse_meta(raw: str, path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: the neuroattn metadata is not valid JSON ({exc}).") from exc
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: the neuroattn metadata must be a JSON object with keys "
                         f"{list(_REQUIRED)}, found a {type(meta).__name__}.")
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise ValueError(f"{path}: the neuroattn metadata is missing "
                         f"{', '.join(map(repr, missing))} (expected keys "
                         f"{', '.join(map(repr, _REQUIRED))}).")
    if not isinstance(meta["class"], str):
        raise ValueError(f"{path}: 'class' must be a class name (a string), found "
                         f"{meta['class']!r}.")
    for key in ("params", "fitted"):
        if not isinstance(meta[key], dict):
            raise ValueError(f"{path}: {key!r} must be a JSON object (name -> value), "
                             f"found a {type(meta[key]).__name__}.")
    version = meta.setdefault("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"{path}: format_version must be a non-negative integer, found "
                         f"{version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path} was written by a newer neuroattn (model file "
                         f"format_version {version}; this neuroattn {_version()} reads up "
                         f"to {FORMAT_VERSION}): upgrade neuroattn to load it.")
    return meta


def _verify(path: Path, state: dict[str, torch.Tensor], raw: str, digest: str | None,
            format_version: int) -> None:
    if digest is None:
        if format_version >= 1:
            raise ValueError(f"{path} has no checksum, although its format (version "
                             f"{format_version}) always stores one: the file was modified "
                             "after it was saved; refusing to load it.")
        warnings.warn(f"{path} has no checksum (written before neuroattn stored them): "
                      "its integrity cannot be verified. Load and save it again to add "
                      "one.", UserWarning, stacklevel=4)
        return
    if digest != _digest(state, raw):
        raise ValueError(f"{path} is corrupted or modified: its SHA-256 checksum does not "
                         "match its weights and metadata.")


def _check_version(path: Path, meta: dict[str, Any]) -> None:
    saved, current = meta.get("neuroattn_version"), _version()
    if not isinstance(saved, str):
        warnings.warn(f"{path} does not record the neuroattn version that wrote it; this "
                      f"is neuroattn {current}.", UserWarning, stacklevel=4)
    elif _major_minor(saved) is None or _major_minor(saved) != _major_minor(current):
        warnings.warn(f"{path} was written by neuroattn {saved}; this is neuroattn "
                      f"{current}. Models may differ between versions: check its "
                      "predictions, or re-train with this version.", UserWarning,
                      stacklevel=4)


def _major_minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"\s*v?(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _check_param_names(cls: type, params: dict[str, Any], path: Path) -> None:
    known = {n for n in inspect.signature(cls.__init__).parameters
             if n not in ("self", "kwargs")}
    unknown = [k for k in params if k not in known
               and not (k.startswith(ROUTED_PREFIXES) and k not in ROUTED_PREFIXES)]
    if unknown:
        raise ValueError(f"{path}: unknown parameter(s) {unknown} for {cls.__name__} "
                         f"(expected {sorted(known)} or model__*/optimizer__*).")


# ---------------------------------------------------------------------- JSON coding
def _version() -> str:
    from .. import __version__
    return __version__


def _qualified(obj: type) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _allowed_classes() -> dict[str, type]:
    """Classes a model file may name, by ``module.qualname`` (and ``torch.nn.X``): the
    registered models and attention blocks, the public classes of
    ``torch.nn.modules.{activation,normalization,batchnorm,instancenorm}``."""
    from ..models import model_registry
    from ..nn import attention_registry

    allowed: dict[str, type] = {}
    for registry in (model_registry, attention_registry):
        for entry in registry.entries():
            if isinstance(entry.obj, type):
                allowed[_qualified(entry.obj)] = entry.obj
    for short in _ALLOWED_MODULES:
        module = getattr(torch.nn.modules, short)
        for name, obj in vars(module).items():
            if (not name.startswith("_") and isinstance(obj, type)
                    and issubclass(obj, torch.nn.Module)
                    and obj.__module__ == module.__name__):
                allowed[_qualified(obj)] = obj
                if getattr(torch.nn, name, None) is obj:
                    allowed[f"torch.nn.{name}"] = obj
    return allowed


def _to_json(obj: Any, where: str, allowed: dict[str, type]) -> Any:
    """``obj`` as plain JSON values, tuples / arrays / paths / classes tagged."""
    if obj is None or isinstance(obj, (bool, np.bool_)):
        return None if obj is None else bool(obj)
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, (int, np.integer)):  # mne's named ints, numpy scalars: plain
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, tuple):
        return {"__tuple__": [_to_json(v, where, allowed) for v in obj]}
    if isinstance(obj, list):
        return [_to_json(v, where, allowed) for v in obj]
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj) or set(obj) & set(_TAGS):
            raise ValueError(f"Cannot save {where}: a dict with keys {list(obj)[:5]} (only "
                             "string keys, none of them a reserved tag, can be stored).")
        return {k: _to_json(v, where, allowed) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biufcUSO" or obj.dtype.fields is not None:
            raise ValueError(f"Cannot save {where}: arrays of dtype {obj.dtype} are not "
                             "stored.")
        return {"__ndarray__": _to_json(obj.tolist(), where, allowed),
                "dtype": obj.dtype.str if obj.dtype.kind != "O" else "object"}
    if isinstance(obj, os.PathLike):
        return {"__path__": os.fspath(obj)}
    if isinstance(obj, type):
        name = _qualified(obj)
        if allowed.get(name) is not obj:
            raise ValueError(
                f"Cannot save {where}={name}: a model file stores only classes that load() "
                "accepts (registered neuroattn models and attention blocks, torch.nn "
                "activation and normalisation layers). register it with "
                "neuroattn.models.register_model / neuroattn.nn.register_attention, or "
                "pass it by registry name.")
        return {"__class__": name}
    raise ValueError(f"Cannot save {where}: a {type(obj).__name__} ({obj!r:.80}) cannot "
                     "be stored in a model file (JSON numbers, strings, lists, dicts, "
                     "tuples, arrays, paths and allowed classes can).")


def _decode(obj: Any, path: Path, allowed: dict[str, type]) -> Any:
    """Undo :func:`_to_json`; a ``__class__`` is looked up in ``allowed``, never imported."""
    if isinstance(obj, list):
        return [_decode(v, path, allowed) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__class__" in obj:
        name = obj["__class__"]
        cls = allowed.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(
                f"{path}: refusing to load {name!r}, named as a class in the file: only "
                "registered neuroattn models and attention blocks and torch.nn activation "
                "and normalisation classes are loaded, and nothing is imported. Register "
                "a custom class before loading.")
        return cls
    if "__tuple__" in obj:
        return tuple(_decode(obj["__tuple__"], path, allowed))
    if "__path__" in obj:
        return Path(str(obj["__path__"]))
    if "__ndarray__" in obj:
        values = _decode(obj["__ndarray__"], path, allowed)
        try:
            dtype = np.dtype(obj.get("dtype"))
            if dtype.kind not in "biufcUSO" or dtype.fields is not None or (
                    dtype.itemsize > 1 << 16):
                raise TypeError(f"dtype {dtype} is not one save() writes")
            return np.asarray(values, dtype=dtype)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"{path}: a stored array cannot be read ({exc}).") from exc
    return {k: _decode(v, path, allowed) for k, v in obj.items()}


def _digest(state: dict[str, torch.Tensor], text: str) -> str:
    """SHA-256 of the tensors (name, dtype, shape, bytes; sorted by name) and ``text``."""
    sha = hashlib.sha256(b"neuroattn model file\n")
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        sha.update(json.dumps([name, str(tensor.dtype), list(tensor.shape)]).encode() + b"\n")
        sha.update(tensor.reshape(-1).view(torch.uint8).numpy())
    sha.update(b"metadata\n" + text.encode())
    return sha.hexdigest()
