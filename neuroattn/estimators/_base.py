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
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import ProgressBar

from ..data import signal_metadata
from ..models import NeuroModel, model_registry
from ._accelerate import (
    MainProcessPrint,
    check_mixed_precision,
    compile_module,
    distributed_history,
    launched_processes,
    make_accelerator,
    same_across_processes,
)
from ._inputs import SignalInputMixin
from ._nets import (
    ResumableEarlyStopping,
    ResumableLRScheduler,
    TrainStep,
    ValidationViewSplit,
    WarmupCosineLR,
    resolve_device,
)
from ._params import (
    check_model_params,
    check_optimizer_params,
    check_split,
)
from ._recipe import apply_recipe, check_recipe, recipe_callbacks, resolve_augmentations
from ._streaming import (
    LazyWindows,
    WindowDataset,
    check_loader_params,
    loader_params,
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
    "mixed_precision": [StrOptions({"no", "bf16", "fp16"})],
    "gradient_accumulation_steps": [Interval(Integral, 1, None, closed="left")],
    "compile": ["boolean"],
    "num_workers": [Interval(Integral, 0, None, closed="left")],
    "pin_memory": ["boolean", None],
    "persistent_workers": ["boolean"],
}


class NeuroEstimatorMixin(SignalInputMixin):
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
        check_mixed_precision(getattr(self, "mixed_precision", "no"), resolve_device(self.device))
        if launched_processes() > 1 and getattr(self, "checkpoint_dir", None) is not None:
            raise ValueError("checkpoint_dir is not supported with several processes "
                             "(accelerate launch): every process would write the same "
                             "folder; use checkpoint_dir=None.")
        check_loader_params(self)
        check_optimizer_params(self._routed("optimizer__"), self.lr, self.weight_decay)
        check_recipe(self)
        check_model_params(self.model, self._routed("model__"))
        folder = getattr(self, "checkpoint_dir", None)
        if folder is not None and os.path.exists(folder) and not os.path.isdir(folder):
            raise ValueError(f"checkpoint_dir: {folder} is a file, expected a folder.")

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

    def _check_model_array(self, data: Any) -> None:
        """The model's own checks of the whole input (``NeuroModel.check_array``)."""
        check = getattr(model_registry.get(self.model), "check_array", None)
        if check is not None and isinstance(data, np.ndarray):
            check(data, name="X")

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
        return callbacks + recipe_callbacks(self) + list(self.callbacks or [])

    def _train_step(self) -> TrainStep | None:
        """The step one batch takes; None is skorch's plain step."""
        return None

    def _make_net(self, module: torch.nn.Module, seed: int) -> NeuralNet:
        """The skorch net of one run (also rebuilt by ``load``, untrained).

        The ``Accelerator`` is built here, from ``mixed_precision``,
        ``gradient_accumulation_steps`` and the resolved device (under ``accelerate
        launch`` the process's device), so the estimator never holds one.

        Raises
        ------
        ValueError
            If ``device`` is not available on this machine (see :func:`resolve_device`),
            or the device cannot train in ``mixed_precision``.
        """
        device = resolve_device(self.device)
        precision = getattr(self, "mixed_precision", "no")
        check_mixed_precision(precision, device)
        steps = getattr(self, "gradient_accumulation_steps", 1)
        unused = getattr(self._net_class, "find_unused_parameters", False)
        accelerator = make_accelerator(precision, steps, device, find_unused_parameters=unused)
        if accelerator.num_processes > 1:
            device = str(accelerator.device)
        compiled = bool(getattr(self, "compile", False)) and compile_module(
            module, f"{type(self).__name__}")
        split = None
        if self.validation_fraction is not None:
            split = ValidationViewSplit(self.validation_fraction,
                                        stratified=is_classifier(self), random_state=seed)
        kwargs = dict(
            module=module, criterion=self._criterion, optimizer=torch.optim.AdamW,
            lr=self.lr, optimizer__weight_decay=self.weight_decay, max_epochs=self.max_epochs,
            batch_size=self.batch_size, train_split=split, callbacks=self._callbacks(),
            device=device, verbose=int(self.verbose), iterator_train__shuffle=True,
            accelerator=accelerator, callbacks__print_log__sink=MainProcessPrint(self.verbose),
            **loader_params(self, device))
        kwargs.update({f"optimizer__{k}": v for k, v in self._routed("optimizer__").items()})
        if issubclass(self._net_class, NeuralNetClassifier):
            kwargs["classes"] = np.arange(self.n_outputs_)
        apply_recipe(self, None, kwargs)
        net = self._net_class(**kwargs)
        net.train_step_ = self._train_step()
        apply_recipe(self, net, kwargs)
        net.balance = bool(self._balanced)
        net.run_seed = seed
        net.compiled_ = compiled
        net.accelerator_settings_ = (precision, steps, device, unused)
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
        """Build the net and train it (or, with ``complete``, restore a finished run).

        Under ``accelerate launch`` (several processes) the main process's seed is used
        by all, every process must hold the same number of samples (else a
        ``ValueError`` on all of them rather than a hang), and the history is skorch's
        ``DistributedHistory``.
        """
        cuda = resolve_device(self.device).startswith("cuda")
        if launched_processes() > 1:
            seed = same_across_processes(seed, len(X), resolve_device(self.device),
                                         int(self.batch_size))
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
            if net.accelerator.num_processes > 1:
                net.history_ = distributed_history(net.accelerator)
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
        self._check_model_array(data)
        if data.shape[0] < 2:
            raise ValueError(f"Found {data.shape[0]} sample(s): n_samples = 1 is too few to "
                             "train; at least 2 are needed.")
        if isinstance(data, LazyWindows) and data.targets is not None:  # a Dataset
            if y is not None:
                raise ValueError(f"y must be None when X is a Dataset yielding (x, y) pairs "
                                 f"({data.source}): its targets are the y of its items.")
            y = data.targets
        y_enc = self._encode_targets(y, n_samples=data.shape[0])
        self._set_signal_attributes(data, signal_metadata(X) if meta is None else meta)
        if getattr(self, "augmentation", None):  # settings beyond the signal: before training
            resolve_augmentations(self.augmentation, n_chans=self.n_chans_,
                                  n_times=self.n_times_, sfreq=getattr(self, "sfreq_", None),
                                  ch_names=getattr(self, "ch_names_", None))
        if isinstance(data, LazyWindows):  # streamed: the loader reads the drawn windows
            data = WindowDataset(data, y_enc)
        self._train(data, y_enc, seed=self._seed())
        return self

    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
        if isinstance(X, LazyWindows):  # streamed batch by batch
            X = WindowDataset(X, None)
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
        if isinstance(X, LazyWindows):  # the weights are as large as X: read it whole
            X = X[:]
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

