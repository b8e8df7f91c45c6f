"""BrainMAE: masking, reconstruction loss, region attention, pretraining signal."""

from __future__ import annotations

import pytest
import torch

from neuroattn import create_model
from neuroattn.models.brain_mae import BrainMAE


def _model(**kw):
    torch.manual_seed(0)
    args = dict(n_chans=10, n_times=8, n_outputs=2, embed_dim=16, n_heads=2, patch_size=2)
    return create_model("brain_mae", **{**args, **kw})


@pytest.mark.parametrize(("pool", "width"), [("mean", 16), ("meanstd", 32),
                                             ("coupling", 32 + 45), ("attention", 32 + 45)])
def test_forward_and_features(pool, width):
    model = _model(pool=pool).eval()
    x = torch.randn(3, 10, 8)
    assert model(x).shape == (3, 2)
    assert model.forward_features(x).shape == (3, model.n_features) == (3, width)
    assert model.encode(x).shape == (3, 10, 4, 16)
    pretrain_only = _model(n_outputs=None, pool=pool).eval()
    assert pretrain_only(x).shape == (3, width)


def test_coupling_features_are_the_decoder_readout_correlation():
    model = _model().eval()
    x = torch.randn(2, 10, 8)
    with torch.no_grad():
        coupling = model.coupling(x)
        recon, _ = model.forward_masked(x, torch.zeros(2, 10, 4, dtype=torch.bool))
        feats = model.forward_features(x)
    assert coupling.shape == (2, 10, 10)
    torch.testing.assert_close(coupling, coupling.transpose(1, 2))
    torch.testing.assert_close(torch.diagonal(coupling, dim1=1, dim2=2), torch.ones(2, 10))
    expected = torch.corrcoef(recon[0])
    torch.testing.assert_close(coupling[0], expected, atol=1e-4, rtol=1e-4)
    rows, cols = torch.triu_indices(10, 10, offset=1)
    torch.testing.assert_close(feats[:, 32:], coupling[:, rows, cols])


def test_attention_pool_leaves_recording_state_alone():
    model = _model(pool="attention").eval()
    x = torch.randn(2, 10, 8)
    feats = model.forward_features(x)
    assert all(not b.attn.record_attention for b in model.graph_blocks)
    att = model.region_attention(x)  # records through forward while pooling records too
    rows, cols = torch.triu_indices(10, 10, offset=1)
    torch.testing.assert_close(feats[:, 32:], (att + att.transpose(1, 2))[:, rows, cols])


@pytest.mark.parametrize("strategy", ["regions", "patches"])
def test_masks(strategy):
    model = _model(mask_strategy=strategy, mask_ratio=0.3)
    mask = model.make_mask(5, generator=torch.Generator().manual_seed(0))
    assert mask.shape == (5, 10, 4) and mask.dtype == torch.bool
    if strategy == "regions":
        assert (mask.all(dim=2) == mask.any(dim=2)).all()  # whole regions
        assert (mask[:, :, 0].sum(1) == 3).all()
    else:
        assert (mask.flatten(1).sum(1) == 12).all()
        assert not (mask.all(dim=2) == mask.any(dim=2)).all()


def test_forward_masked_and_weighted_loss():
    model = _model(masked_weight=1.0).eval()
    x = torch.randn(2, 10, 8)
    mask = model.make_mask(2, generator=torch.Generator().manual_seed(1))
    rec, sample_mask = model.forward_masked(x, mask)
    assert rec.shape == sample_mask.shape == (2, 10, 8)
    loss = model.reconstruction_loss(x, rec, sample_mask)
    # with all weight on masked samples, the visible targets do not matter
    x_vis = x + 5.0 * (~sample_mask)
    torch.testing.assert_close(model.reconstruction_loss(x_vis, rec, sample_mask), loss)
    model.masked_weight = 0.75
    both = model.reconstruction_loss(x, rec, sample_mask)
    err = (rec - x).square()
    expected = 0.75 * err[sample_mask].mean() + 0.25 * err[~sample_mask].mean()
    torch.testing.assert_close(both, expected)


def test_masked_regions_do_not_leak_into_reconstruction_input():
    """The encoder never sees masked values: changing them leaves the output unchanged."""
    model = _model().eval()
    x = torch.randn(1, 10, 8)
    mask = model.make_mask(1, generator=torch.Generator().manual_seed(2))
    rec, sm = model.forward_masked(x, mask)
    x2 = x + 10.0 * sm
    rec2, _ = model.forward_masked(x2, mask)
    torch.testing.assert_close(rec, rec2)


def test_region_attention():
    model = _model(depth=2)
    x = torch.randn(4, 10, 8)
    att = model.region_attention(x)
    assert att.shape == (4, 10, 10)
    torch.testing.assert_close(att.sum(-1), torch.ones(4, 10))
    assert att.diagonal(dim1=-2, dim2=-1).abs().max() < 1e-6
    assert model.training  # mode restored


def test_pretraining_lowers_the_loss():
    model = _model()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    latent = torch.randn(64, 2, 8, generator=g)
    x = latent.repeat_interleave(5, dim=1) + 0.3 * torch.randn(64, 10, 8, generator=g)
    losses = []
    for _ in range(30):
        rec, mask = model.forward_masked(x, generator=g)
        loss = model.reconstruction_loss(x, rec, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5


@pytest.mark.parametrize("kw, match", [
    ({"mask_ratio": 1.0}, "mask_ratio"), ({"mask_strategy": "voxels"}, "mask_strategy"),
    ({"pool": "max"}, "pool"), ({"n_chans": 1}, "at least 2 regions"),
    ({"depth": 0}, "depth")])
def test_bad_hyperparameters(kw, match):
    with pytest.raises(ValueError, match=match):
        _model(**kw)


def test_bad_inputs():
    model = _model()
    with pytest.raises(ValueError, match="10 channels"):
        model(torch.randn(2, 9, 8))
    with pytest.raises(ValueError, match="segments of 8 samples"):
        model(torch.randn(2, 10, 6))
    with pytest.raises(ValueError, match="mask must be"):
        model.forward_masked(torch.randn(2, 10, 8), torch.zeros(2, 10, 3, dtype=torch.bool))
    assert isinstance(model, BrainMAE)
