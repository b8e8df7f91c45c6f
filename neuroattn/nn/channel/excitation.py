"""Excitation variants: pure channel gates from light descriptors (ECA, gather-excite, GCT,
SRM, the gated descriptor)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..._docs import fill_doc
from .._registry import register_attention
from ._base import _EPS, ChannelAttention, _hidden, _mlp, _odd

__all__ = ["ECA", "GatherExcite", "GatherExciteTheta", "GatherExciteThetaPlus", "GCT", "SRM",
           "SRMCross", "GatedChannelAttention"]


@fill_doc
@register_attention("eca", kind="channel", paper="Wang et al. 2020 (CVPR, ECA-Net)")
class ECA(ChannelAttention):
    """Efficient channel attention: a 1-D convolution across the pooled channels.

    Parameters
    ----------
    %(in_channels)s
    kernel_size : int | None
        Odd kernel of the cross-channel convolution; None picks it from
        ``in_channels`` as in the paper (``|log2(C) / 2 + 1 / 2|`` rounded to odd).

    Notes
    -----
    %(channel_gate_notes)s
    """

    def __init__(self, in_channels: int, kernel_size: int | None = None) -> None:
        super().__init__(in_channels)
        if kernel_size is None:
            k = int(abs(math.log2(in_channels) / 2 + 0.5))
            kernel_size = k if k % 2 else k + 1
        self.conv = nn.Conv1d(1, 1, _odd(kernel_size), padding=kernel_size // 2, bias=False)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(x.mean(dim=-1).unsqueeze(1)).squeeze(1))


@fill_doc
@register_attention("ge", kind="channel", paper="Hu et al. 2018 (NeurIPS, GE-theta-minus)")
class GatherExcite(ChannelAttention):
    """Gather-excite without parameters (GE-θ⁻): sigmoid of the global average.

    Parameters
    ----------
    %(in_channels)s

    Notes
    -----
    %(channel_gate_notes)s
    """

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=-1)

    def excite(self, g: torch.Tensor) -> torch.Tensor:
        return g

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.excite(self.gather(x)))


@fill_doc
@register_attention("ge_theta", kind="channel", paper="Hu et al. 2018 (NeurIPS, GE-theta)")
class GatherExciteTheta(GatherExcite):
    """Gather-excite with a learned gather (GE-θ): depthwise weights over all positions.

    Parameters
    ----------
    %(in_channels)s
    %(seq_len)s

    Notes
    -----
    %(channel_gate_notes)s
    """

    def __init__(self, in_channels: int, seq_len: int | None = None) -> None:
        super().__init__(in_channels)
        if seq_len is None or seq_len < 1:
            raise ValueError(f"{type(self).__name__} gathers over the whole time axis and "
                             f"needs seq_len (a positive int), got {seq_len!r}.")
        self.seq_len = int(seq_len)
        self.gather_conv = nn.Conv1d(in_channels, in_channels, self.seq_len,
                                     groups=in_channels, bias=False)
        self.gather_norm = nn.BatchNorm1d(in_channels)

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.seq_len:
            raise ValueError(f"{type(self).__name__} was built for seq_len={self.seq_len}, "
                             f"got {x.shape[-1]} time points.")
        return self.gather_norm(self.gather_conv(x)).squeeze(-1)


@fill_doc
@register_attention("ge_theta_plus", kind="channel",
                    paper="Hu et al. 2018 (NeurIPS, GE-theta-plus)")
class GatherExciteThetaPlus(GatherExciteTheta):
    """Gather-excite with a learned gather and an MLP excitation (GE-θ⁺).

    Parameters
    ----------
    %(in_channels)s
    %(seq_len)s
    %(channel_reduction)s

    Notes
    -----
    %(channel_gate_notes)s
    """

    def __init__(self, in_channels: int, seq_len: int | None = None,
                 reduction: int = 4) -> None:
        super().__init__(in_channels, seq_len)
        self.mlp = _mlp(in_channels, _hidden(in_channels, reduction), in_channels, bias=False)

    def excite(self, g: torch.Tensor) -> torch.Tensor:
        return self.mlp(g)


@fill_doc
@register_attention("gct", kind="channel", paper="Yang et al. 2020 (CVPR)")
class GCT(ChannelAttention):
    """Gated channel transformation: l2 embedding, channel normalisation, tanh gate.

    The gate ``1 + tanh(gamma * s_c + beta)`` starts at identity (gamma, beta = 0).

    Parameters
    ----------
    %(in_channels)s

    Notes
    -----
    %(channel_gate_notes)s Gates lie in (0, 2).
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__(in_channels)
        self.alpha = nn.Parameter(torch.ones(in_channels))
        self.gamma = nn.Parameter(torch.zeros(in_channels))
        self.beta = nn.Parameter(torch.zeros(in_channels))

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        embed = self.alpha * (x.square().sum(dim=-1) + _EPS).sqrt()
        normed = embed * math.sqrt(self.in_channels) / (
            embed.square().sum(dim=1, keepdim=True) + _EPS).sqrt()
        return 1.0 + torch.tanh(self.gamma * normed + self.beta)


@fill_doc
@register_attention("srm", kind="channel", paper="Lee et al. 2019 (ICCV)")
class SRM(ChannelAttention):
    """Style-based recalibration: per-channel mean and std, channel-wise fusion, BN, sigmoid.

    Parameters
    ----------
    %(in_channels)s

    Notes
    -----
    %(channel_gate_notes)s The style (mean, std) of each channel is fused by its own
    two weights; :class:`SRMCross` mixes styles across channels.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__(in_channels)
        self.fuse = nn.Conv1d(in_channels, in_channels, 2, groups=in_channels, bias=False)
        self.norm = nn.BatchNorm1d(in_channels)

    def style(self, x: torch.Tensor) -> torch.Tensor:
        std = (x.var(dim=-1, unbiased=False) + _EPS).sqrt() if x.shape[-1] > 1 else \
            torch.zeros_like(x[..., 0])
        return torch.stack([x.mean(dim=-1), std], dim=-1)  # (b, c, 2)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.norm(self.fuse(self.style(x))).squeeze(-1))


@fill_doc
@register_attention("srm_cross", kind="channel", paper="Lee et al. 2019 (ICCV, MLP fusion)")
class SRMCross(SRM):
    """Style-based recalibration whose fusion is an MLP across all channels' styles.

    Parameters
    ----------
    %(in_channels)s
    reduction : int
        Bottleneck ratio of the fusion MLP.

    Notes
    -----
    %(channel_gate_notes)s
    """

    def __init__(self, in_channels: int, reduction: int = 4) -> None:
        super().__init__(in_channels)
        del self.fuse
        self.cross = _mlp(2 * in_channels, _hidden(2 * in_channels, reduction), in_channels,
                          bias=False)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.norm(self.cross(self.style(x).flatten(1))))


@fill_doc
@register_attention("gated", kind="channel", paper="sigmoid gate on the channel descriptor")
class GatedChannelAttention(ChannelAttention):
    """A sigmoid gate on each channel's (mean, log-power) descriptor.

    ``gate_c = sigmoid(a_c . norm([mean_c, log(mean square_c)]) + b_c)``: each
    channel's gate reads its own descriptor (``mix=False``, the default, so that a
    weight can be read as "this channel matters"), or all channels' descriptors
    through a full linear map (``mix=True``). The log-power term makes it informative
    on raw EEG (zero-mean oscillations) as well as on rectified feature maps. The gate
    starts at 0.5 everywhere (zero-initialised weights), so any structure in it was
    learned.

    Parameters
    ----------
    %(in_channels)s
    mix : bool
        Let every channel's gate read every channel's descriptor.

    Notes
    -----
    %(channel_gate_notes)s
    """

    def __init__(self, in_channels: int, mix: bool = False) -> None:
        super().__init__(in_channels)
        self.mix = mix
        self.norm = nn.BatchNorm1d(2 * in_channels)
        if mix:
            self.proj = nn.Linear(2 * in_channels, in_channels)
        else:
            self.proj = nn.Conv1d(in_channels, in_channels, 2, groups=in_channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        desc = torch.stack([x.mean(dim=-1), torch.log(x.square().mean(dim=-1) + _EPS)], -1)
        desc = self.norm(desc.flatten(1))
        if self.mix:
            return torch.sigmoid(self.proj(desc))
        return torch.sigmoid(self.proj(desc.view(-1, self.in_channels, 2)).squeeze(-1))
