"""Region-aware graph attention: attention between brain regions from learned region
embeddings combined with the signal (BrainMAE, Yang et al. 2024)."""

from __future__ import annotations

import torch
from torch import nn

from .._docs import fill_doc
from ._registry import RecordsAttention, attention_registry, register_attention
from .attention import scaled_dot_product
from .transformer import DropPath, FeedForward

__all__ = ["RegionGraphAttention", "GraphAttentionBlock"]


@register_attention("region_graph", kind="graph", paper="BrainMAE (Yang et al. 2024)")
@fill_doc
class RegionGraphAttention(RecordsAttention, nn.Module):
    """Multi-head attention between regions whose logits come from region embeddings.

    Each region has a learnable embedding (held by the model and passed in). The logit
    of region ``i`` attending to region ``j`` is the sum of a *structural* term, the
    scaled similarity of the projected embeddings of ``i`` and ``j`` (the same for
    every input: a learned region graph), and a *signal* term, the scaled similarity of
    the projected tokens of ``i`` and ``j`` (what the data say now), weighted per head
    by a learnable ``signal_scale``. Self-loops are removed, so a region's output is
    built from the other regions only: a masked region can be reconstructed from its
    neighbours. Keys can be hidden with ``key_mask`` (masked regions in pretraining).

    Parameters
    ----------
    %(embed_dim_heads)s
    %(n_heads)s
    %(region_dim)s
    qkv_bias : bool
        Bias on the projections.
    %(attn_drop_prob)s
    %(proj_drop_prob)s

    Notes
    -----
    ``forward(x, region_embed, key_mask=None)`` with ``x`` ``(batch, n_regions,
    embed_dim)``, ``region_embed`` ``(n_regions, region_dim)`` and ``key_mask``
    ``(batch, n_regions)`` boolean (True = may be attended) returns ``(batch,
    n_regions, embed_dim)``. While ``record_attention`` is True the weights
    ``(batch, n_heads, n_regions, n_regions)`` (rows: query regions; zero diagonal) are
    kept in ``last_attention``. Without ``region_embed`` the block has no region
    identity and raises.
    """

    def __init__(self, embed_dim: int, n_heads: int = 4, *, region_dim: int | None = None,
                 qkv_bias: bool = True, attn_drop_prob: float = 0.0,
                 drop_prob: float = 0.0) -> None:
        super().__init__()
        if embed_dim <= 0 or n_heads <= 0 or embed_dim % n_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be a positive multiple of "
                             f"n_heads ({n_heads}).")
        region_dim = embed_dim if region_dim is None else region_dim
        self.embed_dim, self.n_heads = embed_dim, n_heads
        self.head_dim = embed_dim // n_heads
        self.attn_drop_prob = attn_drop_prob
        self.struct_q = nn.Linear(region_dim, embed_dim, bias=False)
        self.struct_k = nn.Linear(region_dim, embed_dim, bias=False)
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=qkv_bias)
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(embed_dim, embed_dim, bias=qkv_bias)
        self.signal_scale = nn.Parameter(torch.full((n_heads,), 0.5))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.proj_drop = nn.Dropout(drop_prob)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.n_heads, self.head_dim)).transpose(-3, -2)

    def structural_logits(self, region_embed: torch.Tensor) -> torch.Tensor:
        """Input-independent logits ``(n_heads, n_regions, n_regions)`` (self-loops not yet
        removed) from region embeddings ``(n_regions, region_dim)``."""
        q, k = self._heads(self.struct_q(region_embed)), self._heads(self.struct_k(region_embed))
        return q @ k.transpose(-2, -1) / self.head_dim ** 0.5

    def forward(self, x: torch.Tensor, region_embed: torch.Tensor | None = None,
                key_mask: torch.Tensor | None = None) -> torch.Tensor:
        if region_embed is None:
            raise ValueError("RegionGraphAttention needs region_embed (n_regions, region_dim): "
                             "the attention logits are built from region embeddings.")
        if x.ndim != 3 or x.shape[1] != region_embed.shape[0] or x.shape[1] < 2:
            raise ValueError(f"Expected x of shape (batch, n_regions >= 2, {self.embed_dim}) "
                             f"matching {region_embed.shape[0]} region embeddings, got "
                             f"{tuple(x.shape)}.")
        b, r, _ = x.shape
        neg = torch.finfo(x.dtype).min / 4  # finite: a row with every key hidden stays finite
        bias = self.structural_logits(region_embed).to(x.dtype)  # (h, r, r)
        eye = torch.eye(r, dtype=torch.bool, device=x.device)
        bias = bias.masked_fill(eye, neg).unsqueeze(0)  # (1, h, r, r)
        if key_mask is not None:
            if key_mask.shape != (b, r):
                raise ValueError(f"key_mask must be (batch, n_regions) = {(b, r)}, got "
                                 f"{tuple(key_mask.shape)}.")
            bias = bias + torch.where(key_mask, 0.0, neg).to(x.dtype)[:, None, None, :]
        q = self._heads(self.q_proj(x)) * self.signal_scale[:, None, None]
        k, v = self._heads(self.k_proj(x)), self._heads(self.v_proj(x))
        out, weights = scaled_dot_product(
            q, k, v, attn_mask=bias, dropout_p=self.attn_drop_prob if self.training else 0.0,
            need_weights=self.record_attention)
        if weights is not None:
            self._record(weights)
        out = out.transpose(1, 2).reshape(b, r, self.embed_dim)
        return self.proj_drop(self.out_proj(out))


@fill_doc
class GraphAttentionBlock(nn.Module):
    """Pre-norm block over regions: ``x + DropPath(GraphAttn(LN(x)))`` then an MLP.

    Parameters
    ----------
    %(embed_dim)s
    %(n_heads)s
    %(region_dim)s
    %(mlp_ratio)s
    drop_prob, attn_drop_prob, drop_path_prob : float
        Dropout, attention-weight dropout and stochastic depth.
    %(mlp_activation)s
    attention : str | type
        A registered graph attention (``kind="graph"``) taking ``(x, region_embed,
        key_mask)``; ``"region_graph"`` by default.

    Notes
    -----
    ``forward(x, region_embed, key_mask=None)``: ``x`` ``(batch, n_regions,
    embed_dim)`` in and out.
    """

    def __init__(self, embed_dim: int, n_heads: int = 4, *, region_dim: int | None = None,
                 mlp_ratio: float = 2.0, drop_prob: float = 0.0, attn_drop_prob: float = 0.0,
                 drop_path_prob: float = 0.0, activation: type[nn.Module] = nn.GELU,
                 attention: str | type = "region_graph") -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dim)
        self.attn = attention_registry.get(attention)(
            embed_dim, n_heads, region_dim=region_dim, attn_drop_prob=attn_drop_prob,
            drop_prob=drop_prob)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.mlp = FeedForward(embed_dim, max(1, int(embed_dim * mlp_ratio)), activation,
                               drop_prob)
        self.drop_path = DropPath(drop_path_prob)

    def forward(self, x: torch.Tensor, region_embed: torch.Tensor,
                key_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), region_embed, key_mask=key_mask))
        return x + self.drop_path(self.mlp(self.norm2(x)))
