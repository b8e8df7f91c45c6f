"""Patch embeddings: SpectralPatchEmbed (STAN's tokens) and the plain patch embeddings."""

from __future__ import annotations

import inspect

import pytest
import torch

from neuroattn.nn import ChannelPatchEmbed, PatchEmbed1d, SpectralPatchEmbed


def test_boxcar_taper_keeps_every_sample_of_a_patch():
    x = torch.zeros(1, 1, 64)
    x[0, 0, 0] = 1.0  # an impulse at a patch edge
    hann = SpectralPatchEmbed(4, 64, taper="hann", smoothing_bins=1)
    box = SpectralPatchEmbed(4, 64, taper="boxcar", smoothing_bins=1)
    box.load_state_dict(hann.state_dict())
    # Hann zeroes the edge sample (its log power is the floor); boxcar keeps it.
    assert not torch.allclose(hann(x), box(x))
    torch.testing.assert_close(hann(x), hann(torch.zeros(1, 1, 64)))


def test_spectrum_tokens_follow_the_documented_formula_with_the_default_taper():
    """The docstring's ``W_s log(S(|rfft(w * patch)|^2) + 1e-6)`` with ``w`` all ones
    (boxcar, the default): no Hann window is applied unless asked for."""
    assert inspect.signature(SpectralPatchEmbed).parameters["taper"].default == "boxcar"
    doc = SpectralPatchEmbed.__doc__
    assert "rfft(w * patch)" in doc and "rfft(hann" not in doc
    torch.manual_seed(0)
    embed = SpectralPatchEmbed(3, 16, "spectrum", smoothing_bins=1)
    x = torch.randn(2, 2, 40)  # 2 patches of 16 samples, 8 trailing samples dropped
    patches = x[..., :32].reshape(2, 2, 2, 16)
    expected = embed.spectrum(torch.log(torch.fft.rfft(patches).abs().square() + 1e-6))
    torch.testing.assert_close(embed(x), expected)


def test_coherence_tokens_see_coupling_that_power_cannot():
    embed = SpectralPatchEmbed(1, 64, "coherence", smoothing_bins=3)
    with torch.no_grad():  # token = sum over bins of the channel's coherence
        embed.coherence.weight.fill_(1.0)
        embed.coherence.bias.zero_()
    torch.manual_seed(0)
    shared = torch.randn(1, 1, 256)
    coupled = shared.repeat(1, 4, 1) * torch.tensor([1.0, 2.0, 0.5, 3.0])[:, None]
    independent = torch.randn(1, 4, 256)
    n_bins = 33
    # Channels in phase (any amplitudes) reach the maximum; independent ones stay near 0.
    torch.testing.assert_close(embed(coupled), torch.full((1, 4, 4, 1), float(n_bins)),
                               atol=1e-3, rtol=1e-4)
    assert embed(independent).abs().mean() < 0.2 * n_bins
    # One channel alone has no coupling to measure: its coherence is zero.
    assert torch.all(embed(torch.randn(1, 1, 256)) == 0)


def test_output_shapes():
    x = torch.randn(2, 3, 70)
    assert SpectralPatchEmbed(8, 16, "spectrum+coherence+waveform")(x).shape == (2, 3, 4, 8)
    assert SpectralPatchEmbed(8, 16, "both")(x).shape == (2, 3, 4, 8)
    assert ChannelPatchEmbed(8, 16)(x).shape == (2, 3, 4, 8)
    assert PatchEmbed1d(3, 8, 16)(x).shape == (2, 4, 8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(patch_size=0), "patch_size"),
    (dict(taper="hamming"), "taper"),
    (dict(smoothing_bins=2), "smoothing_bins"),
    (dict(features="spectrum+spectrum"), "features"),
    (dict(features="power"), "features"),
])
def test_spectral_patch_embed_refuses_bad_arguments(kwargs, match):
    args = dict(embed_dim=4, patch_size=16) | kwargs
    with pytest.raises(ValueError, match=match):
        SpectralPatchEmbed(**args)


def test_spectral_patch_embed_refuses_bad_inputs():
    embed = SpectralPatchEmbed(4, 16)
    with pytest.raises(ValueError, match="n_chans, n_times"):
        embed(torch.randn(3, 40))
    with pytest.raises(ValueError, match="shorter than one patch"):
        embed(torch.randn(1, 2, 10))
