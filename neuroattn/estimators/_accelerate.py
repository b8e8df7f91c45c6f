"""Hugging Face Accelerate inside the training core (skorch's ``AccelerateMixin``).

Every neuroattn skorch net is an :class:`AcceleratedNetMixin`: the ``Accelerator``
is built inside ``fit`` (by the estimator's ``_make_net``) from plain parameters
(``mixed_precision``, ``gradient_accumulation_steps``, the resolved device), so the
estimator itself holds no accelerator and ``clone``, ``get_params``, ``GridSearchCV``
and ``save`` are unchanged. Device placement stays skorch's (``device_placement=False``):
a fit on ``"cuda:1"`` trains there; under ``accelerate launch`` every process trains on
the accelerator's device and the model is wrapped in ``DistributedDataParallel``.
Batches are split across processes (``split_batches=True``): ``batch_size`` is the
batch of one optimizer step whatever the number of processes, so N processes take the
steps one process takes, each on ``batch_size / N`` samples (``batch_size`` must be a
multiple of N).

What the accelerator does: autocast (training, validation and prediction alike), loss
scaling (fp16), gradient accumulation (``accelerator.accumulate``: the optimizer steps
every ``gradient_accumulation_steps`` batches), data-parallel wrapping and sharding of
the training batches across processes (``even_batches``: every process takes the same
number of batches, so a dataset that does not divide evenly cannot hang a run).
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Callable
from typing import Any

import torch
from skorch.dataset import unpack_data
from skorch.hf import AccelerateMixin
from skorch.utils import to_device

__all__ = ["AcceleratedNetMixin", "make_accelerator", "launched_processes", "is_main_process",
           "check_mixed_precision", "compile_module", "forward_through", "unwrap",
           "distributed_history", "same_across_processes", "MainProcessPrint"]

_HISTORY_IDS = itertools.count()


def launched_processes() -> int:
    """Processes of this run as set by ``accelerate launch`` / ``torchrun``
    (``WORLD_SIZE``), 1 otherwise. Read only; nothing is initialised."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def is_main_process() -> bool:
    """Whether this is the main process of an ``accelerate launch`` / ``torchrun`` run
    (``RANK`` 0), or the only process. Read only; nothing is initialised."""
    return os.environ.get("RANK", "0") == "0"


def check_mixed_precision(mixed_precision: str, device: str) -> None:
    """Refuse a precision the device cannot train in, before any training.

    Parameters
    ----------
    mixed_precision : {"no", "bf16", "fp16"}
    device : str
        The resolved device (:func:`._nets.resolve_device`).

    Raises
    ------
    ValueError
        ``"fp16"`` off CUDA (float16 needs a loss scaler, which Accelerate runs on
        CUDA only), or ``"bf16"`` on a CUDA device without bfloat16 support.
    """
    if mixed_precision == "fp16" and not device.startswith("cuda"):
        raise ValueError(f"mixed_precision='fp16' needs a CUDA device (float16 training "
                         f"uses a loss scaler), but device resolves to {device!r}; use "
                         "mixed_precision='bf16' (CPU and recent GPUs) or 'no'.")
    if (mixed_precision == "bf16" and device.startswith("cuda")
            and not torch.cuda.is_bf16_supported()):
        raise ValueError(f"mixed_precision='bf16', but {device!r} does not support "
                         "bfloat16; use mixed_precision='fp16' or 'no'.")


def make_accelerator(mixed_precision: str, gradient_accumulation_steps: int, device: str,
                     *, find_unused_parameters: bool = False) -> Any:
    """The ``accelerate.Accelerator`` of one fit.

    Accelerate keeps its settings in a process-wide state that refuses a second,
    different precision or device. In a single process (no ``accelerate launch``) a fit
    asking for other settings than the current state's resets that state first; under
    ``accelerate launch`` the state (the process group) is kept and must match.

    Parameters
    ----------
    mixed_precision : {"no", "bf16", "fp16"}
    gradient_accumulation_steps : int
        Batches per optimizer step (>= 1).
    device : str
        The resolved device; ``"cpu"`` asks Accelerate for CPU (``cpu=True``).
    find_unused_parameters : bool
        Passed to ``DistributedDataParallel`` (nets whose training forward leaves some
        parameters out, e.g. BrainMAE's head).

    Returns
    -------
    accelerate.Accelerator

    Raises
    ------
    ValueError
        Under ``accelerate launch``, if the launch's precision or device differs.
    """
    from accelerate import Accelerator, DataLoaderConfiguration, DistributedDataParallelKwargs
    from accelerate.state import AcceleratorState

    cpu = device == "cpu"
    if AcceleratorState._shared_state and launched_processes() == 1:
        state = AcceleratorState()
        if state.mixed_precision != mixed_precision or (cpu != (state.device.type == "cpu")):
            AcceleratorState._reset_state(reset_partial_state=True)
    try:
        return Accelerator(
            mixed_precision=mixed_precision, cpu=cpu, device_placement=False,
            gradient_accumulation_steps=int(gradient_accumulation_steps),
            dataloader_config=DataLoaderConfiguration(split_batches=True, even_batches=True),
            kwargs_handlers=[DistributedDataParallelKwargs(
                find_unused_parameters=find_unused_parameters)])
    except ValueError as exc:
        raise ValueError(f"mixed_precision={mixed_precision!r} on device={device!r}: "
                         f"Accelerate refuses it here ({exc}).") from None


def same_across_processes(seed: int, n_samples: int, device: str, batch_size: int) -> int:
    """The main process's ``seed`` (weights, shuffling and validation split must agree
    across data-parallel processes); refuses processes holding different numbers of
    samples, on every process, instead of letting them hang at a gradient exchange.

    Raises
    ------
    ValueError
        Listing the sample count of each process.
    """
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list, gather_object

    state = PartialState(cpu=device == "cpu")  # gloo between CPU processes
    counts = gather_object([int(n_samples)])
    if len(set(counts)) > 1:
        raise ValueError(f"X: the {state.num_processes} processes of this run hold "
                         f"different numbers of samples ({counts}, by process); data-"
                         "parallel training needs the same data on every process (each "
                         "trains on its share of the batches).")
    if batch_size % state.num_processes:
        raise ValueError(f"batch_size={batch_size} is not a multiple of the "
                         f"{state.num_processes} processes of this run: each optimizer step's "
                         "batch is split evenly across them; use a multiple (e.g. "
                         f"{state.num_processes * max(1, batch_size // state.num_processes)}).")
    return int(broadcast_object_list([int(seed)])[0])


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The model inside a ``DistributedDataParallel`` wrapper (itself otherwise)."""
    if isinstance(module, torch.nn.parallel.DistributedDataParallel):
        return module.module
    return module


_MISSING = object()


def forward_through(module: torch.nn.Module, fn: Callable, *args: Any) -> Any:
    """Run ``fn(*args)`` as the forward pass of the prepared ``module``.

    A model method other than ``forward`` (``forward_features``, ``forward_masked``)
    called on the bare model would skip ``DistributedDataParallel``'s forward, and
    its gradients would not be averaged across processes; here ``fn`` becomes the
    wrapped model's forward for one call. Outside data-parallel runs it is
    ``fn(*args)``.
    """
    if not isinstance(module, torch.nn.parallel.DistributedDataParallel):
        return fn(*args)
    inner = module.module
    saved = inner.__dict__.get("forward", _MISSING)
    inner.forward = fn
    try:
        return module(*args)
    finally:
        if saved is _MISSING:
            del inner.forward
        else:
            inner.forward = saved


def compile_module(module: torch.nn.Module, owner: str) -> bool:
    """``torch.compile`` ``module`` in place (``nn.Module.compile``: its class and
    ``state_dict`` keys are unchanged); on a torch without a working compiler, warn
    and keep the eager module.

    Returns
    -------
    bool
        Whether the module was compiled.

    Warns
    -----
    UserWarning
        Naming ``compile`` and the reason, when compiling is not possible here.
    """
    reason = None
    dynamo = getattr(torch, "_dynamo", None)
    if not hasattr(torch, "compile") or not hasattr(module, "compile"):
        reason = "this torch has no torch.compile"
    elif dynamo is not None and not dynamo.is_dynamo_supported():
        reason = "torch.compile is not supported on this platform/Python"
    else:
        try:
            module.compile()
        except Exception as exc:  # noqa: BLE001 - any compiler setup failure falls back
            reason = f"torch.compile failed ({type(exc).__name__}: {exc})"
    if reason is not None:
        warnings.warn(f"{owner}: compile=True, but {reason}; training the eager "
                      "(uncompiled) model instead.", UserWarning, stacklevel=3)
        return False
    return True


def _compile_failure_types() -> tuple[type, ...]:
    exc = getattr(getattr(torch, "_dynamo", None), "exc", None)
    base = getattr(exc, "TorchDynamoException", None)
    return (base,) if base is not None else ()


def distributed_history(accelerator: Any) -> Any:
    """skorch's ``DistributedHistory`` over the launch's key-value store (a fresh key
    prefix per fit), for runs of more than one process."""
    from skorch.history import DistributedHistory
    from torch.distributed import PrefixStore
    from torch.distributed.distributed_c10d import _get_default_store

    store = PrefixStore(f"neuroattn-history-{next(_HISTORY_IDS)}", _get_default_store())
    return DistributedHistory(store=store, rank=accelerator.process_index,
                              world_size=accelerator.num_processes)


class MainProcessPrint:
    """skorch's ``PrintLog`` sink: prints when ``verbose`` and only on the main process
    of an ``accelerate launch`` run (skorch's ``"auto"`` sink, ``accelerator.print``,
    would print whatever ``verbose`` says, and would tie the net to its accelerator)."""

    def __init__(self, verbose: int) -> None:
        self.verbose = verbose

    def __call__(self, text: str) -> None:
        if not self.verbose:
            return
        if not is_main_process():
            return
        print(text)  # noqa: T201 - skorch's PrintLog output, shown only when verbose


def _repoint(callbacks: list, wrapper: Any, inner: torch.optim.Optimizer) -> None:
    """Callbacks (and their torch LR schedulers) that hold the accelerator's optimizer
    wrapper hold the plain optimizer instead once training ends."""
    for _, cb in callbacks:
        for holder in (cb, getattr(cb, "lr_scheduler_", None)):
            if holder is None or not hasattr(holder, "__dict__"):
                continue
            for key, value in list(vars(holder).items()):
                if value is wrapper:
                    setattr(holder, key, inner)


def _to_float(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.float() if out.is_floating_point() else out
    if isinstance(out, (tuple, list)):
        return type(out)(_to_float(o) for o in out)
    return out


class AcceleratedNetMixin(AccelerateMixin):
    """skorch's ``AccelerateMixin`` with the training core's additions.

    - a :class:`~neuroattn.estimators._nets.TrainStep` (``train_step_``) runs inside
      the accelerator's autocast, and its own modules (a critic) are prepared too;
    - ``on_grad_computed`` (skorch's ``GradientNormClipping``) sees the summed,
      unscaled gradients once per optimizer step (not per accumulated batch);
    - prediction autocasts like training (outputs returned as float32); prediction
      batches are sharded and gathered only when several processes run;
    - batch losses are read from the device when the history is read (by a callback
      during the epoch, at the latest when the epoch ends), not batch by batch
      (:class:`~neuroattn.estimators._history.LossHistory`);
    - ``compile=True`` that fails at the first forward warns and continues eagerly.
    """

    compiled_: bool = False
    #: ``(mixed_precision, gradient_accumulation_steps, device, find_unused_parameters)``
    #: the accelerator was made from (set by the estimator; rebuilds it after unpickling).
    accelerator_settings_: tuple | None = None
    _preparing = False

    # Modules and optimizers are prepared when training begins (not in ``initialize``,
    # which ``load`` also calls) and unwrapped when it ends, so a fitted or loaded net
    # holds plain torch objects: picklable, and its state_dict keys are the model's.
    def _initialize_accelerator(self):
        if not self._preparing:
            return self
        if self._wrapped_with_accelerator:
            return self
        # As skorch's, except that modules without trainable parameters (a loss) are
        # left alone: DistributedDataParallel refuses them.
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and any(
                    p.requires_grad for p in module.parameters()):
                setattr(self, name + "_", self.accelerator.prepare(module))
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            if isinstance(optimizer, torch.optim.Optimizer):
                setattr(self, name + "_", self.accelerator.prepare(optimizer))
        self._wrapped_with_accelerator = True
        step = getattr(self, "train_step_", None)
        if step is not None:
            step.prepare(self.accelerator)
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self._zero_next = True
        self._preparing = True
        try:
            self._initialize_accelerator()
        finally:
            self._preparing = False

    def _unwrap_accelerator(self):
        if not self._wrapped_with_accelerator:
            return
        super()._unwrap_accelerator()
        for name in self._optimizers:
            wrapper = getattr(self, name + "_")
            inner = getattr(wrapper, "optimizer", None)
            if isinstance(inner, torch.optim.Optimizer):
                setattr(self, name + "_", inner)
                _repoint(self.callbacks_, wrapper, inner)
        step = getattr(self, "train_step_", None)
        for name, value in list(vars(step).items()) if step is not None else []:
            if isinstance(value, torch.nn.Module):
                setattr(step, name, self.accelerator.unwrap_model(value,
                                                                  keep_fp32_wrapper=False))

    def __getstate__(self):
        state = super().__getstate__()
        state["accelerator"] = None  # rebuilt from accelerator_settings_
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if self.accelerator is None and self.accelerator_settings_ is not None:
            precision, steps, device, unused = self.accelerator_settings_
            self.accelerator = make_accelerator(precision, steps, device,
                                                find_unused_parameters=unused)

    @property
    def bare_module_(self) -> torch.nn.Module:
        """The model without a data-parallel wrapper."""
        return unwrap(self.module_)

    def train_step_single(self, batch, **fit_params):
        if not self.compiled_:
            return self._train_step_single(batch, **fit_params)
        try:  # a compiled backward is compiled (and may fail) in the first backward
            return self._train_step_single(batch, **fit_params)
        except _compile_failure_types() as exc:
            self._decompile(exc)
            for name in self._optimizers:
                optimizer = getattr(self, name + "_")
                getattr(optimizer, "optimizer", optimizer).zero_grad()
            return self._train_step_single(batch, **fit_params)

    def _train_step_single(self, batch, **fit_params):
        step = getattr(self, "train_step_", None)
        if step is None:
            out = super().train_step_single(batch, **fit_params)
        else:
            self._set_training(True)
            Xi, yi = unpack_data(batch)
            with self.accelerator.autocast():
                out = step(self, to_device(Xi, self.device), to_device(yi, self.device),
                           **fit_params)
        if self.accelerator.sync_gradients and self.accelerator.scaler is not None:
            # fp16: clipping callbacks must see true gradients (the scaler knows).
            self.accelerator.unscale_gradients()
        return out

    # skorch zeroes gradients before each batch's backward; Accelerate's optimizer
    # wrapper skips zero_grad except on the batch that completes an accumulation
    # cycle -- which would then drop the cycle's earlier batches. Gradients are
    # zeroed at the start of a cycle instead (after the step that ended the last one).
    _zero_next = True

    def _zero_grad_optimizer(self, set_to_none=None):
        if not self._zero_next:
            return
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            getattr(optimizer, "optimizer", optimizer).zero_grad()

    def _step_optimizer(self, step_fn):
        super()._step_optimizer(step_fn)
        self._zero_next = bool(self.accelerator.sync_gradients)

    def notify(self, method_name, **cb_kwargs):
        if method_name == "on_grad_computed" and not self.accelerator.sync_gradients:
            return  # an accumulated, not yet complete gradient
        return super().notify(method_name, **cb_kwargs)

    def infer(self, x, **fit_params):
        return self._guard_compiled(super().infer, x, **fit_params)

    def _guard_compiled(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        if not self.compiled_:
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except _compile_failure_types() as exc:
            self._decompile(exc)
            return fn(*args, **kwargs)

    def _decompile(self, exc: Exception) -> None:
        warnings.warn(f"compile=True: torch.compile failed when the model first ran "
                      f"({type(exc).__name__}: {str(exc)[:200]}); continuing with the eager "
                      "model.", UserWarning, stacklevel=3)
        for module in self.bare_module_.modules():
            module._compiled_call_impl = None
        self.compiled_ = False

    def evaluation_step(self, batch, training=False):
        with self.accelerator.autocast():
            out = super().evaluation_step(batch, training=training)
        return _to_float(out)

    def get_iterator(self, dataset, training=False):
        if training or self.accelerator.num_processes > 1:
            return super().get_iterator(dataset, training=training)
        # One process predicting: nothing to shard; skip AccelerateMixin's prepare.
        return super(AccelerateMixin, self).get_iterator(dataset, training=training)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        from skorch.dataset import get_len

        from ._history import LossHistory

        # A LossHistory keeps each batch's loss on the device until the history is
        # read: by a callback during the epoch (a progress bar, a logger, a batch-
        # stepped scheduler), at the latest when this loop ends. skorch reads
        # loss.item() after every batch, a device sync each; other histories (skorch's
        # DistributedHistory) still do.
        history = self.history
        lazy = isinstance(history, LossHistory)
        batch_count = 0
        try:
            for batch in iterator:
                self.notify("on_batch_begin", batch=batch, training=training)
                step = step_fn(batch, **fit_params)
                if lazy:
                    history.hold(prefix + "_loss", step["loss"])
                else:
                    history.record_batch(prefix + "_loss", step["loss"].item())
                size = get_len(batch[0]) if isinstance(batch, (tuple, list)) else get_len(batch)
                history.record_batch(prefix + "_batch_size", size)
                self.notify("on_batch_end", batch=batch, training=training, **step)
                batch_count += 1
        finally:  # an interrupted epoch leaves no NaN behind either
            if lazy:
                history.flush()
        history.record(prefix + "_batch_count", batch_count)
