"""Multi-head self- and cross-attention on ``scaled_dot_product_attention``.

Fused kernels (flash / memory-efficient) are used by PyTorch on GPU; on the CPU the
math path is used. When a module's attention is being recorded the weights are
computed explicitly instead, since the fused kernels do not return them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._docs import fill_doc
from ._registry import RecordsAttention, register_attention

__all__ = ["MultiHeadAttention", "CrossAttention", "GatedMultiHeadAttention",
           "GatedCrossAttention", "scaled_dot_product"]


def scaled_dot_product(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                       attn_mask: torch.Tensor | None = None, dropout_p: float = 0.0,
                       need_weights: bool = False):
    """Scaled dot-product attention, optionally returning the weights.

    Parameters
    ----------
    q, k, v : torch.Tensor
        Shapes ``(batch, n_heads, n_query, head_dim)``, ``(batch, n_heads, n_key,
        head_dim)`` and ``(batch, n_heads, n_key, value_dim)``.
    attn_mask : torch.Tensor | None
        Boolean (True = may attend) or additive float mask broadcastable to
        ``(batch, n_heads, n_query, n_key)``.
    dropout_p : float
        Dropout on the attention weights (training only; pass 0.0 in eval).
    need_weights : bool
        If True compute the weights explicitly and return them.

    Returns
    -------
    out : torch.Tensor
        ``(batch, n_heads, n_query, value_dim)``.
    weights : torch.Tensor | None
        ``(batch, n_heads, n_query, n_key)`` when ``need_weights``.
    """
    if not need_weights:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                              dropout_p=dropout_p), None
    logits = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            logits = logits.masked_fill(~attn_mask, float("-inf"))
        else:
            logits = logits + attn_mask
    weights = logits.softmax(dim=-1)
    out = F.dropout(weights, dropout_p) @ v
    return out, weights


class _AttentionBase(RecordsAttention, nn.Module):
    """Shared projections, gating and head split of self- and cross-attention."""

    def __init__(self, embed_dim: int, n_heads: int, *, kdim: int | None = None,
                 value_proj: bool = True, qkv_bias: bool = True,
                 attn_drop_prob: float = 0.0, drop_prob: float = 0.0,
                 gate: str | None = None) -> None:
        super().__init__()
        if embed_dim <= 0 or n_heads <= 0 or embed_dim % n_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be a positive multiple of "
                             f"n_heads ({n_heads}).")
        if gate not in (None, "elementwise", "headwise"):
            raise ValueError(f"gate must be None, 'elementwise' or 'headwise', got {gate!r}.")
        kdim = embed_dim if kdim is None else kdim
        if not value_proj and kdim != embed_dim:
            raise ValueError("Without a value projection the context width (kdim="
                             f"{kdim}) must equal embed_dim ({embed_dim}).")
        self.embed_dim, self.n_heads = embed_dim, n_heads
        self.head_dim = embed_dim // n_heads
        self.attn_drop_prob = attn_drop_prob
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=qkv_bias)
        self.k_proj = nn.Linear(kdim, embed_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(kdim, embed_dim, bias=qkv_bias) if value_proj else nn.Identity()
        self.gate = gate
        if gate is not None:
            # Head-specific sigmoid gate computed from the query stream and applied
            # to the attention output before the output projection (Qiu et al. 2025).
            self.gate_proj = nn.Linear(embed_dim, embed_dim if gate == "elementwise" else n_heads)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.proj_drop = nn.Dropout(drop_prob)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.n_heads, self.head_dim).transpose(1, 2)

    def _attend(self, query: torch.Tensor, context: torch.Tensor,
                attn_mask: torch.Tensor | None,
                key_pos: torch.Tensor | None = None) -> torch.Tensor:
        if query.ndim != 3 or context.ndim != 3:
            raise ValueError("Attention expects (batch, tokens, embed_dim) inputs, got "
                             f"shapes {tuple(query.shape)} and {tuple(context.shape)}.")
        q = self._split(self.q_proj(query))
        k = self._split(self.k_proj(context if key_pos is None else context + key_pos))
        v = self._split(self.v_proj(context))
        if attn_mask is not None and attn_mask.ndim == 2:
            attn_mask = attn_mask[None, None]
        out, weights = scaled_dot_product(
            q, k, v, attn_mask=attn_mask,
            dropout_p=self.attn_drop_prob if self.training else 0.0,
            need_weights=self.record_attention)
        if weights is not None:
            self._record(weights)
        b, _, n, _ = out.shape
        if self.gate is not None:
            g = torch.sigmoid(self.gate_proj(query))  # (b, n, embed_dim | n_heads)
            g = g.view(b, n, self.n_heads, -1).transpose(1, 2)
            out = out * g
        out = out.transpose(1, 2).reshape(b, n, self.embed_dim)
        return self.proj_drop(self.out_proj(out))


@register_attention("multihead", kind="self")
@fill_doc
class MultiHeadAttention(_AttentionBase):
    """Multi-head self-attention over tokens.

    Parameters
    ----------
    %(embed_dim_heads)s
    %(n_heads)s
    qkv_bias : bool
        Bias on the query, key and value projections.
    %(attn_drop_prob)s
    %(proj_drop_prob)s
    gate : {None, "elementwise", "headwise"}
        Sigmoid output gate per head (elementwise or one scalar per head).

    Notes
    -----
    Input ``(batch, n_tokens, embed_dim)``; output the same shape. Weights
    ``(batch, n_heads, n_tokens, n_tokens)`` are kept in ``last_attention`` while
    ``record_attention`` is True.
    """

    def __init__(self, embed_dim: int, n_heads: int = 4, *, qkv_bias: bool = True,
                 attn_drop_prob: float = 0.0, drop_prob: float = 0.0,
                 gate: str | None = None) -> None:
        super().__init__(embed_dim, n_heads, qkv_bias=qkv_bias,
                         attn_drop_prob=attn_drop_prob, drop_prob=drop_prob, gate=gate)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self._attend(x, x, attn_mask)


@register_attention("gated_multihead", kind="self")
class GatedMultiHeadAttention(MultiHeadAttention):
    """Multi-head self-attention with an elementwise, head-specific sigmoid output gate.

    "Gated Attention for Large Language Models" (Qiu et al., 2025): the gate
    ``sigmoid(x W_g)`` multiplies each head's attention output before the output
    projection, adding non-linearity and sparsity and removing attention sinks.
    Same parameters and shapes as :class:`MultiHeadAttention` (``gate`` defaults to
    ``"elementwise"``).
    """

    def __init__(self, embed_dim: int, n_heads: int = 4, *, qkv_bias: bool = True,
                 attn_drop_prob: float = 0.0, drop_prob: float = 0.0,
                 gate: str | None = "elementwise") -> None:
        super().__init__(embed_dim, n_heads, qkv_bias=qkv_bias,
                         attn_drop_prob=attn_drop_prob, drop_prob=drop_prob, gate=gate)


@register_attention("cross", kind="cross")
@fill_doc
class CrossAttention(_AttentionBase):
    """Multi-head cross-attention: queries attend to a context sequence.

    Parameters
    ----------
    embed_dim : int
        Query width (and output width); a multiple of ``n_heads``.
    %(n_heads)s
    kdim : int | None
        Context width (defaults to ``embed_dim``).
    value_proj : bool
        If False the context is used as values unprojected (needs ``kdim ==
        embed_dim``), as in transformer brain encoders.
    qkv_bias, attn_drop_prob, drop_prob, gate
        As in :class:`MultiHeadAttention`.

    Notes
    -----
    ``forward(query, context, key_pos=None)`` with query ``(batch, n_query,
    embed_dim)`` and context ``(batch, n_context, kdim)`` returns ``(batch, n_query,
    embed_dim)``. ``key_pos`` (broadcastable to the context) is added to the keys only,
    as in DETR, so positions steer where queries look without entering the values.
    Weights ``(batch, n_heads, n_query, n_context)`` in ``last_attention`` when
    recorded.
    """

    def __init__(self, embed_dim: int, n_heads: int = 4, *, kdim: int | None = None,
                 value_proj: bool = True, qkv_bias: bool = True,
                 attn_drop_prob: float = 0.0, drop_prob: float = 0.0,
                 gate: str | None = None) -> None:
        super().__init__(embed_dim, n_heads, kdim=kdim, value_proj=value_proj,
                         qkv_bias=qkv_bias, attn_drop_prob=attn_drop_prob,
                         drop_prob=drop_prob, gate=gate)

    def forward(self, query: torch.Tensor, context: torch.Tensor,
                attn_mask: torch.Tensor | None = None,
                key_pos: torch.Tensor | None = None) -> torch.Tensor:
        return self._attend(query, context, attn_mask, key_pos)


@register_attention("gated_cross", kind="cross")
class GatedCrossAttention(CrossAttention):
    """Cross-attention with an elementwise head-specific sigmoid output gate.

    Same parameters and shapes as :class:`CrossAttention` (``gate`` defaults to
    ``"elementwise"``); the gate is computed from the queries.
    """

    def __init__(self, embed_dim: int, n_heads: int = 4, *, kdim: int | None = None,
                 value_proj: bool = True, qkv_bias: bool = True,
                 attn_drop_prob: float = 0.0, drop_prob: float = 0.0,
                 gate: str | None = "elementwise") -> None:
        super().__init__(embed_dim, n_heads, kdim=kdim, value_proj=value_proj,
                         qkv_bias=qkv_bias, attn_drop_prob=attn_drop_prob,
                         drop_prob=drop_prob, gate=gate)
