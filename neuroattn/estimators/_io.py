"""Model files: one ``.safetensors`` file per fitted estimator (weights as tensors,
parameters and fitted attributes as JSON metadata), nothing pickled."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["save_estimator", "load_estimator"]


def save_estimator(self: Any, path: str | Path) -> Path:
    """Save a fitted estimator to one ``.safetensors`` file.

    Weights are stored as tensors; parameters and fitted attributes as JSON in the
    file's metadata. Nothing is pickled, so loading never runs foreign code.
    Training callbacks are live objects of a training run, not of the fitted
    model: they are not stored (a warning says so) and the loaded estimator has
    ``callbacks=None``.

    Parameters
    ----------
    path : str | Path
        Destination (``.safetensors`` is appended when missing).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        If a parameter or fitted attribute cannot be written as JSON.
    """
    from safetensors.torch import save_file

    check_is_fitted(self, "net_")
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    fitted = {k: v for k, v in vars(self).items()
              if k.endswith("_") and not k.startswith("_")
              and k not in ("net_", "module_", "history_")}
    params = self.get_params(deep=False)
    if params.get("callbacks"):
        warnings.warn("save() does not store the training callbacks; the loaded "
                      "estimator has callbacks=None.", UserWarning, stacklevel=2)
        params["callbacks"] = None
    meta = {"class": type(self).__name__, "params": _to_json(params),
            "fitted": _to_json(fitted), "neuroattn_version": _version()}
    state = {k: v.detach().cpu().contiguous() for k, v in self.module_.state_dict().items()}
    try:
        text = json.dumps(meta, default=_encode)
    except TypeError as exc:
        raise ValueError(f"Cannot save {type(self).__name__}: {exc}") from exc
    save_file(state, str(path), metadata={"neuroattn": text})
    return path


def load_estimator(cls: type, path: str | Path, device: str = "auto") -> Any:
    """Load an estimator written by :meth:`save`.

    The model is rebuilt from the stored parameters and fitted attributes
    (:meth:`_rebuild_module`) and the stored weights are loaded into it.

    Parameters
    ----------
    path : str | Path
        A file written by :meth:`save`.
    device : str
        Where to put the model (``"auto"``, ``"cpu"``, ``"cuda"``).

    Raises
    ------
    ValueError
        If the file was not written by this class.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as fh:
        raw = (fh.metadata() or {}).get("neuroattn")
    if raw is None:
        raise ValueError(f"{path} was not written by a neuroattn estimator.")
    meta = json.loads(raw, object_hook=_decode)
    if meta["class"] != cls.__name__:
        raise ValueError(f"{path} holds a {meta['class']}, not a {cls.__name__}.")
    est = cls(**{**meta["params"], "device": device})
    for key, value in meta["fitted"].items():
        setattr(est, key, value)
    module = est._rebuild_module()
    module.load_state_dict(load_file(str(path)))
    est.net_ = est._make_net(module, seed=0).initialize()
    est.module_ = est.net_.module_
    est.history_ = est.net_.history
    return est


def _version() -> str:
    from .. import __version__
    return __version__


def _to_json(obj: Any) -> Any:
    """Tag tuples (JSON would turn them into lists) so that :func:`_decode` restores them."""
    if isinstance(obj, tuple):
        return {"__tuple__": [_to_json(v) for v in obj]}
    if isinstance(obj, list):
        return [_to_json(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _to_json(v) for k, v in obj.items()}
    return obj


def _encode(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, type):
        return {"__class__": f"{obj.__module__}.{obj.__qualname__}"}
    raise TypeError(f"Cannot save parameter of type {type(obj).__name__}: {obj!r}")


def _decode(obj: dict) -> Any:
    if "__tuple__" in obj:
        return tuple(obj["__tuple__"])
    if "__ndarray__" in obj:
        return np.asarray(obj["__ndarray__"], dtype=obj["dtype"])
    if "__class__" in obj:
        module, _, name = obj["__class__"].rpartition(".")
        if module.split(".")[0] not in ("torch", "neuroattn"):
            raise ValueError(f"Refusing to import {obj['__class__']!r} from a saved file: "
                             "only torch and neuroattn classes are loaded.")
        import importlib
        return getattr(importlib.import_module(module), name)
    return obj
