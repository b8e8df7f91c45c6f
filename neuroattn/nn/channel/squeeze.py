"""Squeeze variants: a descriptor per channel (mean, RMS, DCT, covariance, codewords), then
an excitation that turns it into a gate."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..._docs import fill_doc
from .._registry import register_attention
from ._base import _EPS, ChannelAttention, _hidden, _mlp

__all__ = ["SqueezeExcitation", "SqueezeExcitationL2", "GSoP", "FCA", "EncNet"]


@fill_doc
@register_attention("se", kind="channel", paper="Hu et al. 2018 (CVPR)")
class SqueezeExcitation(ChannelAttention):
    """Squeeze-and-excitation: average over time, bottleneck MLP, sigmoid gate.

    Parameters
    ----------
    %(in_channels)s
    %(channel_reduction)s
    bias : bool
        Biases in the MLP.

    Notes
    -----
    %(channel_gate_notes)s
    """

    def __init__(self, in_channels: int, reduction: int = 4, *, bias: bool = False) -> None:
        super().__init__(in_channels)
        self.excite = _mlp(in_channels, _hidden(in_channels, reduction), in_channels, bias)

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=-1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.excite(self.squeeze(x)))


@fill_doc
@register_attention("se_l2", kind="channel", paper="Wimpff et al. 2024 (SE, l2 pooling)")
class SqueezeExcitationL2(SqueezeExcitation):
    """Squeeze-and-excitation whose squeeze is the root mean square (l2 pooling).

    The RMS over time is a power descriptor, which suits oscillatory EEG features whose
    mean is near zero. Parameters and weights as in :class:`SqueezeExcitation`.
    """

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        return (x.square().mean(dim=-1) + _EPS).sqrt()


@fill_doc
@register_attention("gsop", kind="channel", paper="Gao et al. 2019 (CVPR)")
class GSoP(ChannelAttention):
    """Global second-order pooling: channel covariance, row-wise conv, sigmoid gate.

    Channels are reduced by a 1x1 projection, their covariance over time is
    normalised, each covariance row is summarised by a row-wise (grouped) convolution,
    and a 1x1 projection back to ``in_channels`` gives the gate.

    Parameters
    ----------
    %(in_channels)s
    reduction : int
        Ratio of the channel reduction before the covariance.

    Notes
    -----
    %(channel_gate_notes)s
    """

    def __init__(self, in_channels: int, reduction: int = 4) -> None:
        super().__init__(in_channels)
        hidden = _hidden(in_channels, reduction)
        self.reduce = nn.Conv1d(in_channels, hidden, 1)
        self.norm = nn.BatchNorm1d(hidden)
        self.row_conv = nn.Conv1d(hidden, 4 * hidden, hidden, groups=hidden)
        self.expand = nn.Linear(4 * hidden, in_channels)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        z = self.reduce(x)
        z = z - z.mean(dim=-1, keepdim=True)
        cov = z @ z.transpose(1, 2) / max(1, z.shape[-1] - 1)  # (b, hidden, hidden)
        rows = F.leaky_relu(self.row_conv(self.norm(cov)).squeeze(-1), 0.1)
        return torch.sigmoid(self.expand(rows))


@fill_doc
@register_attention("fca", kind="channel", paper="Qin et al. 2021 (ICCV, FcaNet)")
class FCA(SqueezeExcitation):
    """Frequency channel attention: DCT coefficients as the squeeze, then SE excitation.

    Channel ``c`` is summarised by its DCT-II coefficient of index
    ``freq_indices[c %% len(freq_indices)]`` over time (index 0 is the average, so
    ``freq_indices=(0,)`` reduces to SE). The DCT basis is built for the length of the
    input, so no sequence length is needed at construction.

    Parameters
    ----------
    %(in_channels)s
    %(channel_reduction)s
    freq_indices : tuple of int
        DCT frequency indices shared out over the channels (each >= 0).

    Notes
    -----
    %(channel_gate_notes)s
    """

    def __init__(self, in_channels: int, reduction: int = 4, *,
                 freq_indices: tuple[int, ...] = (0, 1, 2, 3)) -> None:
        super().__init__(in_channels, reduction)
        if not freq_indices or min(freq_indices) < 0:
            raise ValueError(f"freq_indices must be non-empty and >= 0, got {freq_indices}.")
        freqs = torch.tensor([freq_indices[c % len(freq_indices)] for c in range(in_channels)],
                             dtype=torch.float32)
        self.register_buffer("freqs", freqs, persistent=False)

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        t = (torch.arange(n, device=x.device, dtype=x.dtype) + 0.5) / n
        basis = torch.cos(math.pi * self.freqs.to(x.dtype)[:, None] * t[None])
        basis = basis * torch.where(self.freqs[:, None] == 0, 1.0, math.sqrt(2.0)).to(x.dtype)
        return (x * basis).sum(dim=-1) / math.sqrt(n)


@fill_doc
@register_attention("encnet", kind="channel", paper="Zhang et al. 2018 (CVPR, EncNet)")
class EncNet(ChannelAttention):
    """Context encoding: soft-assign time points to learned codewords, gate from residuals.

    Parameters
    ----------
    in_channels : int
        Input channels (the codeword width).
    n_codewords : int
        Number of learned codewords.

    Notes
    -----
    %(channel_gate_notes)s
    """

    def __init__(self, in_channels: int, n_codewords: int = 4) -> None:
        super().__init__(in_channels)
        if n_codewords < 1:
            raise ValueError(f"n_codewords must be >= 1, got {n_codewords}.")
        bound = 1.0 / math.sqrt(n_codewords * in_channels)
        self.codewords = nn.Parameter(torch.empty(n_codewords, in_channels).uniform_(-bound,
                                                                                     bound))
        self.smoothing = nn.Parameter(torch.empty(n_codewords).uniform_(-1.0, 0.0))
        self.norm = nn.BatchNorm1d(n_codewords)
        self.fc = nn.Linear(in_channels, in_channels)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        resid = x.transpose(1, 2)[:, :, None, :] - self.codewords  # (b, t, k, c)
        assign = torch.softmax(self.smoothing * resid.square().sum(-1), dim=-1)  # (b, t, k)
        encoded = (assign.unsqueeze(-1) * resid).sum(dim=1)  # (b, k, c)
        summary = F.relu(self.norm(encoded)).mean(dim=1)
        return torch.sigmoid(self.fc(summary))
