"""Noise generators shared by the simulators."""

from __future__ import annotations

import numpy as np

__all__ = ["pink_noise"]


def pink_noise(shape: tuple[int, ...], rng: np.random.Generator, exponent: float = 1.0,
               ) -> np.ndarray:
    """Noise with a ``1 / f**exponent`` power spectrum along the last axis, unit variance.

    Parameters
    ----------
    shape : tuple of int
        Output shape; the spectrum is shaped along the last axis (time).
    rng : numpy.random.Generator
        Source of randomness.
    exponent : float
        Spectral exponent (1 is pink, 0 white, 2 brown).

    Returns
    -------
    numpy.ndarray
        Float64 array of ``shape``, each series with zero mean and unit variance.
    """
    n = shape[-1]
    spectrum = rng.normal(size=(*shape[:-1], n // 2 + 1)) + 1j * rng.normal(
        size=(*shape[:-1], n // 2 + 1))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1] if n > 1 else 1.0
    series = np.fft.irfft(spectrum / freqs ** (exponent / 2), n=n, axis=-1)
    series -= series.mean(axis=-1, keepdims=True)
    std = series.std(axis=-1, keepdims=True)
    return series / np.where(std > 0, std, 1.0)
