"""Region-aware graph attention."""

from __future__ import annotations

import pytest
import torch

from neuroattn.nn import create_attention, list_attentions
from neuroattn.nn.graph import GraphAttentionBlock, RegionGraphAttention


def _inputs(b=3, r=6, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, r, d, generator=g), torch.randn(r, d, generator=g)


def test_registered_as_graph_attention():
    assert "region_graph" in list_attentions(kind="graph")
    attn = create_attention("region_graph", embed_dim=8, n_heads=2)
    assert isinstance(attn, RegionGraphAttention)


def test_weights_have_no_self_loops_and_rows_sum_to_one():
    torch.manual_seed(0)
    attn = RegionGraphAttention(8, 2).eval()
    x, emb = _inputs()
    attn.record_attention = True
    out = attn(x, emb)
    assert out.shape == x.shape and torch.isfinite(out).all()
    w = attn.last_attention
    assert w.shape == (3, 2, 6, 6)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 2, 6))
    assert w.diagonal(dim1=-2, dim2=-1).abs().max() < 1e-6


def test_hidden_keys_get_no_weight_and_do_not_leak():
    torch.manual_seed(0)
    attn = RegionGraphAttention(8, 2).eval()
    x, emb = _inputs()
    keep = torch.ones(3, 6, dtype=torch.bool)
    keep[:, 2] = False
    attn.record_attention = True
    out = attn(x, emb, key_mask=keep)
    assert attn.last_attention[..., 2].abs().max() < 1e-6
    x2 = x.clone()
    x2[:, 2] += 100.0  # changing a hidden region changes nobody else's output
    out2 = attn(x2, emb, key_mask=keep)
    others = [i for i in range(6) if i != 2]
    torch.testing.assert_close(out[:, others], out2[:, others])


def test_logits_follow_region_embeddings():
    """With the signal term off, attention is the learned region graph: regions with
    similar embeddings attend to each other."""
    torch.manual_seed(0)
    attn = RegionGraphAttention(4, 1).eval()
    with torch.no_grad():
        attn.signal_scale.zero_()
        attn.struct_q.weight.copy_(torch.eye(4) * 3)
        attn.struct_k.weight.copy_(torch.eye(4) * 3)
    emb = torch.tensor([[1.0, 0, 0, 0], [1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 1.0, 0, 0]])
    attn.record_attention = True
    attn(torch.randn(2, 4, 4), emb)
    w = attn.last_attention[0, 0]
    assert w[0, 1] > 0.5 and w[2, 3] > 0.5 and w[0, 2] < 0.25
    torch.testing.assert_close(attn.last_attention[0], attn.last_attention[1])


def test_bad_inputs():
    attn = RegionGraphAttention(8, 2)
    x, emb = _inputs()
    with pytest.raises(ValueError, match="region_embed"):
        attn(x)
    with pytest.raises(ValueError, match="matching"):
        attn(x, emb[:5])
    with pytest.raises(ValueError, match="key_mask"):
        attn(x, emb, key_mask=torch.ones(3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="multiple"):
        RegionGraphAttention(7, 2)


def test_block_shape_and_gradient():
    block = GraphAttentionBlock(8, 2, drop_path_prob=0.1)
    x, emb = _inputs()
    emb.requires_grad_(True)
    out = block(x, emb)
    assert out.shape == x.shape
    out.square().mean().backward()
    assert emb.grad is not None and emb.grad.abs().sum() > 0
