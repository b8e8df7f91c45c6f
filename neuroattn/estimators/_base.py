"""scikit-learn estimators that train neuroattn models with skorch."""

from __future__ import annotations

import inspect
import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit

from ..data import as_signal_array, check_signal_array, signal_metadata
from ..models import NeuroModel, model_registry
from ._nets import TrainStep, WarmupCosineLR, resolve_device

__all__ = ["NeuroEstimatorMixin", "ROUTED_PREFIXES", "TRAINING_CONSTRAINTS"]

#: Keyword prefixes routed to the model constructor and to the optimizer.
ROUTED_PREFIXES = ("model__", "optimizer__")


#: The training parameters every neuroattn estimator shares, as scikit-learn
#: parameter constraints (checked by ``_validate_params`` at ``fit``).
TRAINING_CONSTRAINTS: dict[str, list] = {
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "lr_scheduler": [StrOptions({"cosine", "warmup_cosine"}), None],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "early_stopping": ["boolean"],
    "patience": [Interval(Integral, 1, None, closed="left")],
    "callbacks": [list, None],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": [Interval(Integral, 0, None, closed="left")],
}


class NeuroEstimatorMixin:
    """The training core of the neuroattn estimators (one loop, one save, one load).

    A subclass declares what differs and inherits the rest:

    - ``_net_class`` (a skorch net: ``_Classifier``, ``_Regressor``, ``_Net`` or a
      subclass) and ``_criterion``;
    - ``_parameter_constraints``: :data:`TRAINING_CONSTRAINTS` plus its own, checked
      once by :meth:`_check_params` (scikit-learn's validation);
    - ``_signal_args()``: the model's constructor arguments derived from fitted
      attributes, so :meth:`_rebuild_module` builds the same model at ``fit`` and at
      :meth:`load`;
    - optionally ``_train_step()`` (a :class:`TrainStep`) and ``_balanced`` (draw
      class-balanced training batches).

    ``fit`` validates, sets the fitted attributes, then calls :meth:`_train`.
    Hyperparameters of the model are given as ``model__<name>=value`` and of the
    optimizer as ``optimizer__<name>=value`` (skorch's convention); they show in
    ``get_params()`` and work with ``set_params`` and ``GridSearchCV``.
    """

    _net_class: type[NeuralNet]
    _criterion: type[torch.nn.Module]
    _parameter_constraints: dict[str, list] = TRAINING_CONSTRAINTS
    #: Draw class-balanced training batches (classifiers with a ``balance`` parameter).
    _balanced = False

    # ------------------------------------------------------------ params routing
    def _init_params(self, params: dict[str, Any]) -> None:
        """The body of every ``__init__``: ``self.<name> = <name>`` for each constructor
        argument in ``params`` (the constructor's ``locals()``), ``**kwargs`` routed.

        Only assignments, as scikit-learn requires of ``__init__``; checks run at fit.
        """
        for name in inspect.signature(type(self).__init__).parameters:
            if name == "kwargs":
                self._set_routed(params["kwargs"])
            elif name != "self":
                setattr(self, name, params[name])

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

    def _check_params(self) -> None:
        """Validate every parameter against ``_parameter_constraints`` and the routing."""
        bad = [k for k in self._routed_params
               if not k.startswith(ROUTED_PREFIXES) or k in ROUTED_PREFIXES]
        if bad:
            raise ValueError(f"Unknown parameters {bad} for {type(self).__name__}; model and "
                             "optimizer hyperparameters take the prefixes 'model__' and "
                             "'optimizer__' (e.g. model__depth=2).")
        self._validate_params()
        if self.early_stopping and self.validation_fraction is None:
            raise ValueError("early_stopping=True needs a validation set: set "
                             "validation_fraction (e.g. 0.2).")

    # --------------------------------------------------------------- input checks
    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        """Return float32 ``(n, n_chans, n_times)``; 2-D input is one channel."""
        data = as_signal_array(X)
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

    def _set_signal_attributes(self, data: np.ndarray, meta: dict[str, Any]) -> None:
        """Fitted ``n_chans_``, ``n_times_``, ``sfreq_``, ``chs_info_``, ``ch_names_``
        from the checked data and ``meta`` (:func:`~neuroattn.data.signal_metadata`'s
        keys, optionally ``ch_names`` when names are known without ``chs_info``)."""
        self.n_chans_, self.n_times_ = int(data.shape[1]), int(data.shape[2])
        self.sfreq_ = meta["sfreq"]
        self.chs_info_ = meta["chs_info"]
        names = [c["ch_name"] for c in meta["chs_info"]] if meta["chs_info"] else None
        self.ch_names_ = names or meta.get("ch_names")

    # ----------------------------------------------------------------- building
    def _signal_args(self) -> dict[str, Any]:
        """Model constructor arguments from fitted attributes (braindecode's names)."""
        return {"n_chans": self.n_chans_, "n_times": self.n_times_,
                "n_outputs": self.n_outputs_, "sfreq": self.sfreq_,
                "chs_info": getattr(self, "chs_info_", None)}

    def _rebuild_module(self) -> torch.nn.Module:
        """The model of this estimator, built from ``model``, ``model__*`` and the
        fitted attributes (see :meth:`_signal_args`); weights freshly initialised."""
        cls = model_registry.get(self.model)
        accepted = inspect.signature(cls).parameters
        kwargs = {k: v for k, v in self._signal_args().items()
                  if k in accepted and v is not None}
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
        if self.early_stopping:
            callbacks.append(("early_stopping", EarlyStopping(
                monitor="valid_loss", patience=self.patience, load_best=True)))
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks + list(self.callbacks or [])

    def _train_step(self) -> TrainStep | None:
        """The step one batch takes; None is skorch's plain step."""
        return None

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
        if issubclass(self._net_class, NeuralNetClassifier):
            kwargs["classes"] = np.arange(self.n_outputs_)
        net = self._net_class(**kwargs)
        net.train_step_ = self._train_step()
        net.balance = bool(self._balanced)
        net.sampler_seed = seed
        return net

    def _train(self, X: Any, y: Any = None, *, seed: int) -> None:
        """The one training loop: build the model, fit it with skorch, keep the result.

        Inside a forked torch RNG seeded with ``seed`` (the global RNG is left alone):
        :meth:`_rebuild_module`, :meth:`_make_net`, ``net.fit(X, y)``. Sets ``net_``,
        ``module_`` and ``history_``.

        Parameters
        ----------
        X : numpy.ndarray | torch.utils.data.Dataset
            What the net is fitted on (an array ``(n, ...)`` or a Dataset yielding
            ``(x, y)`` pairs).
        y : numpy.ndarray | None
            Targets, or None when ``X`` is a Dataset or the objective needs none.
        seed : int
            Seeds weight initialisation, shuffling, sampling and the validation split.
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = self._rebuild_module()
            self.net_ = self._make_net(module, seed)
            with warnings.catch_warnings():
                # skorch's DataLoader has num_workers=0 by default (in-memory arrays);
                # torch's advice to add workers is not actionable here.
                warnings.filterwarnings("ignore", message=".*does not have many workers.*")
                self.net_.fit(X, y)
        self.module_ = self.net_.module_
        self.history_ = self.net_.history

    def _seed(self, rng: Any = None) -> int:
        """One integer seed drawn from ``random_state`` (or from ``rng`` when given)."""
        rng = check_random_state(self.random_state) if rng is None else rng
        return int(rng.randint(np.iinfo(np.int32).max))

    def _fit(self, X: Any, y: Any, meta: dict[str, Any] | None = None,
             ) -> NeuroEstimatorMixin:
        """``fit`` of the signal estimators: checks, fitted attributes, :meth:`_train`.

        ``meta`` describes the recording when ``X`` cannot (plain arrays cut from a
        known recording); by default it is read from ``X`` (an ``mne.Epochs``).
        """
        self._check_params()
        data = self._validate_X(X, reset=True)
        if data.shape[0] < 2:
            raise ValueError(f"Found {data.shape[0]} sample(s): n_samples = 1 is too few to "
                             "train; at least 2 are needed.")
        y_enc = self._encode_targets(y, n_samples=data.shape[0])
        self._set_signal_attributes(data, signal_metadata(X) if meta is None else meta)
        self._train(data, y_enc, seed=self._seed())
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

        See :func:`neuroattn.estimators._io.save_estimator` for the file's content.

        Parameters
        ----------
        path : str | Path
            Destination (``.safetensors`` is appended when missing).

        Returns
        -------
        Path
            The written file.
        """
        from ._io import save_estimator

        return save_estimator(self, path)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto"):
        """Load an estimator written by :meth:`save`.

        See :func:`neuroattn.estimators._io.load_estimator` for the checks made.

        Parameters
        ----------
        path : str | Path
            A file written by :meth:`save`.
        device : str
            Where to put the model (``"auto"``, ``"cpu"``, ``"cuda"``).

        Returns
        -------
        estimator
            A fitted instance of this class.
        """
        from ._io import load_estimator

        return load_estimator(cls, path, device=device)
