"""TransformerBrainEncoder: shapes, routing maps, region-wise readout, reference config."""

import pytest
import torch

from neuroattn import create_model
from neuroattn.models.brain_encoder import RegionReadout, TransformerBrainEncoder


def _model(**kw):
    torch.manual_seed(0)
    args = dict(n_chans=8, n_times=16, n_outputs=7, voxel_regions=[0, 0, 1, 1, 1, 2, 2],
                embed_dim=16, n_heads=2)
    args.update(kw)
    return create_model("brain_encoder", **args).eval()


def test_shapes_and_routing_maps():
    model = _model(depth=2)
    x = model.example_input(3, generator=torch.Generator().manual_seed(0))
    assert x.shape == (3, 8, 16)  # (batch, dim = n_chans, n_tokens = n_times)
    assert model(x).shape == (3, 7)
    assert model.forward_features(x).shape == (3, 3, 16)  # one token per region
    maps = model.routing_maps(x)
    assert maps.shape == (3, 3, 16)
    torch.testing.assert_close(maps.sum(-1), torch.ones(3, 3))
    first = model.routing_maps(x, layer=0)
    assert not torch.allclose(first, maps)
    weights = model.get_attention_weights(x)
    assert set(weights) == {"blocks.0.attn", "blocks.1.attn"}
    assert weights["blocks.0.attn"].shape == (3, 2, 3, 16)  # (batch, heads, regions, tokens)


def test_voxel_reads_only_its_own_region_token():
    model = _model()
    tokens = torch.randn(2, 3, 16)
    out = model.final_layer(tokens)
    changed = tokens.clone()
    changed[:, 1] += 5.0  # region 1 holds voxels 2, 3, 4
    out2 = model.final_layer(changed)
    moved = (out2 - out).abs().amax(0) > 1e-6
    assert moved.tolist() == [False, False, True, True, True, False, False]
    w = model.final_layer.weight
    torch.testing.assert_close(out[:, 5], tokens[:, 2] @ w[5] + model.final_layer.bias[5])


def test_regions_default_to_one_group_and_bad_regions_are_rejected():
    model = _model(voxel_regions=None)
    assert model.n_regions == 1
    with pytest.raises(ValueError, match="one region index per voxel"):
        _model(voxel_regions=[0, 1])
    with pytest.raises(ValueError, match="non-negative"):
        _model(voxel_regions=[0, 0, 1, 1, 1, 2, -2])
    with pytest.raises(ValueError, match=r"n_queries must be in \[1, 1\]"):
        _model(voxel_regions=[0, 0, 1, 1, 1, 2, -1])  # a free voxel needs a free query
    with pytest.raises(ValueError, match="depth"):
        _model(depth=0)


def test_value_projection_and_input_projection():
    same = _model(n_chans=16, embed_dim=16)
    assert isinstance(same.input_proj, torch.nn.Identity)
    assert isinstance(same.blocks[0].attn.v_proj, torch.nn.Identity)  # reference: no v proj
    proj = _model(value_proj=True)
    assert isinstance(proj.blocks[0].attn.v_proj, torch.nn.Linear)
    gated = _model(attention="gated_cross")
    assert gated(gated.example_input(2)).shape == (2, 7)


def test_reference_configuration_builds():
    # Adeli et al.: DINOv2 ViT-B/14 tokens (768 wide, 16 x 16 grid), one cross-attention
    # layer of width 768 with 16 heads, feed-forward 1024, dropout 0.1, no value proj.
    model = TransformerBrainEncoder(n_chans=768, n_times=256, n_outputs=50,
                                    voxel_regions=[i % 5 for i in range(50)], embed_dim=768,
                                    n_heads=16, depth=1, ffn_dim=1024, drop_prob=0.1,
                                    value_proj=False).eval()
    assert isinstance(model.input_proj, torch.nn.Identity)
    assert model.blocks[0].attn.n_heads == 16
    with torch.no_grad():
        assert model(torch.rand(1, 768, 256)).shape == (1, 50)


def test_region_readout_with_unsorted_regions():
    readout = RegionReadout(4, [1, 1, 0])
    tokens = torch.randn(2, 2, 4)
    out = readout(tokens)
    assert out.shape == (2, 3)
    torch.testing.assert_close(out[:, 2], tokens[:, 0] @ readout.weight[2] + readout.bias[2])
    torch.testing.assert_close(out[:, 0], tokens[:, 1] @ readout.weight[0] + readout.bias[0])


def test_free_queries_soft_assignment_and_ridge_readout():
    """Unlabelled voxels (-1) mix the free queries' tokens with a learned softmax; the
    closed-form readout reads one query's [pooled input, token] per voxel."""
    model = TransformerBrainEncoder(8, 16, 6, voxel_regions=[0, 0, -1, -1, -1, 1],
                                    n_queries=2, query_init=[0, 1, 1]).eval()
    assert model.n_regions == 4 and model.voxel_query.tolist() == [0, 0, 2, 3, 3, 1]
    assign = model.voxel_assignment()
    assert assign.shape == (3, 2) and torch.allclose(assign.sum(1), torch.ones(3))
    assert assign[0, 0] > assign[0, 1] and assign[1, 1] > assign[1, 0]
    x = model.example_input(3)
    z = model.readout_features(x)
    assert z.shape == (3, 4, 8 + model.final_layer.weight.shape[1] + 8)
    maps = model.routing_maps(x)
    assert torch.allclose(z[..., :8], maps @ x.transpose(1, 2), atol=1e-5)
    # the last band is the mean token (global features), the same for every query
    assert torch.allclose(z[..., -8:], x.mean(-1)[:, None].expand(3, 4, 8), atol=1e-6)
    w, b = torch.randn(6, z.shape[-1]), torch.randn(6)
    model.set_ridge_readout(w, b, torch.tensor([0, 0, 2, 2, 3, 1]))
    out = model(x)
    assert torch.allclose(out[:, 4], z[:, 3] @ w[4] + b[4], atol=1e-5)
    with pytest.raises(ValueError, match="n_queries"):
        TransformerBrainEncoder(8, 16, 3, voxel_regions=[-1, -1, -1], n_queries=4)
    with pytest.raises(ValueError, match="query_init"):
        TransformerBrainEncoder(8, 16, 3, voxel_regions=[-1, -1, -1], n_queries=2,
                                query_init=[0, 2, 1])
