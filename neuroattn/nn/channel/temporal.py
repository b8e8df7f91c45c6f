"""Channel and time attention: blocks that gate each position as well as each channel
(CBAM, CAT, coordinate attention, ELA, ULSAM) and CAT's channel part alone (CATLite)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..._docs import fill_doc
from .._registry import register_attention
from ._base import _EPS, ChannelAttention, _hidden, _mlp, _odd

__all__ = ["CBAM", "CATLite", "CAT", "CoordinateAttention", "ELA", "ULSAM"]


@fill_doc
@register_attention("cbam", kind="channel", paper="Woo et al. 2018 (ECCV)")
class CBAM(ChannelAttention):
    """Convolutional block attention: a channel gate (avg + max) then a temporal gate.

    Parameters
    ----------
    %(in_channels)s
    %(channel_reduction)s
    %(channel_kernel_size)s

    Notes
    -----
    %(channel_time_gate_notes)s The weights are the channel gate times the temporal
    gate.
    """

    def __init__(self, in_channels: int, reduction: int = 4, kernel_size: int = 9) -> None:
        super().__init__(in_channels)
        self.mlp = _mlp(in_channels, _hidden(in_channels, reduction), in_channels, bias=False)
        self.time_conv = nn.Conv1d(2, 1, _odd(kernel_size), padding=kernel_size // 2)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        chan = torch.sigmoid(self.mlp(x.mean(dim=-1)) + self.mlp(x.amax(dim=-1)))[..., None]
        y = x * chan
        pooled = torch.stack([y.mean(dim=1), y.amax(dim=1)], dim=1)
        return chan * torch.sigmoid(self.time_conv(pooled))


def _gaussian_blur(x: torch.Tensor, sigma: float = 1.0, size: int = 5) -> torch.Tensor:
    """Blur each channel along time with a normalised Gaussian (reflect padding)."""
    half = size // 2
    t = torch.arange(-half, half + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = (kernel / kernel.sum()).view(1, 1, -1).expand(x.shape[1], 1, -1)
    mode = "reflect" if x.shape[-1] > half else "replicate"
    return F.conv1d(F.pad(x, (half, half), mode=mode), kernel, groups=x.shape[1])


def _entropy(x: torch.Tensor, dim: int) -> torch.Tensor:
    logp = torch.log_softmax(x, dim=dim)
    return -(logp.exp() * logp).sum(dim=dim)


def _minmax(x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    lo, hi = x.amin(dim=dims, keepdim=True), x.amax(dim=dims, keepdim=True)
    return (x - lo) / (hi - lo + _EPS)


@fill_doc
@register_attention("catlite", kind="channel", paper="Wimpff et al. 2024 (CAT without conv)")
class CATLite(ChannelAttention):
    """Collaborative attention, channel part only: average, max and entropy pooling.

    Three descriptors per channel (global average, global max of the blurred map,
    min-max normalised entropy of the softmax over time) go through one shared MLP and
    are mixed by learned coefficients before a sigmoid.

    Parameters
    ----------
    %(in_channels)s
    %(channel_reduction)s

    Notes
    -----
    %(channel_gate_notes)s
    """

    def __init__(self, in_channels: int, reduction: int = 4) -> None:
        super().__init__(in_channels)
        self.mlp = _mlp(in_channels, _hidden(in_channels, reduction), in_channels)
        self.channel_mix = nn.Parameter(torch.zeros(3))

    def channel_gate(self, x: torch.Tensor, blurred: torch.Tensor) -> torch.Tensor:
        descriptors = (x.mean(dim=-1), blurred.amax(dim=-1),
                       _minmax(_entropy(x, dim=-1), (1,)))
        return torch.sigmoid(sum(a * self.mlp(d) for a, d in zip(self.channel_mix,
                                                                   descriptors)))

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        return self.channel_gate(x, _gaussian_blur(x))


@fill_doc
@register_attention("cat", kind="channel", paper="Wu et al. 2023 (IET Computer Vision)")
class CAT(CATLite):
    """Collaborative channel and temporal attention with learned fusion weights (CAT).

    The channel gate of :class:`CATLite` and a temporal gate (average, blurred max
    and entropy over channels, per time point, then a per-channel temporal
    convolution) are combined by softmax-normalised learned weights.

    Parameters
    ----------
    %(in_channels)s
    %(channel_reduction)s
    %(channel_kernel_size)s

    Notes
    -----
    %(channel_time_gate_notes)s
    """

    def __init__(self, in_channels: int, reduction: int = 4, kernel_size: int = 9) -> None:
        super().__init__(in_channels, reduction)
        self.time_mix = nn.Parameter(torch.zeros(3))
        self.fusion = nn.Parameter(torch.zeros(2))
        self.time_conv = nn.Conv1d(1, in_channels, _odd(kernel_size), padding=kernel_size // 2,
                                   bias=False)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        blurred = _gaussian_blur(x)
        chan = self.channel_gate(x, blurred).unsqueeze(-1)
        descriptors = (-x.mean(dim=1, keepdim=True), blurred.amax(dim=1, keepdim=True),
                       _minmax(_entropy(x, dim=1).unsqueeze(1), (1, 2)))
        time = torch.sigmoid(self.time_conv(sum(a * d for a, d in zip(self.time_mix,
                                                                      descriptors))))
        w = torch.softmax(self.fusion, dim=0)
        return w[0] * chan + w[1] * time


@fill_doc
@register_attention("coordinate", kind="channel", paper="Hou et al. 2021 (CVPR)")
class CoordinateAttention(ChannelAttention):
    """Coordinate attention for 1-D maps: a channel gate and a position-wise gate.

    The global average (the "height" direction collapsed) and every time position (the
    "width" direction) share one 1x1 bottleneck transform; two 1x1 projections turn
    them into a per-channel gate and a per-channel, per-time gate, which multiply.

    Parameters
    ----------
    %(in_channels)s
    reduction : int
        Bottleneck ratio of the shared transform (hidden width at least 8, as in the
        paper, capped at ``in_channels``).

    Notes
    -----
    %(channel_time_gate_notes)s
    """

    def __init__(self, in_channels: int, reduction: int = 4) -> None:
        super().__init__(in_channels)
        hidden = min(in_channels, max(8, _hidden(in_channels, reduction)))
        self.shared = nn.Sequential(nn.Conv1d(in_channels, hidden, 1), nn.BatchNorm1d(hidden),
                                    nn.Hardswish())
        self.to_channel = nn.Conv1d(hidden, in_channels, 1)
        self.to_time = nn.Conv1d(hidden, in_channels, 1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        z = self.shared(torch.cat([x.mean(dim=-1, keepdim=True), x], dim=-1))
        return torch.sigmoid(self.to_channel(z[..., :1])) * torch.sigmoid(
            self.to_time(z[..., 1:]))


@fill_doc
@register_attention("ela", kind="channel", paper="Xu & Wan 2024 (ELA)")
class ELA(ChannelAttention):
    """Efficient local attention for 1-D maps: depthwise conv + group norm strip gates.

    The time strip (each channel's sequence) and the channel strip (each channel's
    average) go through one depthwise 1-D convolution and group normalisation; their
    sigmoids multiply. No channel reduction, so no information is squeezed away.

    Parameters
    ----------
    %(in_channels)s
    kernel_size : int
        Odd kernel of the depthwise convolution along time.
    n_groups : int
        Groups of the group normalisation (reduced to a divisor of ``in_channels``).

    Notes
    -----
    %(channel_time_gate_notes)s
    """

    def __init__(self, in_channels: int, kernel_size: int = 7, n_groups: int = 16) -> None:
        super().__init__(in_channels)
        groups = math.gcd(in_channels, max(1, n_groups))
        self.conv = nn.Conv1d(in_channels, in_channels, _odd(kernel_size),
                              padding=kernel_size // 2, groups=in_channels, bias=False)
        self.norm = nn.GroupNorm(groups, in_channels)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        time = torch.sigmoid(self.norm(self.conv(x)))
        chan = torch.sigmoid(self.norm(self.conv(x.mean(dim=-1, keepdim=True))))
        return chan * time


@fill_doc
@register_attention("ulsam", kind="channel", paper="Saini et al. 2020 (WACV)")
class ULSAM(ChannelAttention):
    """Ultra-lightweight subspace attention: one temporal attention map per channel group.

    Channels are split into ``n_groups`` subspaces; each gets a depthwise 1x1 conv, a
    max pool (3, stride 1), a pointwise conv to one map and a softmax over time; the
    subspace is refined as ``x + x * map``.

    Parameters
    ----------
    in_channels : int
        Input channels (a multiple of ``n_groups``).
    n_groups : int
        Number of subspaces.

    Notes
    -----
    %(channel_time_gate_notes)s The recorded weights are the effective multiplier
    ``1 + map``.
    """

    def __init__(self, in_channels: int, n_groups: int = 4) -> None:
        super().__init__(in_channels)
        if n_groups < 1 or in_channels % n_groups:
            raise ValueError(f"in_channels ({in_channels}) must be a multiple of n_groups "
                             f"({n_groups}).")
        self.n_groups = n_groups
        self.depthwise = nn.Conv1d(in_channels, in_channels, 1, groups=in_channels)
        self.pointwise = nn.Conv1d(in_channels, n_groups, 1, groups=n_groups)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        z = F.max_pool1d(self.depthwise(x), 3, stride=1, padding=1)
        maps = torch.softmax(self.pointwise(z), dim=-1)  # (b, groups, t)
        return 1.0 + maps.repeat_interleave(self.in_channels // self.n_groups, dim=1)
