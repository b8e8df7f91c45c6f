"""Channel-attention blocks: drop-in modules that re-weight feature channels (or electrodes).

Every block maps ``(batch, in_channels, time)`` to the same shape (a 4-D
``(batch, in_channels, height, time)`` input is accepted too: height and time are
flattened into one axis of positions and restored afterwards). Each is registered with
``kind="channel"`` so that any model reaches it by name, and each records the weights
it multiplies the input with (:class:`~neuroattn.nn.RecordsAttention`): ``(batch,
in_channels)`` for pure channel gates, ``(batch, in_channels, time)`` for blocks that
gate time as well (CBAM, CAT, coordinate attention, ELA, ULSAM).
:func:`channel_weights` reduces either to ``(batch, in_channels)``.

The mechanisms are the ones compared by Wimpff et al. (J. Neural Eng. 2024) plus
coordinate attention, efficient local attention, ULSAM and a gated descriptor, all
written for 1-D EEG feature maps.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._registry import RecordsAttention, register_attention

__all__ = [
    "ChannelAttention", "SqueezeExcitation", "SqueezeExcitationL2", "GSoP", "FCA", "EncNet",
    "ECA", "GatherExcite", "GatherExciteTheta", "GatherExciteThetaPlus", "GCT", "SRM",
    "SRMCross", "CBAM", "CAT", "CATLite", "CoordinateAttention", "ELA", "ULSAM",
    "GatedChannelAttention", "channel_weights",
]

_EPS = 1e-5


def channel_weights(weights: torch.Tensor) -> torch.Tensor:
    """Reduce recorded weights to one value per channel.

    Parameters
    ----------
    weights : torch.Tensor
        ``(batch, in_channels)`` or ``(batch, in_channels, time)`` as recorded by a
        channel block.

    Returns
    -------
    torch.Tensor
        ``(batch, in_channels)``: time-gated weights are averaged over time.

    Raises
    ------
    ValueError
        If ``weights`` has fewer than 2 or more than 3 dimensions.
    """
    if weights.ndim == 2:
        return weights
    if weights.ndim == 3:
        return weights.mean(dim=-1)
    raise ValueError("Channel weights must be (batch, in_channels) or (batch, in_channels, "
                     f"time), got shape {tuple(weights.shape)}.")


def _hidden(in_channels: int, reduction: int) -> int:
    if reduction < 1:
        raise ValueError(f"reduction must be a positive integer, got {reduction}.")
    return max(1, in_channels // reduction)


def _mlp(n_in: int, n_hidden: int, n_out: int, bias: bool = True) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_hidden, bias=bias), nn.ReLU(),
                         nn.Linear(n_hidden, n_out, bias=bias))


def _odd(kernel_size: int, what: str = "kernel_size") -> int:
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"{what} must be a positive odd integer (same padding), "
                         f"got {kernel_size}.")
    return kernel_size


class ChannelAttention(RecordsAttention, nn.Module):
    """Base of the channel blocks: shape checks, 4-D handling and weight recording.

    Subclasses implement :meth:`gate`, returning the multiplicative weights
    ``(batch, in_channels)`` or ``(batch, in_channels, time)`` for an input
    ``(batch, in_channels, time)``; :meth:`forward` applies and records them. Blocks
    whose output is not a plain product (ULSAM) override :meth:`apply_gate`.

    Parameters
    ----------
    in_channels : int
        Number of channels of the input (feature maps, or electrodes when the block
        sits on the raw signal).
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        if int(in_channels) != in_channels or in_channels < 1:
            raise ValueError(f"in_channels must be a positive integer, got {in_channels!r}.")
        self.in_channels = int(in_channels)

    def gate(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply_gate(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return x * (weights.unsqueeze(-1) if weights.ndim == 2 else weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Re-weight ``x`` ``(batch, in_channels, time)`` (or 4-D); same shape out."""
        if x.ndim not in (3, 4) or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects (batch, {self.in_channels}, time) "
                             f"or (batch, {self.in_channels}, height, time) inputs, got "
                             f"shape {tuple(x.shape)}.")
        shape = x.shape
        flat = x.flatten(2) if x.ndim == 4 else x
        weights = self.gate(flat)
        self._record(weights)
        return self.apply_gate(flat, weights).reshape(shape)


# ----------------------------------------------------------------- squeeze variants
@register_attention("se", kind="channel", paper="Hu et al. 2018 (CVPR)")
class SqueezeExcitation(ChannelAttention):
    """Squeeze-and-excitation: average over time, bottleneck MLP, sigmoid gate.

    Parameters
    ----------
    in_channels : int
        Input channels.
    reduction : int
        Bottleneck ratio of the excitation MLP (hidden width ``in_channels //
        reduction``, at least 1).
    bias : bool
        Biases in the MLP.

    Notes
    -----
    Weights ``(batch, in_channels)`` in ``last_attention`` when recorded.
    """

    def __init__(self, in_channels: int, reduction: int = 4, *, bias: bool = False) -> None:
        super().__init__(in_channels)
        self.excite = _mlp(in_channels, _hidden(in_channels, reduction), in_channels, bias)

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=-1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.excite(self.squeeze(x)))


@register_attention("se_l2", kind="channel", paper="Wimpff et al. 2024 (SE, l2 pooling)")
class SqueezeExcitationL2(SqueezeExcitation):
    """Squeeze-and-excitation whose squeeze is the root mean square (l2 pooling).

    The RMS over time is a power descriptor, which suits oscillatory EEG features whose
    mean is near zero. Parameters and weights as in :class:`SqueezeExcitation`.
    """

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        return (x.square().mean(dim=-1) + _EPS).sqrt()


@register_attention("gsop", kind="channel", paper="Gao et al. 2019 (CVPR)")
class GSoP(ChannelAttention):
    """Global second-order pooling: channel covariance, row-wise conv, sigmoid gate.

    Channels are reduced by a 1x1 projection, their covariance over time is
    normalised, each covariance row is summarised by a row-wise (grouped) convolution,
    and a 1x1 projection back to ``in_channels`` gives the gate.

    Parameters
    ----------
    in_channels : int
        Input channels.
    reduction : int
        Ratio of the channel reduction before the covariance.

    Notes
    -----
    Weights ``(batch, in_channels)``.
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


@register_attention("fca", kind="channel", paper="Qin et al. 2021 (ICCV, FcaNet)")
class FCA(SqueezeExcitation):
    """Frequency channel attention: DCT coefficients as the squeeze, then SE excitation.

    Channel ``c`` is summarised by its DCT-II coefficient of index
    ``freq_indices[c % len(freq_indices)]`` over time (index 0 is the average, so
    ``freq_indices=(0,)`` reduces to SE). The DCT basis is built for the length of the
    input, so no sequence length is needed at construction.

    Parameters
    ----------
    in_channels : int
        Input channels.
    reduction : int
        Bottleneck ratio of the excitation MLP.
    freq_indices : tuple of int
        DCT frequency indices shared out over the channels (each >= 0).

    Notes
    -----
    Weights ``(batch, in_channels)``.
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
    Weights ``(batch, in_channels)``.
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


# -------------------------------------------------------------- excitation variants
@register_attention("eca", kind="channel", paper="Wang et al. 2020 (CVPR, ECA-Net)")
class ECA(ChannelAttention):
    """Efficient channel attention: a 1-D convolution across the pooled channels.

    Parameters
    ----------
    in_channels : int
        Input channels.
    kernel_size : int | None
        Odd kernel of the cross-channel convolution; None picks it from
        ``in_channels`` as in the paper (``|log2(C) / 2 + 1 / 2|`` rounded to odd).

    Notes
    -----
    Weights ``(batch, in_channels)``.
    """

    def __init__(self, in_channels: int, kernel_size: int | None = None) -> None:
        super().__init__(in_channels)
        if kernel_size is None:
            k = int(abs(math.log2(in_channels) / 2 + 0.5))
            kernel_size = k if k % 2 else k + 1
        self.conv = nn.Conv1d(1, 1, _odd(kernel_size), padding=kernel_size // 2, bias=False)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(x.mean(dim=-1).unsqueeze(1)).squeeze(1))


@register_attention("ge", kind="channel", paper="Hu et al. 2018 (NeurIPS, GE-theta-minus)")
class GatherExcite(ChannelAttention):
    """Gather-excite without parameters (GE-θ⁻): sigmoid of the global average.

    Parameters
    ----------
    in_channels : int
        Input channels.

    Notes
    -----
    Weights ``(batch, in_channels)``.
    """

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=-1)

    def excite(self, g: torch.Tensor) -> torch.Tensor:
        return g

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.excite(self.gather(x)))


@register_attention("ge_theta", kind="channel", paper="Hu et al. 2018 (NeurIPS, GE-theta)")
class GatherExciteTheta(GatherExcite):
    """Gather-excite with a learned gather (GE-θ): depthwise weights over all positions.

    Parameters
    ----------
    in_channels : int
        Input channels.
    seq_len : int
        Length of the time axis the block will see (the gather spans all of it).

    Notes
    -----
    Weights ``(batch, in_channels)``.
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


@register_attention("ge_theta_plus", kind="channel",
                    paper="Hu et al. 2018 (NeurIPS, GE-theta-plus)")
class GatherExciteThetaPlus(GatherExciteTheta):
    """Gather-excite with a learned gather and an MLP excitation (GE-θ⁺).

    Parameters
    ----------
    in_channels : int
        Input channels.
    seq_len : int
        Length of the time axis the block will see.
    reduction : int
        Bottleneck ratio of the excitation MLP.

    Notes
    -----
    Weights ``(batch, in_channels)``.
    """

    def __init__(self, in_channels: int, seq_len: int | None = None,
                 reduction: int = 4) -> None:
        super().__init__(in_channels, seq_len)
        self.mlp = _mlp(in_channels, _hidden(in_channels, reduction), in_channels, bias=False)

    def excite(self, g: torch.Tensor) -> torch.Tensor:
        return self.mlp(g)


@register_attention("gct", kind="channel", paper="Yang et al. 2020 (CVPR)")
class GCT(ChannelAttention):
    """Gated channel transformation: l2 embedding, channel normalisation, tanh gate.

    The gate ``1 + tanh(gamma * s_c + beta)`` starts at identity (gamma, beta = 0).

    Parameters
    ----------
    in_channels : int
        Input channels.

    Notes
    -----
    Weights ``(batch, in_channels)``, in (0, 2).
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


@register_attention("srm", kind="channel", paper="Lee et al. 2019 (ICCV)")
class SRM(ChannelAttention):
    """Style-based recalibration: per-channel mean and std, channel-wise fusion, BN, sigmoid.

    Parameters
    ----------
    in_channels : int
        Input channels.

    Notes
    -----
    Weights ``(batch, in_channels)``. The style (mean, std) of each channel is fused by
    its own two weights; :class:`SRMCross` mixes styles across channels.
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


@register_attention("srm_cross", kind="channel", paper="Lee et al. 2019 (ICCV, MLP fusion)")
class SRMCross(SRM):
    """Style-based recalibration whose fusion is an MLP across all channels' styles.

    Parameters
    ----------
    in_channels : int
        Input channels.
    reduction : int
        Bottleneck ratio of the fusion MLP.

    Notes
    -----
    Weights ``(batch, in_channels)``.
    """

    def __init__(self, in_channels: int, reduction: int = 4) -> None:
        super().__init__(in_channels)
        del self.fuse
        self.cross = _mlp(2 * in_channels, _hidden(2 * in_channels, reduction), in_channels,
                          bias=False)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.norm(self.cross(self.style(x).flatten(1))))


# ---------------------------------------------------------- channel + time attention
@register_attention("cbam", kind="channel", paper="Woo et al. 2018 (ECCV)")
class CBAM(ChannelAttention):
    """Convolutional block attention: a channel gate (avg + max) then a temporal gate.

    Parameters
    ----------
    in_channels : int
        Input channels.
    reduction : int
        Bottleneck ratio of the shared channel MLP.
    kernel_size : int
        Odd kernel of the temporal convolution over the channel-pooled maps.

    Notes
    -----
    Weights ``(batch, in_channels, time)``: channel gate times temporal gate.
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


@register_attention("catlite", kind="channel", paper="Wimpff et al. 2024 (CAT without conv)")
class CATLite(ChannelAttention):
    """Collaborative attention, channel part only: average, max and entropy pooling.

    Three descriptors per channel (global average, global max of the blurred map,
    min-max normalised entropy of the softmax over time) go through one shared MLP and
    are mixed by learned coefficients before a sigmoid.

    Parameters
    ----------
    in_channels : int
        Input channels.
    reduction : int
        Bottleneck ratio of the shared MLP.

    Notes
    -----
    Weights ``(batch, in_channels)``.
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


@register_attention("cat", kind="channel", paper="Wu et al. 2023 (IET Computer Vision)")
class CAT(CATLite):
    """Collaborative channel and temporal attention with learned fusion weights (CAT).

    The channel gate of :class:`CATLite` and a temporal gate (average, blurred max
    and entropy over channels, per time point, then a per-channel temporal
    convolution) are combined by softmax-normalised learned weights.

    Parameters
    ----------
    in_channels : int
        Input channels.
    reduction : int
        Bottleneck ratio of the channel MLP.
    kernel_size : int
        Odd kernel of the temporal convolution.

    Notes
    -----
    Weights ``(batch, in_channels, time)``.
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


@register_attention("coordinate", kind="channel", paper="Hou et al. 2021 (CVPR)")
class CoordinateAttention(ChannelAttention):
    """Coordinate attention for 1-D maps: a channel gate and a position-wise gate.

    The global average (the "height" direction collapsed) and every time position (the
    "width" direction) share one 1x1 bottleneck transform; two 1x1 projections turn
    them into a per-channel gate and a per-channel, per-time gate, which multiply.

    Parameters
    ----------
    in_channels : int
        Input channels.
    reduction : int
        Bottleneck ratio of the shared transform (hidden width at least 8, as in the
        paper, capped at ``in_channels``).

    Notes
    -----
    Weights ``(batch, in_channels, time)``.
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


@register_attention("ela", kind="channel", paper="Xu & Wan 2024 (ELA)")
class ELA(ChannelAttention):
    """Efficient local attention for 1-D maps: depthwise conv + group norm strip gates.

    The time strip (each channel's sequence) and the channel strip (each channel's
    average) go through one depthwise 1-D convolution and group normalisation; their
    sigmoids multiply. No channel reduction, so no information is squeezed away.

    Parameters
    ----------
    in_channels : int
        Input channels.
    kernel_size : int
        Odd kernel of the depthwise convolution along time.
    n_groups : int
        Groups of the group normalisation (reduced to a divisor of ``in_channels``).

    Notes
    -----
    Weights ``(batch, in_channels, time)``.
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
    Weights ``(batch, in_channels, time)``: the effective multiplier ``1 + map``.
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
    in_channels : int
        Input channels.
    mix : bool
        Let every channel's gate read every channel's descriptor.

    Notes
    -----
    Weights ``(batch, in_channels)``.
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
