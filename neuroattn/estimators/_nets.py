"""The skorch side of the training core: nets, the pluggable train step, schedules.

:class:`~neuroattn.estimators.NeuroEstimatorMixin` (``_base.py``) builds one of these
nets per fit; nothing here knows about estimators' parameters or fitted attributes.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch
from skorch import NeuralNet, NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.dataset import ValidSplit
from skorch.history import History

from ._accelerate import AcceleratedNetMixin
from ._history import LossHistory

__all__ = ["TrainStep", "WarmupCosineLR", "resolve_device", "epoch_seeds"]


def resolve_device(device: str | torch.device) -> str:
    """The torch device a fit or a load uses, checked against this machine.

    Parameters
    ----------
    device : str | torch.device
        ``"auto"`` (``"cuda"`` when a CUDA device is present, else ``"cpu"``),
        ``"cpu"``, ``"cuda"``, ``"cuda:<index>"`` or ``"mps"``.

    Returns
    -------
    str
        The device, e.g. ``"cpu"`` or ``"cuda:1"``.

    Raises
    ------
    ValueError
        If ``device`` is not one of the accepted spellings, or names a device this
        machine does not have (the message lists the ones it has).
    """
    text = str(device)
    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    match = re.fullmatch(r"(cpu|cuda|mps)(?::(\d+))?", text)
    if match is None or (match.group(1) == "cpu" and match.group(2) not in (None, "0")):
        raise ValueError(f"device={text!r} is not a device neuroattn trains on; accepted: "
                         "'auto', 'cpu', 'cuda', 'cuda:<index>' (e.g. 'cuda:1'), 'mps'.")
    kind, index = match.group(1), match.group(2)
    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (index is not None and int(index) >= count):
            raise ValueError(f"device={text!r}, but this machine has "
                             f"{_available_devices()}; use device='auto' or one of those.")
    elif kind == "mps" and not (hasattr(torch.backends, "mps")
                                and torch.backends.mps.is_available()):
        raise ValueError(f"device={text!r}, but MPS is not available here; this machine "
                         f"has {_available_devices()}.")
    return text


def _available_devices() -> str:
    names = ["'cpu'"]
    if torch.cuda.is_available():
        names += [f"'cuda:{i}'" for i in range(torch.cuda.device_count())]
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        names.append("'mps'")
    return ("only " if len(names) == 1 else "") + ", ".join(names)


def epoch_seeds(seed: int, epoch: int) -> tuple[int, int]:
    """Seeds of one training epoch, from the run's seed and the epoch (1-based).

    Returns ``(torch_seed, generator_seed)``: the global torch RNG (dropout, masking,
    the critic's gradient penalty) and the generator that shuffles or samples the
    training batches are reseeded from them at the start of every epoch, so a fit
    resumed from a checkpoint after epoch ``k`` draws what an uninterrupted fit
    draws from epoch ``k + 1`` on.
    """
    a, b = np.random.SeedSequence([int(seed), int(epoch)]).generate_state(2)
    return int(a), int(b)


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
        # The base rate is kept in the optimizer's groups ("initial_lr", as torch's
        # schedulers do), so it survives an optimizer restored from a checkpoint.
        if getattr(self, "optimizer_", None) is not net.optimizer_:
            self.optimizer_ = net.optimizer_
            for group in net.optimizer_.param_groups:
                group.setdefault("initial_lr", group["lr"])
        self.step_ = 0
        self.total_steps_ = None

    @property
    def base_lrs_(self) -> list[float]:
        return [group["initial_lr"] for group in self.optimizer_.param_groups]

    def checkpoint_state(self) -> dict:
        """What a checkpoint keeps of this callback: the optimizer steps taken."""
        return {"step": int(self.step_)}

    def load_checkpoint_state(self, state: dict) -> None:
        """Continue the schedule at the step a checkpoint recorded."""
        self.step_ = int(state["step"])

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


class TrainStep:
    """One optimisation step of a batch, pluggable into the training core.

    The default (this class) is skorch's: forward, criterion, backward. A subclass
    overrides :meth:`__call__` (and, when it owns extra modules or optimizers,
    :meth:`initialize`) to change what one batch does, e.g. the adversarial critic
    step of :class:`~neuroattn.estimators.SeizureForecaster`. The optimizer step,
    gradient callbacks (``on_grad_computed``, so skorch's ``GradientNormClipping``
    acts) and the loss bookkeeping stay the core's.
    """

    def initialize(self, net: NeuralNet) -> None:
        """Called once the net's module and optimizer exist (build critics here)."""

    def __call__(self, net: NeuralNet, Xi: Any, yi: Any, **fit_params: Any) -> dict:
        """Forward, loss and backward of one batch: ``{"loss": tensor, "y_pred": tensor}``.

        Runs inside the net's ``accelerator.autocast()``; the backward goes through
        ``net.accelerator.backward`` (loss scaling, gradient accumulation).
        """
        y_pred = net.infer(Xi, **fit_params)
        loss = net.get_loss(y_pred, yi, X=Xi, training=True)
        net.accelerator.backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def prepare(self, accelerator: Any) -> None:
        """Prepare the modules the step owns (e.g. a critic) with the net's accelerator
        (data-parallel wrapping under ``accelerate launch``); called once, after
        :meth:`initialize`. Their optimizers stay plain: they step every batch."""
        for name, value in list(vars(self).items()):
            if isinstance(value, torch.nn.Module):
                setattr(self, name, accelerator.prepare_model(value, device_placement=False))

    def state_dict(self) -> dict[str, dict]:
        """State of the modules and optimizers the step owns (e.g. a critic and its
        optimizer), by attribute name: what a checkpoint needs to resume the step."""
        return {name: value.state_dict() for name, value in vars(self).items()
                if isinstance(value, (torch.nn.Module, torch.optim.Optimizer))}

    def load_state_dict(self, state: dict[str, dict]) -> None:
        """Restore :meth:`state_dict` (after :meth:`initialize` built the objects)."""
        for name, value in state.items():
            getattr(self, name).load_state_dict(value)


class ValidationViewSplit(ValidSplit):
    """skorch's :class:`~skorch.dataset.ValidSplit` whose validation subset is read
    through the dataset's ``validation_view()`` when it has one.

    A training Dataset may read an item differently for training than a prediction
    would (a fresh random crop of an SSVEP trial,
    :class:`~neuroattn.estimators._ssvep_crops.CropDataset`); its
    ``validation_view()`` returns the same items read as prediction reads them, so the
    validation loss (and early stopping on it) scores what ``predict`` decides on.
    The split itself (which items validate) is skorch's; the training subset is
    unchanged.
    """

    def __call__(self, dataset, y=None, groups=None):
        train, valid = super().__call__(dataset, y=y, groups=groups)
        view = getattr(dataset, "validation_view", None)
        if callable(view):
            valid = torch.utils.data.Subset(view(), valid.indices)
        return train, valid


class TrainingInterrupted(BaseException):
    """Raised through skorch (which swallows ``KeyboardInterrupt``) when a fit is
    interrupted; the estimator turns it back into a ``KeyboardInterrupt``."""


class ResumableLRScheduler(LRScheduler):
    """skorch's :class:`~skorch.callbacks.LRScheduler` whose schedule a checkpoint keeps."""

    def checkpoint_state(self) -> dict:
        return {"scheduler": self.lr_scheduler_.state_dict(),
                "batch_idx": int(self.batch_idx_)}

    def load_checkpoint_state(self, state: dict) -> None:
        self.lr_scheduler_.load_state_dict(state["scheduler"])
        self.batch_idx_ = int(state["batch_idx"])


class ResumableEarlyStopping(EarlyStopping):
    """skorch's :class:`~skorch.callbacks.EarlyStopping` whose counters and best
    weights a checkpoint keeps."""

    def checkpoint_state(self) -> dict:
        return {"misses": int(self.misses_),
                "dynamic_threshold": float(self.dynamic_threshold_),
                "best_epoch": int(self.best_epoch_),
                "best_model_weights": self.best_model_weights_}

    def load_checkpoint_state(self, state: dict) -> None:
        self.misses_ = state["misses"]
        self.dynamic_threshold_ = state["dynamic_threshold"]
        self.best_epoch_ = state["best_epoch"]
        self.best_model_weights_ = state["best_model_weights"]

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        # Under accelerate launch the model is DistributedDataParallel-wrapped while
        # training (its state_dict keys start with "module."), unwrapped when it ends.
        weights = self.best_model_weights_
        if (weights is not None and self.best_epoch_ == net.history[-1, "epoch"]
                and isinstance(net.module_, torch.nn.parallel.DistributedDataParallel)):
            self.best_model_weights_ = {k.removeprefix("module."): v
                                        for k, v in weights.items()}


class _CoreNetMixin:
    """What every neuroattn skorch net adds: a pluggable :class:`TrainStep`, optional
    class-balanced training batches, per-epoch seeds, interruption that is not
    swallowed, and resuming from a checkpoint.

    Set by the estimator after construction: ``train_step_`` (a TrainStep),
    ``balance`` (bool), ``run_seed`` (int: every epoch reseeds the torch RNG and the
    batch generator from ``(run_seed, epoch)``, see :func:`epoch_seeds`) and
    ``resume_state_`` (a checkpoint's state, restored when training begins).
    """

    train_step_: TrainStep | None = None
    balance = False
    run_seed = 0
    resume_state_: dict | None = None

    def initialize_history(self):
        # Batch losses stay on the device until the history is read (_history.py).
        if self.history_ is None or type(self.history_) is History:
            self.history_ = LossHistory()
        else:
            self.history_.clear()
        return self

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        if self.train_step_ is not None:
            self.train_step_.initialize(self)
        return self

    def get_all_learnable_params(self):
        # The main optimizer updates the model only; a train step that owns other
        # modules (a critic) gives them their own optimizer in ``initialize``.
        for name, param in self.module_.named_parameters():
            if param.requires_grad:
                yield name, param

    # ------------------------------------------------- interruption and resume
    def partial_fit(self, X, y=None, classes=None, **fit_params):
        # skorch ends training quietly on KeyboardInterrupt (its EarlyStopping stops
        # that way); a Ctrl-C (or a callback raising it) must not look like a finished
        # fit, so fit_loop re-raises it as TrainingInterrupted, past skorch.
        try:
            return super().partial_fit(X, y, classes=classes, **fit_params)
        except TrainingInterrupted as exc:
            raise KeyboardInterrupt(*exc.args) from None

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        state, self.resume_state_ = self.resume_state_, None
        if state is not None:
            # After on_train_begin (which resets callbacks and may load initial weights):
            # the checkpoint's weights, optimizer, history and callback states win.
            self.load_training_state(state)
            epochs = max(0, self.max_epochs - len(self.history))
        self._train_iterations = 0  # epochs the training loader of this loop has run
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            if self._stopped_early():
                raise  # skorch's EarlyStopping: a normal end of training
            raise TrainingInterrupted(len(self.history)) from None

    def _stopped_early(self) -> bool:
        return any(isinstance(cb, EarlyStopping) and getattr(cb, "misses_", 0) >= cb.patience
                   for _, cb in self.callbacks_)

    def training_state(self) -> dict:
        """Everything a resumed fit needs beyond the history: weights, optimizer, the
        train step's own modules and optimizers, and callbacks' ``checkpoint_state()``."""
        return {"module": self.module_.state_dict(),
                "optimizer": self.optimizer_.state_dict(),
                "train_step": self.train_step_.state_dict() if self.train_step_ else {},
                "callbacks": {name: cb.checkpoint_state() for name, cb in self.callbacks_
                              if hasattr(cb, "checkpoint_state")}}

    def load_training_state(self, state: dict) -> None:
        """Restore :meth:`training_state` plus ``state["history"]`` into this net."""
        self.module_.load_state_dict(state["module"])
        self.optimizer_.load_state_dict(state["optimizer"])
        if self.train_step_ is not None:
            self.train_step_.load_state_dict(state["train_step"])
        callbacks = dict(self.callbacks_)
        for name, cb_state in state["callbacks"].items():
            if name in callbacks and hasattr(callbacks[name], "load_checkpoint_state"):
                callbacks[name].load_checkpoint_state(cb_state)
        self.history = LossHistory(state["history"])

    # ------------------------------------------------------- per-epoch seeds
    @property
    def train_generator_(self) -> torch.Generator:
        gen = self.__dict__.get("_train_generator")
        if gen is None:
            gen = self.__dict__["_train_generator"] = torch.Generator()
            gen.manual_seed(self.run_seed)
        return gen

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                               **kwargs)
        torch_seed, gen_seed = epoch_seeds(self.run_seed, len(self.history))
        torch.default_generator.manual_seed(torch_seed)
        if str(self.device).startswith("cuda"):
            torch.cuda.manual_seed_all(torch_seed)
        self.train_generator_.manual_seed(gen_seed)
        # skorch builds the training loader once a fit. Without persistent workers each
        # epoch's iteration starts a new iterator, which draws its workers' base seed
        # from the loader's generator; persistent workers reuse theirs and draw nothing.
        # The draw is made here instead, so that batches (and augmentations) do not
        # depend on persistent_workers, and a resumed fit equals an uninterrupted one.
        params = self.get_params_for("iterator_train")
        if (getattr(self, "_train_iterations", 0) and params.get("persistent_workers")
                and int(params.get("num_workers", 0) or 0) > 0):
            generator = None if self.balance else self.train_generator_
            torch.empty((), dtype=torch.int64).random_(generator=generator)
        self._train_iterations = getattr(self, "_train_iterations", 0) + 1

    # ------------------------------------------------------- balanced batches
    @staticmethod
    def _balanced_draws(y: np.ndarray) -> int:
        """Samples a balanced epoch draws: the rarest class's count per class."""
        counts = np.bincount(y)
        return int((counts > 0).sum() * counts[counts > 0].min())

    def train_batches_per_epoch(self, dataset) -> int:
        """Batches one training epoch draws (read by :class:`WarmupCosineLR`)."""
        n = self._balanced_draws(_dataset_targets(dataset)) if self.balance else len(dataset)
        bs = self.batch_size if self.batch_size > 0 else n
        drop = self.get_params_for("iterator_train").get("drop_last", _drops_last(n, bs))
        return n // bs if drop else -(-n // bs)

    def get_iterator(self, dataset, training=False):
        if not training:
            return super().get_iterator(dataset, training=training)
        # Shuffling or balanced sampling draws from the one generator that
        # on_epoch_begin reseeds.
        kwargs = self.get_params_for("iterator_train")
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if not self.balance:
            if _drops_last(len(dataset), kwargs["batch_size"]):
                kwargs.setdefault("drop_last", True)
            kwargs["generator"] = self.train_generator_
            return self.iterator_train(dataset, **kwargs)
        y = _dataset_targets(dataset)
        draws = self._balanced_draws(y)
        if _drops_last(draws, kwargs["batch_size"]):
            kwargs.setdefault("drop_last", True)
        weights = 1.0 / np.bincount(y).astype(float)[y]
        sampler = torch.utils.data.WeightedRandomSampler(
            torch.as_tensor(weights, dtype=torch.double),
            num_samples=draws, replacement=True,
            generator=self.train_generator_)
        kwargs.update(shuffle=False, sampler=sampler, generator=None)
        return self.iterator_train(dataset, **kwargs)


def _drops_last(n: int, batch_size: int) -> bool:
    """Whether a training epoch of ``n`` draws leaves a final batch of one sample.

    Such a batch is dropped: BatchNorm's batch statistics of one sample are degenerate
    (it raises where it sees one value per channel), and a one-sample step is mostly
    noise. The shuffle changes which
    sample sits out, so every sample is still trained on over the epochs.
    """
    return n > 1 and batch_size > 1 and n % batch_size == 1


def _dataset_targets(dataset) -> np.ndarray:
    """Integer class targets of a skorch dataset (or a Subset of one), ``(n,)``."""
    if isinstance(dataset, torch.utils.data.Subset):
        return np.asarray(_dataset_targets(dataset.dataset))[np.asarray(dataset.indices)]
    return np.asarray(dataset.y).astype(np.int64)


# AcceleratedNetMixin first: it wraps _CoreNetMixin's iterators (sharding across
# processes) and owns the train step (autocast, accelerator.backward, accumulation).
class _Net(AcceleratedNetMixin, _CoreNetMixin, NeuralNet):
    pass


class _Classifier(AcceleratedNetMixin, _CoreNetMixin, NeuralNetClassifier):
    pass


class _Regressor(AcceleratedNetMixin, _CoreNetMixin, NeuralNetRegressor):
    pass
