"""scikit-learn estimators that train neuroattn models with skorch."""

from __future__ import annotations

import inspect
import os
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
from skorch.callbacks import ProgressBar
from skorch.dataset import ValidSplit

from ..data import as_signal_array, check_signal_array, signal_metadata
from ..data._convert import _is_epochs, match_channels, select_channels
from ..models import NeuroModel, model_registry
from ._nets import (
    ResumableEarlyStopping,
    ResumableLRScheduler,
    TrainStep,
    WarmupCosineLR,
    resolve_device,
)
from ._params import (
    check_amplitude,
    check_model_params,
    check_optimizer_params,
    check_split,
)

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
    "checkpoint_dir": [str, os.PathLike, None],
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
    #: Fitted attributes :meth:`_signal_args` and prediction read: a model file without
    #: one of them is refused by :meth:`load`, naming it.
    _fitted_required: tuple[str, ...] = ("n_chans_", "n_times_", "n_outputs_", "sfreq_")

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
        """Validate every parameter against ``_parameter_constraints`` and the routing,
        the device against this machine, ``optimizer__*`` against AdamW and
        ``model__*`` against the model's constructor (before any data is read).

        Raises
        ------
        ValueError
            Naming the parameter and what it accepts.
        """
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
        resolve_device(self.device)
        check_optimizer_params(self._routed("optimizer__"), self.lr, self.weight_decay)
        check_model_params(self.model, self._routed("model__"))
        folder = getattr(self, "checkpoint_dir", None)
        if folder is not None and os.path.exists(folder) and not os.path.isdir(folder):
            raise ValueError(f"checkpoint_dir: {folder} is a file, expected a folder.")

    # --------------------------------------------------------------- input checks
    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        """Return float32 ``(n, n_chans, n_times)``; 2-D input is one channel.

        An ``mne.Epochs`` is read in microvolts on its data channels (types eeg, seeg,
        ecog, dbs; channels in ``info["bads"]`` left out, with a warning at ``fit``).
        After ``fit`` it is matched to ``ch_names_`` by name (reordered when needed,
        extra channels left out with a warning) and to ``sfreq_``; when ``fit`` saw
        arrays (no names), only its channel count is checked.

        Raises
        ------
        ValueError
            If ``X`` is not 2-D/3-D numeric and finite, or an ``mne.Epochs`` cannot be
            matched to the channels and sampling rate seen at ``fit``.
        """
        name = type(self).__name__
        if _is_epochs(X):
            if reset:
                selection = select_channels(X)
                if selection.dropped_message():
                    warnings.warn(f"{name}.fit: {selection.dropped_message()}", UserWarning,
                                  stacklevel=4)
                names = selection.names
            else:
                names, extra = match_channels(X, getattr(self, "ch_names_", None),
                                              getattr(self, "sfreq_", None))
                if extra:
                    warnings.warn(f"{name}: channels of X not seen at fit are left out: "
                                  f"{extra}.", UserWarning, stacklevel=4)
            data = as_signal_array(X, picks=names)
        else:
            data = as_signal_array(X)
        if not hasattr(data, "ndim") or not hasattr(data, "shape"):
            data = np.asarray(data)
        if data.ndim not in (2, 3):
            raise ValueError(
                f"{name} expects X of shape (n_samples, n_chans, n_times) (or 2-D "
                f"(n_samples, n_times) for one channel), got a {data.ndim}-D array of shape "
                f"{tuple(data.shape)}. Reshape your data: one sample is X[None], one "
                "channel X[:, None].")
        dtype = getattr(data, "dtype", None)
        if dtype is not None and np.dtype(dtype).kind == "c":
            raise ValueError(f"Complex data not supported: X has dtype {dtype}; {name} "
                             "needs real-valued signals (take .real, abs() or the phase).")
        if data.ndim == 3:
            # NaN/inf are counted and located by check_signal_array, naming X.
            data = check_array(data, allow_nd=True, dtype=np.float32,
                               ensure_all_finite=False, ensure_min_features=1)
            data = check_signal_array(data, check_flat=reset)
            n_features = data.shape[1] * data.shape[2]
            if reset:
                self.n_features_in_ = n_features
            elif hasattr(self, "n_chans_") and (data.shape[1], data.shape[2]) != (
                    self.n_chans_, self.n_times_):
                raise ValueError(
                    f"X has {data.shape[1]} channels x {data.shape[2]} samples, but "
                    f"{name} was fitted on {self.n_chans_} channels x "
                    f"{self.n_times_} samples.")
        else:  # 2-D: one channel, with scikit-learn's usual messages.
            data = validate_data(self, data, reset=reset, dtype=np.float32,
                                 ensure_all_finite=False)
            data = check_signal_array(data[:, None, :], check_flat=reset)
        self._check_amplitude(data, epochs=_is_epochs(X), reset=reset)
        return data

    def _check_amplitude(self, data: np.ndarray, *, epochs: bool, reset: bool) -> None:
        """Keep (``fit``) or compare (after it) the amplitude of ``X``: see
        :func:`._params.check_amplitude`."""
        check_amplitude(self, data, epochs=epochs, reset=reset)

    def _set_signal_attributes(self, data: np.ndarray, meta: dict[str, Any]) -> None:
        """Fitted ``n_chans_``, ``n_times_``, ``sfreq_``, ``chs_info_``, ``ch_names_``
        from the checked data and ``meta`` (:func:`~neuroattn.data.signal_metadata`'s
        keys, optionally ``ch_names`` when names are known without ``chs_info``)."""
        names = [c["ch_name"] for c in meta["chs_info"]] if meta["chs_info"] else None
        names = names or meta.get("ch_names")
        if names is not None and len(names) != data.shape[1]:
            raise ValueError(f"{len(names)} channel names {list(names)[:10]} describe X, "
                             f"which has {data.shape[1]} channels.")
        self.n_chans_, self.n_times_ = int(data.shape[1]), int(data.shape[2])
        self.sfreq_ = meta["sfreq"]
        self.chs_info_ = meta["chs_info"]
        self.ch_names_ = names

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
            callbacks.append(("lr_scheduler", ResumableLRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=self.max_epochs)))
        elif self.lr_scheduler == "warmup_cosine":
            callbacks.append(("lr_scheduler", WarmupCosineLR()))
        if self.early_stopping:
            callbacks.append(("early_stopping", ResumableEarlyStopping(
                monitor="valid_loss", patience=self.patience, load_best=True)))
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks + list(self.callbacks or [])

    def _train_step(self) -> TrainStep | None:
        """The step one batch takes; None is skorch's plain step."""
        return None

    def _make_net(self, module: torch.nn.Module, seed: int) -> NeuralNet:
        """The skorch net of one run (also rebuilt by ``load``, untrained).

        Raises
        ------
        ValueError
            If ``device`` is not available on this machine (see :func:`resolve_device`).
        """
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
            iterator_train__pin_memory=device.startswith("cuda"),
            iterator_valid__pin_memory=device.startswith("cuda"))
        kwargs.update({f"optimizer__{k}": v for k, v in self._routed("optimizer__").items()})
        if issubclass(self._net_class, NeuralNetClassifier):
            kwargs["classes"] = np.arange(self.n_outputs_)
        net = self._net_class(**kwargs)
        net.train_step_ = self._train_step()
        net.balance = bool(self._balanced)
        net.run_seed = seed
        return net

    def _train(self, X: Any, y: Any = None, *, seed: int) -> None:
        """The one training loop: build the model, fit it with skorch, keep the result.

        Inside a forked torch RNG seeded with ``seed`` (the global RNG is left alone):
        :meth:`_rebuild_module`, :meth:`_make_net`, ``net.fit(X, y)``; every epoch
        reseeds from ``(seed, epoch)``. Sets ``net_``, ``module_`` and ``history_`` only
        when training completes. With ``checkpoint_dir``, each epoch is checkpointed and
        a partial checkpoint of the same run is resumed (see :meth:`_train_checkpointed`).

        Parameters
        ----------
        X : numpy.ndarray | torch.utils.data.Dataset
            What the net is fitted on (an array ``(n, ...)`` or a Dataset yielding
            ``(x, y)`` pairs).
        y : numpy.ndarray | None
            Targets, or None when ``X`` is a Dataset or the objective needs none.
        seed : int
            Seeds weight initialisation, shuffling, sampling and the validation split.

        Raises
        ------
        KeyboardInterrupt
            If training is interrupted (Ctrl-C, or a callback raising it): the estimator
            is left unfitted; a checkpoint, if any, stays on disk marked partial.
        ValueError
            If ``validation_fraction`` cannot split the data, or ``checkpoint_dir`` holds
            a checkpoint of another run.
        """
        for name in ("net_", "module_", "history_"):
            self.__dict__.pop(name, None)  # an interrupted refit must not look fitted
        check_split(self, X, y)
        if getattr(self, "checkpoint_dir", None) is None:
            net = self._run_net(X, y, seed)
        else:
            net = self._train_checkpointed(X, y, seed)
        self.net_ = net
        self.module_ = net.module_
        self.history_ = net.history

    def _run_net(self, X: Any, y: Any, seed: int, *, state: dict | None = None,
                 checkpoint: Any = None, complete: bool = False) -> NeuralNet:
        """Build the net and train it (or, with ``complete``, restore a finished run)."""
        cuda = resolve_device(self.device).startswith("cuda")
        with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if cuda else []):
            torch.default_generator.manual_seed(seed)
            if cuda:
                torch.cuda.manual_seed_all(seed)
            net = self._make_net(self._rebuild_module(), seed)
            if checkpoint is not None:
                net.callbacks = [*net.callbacks, ("training_checkpoint", checkpoint)]
            if complete:
                from skorch.history import History

                net.initialize()
                net.module_.load_state_dict(state["module"])
                net.history = History(state["history"])
                return net
            net.resume_state_ = state
            with warnings.catch_warnings():
                # skorch's DataLoader has num_workers=0 by default (in-memory arrays);
                # torch's advice to add workers is not actionable here.
                warnings.filterwarnings("ignore", message=".*does not have many workers.*")
                net.fit(X, y)
        return net

    def _train_checkpointed(self, X: Any, y: Any, seed: int) -> NeuralNet:
        """:meth:`_train` with ``checkpoint_dir`` (see :func:`._checkpoint.train_checkpointed`)."""
        from ._checkpoint import train_checkpointed

        return train_checkpointed(self, X, y, seed)

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
            ``(n_samples, n_chans, n_times)`` as in :meth:`fit`; an ``mne.Epochs`` is
            matched to ``ch_names_`` and ``sfreq_`` (see :meth:`_validate_X`).

        Returns
        -------
        dict of str to numpy.ndarray
            Module name to weights, see
            :meth:`neuroattn.models.NeuroModel.get_attention_weights`.

        Raises
        ------
        ValueError
            If ``X`` has another shape than at ``fit``, or an ``mne.Epochs`` lacks a
            fitted channel or has another sampling rate.
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

        Weights as tensors, parameters and fitted attributes as JSON metadata, with a
        SHA-256 checksum of both; nothing pickled. Written atomically (an existing file
        is replaced whole or left untouched) with the user's umask; missing parent
        folders are created. See :func:`neuroattn.estimators._io.save_estimator`.

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
            If the estimator is not fitted (``NotFittedError``), ``path`` is a folder,
            or a parameter cannot be stored (e.g. a class ``load`` would refuse).
        OSError
            If the destination folder cannot be created or written.
        """
        from ._io import save_estimator

        return save_estimator(self, path)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto"):
        """Load an estimator written by :meth:`save`, checking the file first.

        The checksum, file format, class, neuroattn version (a major.minor mismatch
        warns), parameters and fitted attributes are checked; classes named in the file
        are looked up in an allow-list (registered models and attention blocks, torch.nn
        activations and norms), never imported. See
        :func:`neuroattn.estimators._io.load_estimator`.

        Parameters
        ----------
        path : str | Path
            A file written by :meth:`save` (``.safetensors`` may be left out).
        device : str
            Where to put the model (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``).

        Returns
        -------
        estimator
            A fitted instance of this class.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file is a folder, empty, truncated, not a safetensors file, corrupted
            or modified, from a newer format, of another class, names a class outside
            the allow-list, or is inconsistent; or if ``device`` is not available.
        """
        from ._io import load_estimator

        return load_estimator(cls, path, device=device)
