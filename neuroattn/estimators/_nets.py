"""The skorch side of the training core: nets, the pluggable train step, schedules.

:class:`~neuroattn.estimators.NeuroEstimatorMixin` (``_base.py``) builds one of these
nets per fit; nothing here knows about estimators' parameters or fitted attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from skorch import NeuralNet, NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import to_device

__all__ = ["TrainStep", "WarmupCosineLR", "resolve_device"]


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
        """Forward, loss and backward of one batch: ``{"loss": tensor, "y_pred": tensor}``."""
        y_pred = net.infer(Xi, **fit_params)
        loss = net.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}


class _CoreNetMixin:
    """What every neuroattn skorch net adds: bfloat16 autocast on CUDA, a pluggable
    :class:`TrainStep`, and optional class-balanced training batches.

    Set by the estimator after construction: ``train_step_`` (a TrainStep),
    ``balance`` (bool) and ``sampler_seed`` (int).
    """

    train_step_: TrainStep | None = None
    balance = False
    sampler_seed = 0

    def infer(self, x, **fit_params):
        if str(self.device).startswith("cuda") and torch.cuda.is_bf16_supported():
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return super().infer(x, **fit_params).float()
        return super().infer(x, **fit_params)

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

    def train_step_single(self, batch, **fit_params):
        if self.train_step_ is None:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        return self.train_step_(self, to_device(Xi, self.device), to_device(yi, self.device),
                                **fit_params)

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
        return -(-n // bs)

    def get_iterator(self, dataset, training=False):
        if not (training and self.balance):
            return super().get_iterator(dataset, training=training)
        y = _dataset_targets(dataset)
        weights = 1.0 / np.bincount(y).astype(float)[y]
        sampler = torch.utils.data.WeightedRandomSampler(
            torch.as_tensor(weights, dtype=torch.double),
            num_samples=self._balanced_draws(y),
            replacement=True, generator=torch.Generator().manual_seed(self.sampler_seed))
        self.sampler_seed += 1
        kwargs = self.get_params_for("iterator_train")
        kwargs.update(shuffle=False, sampler=sampler, generator=None)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        return self.iterator_train(dataset, **kwargs)


def _dataset_targets(dataset) -> np.ndarray:
    """Integer class targets of a skorch dataset (or a Subset of one), ``(n,)``."""
    if isinstance(dataset, torch.utils.data.Subset):
        return np.asarray(_dataset_targets(dataset.dataset))[np.asarray(dataset.indices)]
    return np.asarray(dataset.y).astype(np.int64)


class _Net(_CoreNetMixin, NeuralNet):
    pass


class _Classifier(_CoreNetMixin, NeuralNetClassifier):
    pass


class _Regressor(_CoreNetMixin, NeuralNetRegressor):
    pass
