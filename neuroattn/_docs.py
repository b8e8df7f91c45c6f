"""Shared docstring text (nilearn's docdict idea): one wording for shared parameters.

Use ``%(name)s`` placeholders in a docstring and decorate with :func:`fill_doc`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["docdict", "fill_doc"]

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

docdict["random_state"] = """random_state : int | RandomState | None
        Seeds weight initialisation, shuffling and splits: two fits with the same
        integer give identical results on CPU."""

docdict["verbose"] = """verbose : int
        0 is silent; 1 shows a progress bar and per-epoch figures."""

docdict["device"] = """device : str
        ``"auto"`` picks CUDA when present (with bfloat16 mixed precision), else CPU;
        or an explicit ``"cpu"`` / ``"cuda"`` / ``"cuda:1"``."""


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
