"""Shared docstring text (nilearn's docdict idea): one wording for shared parameters.

Use ``%(name)s`` placeholders in a docstring and decorate with :func:`fill_doc`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import TypeVar

__all__ = ["docdict", "fill_doc", "fill_estimator_doc"]

T = TypeVar("T", bound=Callable)

docdict: dict[str, str] = {}

docdict["signal_args"] = """n_chans : int | None
        Number of input channels (electrodes; regions for fMRI). Derived from
        ``chs_info`` when omitted.
    n_times : int | None
        Samples per input window. Derived from ``input_window_seconds * sfreq`` when
        omitted.
    n_outputs : int | None
        Number of outputs (classes, or regression targets).
    sfreq : float | None
        Sampling frequency in Hz.
    chs_info : list of dict | None
        ``mne.Info["chs"]``-like channel descriptions (at least ``"ch_name"``).
    input_window_seconds : float | None
        Window length in seconds."""

docdict["transformer_args"] = """embed_dim : int
        Token width.
    n_heads : int
        Attention heads; ``embed_dim`` must be a multiple of it.
    depth : int
        Number of transformer blocks.
    drop_prob : float
        Dropout probability after attention projections and in feed-forward layers.
    attn_drop_prob : float
        Dropout probability on attention weights.
    drop_path_prob : float
        Stochastic-depth probability (of the last block; linearly less before it).
    activation : type[torch.nn.Module]
        Activation class, instantiated without arguments.
    attention : str | type
        Self-attention block: a registered name (``"multihead"``,
        ``"gated_multihead"``) or a class with the same constructor."""

# ------------------------------------------------------------ viz: figures
docdict["fig_ax"] = """ax : matplotlib.axes.Axes | None
        Axes to draw in; None draws in a new figure."""

docdict["fig_title"] = """title : str
        Figure title."""

docdict["fig_path"] = """path : str | Path | None
        Image file to write (format from the suffix, e.g. ``.png``), its folder
        created if needed; None writes nothing."""

docdict["fig_returns"] = """fig : matplotlib.figure.Figure
        The figure drawn in: a new :mod:`matplotlib.pyplot` figure, or the one holding
        the axes given. No backend is selected here; close it with
        ``matplotlib.pyplot.close(fig)`` when done."""


# ------------------------------------------------ nn: channel-attention blocks
docdict["in_channels"] = """in_channels : int
        Number of input channels: feature maps, or electrodes when the block sits on
        the raw signal."""

docdict["channel_reduction"] = """reduction : int
        Bottleneck ratio of the channel MLP: its hidden width is ``in_channels //
        reduction``, at least 1."""

docdict["channel_kernel_size"] = """kernel_size : int
        Odd length, in samples, of the temporal convolution behind the temporal gate
        (same padding)."""

docdict["seq_len"] = """seq_len : int
        Length of the time axis the block will see (the learned gather spans all of
        it); required, and inputs of another length are refused."""

_CHANNEL_IO = """Input ``(batch, in_channels, time)``, or ``(batch, in_channels, height, time)``
    (height and time are flattened into one axis of positions and restored); output of
    the same shape."""

docdict["channel_gate_notes"] = _CHANNEL_IO + """ Recorded weights (``last_attention``):
    ``(batch, in_channels)``, one gate per channel."""

docdict["channel_time_gate_notes"] = _CHANNEL_IO + """ Recorded weights
    (``last_attention``): ``(batch, in_channels, time)``, one gate per channel and
    position."""

# ------------------------------------------- nn: attention and transformer blocks
docdict["embed_dim"] = """embed_dim : int
        Token width."""

docdict["embed_dim_heads"] = """embed_dim : int
        Token width; a multiple of ``n_heads``."""

docdict["n_heads"] = """n_heads : int
        Number of attention heads."""

docdict["attn_drop_prob"] = """attn_drop_prob : float
        Dropout probability on the attention weights."""

docdict["proj_drop_prob"] = """drop_prob : float
        Dropout probability after the output projection."""

docdict["mlp_ratio"] = """mlp_ratio : float
        Hidden width of the feed-forward part relative to ``embed_dim``."""

docdict["mlp_activation"] = """activation : type[torch.nn.Module]
        Activation class of the MLP, instantiated without arguments."""

docdict["region_dim"] = """region_dim : int | None
        Width of the region embeddings (defaults to ``embed_dim``)."""

docdict["patch_size"] = """patch_size : int
        Samples per patch (also the stride); trailing samples that do not fill a patch
        are dropped."""

docdict["token_io"] = """Input and output ``(batch, n_tokens, embed_dim)``."""

# ------------------------------------------------------------ nn: losses, critic
docdict["critic"] = """critic : torch.nn.Module
        Maps ``(n, dim)`` features to ``(n,)`` scores, e.g. a
        :class:`~neuroattn.nn.WassersteinCritic`."""

docdict["critic_features"] = """f_pre, f_inter : torch.Tensor
        ``(n_pre, dim)`` and ``(n_inter, dim)`` features of preictal and interictal
        windows."""

docdict["critic_features_raises"] = """ValueError
        If a feature tensor is empty or not 2-D, or their widths differ."""


# ------------------------------------------------------- estimators: training
# Rendered per estimator by :func:`fill_estimator_doc`: only the entries naming a
# parameter of the estimator's constructor are kept, and each ``default=@`` becomes
# that constructor's real default, so documented defaults cannot drift.
docdict["training_params"] = """model : str | type, default=@
        A registry name (see :func:`neuroattn.list_models`) or a model class taking
        braindecode's signal arguments (a braindecode model class works too).
    max_epochs : int, default=@
        Training epochs.
    lr : float, default=@
        AdamW (peak) learning rate.
    batch_size : int, default=@
        Mini-batch size. When a training epoch would end on a batch of one
        sample, that batch is dropped (BatchNorm statistics of one sample are
        degenerate); the shuffle changes which sample sits out each epoch.
    weight_decay : float, default=@
        AdamW weight decay.
    lr_scheduler : {"cosine", "warmup_cosine", None}, default=@
        ``"cosine"``: cosine annealing over ``max_epochs`` (per epoch);
        ``"warmup_cosine"``: linear warm-up over the first 10% of steps, then cosine
        decay per step (:class:`~neuroattn.estimators.WarmupCosineLR`); None: a
        constant rate.
    validation_fraction : float | None, default=@
        Fraction of the training data held out (stratified for classifiers) to report
        ``valid_loss``. None trains on everything: there is no silent hold-out.
    early_stopping : bool, default=@
        Stop when ``valid_loss`` has not improved for ``patience`` epochs and restore
        the best weights. Needs ``validation_fraction``.
    patience : int, default=@
        Epochs without improvement before early stopping.
    callbacks : list | None, default=@
        Extra skorch callbacks (``(name, callback)`` pairs or callbacks). They belong to
        a training run: :meth:`save` does not store them. As in skorch, ``on_batch_end``
        receives the batch's loss tensor as ``loss`` and finds it as a float in
        ``net.history[-1, "batches", -1, "train_loss"]`` (``"valid_loss"`` on
        validation batches). The core copies batch losses from the device when the
        history is read, at the latest at the end of each epoch: a fit whose callbacks
        do not read the history during the epoch waits for the GPU once an epoch, not
        at every batch.
    checkpoint_dir : str | Path | None, default=@
        Folder in which the training state (weights, optimizer, critic, scheduler,
        early-stopping state, history) is written after every epoch, atomically, with
        a ``checkpoint.json`` whose ``status`` stays ``"partial"`` until the fit
        completes. A fit given a folder holding a partial checkpoint of the same run
        (same estimator, parameters -- ``callbacks``, ``device`` and ``verbose``
        aside -- and data) resumes after its last epoch and ends with the model an
        uninterrupted fit with the same ``random_state`` gives; a complete one is
        loaded without training again; a checkpoint of another run is refused with a
        ``ValueError`` naming what differs. Callbacks passed in ``callbacks`` restart
        their own state on resume. The folder is locked while a fit writes it.
    device : str, default=@
        ``"auto"`` picks CUDA when present, else CPU; or an explicit ``"cpu"`` /
        ``"cuda"`` / ``"cuda:1"``. Training is float32 unless ``mixed_precision`` says
        otherwise. Under ``accelerate launch`` each process uses its own device.
    augmentation : list of (str | dict) | None, default=@
        On-the-fly augmentations of the training batches, in order (identity at
        prediction): names of :data:`neuroattn.nn.augmentation.AUGMENTATIONS`
        (``"frequency_shift"``, ``"ft_surrogate"``, ``"channels_dropout"``,
        ``"channels_shuffle"``, ``"smooth_time_mask"``, ``"mixup"``) or dicts with a
        ``"name"`` and the transform's arguments. Settings beyond the signal (a shift
        past Nyquist, a mask as long as the window) are refused at ``fit``.
    label_smoothing : float, default=@
        Label smoothing of the cross-entropy, in [0, 1) (classifiers only).
    weight_averaging : int, default=@
        Average the weights of the last ``weight_averaging`` epochs (0 or 1: keep the
        last); not with ``early_stopping``.
    mixed_precision : {"no", "bf16", "fp16"}, default=@
        Mixed-precision training and inference through Hugging Face Accelerate
        (skorch's ``AccelerateMixin``): ``"bf16"`` autocasts to bfloat16, ``"fp16"`` to
        float16 with loss scaling (CUDA only: refused on CPU before training). ``"no"``
        keeps float32. Prediction autocasts like training; outputs are float32.
    gradient_accumulation_steps : int, default=@
        Mini-batches whose gradients are summed before one optimizer step (an
        effective batch of ``batch_size * gradient_accumulation_steps``).
    compile : bool, default=@
        Compile the model with ``torch.compile`` before training (opt-in; results equal
        the eager model's within float tolerance). Where torch cannot compile (no
        compiler, unsupported platform), a warning is given and the eager model trains.
        Steps that call the model's parts (STAN's adversarial step, BrainMAE's masked
        pretraining) run them eagerly; prediction is compiled.
    num_workers : int, default=@
        DataLoader worker processes reading training and prediction batches (0 reads
        in the training process).
    pin_memory : bool | None, default=@
        Page-locked host batches for faster copies to the GPU; None: on when training
        on CUDA.
    persistent_workers : bool, default=@
        Keep DataLoader workers alive between epochs (needs ``num_workers > 0``).
    random_state : int | RandomState | None, default=@
        Seeds weight initialisation, shuffling, sampling and the validation split: two
        fits with the same integer give identical models on CPU. The global torch RNG
        is left alone.
    verbose : int, default=@
        0 is silent; 1 prints skorch's epoch table and a progress bar.
    **kwargs
        ``model__<name>`` routes a hyperparameter to the model (``model__depth=4``),
        ``optimizer__<name>`` to AdamW (``optimizer__betas=(0.9, 0.99)``). Both appear
        in ``get_params()`` and work with ``set_params`` and ``GridSearchCV``."""

docdict["fitted_net_attrs"] = """net_ : skorch.NeuralNet
        The trained skorch net (its ``history`` holds per-epoch losses).
    module_ : torch.nn.Module
        The trained model.
    history_ : skorch.History
        Per-epoch training record."""

docdict["fitted_signal_attrs"] = """n_chans_ : int
        Channels seen at ``fit`` (1 for 2-D input).
    n_times_ : int
        Samples per window seen at ``fit``.
    n_outputs_ : int
        Model outputs.
    n_features_in_ : int
        ``n_chans_ * n_times_``.
    sfreq_ : float | None
        Sampling frequency (Hz) when ``X`` was an ``mne.Epochs``.
    chs_info_ : list of dict | None
        Channel descriptions when ``X`` was an ``mne.Epochs`` (saved with the model).
    ch_names_ : list of str | None
        Channel names when ``X`` was an ``mne.Epochs``.
    input_amplitude_ : float
        Typical amplitude of the training ``X`` (median over samples of their standard
        deviation, in X's units: microvolts for an ``mne.Epochs``). Prediction warns
        when ``X`` is 1000 times larger or smaller (volts given for microvolts); absent
        from a model saved before it existed (then not checked)."""


def _render_entries(template: str, defaults: dict) -> str:
    """Keep the numpydoc entries of ``template`` naming a key of ``defaults`` (and
    ``**kwargs`` when present), with ``default=@`` replaced by the real default."""
    entries = re.split(r"\n(?=    \S)", "    " + template)
    kept = []
    for entry in entries:
        name = entry.strip().split(" :", 1)[0].split("\n", 1)[0]
        if name not in defaults:
            continue
        value = defaults[name]
        text = f'"{value}"' if isinstance(value, str) else repr(value)
        kept.append(entry.replace("default=@", f"default={text}"))
    return "\n".join(kept).strip()


def fill_estimator_doc(cls: T) -> T:
    """:func:`fill_doc` for estimators: ``%(training_params)s`` is rendered with the
    entries and defaults of ``cls.__init__``'s signature.

    Raises
    ------
    ValueError
        If the docstring names a key that :data:`docdict` does not have.
    """
    params = inspect.signature(cls.__init__).parameters
    defaults = {n: p.default for n, p in params.items()
                if p.default is not inspect.Parameter.empty}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        defaults["**kwargs"] = None
    rendered = {**docdict, "training_params": _render_entries(docdict["training_params"],
                                                              defaults)}
    if cls.__doc__:
        try:
            cls.__doc__ = cls.__doc__ % rendered
        except KeyError as exc:
            raise ValueError(f"Unknown docdict key {exc} in {cls.__qualname__}.") from exc
    return cls



def fill_doc(obj: T) -> T:
    """Replace ``%(key)s`` placeholders of ``obj.__doc__`` with :data:`docdict` entries.

    Raises
    ------
    ValueError
        If the docstring names a key that :data:`docdict` does not have.
    """
    if obj.__doc__:
        try:
            obj.__doc__ = obj.__doc__ % docdict
        except KeyError as exc:
            raise ValueError(f"Unknown docdict key {exc} in {obj.__qualname__}.") from exc
    return obj
