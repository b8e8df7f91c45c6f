"""The small-data training recipe of the training core: on-the-fly augmentation, mixup,
label smoothing and weight averaging over the last epochs.

Estimators take plain, saveable parameters (``augmentation`` as names or dicts,
``label_smoothing``, ``weight_averaging``); this module turns them into a
:class:`AugmentedStep` around the estimator's train step and a :class:`WeightAveraging`
callback, and checks them against the signal before training starts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from skorch.callbacks import Callback
from torch.nn.modules.batchnorm import _BatchNorm
from torch.optim.swa_utils import update_bn

from ..nn.augmentation import AUGMENTATIONS, Mixup
from ._nets import TrainStep, _drops_last

__all__ = ["resolve_augmentations", "AugmentedStep", "WeightAveraging"]


def resolve_augmentations(spec: Sequence[str | dict] | None, *, n_chans: int, n_times: int,
                          sfreq: float | None,
                          ch_names: Sequence[str] | None = None) -> list[torch.nn.Module]:
    """Build the augmentations an ``augmentation`` parameter names, checked on the signal.

    Parameters
    ----------
    spec : sequence of (str | dict) | None
        Each item a name of :data:`neuroattn.nn.augmentation.AUGMENTATIONS`
        (``"ft_surrogate"``) or a dict with ``"name"`` and constructor arguments
        (``{"name": "smooth_time_mask", "mask_samples": 40, "probability": 0.5}``).
        ``frequency_shift`` takes the data's ``sfreq`` unless given;
        ``channels_shuffle`` with ``"groups": "hemispheres"`` shuffles only within the
        left, right and midline electrodes, read from ``ch_names`` (odd numbers left,
        even right, ``z`` midline: :func:`neuroattn.data._montage.hemisphere_groups`).
    n_chans, n_times : int
        Channels and samples of one training example.
    sfreq : float | None
        Sampling rate of the data in Hz.
    ch_names : sequence of str | None
        Channel names of the data (known after a fit on ``mne.Epochs``).

    Returns
    -------
    list of torch.nn.Module
        The augmentations, in order (at most one :class:`~neuroattn.nn.augmentation.Mixup`).

    Raises
    ------
    ValueError
        If ``spec`` is not a list, an item is not a known name or a dict with one, its
        arguments do not fit the constructor, two mixups are given, a setting goes
        beyond the signal (a shift past Nyquist, a mask longer than the window), or
        ``"hemispheres"`` groups are asked for without 10-20 channel names.
    """
    if spec is None:
        return []
    if isinstance(spec, (str, dict)) or not isinstance(spec, Sequence):
        raise ValueError(f"augmentation must be a list of names or dicts, got {spec!r}.")
    built = []
    for item in spec:
        if isinstance(item, str):
            name, kwargs = item, {}
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            kwargs = {k: v for k, v in item.items() if k != "name"}
            name = item["name"]
        else:
            raise ValueError(f"augmentation items are names or dicts with a 'name', got "
                             f"{item!r}; known names: {sorted(AUGMENTATIONS)}.")
        if name not in AUGMENTATIONS:
            raise ValueError(f"augmentation {name!r} is unknown; known names: "
                             f"{sorted(AUGMENTATIONS)}.")
        cls = AUGMENTATIONS[name]
        if name == "frequency_shift" and "sfreq" not in kwargs:
            if sfreq is None:
                raise ValueError("augmentation 'frequency_shift' needs the sampling rate: "
                                 "give it ('sfreq') or fit on data whose sfreq is known.")
            kwargs["sfreq"] = sfreq
        if name == "channels_shuffle" and isinstance(kwargs.get("groups"), str):
            kwargs["groups"] = _named_groups(kwargs["groups"], ch_names)
        try:
            aug = cls(**kwargs)
        except TypeError as exc:
            raise ValueError(f"augmentation {name!r}: {exc}") from exc
        except ValueError as exc:
            raise ValueError(f"augmentation {name!r}: {exc}") from exc
        try:
            aug.check_signal(n_chans, n_times, sfreq)
        except ValueError as exc:
            raise ValueError(f"augmentation {name!r}: {exc}") from exc
        built.append(aug)
    if sum(isinstance(a, Mixup) for a in built) > 1:
        raise ValueError("augmentation: give 'mixup' at most once.")
    return built


def _named_groups(groups: str, ch_names: Sequence[str] | None) -> list[list[int]]:
    """The channel groups ``"hemispheres"`` stands for, from the channel names."""
    from ..data._montage import hemisphere_groups

    if groups != "hemispheres":
        raise ValueError(f"augmentation 'channels_shuffle': groups={groups!r} is not a "
                         "list of channel-index lists or 'hemispheres'.")
    if ch_names is None:
        raise ValueError("augmentation 'channels_shuffle': groups='hemispheres' needs the "
                         "channel names; fit on an mne.Epochs (or give the groups as lists "
                         "of channel indices).")
    try:
        found = hemisphere_groups(ch_names)
    except ValueError as exc:
        raise ValueError(f"augmentation 'channels_shuffle': groups='hemispheres': {exc}") from exc
    return [found["left"], found["right"], found["midline"]]


class AugmentedStep(TrainStep):
    """A train step that augments each training batch, then runs the wrapped step.

    Augmentations draw from the global torch RNG, which the core reseeds every epoch
    from ``(seed, epoch)``: a resumed fit augments as an uninterrupted one. With a
    :class:`~neuroattn.nn.augmentation.Mixup`, the loss of a batch is the
    ``lam``-weighted cross-entropy against both labels of each mixed example (with
    ``label_smoothing``); mixup needs the plain classification step.

    Parameters
    ----------
    augmentations : list of torch.nn.Module
        From :func:`resolve_augmentations`.
    inner : TrainStep
        The estimator's own step (the plain one by default).
    label_smoothing : float
        Label smoothing of the mixup loss (the criterion carries it otherwise).
    """

    def __init__(self, augmentations: list[torch.nn.Module], inner: TrainStep,
                 label_smoothing: float = 0.0) -> None:
        self._augmentations = [a for a in augmentations if not isinstance(a, Mixup)]
        mixups = [a for a in augmentations if isinstance(a, Mixup)]
        self._mixup = mixups[0] if mixups else None
        self.inner = inner
        self.label_smoothing = float(label_smoothing)

    def initialize(self, net) -> None:
        self.inner.initialize(net)

    def prepare(self, accelerator: Any) -> None:
        self.inner.prepare(accelerator)

    def state_dict(self) -> dict[str, dict]:
        return self.inner.state_dict()

    def load_state_dict(self, state: dict[str, dict]) -> None:
        self.inner.load_state_dict(state)

    def __call__(self, net, Xi, yi, **fit_params) -> dict:
        x = Xi
        for aug in self._augmentations:
            x, _ = aug(x, yi)
        if self._mixup is None:
            return self.inner(net, x, yi, **fit_params)
        x, (y_a, y_b, lam) = self._mixup(x, yi)
        y_pred = net.infer(x, **fit_params)
        logits = y_pred.float()
        per_a = F.cross_entropy(logits, y_a, reduction="none",
                                label_smoothing=self.label_smoothing)
        per_b = F.cross_entropy(logits, y_b, reduction="none",
                                label_smoothing=self.label_smoothing)
        loss = (lam * per_a + (1 - lam) * per_b).mean()
        net.accelerator.backward(loss)
        return {"loss": loss, "y_pred": y_pred}


class WeightAveraging(Callback):
    """Average the model's weights over the last ``n_epochs`` epochs of training.

    The state after each of the last ``n_epochs`` epochs is kept (floating tensors;
    integer buffers such as BatchNorm's counters are taken from the last epoch) and
    their mean is loaded when training ends -- stochastic weight averaging with a
    uniform window, which smooths the noise of small-batch training on small data.
    BatchNorm running statistics are then recomputed for the averaged weights by one
    pass over the training data (``torch.optim.swa_utils.update_bn``): the mean of
    each epoch's statistics does not describe the averaged network's activations.

    Parameters
    ----------
    n_epochs : int
        Epochs averaged (>= 1; 1 keeps the last weights).
    max_epochs : int
        Planned epochs of the fit.
    """

    def __init__(self, n_epochs: int, max_epochs: int) -> None:
        self.n_epochs = int(n_epochs)
        self.max_epochs = int(max_epochs)

    def initialize(self):
        self.states_: deque = deque(maxlen=self.n_epochs)
        return self

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch > self.max_epochs - self.n_epochs:
            module = getattr(net, "bare_module_", net.module_)
            self.states_.append({k: v.detach().clone()
                                 for k, v in module.state_dict().items()})

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if len(self.states_) < 2:
            return
        module = getattr(net, "bare_module_", net.module_)
        last = self.states_[-1]
        averaged = {k: (torch.stack([s[k] for s in self.states_]).mean(0)
                        if v.is_floating_point() else v) for k, v in last.items()}
        module.load_state_dict(averaged)
        if X is not None and any(isinstance(m, _BatchNorm) for m in module.modules()):
            # A plain loader over the whole training set, not the net's (sharded when
            # several processes train): every process computes the same statistics.
            dataset = net.get_dataset(X, y)
            size = net.batch_size if net.batch_size > 0 else len(dataset)
            loader = torch.utils.data.DataLoader(dataset, batch_size=size,
                                                 drop_last=_drops_last(len(dataset), size))
            update_bn(loader, module,
                      device=next(module.parameters()).device)

    def checkpoint_state(self) -> dict:
        return {"states": list(self.states_)}

    def load_checkpoint_state(self, state: dict) -> None:
        self.states_ = deque(state["states"], maxlen=self.n_epochs)


def check_recipe(est: Any) -> None:
    """Refuse recipe parameters that cannot work, before any data is read.

    Raises
    ------
    ValueError
        ``label_smoothing`` or mixup on a regressor, mixup with a custom train step,
        ``weight_averaging`` longer than ``max_epochs`` or combined with early stopping.
    """
    from sklearn.base import is_classifier

    smoothing = float(getattr(est, "label_smoothing", 0.0) or 0.0)
    spec = getattr(est, "augmentation", None) or []
    mixup = any(item == "mixup" or (isinstance(item, dict) and item.get("name") == "mixup")
                for item in spec)
    if not is_classifier(est) and smoothing:
        raise ValueError(f"label_smoothing={smoothing} is for classifiers; "
                         f"{type(est).__name__} regresses (use 0).")
    if mixup and not is_classifier(est):
        raise ValueError(f"augmentation 'mixup' mixes class labels; {type(est).__name__} "
                         "regresses.")
    if mixup and type(est)._train_step is not _plain_train_step(est):
        raise ValueError(f"augmentation 'mixup' needs the plain classification step; "
                         f"{type(est).__name__} trains with its own step.")
    k = int(getattr(est, "weight_averaging", 0) or 0)
    if k > est.max_epochs:
        raise ValueError(f"weight_averaging={k} averages more epochs than max_epochs="
                         f"{est.max_epochs}.")
    if k > 1 and est.early_stopping:
        raise ValueError("weight_averaging averages the last epochs, early_stopping restores "
                         "the best one: use one of them.")


def _plain_train_step(est: Any):
    from ._base import NeuroEstimatorMixin

    return NeuroEstimatorMixin._train_step


def recipe_callbacks(est: Any) -> list:
    """``[("weight_averaging", WeightAveraging)]`` when ``weight_averaging > 1``."""
    k = int(getattr(est, "weight_averaging", 0) or 0)
    return [("weight_averaging", WeightAveraging(k, est.max_epochs))] if k > 1 else []


def apply_recipe(est: Any, net: Any, kwargs: dict) -> None:
    """Label smoothing into the net's criterion arguments (``kwargs``, before the net is
    built) when ``net`` is None; the augmented train step on the built ``net`` otherwise."""
    smoothing = float(getattr(est, "label_smoothing", 0.0) or 0.0)
    if net is None:
        if smoothing:
            kwargs["criterion__label_smoothing"] = smoothing
        return
    spec = getattr(est, "augmentation", None)
    if not spec:
        return
    augmentations = resolve_augmentations(spec, n_chans=est.n_chans_, n_times=est.n_times_,
                                          sfreq=getattr(est, "sfreq_", None),
                                          ch_names=getattr(est, "ch_names_", None))
    net.train_step_ = AugmentedStep(augmentations, net.train_step_ or TrainStep(), smoothing)
