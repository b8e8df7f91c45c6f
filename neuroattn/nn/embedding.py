"""Patch and positional embeddings for signals and feature maps."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["PatchEmbed1d", "ChannelPatchEmbed", "SinusoidalPositionalEmbedding",
           "LearnedPositionalEmbedding"]


class PatchEmbed1d(nn.Module):
    """Cut a multichannel signal into non-overlapping time patches and embed them.

    Parameters
    ----------
    n_chans : int
        Input channels (electrodes or regions).
    embed_dim : int
        Token width.
    patch_size : int
        Samples per patch (also the stride). Trailing samples that do not fill a patch
        are dropped.

    Notes
    -----
    Input ``(batch, n_chans, n_times)``; output ``(batch, n_times // patch_size,
    embed_dim)``: each token mixes all channels of one patch.
    """

    def __init__(self, n_chans: int, embed_dim: int, patch_size: int) -> None:
        super().__init__()
        if patch_size < 1:
            raise ValueError(f"patch_size must be >= 1, got {patch_size}.")
        self.patch_size = patch_size
        self.proj = nn.Conv1d(n_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] < self.patch_size:
            raise ValueError(f"Signal of {x.shape[-1]} samples is shorter than one patch "
                             f"({self.patch_size} samples).")
        return self.proj(x).transpose(1, 2)


class ChannelPatchEmbed(nn.Module):
    """Embed time patches of every channel separately (shared weights across channels).

    Parameters
    ----------
    embed_dim : int
        Token width.
    patch_size : int
        Samples per patch (also the stride).

    Notes
    -----
    Input ``(batch, n_chans, n_times)``; output ``(batch, n_chans, n_patches,
    embed_dim)`` with ``n_patches = n_times // patch_size``.
    """

    def __init__(self, embed_dim: int, patch_size: int) -> None:
        super().__init__()
        if patch_size < 1:
            raise ValueError(f"patch_size must be >= 1, got {patch_size}.")
        self.patch_size = patch_size
        self.proj = nn.Linear(patch_size, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        n = t // self.patch_size
        if n == 0:
            raise ValueError(f"Signal of {t} samples is shorter than one patch "
                             f"({self.patch_size} samples).")
        patches = x[..., : n * self.patch_size].reshape(b, c, n, self.patch_size)
        return self.proj(patches)


class SinusoidalPositionalEmbedding(nn.Module):
    """Fixed sine/cosine positions added to tokens; works for any sequence length.

    Parameters
    ----------
    embed_dim : int
        Token width.
    max_period : float
        Longest wavelength of the encoding (in tokens).

    Notes
    -----
    Input and output ``(batch, n_tokens, embed_dim)``.
    """

    def __init__(self, embed_dim: int, max_period: float = 10_000.0) -> None:
        super().__init__()
        half = embed_dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half) / max(half, 1))
        self.register_buffer("freqs", freqs, persistent=False)
        self.embed_dim = embed_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(x.shape[-2], device=x.device, dtype=self.freqs.dtype)
        ang = pos[:, None] * self.freqs[None]
        pe = torch.cat([ang.sin(), ang.cos()], dim=-1)
        if pe.shape[-1] < self.embed_dim:
            pe = nn.functional.pad(pe, (0, self.embed_dim - pe.shape[-1]))
        return x + pe.to(x.dtype)


class LearnedPositionalEmbedding(nn.Module):
    """Learned position vectors added to a sequence of at most ``n_positions`` tokens.

    Parameters
    ----------
    n_positions : int
        Maximum number of tokens.
    embed_dim : int
        Token width.

    Notes
    -----
    Input and output ``(batch, n_tokens, embed_dim)`` with ``n_tokens <= n_positions``.
    """

    def __init__(self, n_positions: int, embed_dim: int) -> None:
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(1, n_positions, embed_dim))
        nn.init.trunc_normal_(self.pos, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-2]
        if n > self.pos.shape[1]:
            raise ValueError(f"Sequence of {n} tokens is longer than the {self.pos.shape[1]} "
                             "learned positions.")
        return x + self.pos[:, :n]
