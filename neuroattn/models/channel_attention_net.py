"""The channel-attention baseline of Wimpff et al. (2024), with a faster factorised stem."""

from __future__ import annotations

import inspect

import torch
from torch import nn

from .._docs import fill_doc
from ..nn import attention_registry
from . import register_model
from ._base import NeuroModel
from ._temporal import DepthwiseTemporalConv

__all__ = ["ChannelAttentionNet", "build_channel_attention"]


def build_channel_attention(attention: str | type | None, in_channels: int, seq_len: int,
                            reduction: int = 4) -> nn.Module:
    """Build a registered channel-attention block (or ``nn.Identity`` for None).

    Parameters
    ----------
    attention : str | type | None
        Registry name (``neuroattn.list_attentions("channel")``), a class taking
        ``in_channels``, or None for no attention.
    in_channels : int
        Channels the block re-weights.
    seq_len : int
        Time points it will see; passed to blocks that take ``seq_len``.
    reduction : int
        Bottleneck ratio, passed to blocks that take ``reduction``.

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    ValueError
        If the name is unknown or names a block that is not a channel block.
    """
    if attention is None:
        return nn.Identity()
    cls = attention_registry.get(attention)
    if isinstance(attention, str):
        kind = attention_registry.entry(attention).tags.get("kind")
        if kind != "channel":
            raise ValueError(f"attention={attention!r} is a {kind!r} block; a channel block "
                             f"is needed: {', '.join(attention_registry.names(kind='channel'))}.")
    accepted = inspect.signature(cls).parameters
    kwargs = {"in_channels": in_channels}
    if "seq_len" in accepted:
        kwargs["seq_len"] = seq_len
    if "reduction" in accepted:
        kwargs["reduction"] = reduction
    return cls(**kwargs)


class _FactorisedStem(nn.Module):
    """Spatial mixing of electrodes first, then a depthwise temporal filter per map.

    Both filters are linear, so ``temporal(spatial(x))`` spans the same functions as the
    paper's ``spatial(temporal(x))`` while convolving ``n_filters`` maps instead of
    ``n_filters * n_chans``.
    """

    def __init__(self, n_chans: int, n_filters: int, filter_length: int) -> None:
        super().__init__()
        self.spatial = nn.Conv1d(n_chans, n_filters, 1, bias=False)
        self.spatial_norm = nn.BatchNorm1d(n_filters)
        self.temporal = DepthwiseTemporalConv(n_filters, filter_length)
        self.norm = nn.BatchNorm1d(n_filters)

    def spatial_filters(self) -> torch.Tensor:
        return self.spatial.weight[:, :, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.temporal(self.spatial_norm(self.spatial(x))))


class _PaperStem(nn.Module):
    """The paper's order: a temporal filter bank on every electrode, then spatial filters."""

    def __init__(self, n_chans: int, n_filters: int, filter_length: int) -> None:
        super().__init__()
        self.temporal = nn.Conv2d(1, n_filters, (1, filter_length),
                                  padding=(0, filter_length // 2), bias=False)
        self.temporal_norm = nn.BatchNorm2d(n_filters)
        self.spatial = nn.Conv2d(n_filters, n_filters, (n_chans, 1), groups=n_filters,
                                 bias=False)
        self.norm = nn.BatchNorm2d(n_filters)

    def spatial_filters(self) -> torch.Tensor:
        return self.spatial.weight[:, 0, :, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.temporal_norm(self.temporal(x.unsqueeze(1)))
        return self.norm(self.spatial(z)).squeeze(2)


@register_model("channel_attention_net", task="classification", modality="eeg",
                paper="Wimpff et al. 2024 (J. Neural Eng.)")
@fill_doc
class ChannelAttentionNet(NeuroModel):
    """Lightweight conv net for motor imagery with a pluggable channel-attention block.

    Layout of Wimpff et al. (2024): ``n_filters`` temporal filters of
    ``filter_length`` samples and one spatial filter over all electrodes per temporal
    filter, batch norm, ELU, average pooling (``pool_length``/``pool_stride``),
    dropout; a 1x1 conv to ``embed_dim`` maps; a depthwise-separable block (kernel
    ``kernel_length``); the channel-attention block; average pooling 8/8; dropout; a
    linear head on the flattened maps.

    With ``stem="factorised"`` (default) the electrodes are mixed by the spatial
    filters *before* the depthwise temporal filters: the same linear function class
    and the same parameter count, but the temporal convolution runs over
    ``n_filters`` maps instead of ``n_filters x n_chans``, which trains several times
    faster. ``stem="paper"`` keeps the original order (what braindecode's
    ``AttentionBaseNet`` does).

    Parameters
    ----------
    %(signal_args)s
    n_filters : int
        Temporal (and spatial) filters of the stem.
    filter_length : int
        Temporal filter length, in samples.
    pool_length, pool_stride : int
        Average pooling after the stem, in samples.
    embed_dim : int
        Feature maps after the 1x1 conv (the channels the attention block sees).
    kernel_length : int
        Kernel of the depthwise conv of the separable block.
    head_pool : int
        Length and stride of the pooling before the head.
    drop_prob : float
        Dropout after each pooling.
    activation : type[nn.Module]
        Activation class.
    attention : str | type | None
        Channel-attention block on the ``embed_dim`` maps (any name of
        ``neuroattn.list_attentions("channel")``), or None.
    input_attention : str | type | None
        Optional channel-attention block on the electrodes themselves, before the
        stem; its weights are electrode weights that can be drawn as topomaps.
    reduction : int
        Bottleneck ratio passed to the attention blocks that take one.
    stem : {"factorised", "paper"}
        Order of the spatial and temporal filters (see above).

    Notes
    -----
    Input ``(batch, n_chans, n_times)``, output ``(batch, n_outputs)``. Inputs shorter
    than the stem's pooling are refused. 3,692 parameters without attention on 22
    electrodes x 1000 samples x 4 classes.
    """

    example_signal_args = {"n_chans": 6, "n_times": 200, "n_outputs": 3, "sfreq": 100.0}

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None, *, n_filters: int = 40,
                 filter_length: int = 25, pool_length: int = 75, pool_stride: int = 15,
                 embed_dim: int = 16, kernel_length: int = 15, head_pool: int = 8,
                 drop_prob: float = 0.5, activation: type[nn.Module] = nn.ELU,
                 attention: str | type | None = None,
                 input_attention: str | type | None = None, reduction: int = 4,
                 stem: str = "factorised") -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        if stem not in ("factorised", "paper"):
            raise ValueError(f"stem must be 'factorised' or 'paper', got {stem!r}.")
        if self.n_times < pool_length:
            raise ValueError(f"n_times={self.n_times} is shorter than pool_length="
                             f"{pool_length}; use longer windows or a smaller pool_length.")
        seq_len = (self.n_times - pool_length) // pool_stride + 1
        n_head = seq_len // head_pool
        if n_head < 1:
            raise ValueError(f"After pooling only {seq_len} time steps remain, fewer than "
                             f"head_pool={head_pool}; use longer windows or smaller pools.")
        self.input_attention = build_channel_attention(input_attention, self.n_chans,
                                                       self.n_times, reduction)
        stem_cls = _FactorisedStem if stem == "factorised" else _PaperStem
        self.stem = stem_cls(self.n_chans, n_filters, filter_length)
        self.pool = nn.Sequential(activation(), nn.AvgPool1d(pool_length, pool_stride),
                                  nn.Dropout(drop_prob))
        self.expand = nn.Sequential(nn.Conv1d(n_filters, embed_dim, 1, bias=False),
                                    nn.BatchNorm1d(embed_dim), activation())
        self.separable = nn.Sequential(
            nn.Conv1d(embed_dim, embed_dim, kernel_length, padding=kernel_length // 2,
                      groups=embed_dim, bias=False),
            nn.Conv1d(embed_dim, embed_dim, 1, bias=False), nn.BatchNorm1d(embed_dim),
            activation())
        self.attention = build_channel_attention(attention, embed_dim, seq_len, reduction)
        self.head_pool = nn.Sequential(nn.AvgPool1d(head_pool, head_pool),
                                       nn.Dropout(drop_prob), nn.Flatten())
        self.final_layer = nn.Linear(embed_dim * n_head, self.n_outputs)

    def spatial_filters(self) -> torch.Tensor:
        """The stem's spatial filters, ``(n_filters, n_chans)`` (a detached copy)."""
        return self.stem.spatial_filters().detach().clone()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stem(self.input_attention(x)))
        x = self.attention(self.separable(self.expand(x)))
        return self.head_pool(x)
