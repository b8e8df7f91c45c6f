"""Fast depthwise temporal convolution shared by the motor-imagery models."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DepthwiseTemporalConv"]


def _fast_length(n: int) -> int:
    """Smallest ``2**a * 3**b * 5**c >= n``: FFT lengths with large prime factors are slow."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


class DepthwiseTemporalConv(nn.Conv1d):
    """Depthwise "same" temporal convolution computed by FFT for long kernels.

    The weights are those of ``nn.Conv1d(n_maps, n_maps, length, groups=n_maps)`` (so
    state dicts are interchangeable); on CPU the FFT product is several times faster
    than PyTorch's grouped convolution for kernels of tens of samples, and equal to it
    up to float rounding. Kernels shorter than 8 samples use the direct convolution.

    Parameters
    ----------
    n_maps : int
        Number of maps, each filtered by its own kernel.
    length : int
        Kernel length in samples; the output keeps the input length for odd lengths
        (``n_times + 2 * (length // 2) - length + 1`` samples in general, as Conv1d).

    Notes
    -----
    Input and output ``(batch, n_maps, n_times)``.
    """

    def __init__(self, n_maps: int, length: int) -> None:
        super().__init__(n_maps, n_maps, length, groups=n_maps, padding=length // 2,
                         bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size[0]
        if k < 8:
            return super().forward(x)
        n = x.shape[-1]
        size = _fast_length(n + k)
        spec = torch.fft.rfft(x, n=size) * torch.fft.rfft(self.weight[:, 0].flip(-1), n=size)
        start = k - 1 - k // 2
        return torch.fft.irfft(spec, n=size)[..., start:start + n + 2 * (k // 2) - k + 1]
