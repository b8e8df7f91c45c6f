import pytest
import torch

from neuroattn.nn import (
    ChannelPatchEmbed,
    CrossAttention,
    DropPath,
    GatedMultiHeadAttention,
    LearnedPositionalEmbedding,
    MultiHeadAttention,
    PatchEmbed1d,
    SinusoidalPositionalEmbedding,
    TransformerBlock,
    TransformerEncoder,
    create_attention,
    scaled_dot_product,
)


def test_fused_and_explicit_paths_agree():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=g) for _ in range(3))
    mask = torch.rand(5, 5, generator=g) > 0.3
    mask[:, 0] = True
    fused, none = scaled_dot_product(q, k, v, attn_mask=mask)
    explicit, weights = scaled_dot_product(q, k, v, attn_mask=mask, need_weights=True)
    assert none is None
    torch.testing.assert_close(fused, explicit)
    assert (weights[..., ~mask] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))


def test_self_attention_records_only_when_asked():
    attn = MultiHeadAttention(16, 4).eval()
    x = torch.randn(2, 7, 16)
    out = attn(x)
    assert out.shape == x.shape and attn.last_attention is None
    attn.record_attention = True
    torch.testing.assert_close(attn(x), out)
    assert attn.last_attention.shape == (2, 4, 7, 7)


def test_gate_is_head_specific_and_changes_output():
    torch.manual_seed(0)
    plain = MultiHeadAttention(16, 4).eval()
    gated = GatedMultiHeadAttention(16, 4).eval()
    gated.load_state_dict({**plain.state_dict(), **{k: v for k, v in gated.state_dict().items()
                                                    if k.startswith("gate_proj")}})
    x = torch.randn(2, 5, 16)
    assert not torch.allclose(plain(x), gated(x))
    assert gated.gate_proj.out_features == 16
    headwise = MultiHeadAttention(16, 4, gate="headwise")
    assert headwise.gate_proj.out_features == 4 and headwise(x).shape == x.shape
    # A gate saturated open reproduces ungated attention.
    with torch.no_grad():
        gated.gate_proj.weight.zero_()
        gated.gate_proj.bias.fill_(50.0)
    torch.testing.assert_close(plain(x), gated(x))


def test_cross_attention_without_value_projection():
    attn = CrossAttention(8, 2, value_proj=False).eval()
    attn.record_attention = True
    q, ctx = torch.randn(3, 4, 8), torch.randn(3, 10, 8)
    assert attn(q, ctx).shape == (3, 4, 8)
    assert attn.last_attention.shape == (3, 2, 4, 10)
    with pytest.raises(ValueError, match="must equal embed_dim"):
        CrossAttention(8, 2, kdim=6, value_proj=False)
    assert CrossAttention(8, 2, kdim=6)(q, torch.randn(3, 10, 6)).shape == (3, 4, 8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(embed_dim=10, n_heads=3), "multiple of n_heads"),
    (dict(embed_dim=8, n_heads=2, gate="sometimes"), "gate must be"),
])
def test_bad_attention_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        create_attention("multihead", **kwargs)


def test_attention_rejects_wrong_rank():
    with pytest.raises(ValueError, match="\\(batch, tokens, embed_dim\\)"):
        MultiHeadAttention(8, 2)(torch.randn(4, 8))


def test_drop_path_drops_whole_samples_and_keeps_mean():
    torch.manual_seed(0)
    dp = DropPath(0.5).train()
    out = dp(torch.ones(2000, 3))
    rows = out[:, 0]
    assert set(rows.unique().tolist()) <= {0.0, 2.0}
    assert (out == out[:, :1]).all()
    assert abs(rows.mean().item() - 1.0) < 0.1
    assert torch.equal(dp.eval()(torch.ones(4, 3)), torch.ones(4, 3))
    with pytest.raises(ValueError):
        DropPath(1.0)


def test_transformer_blocks_and_stack():
    block = TransformerBlock(16, 4, attention="gated_multihead", drop_path_prob=0.1)
    x = torch.randn(2, 6, 16)
    assert block(x).shape == x.shape
    enc = TransformerEncoder(16, depth=3, n_heads=4, drop_path_prob=0.2)
    assert [b.drop_path.drop_path_prob for b in enc.blocks] == pytest.approx([0.0, 0.1, 0.2])
    assert enc(x).shape == x.shape
    with pytest.raises(ValueError, match="depth"):
        TransformerEncoder(16, depth=0)


def test_embeddings():
    x = torch.randn(2, 3, 100)
    assert PatchEmbed1d(3, 8, 25)(x).shape == (2, 4, 8)
    assert ChannelPatchEmbed(8, 25)(x).shape == (2, 3, 4, 8)
    with pytest.raises(ValueError, match="shorter than one patch"):
        PatchEmbed1d(3, 8, 200)(x)
    tokens = torch.zeros(2, 9, 8)
    pe = SinusoidalPositionalEmbedding(8)(tokens)
    assert pe.shape == tokens.shape and not torch.allclose(pe[:, 0], pe[:, 1])
    odd = SinusoidalPositionalEmbedding(7)(torch.zeros(1, 4, 7))
    assert odd.shape == (1, 4, 7)
    learned = LearnedPositionalEmbedding(9, 8)
    assert learned(tokens).shape == tokens.shape
    with pytest.raises(ValueError, match="longer than"):
        learned(torch.zeros(1, 10, 8))


def test_key_positions_steer_keys_not_values():
    torch.manual_seed(0)
    attn = CrossAttention(8, 2, value_proj=False).eval()
    q, ctx = torch.randn(2, 3, 8), torch.randn(2, 5, 8)
    plain = attn(q, ctx)
    # The same offset on every key shifts all logits equally: nothing changes, which
    # would not hold if the positions entered the values.
    same = torch.randn(1, 1, 8).expand(1, 5, 8)
    torch.testing.assert_close(attn(q, ctx, key_pos=same), plain)
    assert not torch.allclose(attn(q, ctx + same), plain)
    attn.record_attention = True
    attn(q, ctx, key_pos=torch.randn(1, 5, 8) * 5)
    steered = attn.last_attention
    attn(q, ctx)
    assert not torch.allclose(steered, attn.last_attention)
