"""STAN: shapes, size and attention maps (its embedding and critic: tests/nn)."""

from __future__ import annotations

import pytest
import torch

from neuroattn import create_model
from neuroattn.models.stan import STAN


def _small(**kw):
    torch.manual_seed(0)
    return STAN(6, 256, 2, 64.0, embed_dim=16, n_heads=2, depth=2, patch_size=32, **kw)


def test_default_size_matches_paper():
    model = create_model("stan", n_chans=18, n_times=1280, n_outputs=2, sfreq=256.0)
    n_params = sum(p.numel() for p in model.parameters())
    assert 2.0e6 < n_params < 2.6e6  # reported: 2.3 M for 18 channels x 5 s at 256 Hz
    assert len(model.blocks) == 3


def test_attention_maps_shapes_and_rows_sum_to_one():
    model = _small().eval()
    x = torch.randn(3, 6, 256)
    weights = model.get_attention_weights(x)
    assert weights["blocks.0.spatial_attn"].shape == (3 * 8, 2, 6, 6)
    assert weights["blocks.1.temporal_attn"].shape == (3 * 6, 2, 8, 8)
    maps = model.attention_maps(x)
    assert maps["spatial"].shape == (3, 6, 6) and maps["temporal"].shape == (3, 8, 8)
    torch.testing.assert_close(maps["spatial"].sum(-1), torch.ones(3, 6))
    # Recording is switched off afterwards: training keeps no attention tensors.
    assert all(m.last_attention is None for m in model.modules() if hasattr(m, "last_attention"))


def test_spatial_attention_mixes_channels_and_temporal_mixes_time():
    model = _small().eval()
    x = torch.randn(1, 6, 256)
    base = model.forward_tokens(x)
    y = x.clone()
    y[0, 0, :32] += 5.0  # perturb channel 0, first patch only
    diff = (model.forward_tokens(y) - base).abs().sum(-1)[0]  # (chans, tokens)
    assert (diff[1:] > 1e-6).any(), "other channels never see channel 0"
    assert (diff[0, 1:] > 1e-6).any(), "later tokens never see the first patch"


def test_patch_features_options():
    for features in ("spectrum", "waveform", "both", "spectrum+coherence", "coherence"):
        model = _small(patch_features=features).eval()
        assert model(torch.randn(2, 6, 256)).shape == (2, 2)
    assert not any("waveform" in k for k in _small().state_dict())
    with pytest.raises(ValueError, match="features"):
        _small(patch_features="wavelet")
    with pytest.raises(ValueError, match="features"):
        _small(patch_features="spectrum+spectrum")
    with pytest.raises(ValueError, match="taper"):
        _small(patch_taper="hamming")


def test_wrong_input_rank_or_channels():
    model = _small()
    with pytest.raises(ValueError, match="n_chans"):
        model(torch.randn(2, 256))
    with pytest.raises(ValueError, match="6 channels"):
        model(torch.randn(2, 5, 256))
