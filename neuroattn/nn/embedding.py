"""Patch and positional embeddings for signals and feature maps."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._docs import fill_doc

__all__ = ["PatchEmbed1d", "ChannelPatchEmbed", "SpectralPatchEmbed",
           "SinusoidalPositionalEmbedding", "LearnedPositionalEmbedding"]

_PATCH_PARTS = ("spectrum", "waveform", "coherence")


@fill_doc
class PatchEmbed1d(nn.Module):
    """Cut a multichannel signal into non-overlapping time patches and embed them.

    Parameters
    ----------
    n_chans : int
        Input channels (electrodes or regions).
    %(embed_dim)s
    %(patch_size)s

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


@fill_doc
class ChannelPatchEmbed(nn.Module):
    """Embed time patches of every channel separately (shared weights across channels).

    Parameters
    ----------
    %(embed_dim)s
    %(patch_size)s

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


@fill_doc
class SpectralPatchEmbed(nn.Module):
    """Per-channel patch embedding from each patch's spectrum, coherence and/or waveform.

    Each channel is cut into non-overlapping patches of ``patch_size`` samples;
    ``w * patch`` is the patch times the taper ``w`` (all ones for the default
    ``taper="boxcar"``, a symmetric Hann window for ``"hann"``) and ``S`` averages
    ``smoothing_bins`` neighbouring frequency bins. ``features`` joins parts with
    ``"+"``; each part has its own linear map (shared across channels) and the token
    is their sum:

    - ``"spectrum"``: ``W_s log(S(|rfft(w * patch)|^2) + 1e-6)``, the log power per
      frequency bin (band powers in one linear map; generalises from few windows).
    - ``"coherence"``: ``W_c S(coh)`` with ``coh[c, f] = mean_{c' != c} Re(u_c(f)
      conj(u_c'(f)))``, ``u = rfft / |rfft|`` the unit phasor of each bin of the
      tapered patch: how much each channel is in phase with the others at each
      frequency in this patch (0 for independent channels, towards 1 for coupled
      ones; 0 when there is a single channel). It puts the cross-channel coupling into
      every channel's token, which the log power spectrum cannot carry.
    - ``"waveform"``: ``W_t patch`` on the untapered samples (keeps phase, but lets a
      small training set be memorised).

    ``"both"`` is an alias of ``"spectrum+waveform"``.

    Parameters
    ----------
    %(embed_dim)s
    %(patch_size)s
    features : str
        Parts joined by ``"+"`` among ``"spectrum"``, ``"coherence"``, ``"waveform"``.
    smoothing_bins : int
        Odd number of neighbouring frequency bins averaged (power before the log, and
        the coherence); a single periodogram bin is a very noisy estimate.
    taper : {"boxcar", "hann"}
        Window applied to each patch before the FFT. ``"boxcar"`` (the default, no
        taper) keeps every sample, at the cost of more spectral leakage. Patches do not
        overlap, so ``"hann"`` down-weights about half of every patch's samples (its
        edges, the end samples get weight zero) and makes the power estimates noisier.

    Raises
    ------
    ValueError
        If ``patch_size`` is not positive, ``smoothing_bins`` is not a positive odd
        integer, or ``features`` / ``taper`` is not one of the values above.

    Notes
    -----
    Input ``(batch, n_chans, n_times)``; output ``(batch, n_chans, n_times //
    patch_size, embed_dim)``.
    """

    def __init__(self, embed_dim: int, patch_size: int, features: str = "spectrum",
                 smoothing_bins: int = 5, taper: str = "boxcar") -> None:
        super().__init__()
        if patch_size < 1:
            raise ValueError(f"patch_size must be >= 1, got {patch_size}.")
        if taper not in ("boxcar", "hann"):
            raise ValueError(f"taper must be 'boxcar' or 'hann', got {taper!r}.")
        self.taper = taper
        if smoothing_bins < 1 or smoothing_bins % 2 == 0:
            raise ValueError(f"smoothing_bins must be a positive odd integer, got "
                             f"{smoothing_bins}.")
        self.smoothing_bins = smoothing_bins
        parts = ("spectrum", "waveform") if features == "both" else tuple(
            str(features).split("+"))
        if not parts or any(p not in _PATCH_PARTS for p in parts) or len(set(parts)) < len(
                parts):
            raise ValueError(f"features must be parts among {_PATCH_PARTS} joined by '+' "
                             f"(or 'both'), got {features!r}.")
        self.features = features
        self.parts = parts
        self.patch_size = patch_size
        n_bins = patch_size // 2 + 1
        self.waveform = ChannelPatchEmbed(embed_dim, patch_size) if "waveform" in parts else None
        self.spectrum = nn.Linear(n_bins, embed_dim) if "spectrum" in parts else None
        self.coherence = nn.Linear(n_bins, embed_dim) if "coherence" in parts else None
        window = (torch.hann_window(patch_size, periodic=False) if taper == "hann"
                  else torch.ones(patch_size))
        self.register_buffer("window", window, persistent=False)

    def _smooth(self, z: torch.Tensor) -> torch.Tensor:
        k = self.smoothing_bins
        if k == 1:
            return z
        return nn.functional.avg_pool1d(z.reshape(-1, 1, z.shape[-1]), k, stride=1,
                                        padding=k // 2,
                                        count_include_pad=False).reshape(z.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens ``(batch, n_chans, n_patches, embed_dim)`` of ``x`` ``(batch, n_chans,
        n_times)``."""
        if x.ndim != 3:
            raise ValueError(f"SpectralPatchEmbed expects (batch, n_chans, n_times) inputs, "
                             f"got shape {tuple(x.shape)}.")
        b, c, t = x.shape
        n = t // self.patch_size
        if n == 0:
            raise ValueError(f"Signal of {t} samples is shorter than one patch "
                             f"({self.patch_size} samples).")
        tokens = self.waveform(x) if self.waveform is not None else 0.0
        if self.spectrum is None and self.coherence is None:
            return tokens
        patches = x[..., : n * self.patch_size].reshape(b, c, n, self.patch_size)
        spec = torch.fft.rfft(patches * self.window)  # (b, c, n, n_bins)
        if self.spectrum is not None:
            power = self._smooth(spec.abs().square())
            tokens = tokens + self.spectrum(torch.log(power + 1e-6))
        if self.coherence is not None:
            coh = torch.zeros(spec.shape, dtype=x.dtype, device=x.device)
            if c > 1:
                unit = spec / (spec.abs() + 1e-6)
                others = unit.sum(dim=1, keepdim=True) - unit
                coh = (unit * others.conj()).real / (c - 1)
            tokens = tokens + self.coherence(self._smooth(coh))
        return tokens


@fill_doc
class SinusoidalPositionalEmbedding(nn.Module):
    """Fixed sine/cosine positions added to tokens; works for any sequence length.

    Parameters
    ----------
    %(embed_dim)s
    max_period : float
        Longest wavelength of the encoding (in tokens).

    Notes
    -----
    %(token_io)s
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


@fill_doc
class LearnedPositionalEmbedding(nn.Module):
    """Learned position vectors added to a sequence of at most ``n_positions`` tokens.

    Parameters
    ----------
    n_positions : int
        Maximum number of tokens.
    %(embed_dim)s

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
