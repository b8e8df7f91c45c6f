"""Shared base of the channel-attention blocks: shape checks, 4-D inputs, weight recording."""

from __future__ import annotations

import torch
from torch import nn

from ..._docs import fill_doc
from .._registry import RecordsAttention

__all__ = ["ChannelAttention", "channel_weights"]

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


@fill_doc
class ChannelAttention(RecordsAttention, nn.Module):
    """Base of the channel blocks: shape checks, 4-D handling and weight recording.

    Subclasses implement :meth:`gate`, returning the multiplicative weights
    ``(batch, in_channels)`` or ``(batch, in_channels, time)`` for an input
    ``(batch, in_channels, time)``; :meth:`forward` applies and records them. Blocks
    whose output is not a plain product (ULSAM) override :meth:`apply_gate`.

    Parameters
    ----------
    %(in_channels)s

    Raises
    ------
    ValueError
        If ``in_channels`` is not a positive integer.
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
