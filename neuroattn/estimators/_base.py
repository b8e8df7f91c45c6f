"""scikit-learn estimators that train neuroattn models with skorch."""

from __future__ import annotations

import inspect
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch import NeuralNet, NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit

from ..data import as_signal_array, check_signal_array, signal_metadata
from ..models import NeuroModel, model_registry

__all__ = ["NeuroEstimatorMixin", "WarmupCosineLR", "resolve_device", "ROUTED_PREFIXES"]

#: Accepted values of the estimators' ``lr_scheduler`` parameter.
LR_SCHEDULERS = ("cosine", "warmup_cosine", None)

#: Keyword prefixes routed to the model constructor and to the optimizer.
ROUTED_PREFIXES = ("model__", "optimizer__")


def resolve_device(device: str | torch.device) -> str:
    """``"auto"`` -> ``"cuda"`` when a CUDA device is present, else ``"cpu"``."""
    if str(device) == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


class WarmupCosineLR(Callback):
    """Per-step learning rate: linear warm-up, then cosine decay to zero.

    Over the first ``warmup_fraction`` of all optimizer steps (``max_epochs`` x batches
    per epoch) the rate rises linearly from ``lr / n_warmup`` to ``lr``; it then
    follows half a cosine down to 0 at the last step. Transformers trained with a
    large rate from the first step often take loss spikes that leave them stuck near
    chance for epochs (seen with STAN at its default size); the warm-up avoids them.

    Batches per epoch come from the net's ``train_batches_per_epoch(dataset)`` when it
    has one (a class-balanced sampler draws fewer windows than the dataset holds), else
    ``ceil(len(dataset) / batch_size)``.

    Parameters
    ----------
    warmup_fraction : float
        Fraction of the steps spent warming up, in ``[0, 1)``.
    """

    def __init__(self, warmup_fraction: float = 0.1) -> None:
        self.warmup_fraction = warmup_fraction

    def initialize(self):
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}.")
        self.step_ = 0
        self.total_steps_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        # Base rates are read once per optimizer: a later partial_fit continues the
        # schedule from the rates the optimizer was built with, not from decayed ones.
        if getattr(self, "optimizer_", None) is not net.optimizer_:
            self.optimizer_ = net.optimizer_
            self.base_lrs_ = [group["lr"] for group in net.optimizer_.param_groups]
        self.step_ = 0
        self.total_steps_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.total_steps_ is None:
            per_epoch = getattr(net, "train_batches_per_epoch", None)
            if per_epoch is not None:
                n = per_epoch(dataset_train)
            else:
                bs = net.batch_size if net.batch_size > 0 else len(dataset_train)
                n = -(-len(dataset_train) // bs)
            self.total_steps_ = max(1, int(n) * int(net.max_epochs))

    def factor(self, step: int) -> float:
        """Multiplier of the base rate at optimizer step ``step`` (0-based)."""
        n_warm = int(self.warmup_fraction * self.total_steps_)
        if step < n_warm:
            return (step + 1) / n_warm
        progress = min(1.0, (step - n_warm) / max(1, self.total_steps_ - n_warm))
        return 0.5 * (1.0 + float(np.cos(np.pi * progress)))

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        f = self.factor(self.step_)
        for group, base in zip(net.optimizer_.param_groups, self.base_lrs_):
            group["lr"] = base * f
        self.step_ += 1


class _AutocastMixin:
    """Mixed precision (bfloat16 autocast) on CUDA; plain float32 elsewhere."""

    def infer(self, x, **fit_params):
        if str(self.device).startswith("cuda") and torch.cuda.is_bf16_supported():
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return super().infer(x, **fit_params).float()
        return super().infer(x, **fit_params)


class _Classifier(_AutocastMixin, NeuralNetClassifier):
    pass


class _Regressor(_AutocastMixin, NeuralNetRegressor):
    pass


class NeuroEstimatorMixin:
    """Shared machinery of the neuroattn estimators (signal checks, skorch net, I/O).

    Subclasses set ``_net_class``, ``_criterion`` and implement ``_encode_targets``.
    Hyperparameters of the model are given as ``model__<name>=value`` and of the
    optimizer as ``optimizer__<name>=value`` (skorch's convention); they show in
    ``get_params()`` and work with ``set_params`` and ``GridSearchCV``.
    """

    _net_class: type[NeuralNet]
    _criterion: type[torch.nn.Module]

    # ------------------------------------------------------------ params routing
    def _set_routed(self, kwargs: dict[str, Any]) -> None:
        # Kept in one private dict (not as attributes) so that scikit-learn's
        # "only parameters are set in __init__" rule holds; get_params shows them.
        # Names are checked at fit, not here: __init__ only assigns.
        self._routed_params = dict(kwargs)

    def _routed(self, prefix: str) -> dict[str, Any]:
        return {k[len(prefix):]: v for k, v in self._routed_params.items()
                if k.startswith(prefix)}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep=deep)
        params.update(self._routed_params)
        return params

    def set_params(self, **params: Any):
        routed = {k: v for k, v in params.items() if k.startswith(ROUTED_PREFIXES)}
        if routed:
            self._routed_params = {**self._routed_params, **routed}
        return super().set_params(**{k: v for k, v in params.items() if k not in routed})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    # --------------------------------------------------------------- input checks
    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        """Return float32 ``(n, n_chans, n_times)``; 2-D input is one channel."""
        data = as_signal_array(X)
        if reset:
            self._fit_meta = signal_metadata(X)
        if not hasattr(data, "ndim") or not hasattr(data, "shape"):
            data = np.asarray(data)
        if data.ndim == 3:
            data = check_array(data, allow_nd=True, dtype=np.float32,
                               ensure_all_finite=True, ensure_min_features=1)
            data = check_signal_array(data, check_flat=reset)
            n_features = data.shape[1] * data.shape[2]
            if reset:
                self.n_features_in_ = n_features
            elif hasattr(self, "n_chans_") and (data.shape[1], data.shape[2]) != (
                    self.n_chans_, self.n_times_):
                raise ValueError(
                    f"X has {data.shape[1]} channels x {data.shape[2]} samples, but "
                    f"{type(self).__name__} was fitted on {self.n_chans_} channels x "
                    f"{self.n_times_} samples.")
            return data
        # 2-D (or a mistake): let scikit-learn produce its usual messages.
        data = validate_data(self, data, reset=reset, dtype=np.float32,
                             ensure_all_finite=True)
        return check_signal_array(data[:, None, :], check_flat=reset)

    # ----------------------------------------------------------------- building
    def _build_module(self, X: np.ndarray, n_outputs: int) -> torch.nn.Module:
        cls = model_registry.get(self.model)
        signal = {"n_chans": X.shape[1], "n_times": X.shape[2], "n_outputs": n_outputs,
                  "sfreq": self._fit_meta["sfreq"], "chs_info": self._fit_meta["chs_info"]}
        accepted = inspect.signature(cls).parameters
        kwargs = {k: v for k, v in signal.items() if k in accepted and v is not None}
        kwargs.update(self._routed("model__"))
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ValueError(f"Could not build model {self.model!r}: {exc}") from exc

    def _callbacks(self) -> list:
        callbacks = []
        if self.lr_scheduler == "cosine":
            callbacks.append(("lr_scheduler", LRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=self.max_epochs)))
        elif self.lr_scheduler == "warmup_cosine":
            callbacks.append(("lr_scheduler", WarmupCosineLR()))
        elif self.lr_scheduler is not None:
            raise ValueError(f"lr_scheduler must be one of {LR_SCHEDULERS}, got "
                             f"{self.lr_scheduler!r}.")
        if self.early_stopping:
            callbacks.append(("early_stopping", EarlyStopping(
                monitor="valid_loss", patience=self.patience, load_best=True)))
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks + list(self.callbacks or [])

    def _check_params(self) -> None:
        bad = [k for k in self._routed_params
               if not k.startswith(ROUTED_PREFIXES) or k in ROUTED_PREFIXES]
        if bad:
            raise ValueError(f"Unknown parameters {bad} for {type(self).__name__}; model and "
                             "optimizer hyperparameters take the prefixes 'model__' and "
                             "'optimizer__' (e.g. model__depth=2).")
        if not (isinstance(self.max_epochs, (int, np.integer)) and self.max_epochs >= 1):
            raise ValueError(f"max_epochs must be a positive integer, got {self.max_epochs!r}.")
        if not (isinstance(self.batch_size, (int, np.integer)) and self.batch_size >= 1):
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}.")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}.")
        vf = self.validation_fraction
        if vf is not None and not 0 < vf < 1:
            raise ValueError(f"validation_fraction must be in (0, 1) or None, got {vf}.")
        if self.early_stopping and vf is None:
            raise ValueError("early_stopping=True needs a validation set: set "
                             "validation_fraction (e.g. 0.2).")

    def _make_net(self, module: torch.nn.Module, seed: int) -> NeuralNet:
        device = resolve_device(self.device)
        split = None
        if self.validation_fraction is not None:
            split = ValidSplit(self.validation_fraction, stratified=is_classifier(self),
                               random_state=seed)
        kwargs = dict(
            module=module, criterion=self._criterion, optimizer=torch.optim.AdamW,
            lr=self.lr, optimizer__weight_decay=self.weight_decay, max_epochs=self.max_epochs,
            batch_size=self.batch_size, train_split=split, callbacks=self._callbacks(),
            device=device, verbose=int(self.verbose), iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(seed),
            iterator_train__pin_memory=device.startswith("cuda"),
            iterator_valid__pin_memory=device.startswith("cuda"))
        kwargs.update({f"optimizer__{k}": v for k, v in self._routed("optimizer__").items()})
        if self._net_class is _Classifier:
            kwargs["classes"] = np.arange(self.n_outputs_)
        return self._net_class(**kwargs)

    def _fit(self, X: Any, y: Any) -> NeuroEstimatorMixin:
        self._check_params()
        X = self._validate_X(X, reset=True)
        if X.shape[0] < 2:
            raise ValueError(f"Found {X.shape[0]} sample(s): n_samples = 1 is too few to "
                             "train; at least 2 are needed.")
        y_enc = self._encode_targets(y, n_samples=X.shape[0])
        self.n_chans_, self.n_times_ = X.shape[1], X.shape[2]
        self.sfreq_ = self._fit_meta["sfreq"]
        chs = self._fit_meta["chs_info"]
        self.ch_names_ = [c["ch_name"] for c in chs] if chs else None
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = self._build_module(X, self.n_outputs_)
            self.net_ = self._make_net(module, seed)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*does not have many workers.*")
                self.net_.fit(X, y_enc)
        self.module_ = self.net_.module_
        self.history_ = self.net_.history
        del self._fit_meta
        return self

    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
        out = self.net_.forward(X, training=False)
        return out.float().cpu().numpy()

    def get_attention_weights(self, X: Any) -> dict[str, np.ndarray]:
        """Attention weights of the fitted model for inputs ``X``.

        Parameters
        ----------
        X : array-like | mne.Epochs
            ``(n_samples, n_chans, n_times)`` as in :meth:`fit`.

        Returns
        -------
        dict of str to numpy.ndarray
            Module name to weights, see
            :meth:`neuroattn.models.NeuroModel.get_attention_weights`.
        """
        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
        module = self.module_
        if not isinstance(module, NeuroModel):
            raise ValueError(f"{type(module).__name__} is not a neuroattn model and "
                             "records no attention weights.")
        device = next(module.parameters()).device
        weights = module.get_attention_weights(torch.as_tensor(X, device=device))
        return {k: v.float().cpu().numpy() for k, v in weights.items()}

    # ------------------------------------------------------------------ saving
    def save(self, path: str | Path) -> Path:
        """Save a fitted estimator to one ``.safetensors`` file.

        Weights are stored as tensors; parameters and fitted attributes as JSON in the
        file's metadata. Nothing is pickled, so loading never runs foreign code.

        Parameters
        ----------
        path : str | Path
            Destination (``.safetensors`` is appended when missing).

        Returns
        -------
        Path
            The written file.
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
            # Callbacks are live objects (schedulers, loggers, initialisers): they belong
            # to a training run, not to the fitted model, and cannot be stored as JSON.
            warnings.warn("save() does not store the training callbacks; the loaded "
                          "estimator has callbacks=None.", UserWarning, stacklevel=2)
            params["callbacks"] = None
        meta = {"class": type(self).__name__, "params": params,
                "fitted": fitted, "neuroattn_version": _version()}
        state = {k: v.detach().cpu().contiguous() for k, v in self.module_.state_dict().items()}
        try:
            text = json.dumps(meta, default=_encode)
        except TypeError as exc:
            raise ValueError(f"Cannot save {type(self).__name__}: {exc}") from exc
        save_file(state, str(path), metadata={"neuroattn": text})
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto"):
        """Load an estimator written by :meth:`save`.

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
        est = cls(**meta["params"])
        est.device = device
        for key, value in meta["fitted"].items():
            setattr(est, key, value)
        est._fit_meta = {"sfreq": est.sfreq_, "chs_info": None}
        dummy = np.zeros((1, est.n_chans_, est.n_times_), dtype=np.float32)
        module = est._build_module(dummy, est.n_outputs_)
        module.load_state_dict(load_file(str(path)))
        del est._fit_meta
        est.net_ = est._make_net(module, seed=0).initialize()
        est.module_ = est.net_.module_
        est.history_ = est.net_.history
        return est


def _version() -> str:
    from .. import __version__
    return __version__


def _encode(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, type):
        return {"__class__": f"{obj.__module__}.{obj.__qualname__}"}
    raise TypeError(f"Cannot save parameter of type {type(obj).__name__}: {obj!r}")


def _decode(obj: dict) -> Any:
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
