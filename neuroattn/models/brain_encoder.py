"""Transformer brain encoder: region queries cross-attend to image feature tokens."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._docs import fill_doc
from ..nn import FeedForward, LearnedPositionalEmbedding, create_attention
from . import register_model
from ._base import NeuroModel

__all__ = ["TransformerBrainEncoder", "RegionReadout"]


@fill_doc
class RegionReadout(nn.Module):
    """Per-voxel linear readout of its region's token.

    Parameters
    ----------
    %(embed_dim)s
    voxel_regions : sequence of int
        ``(n_voxels,)`` region (query) index of each voxel.

    Notes
    -----
    Input ``(batch, n_regions, embed_dim)``; output ``(batch, n_voxels)`` with
    ``out[:, v] = tokens[:, region[v]] @ weight[v] + bias[v]``. Computed region by
    region, so memory stays ``O(batch * n_voxels)``.
    """

    def __init__(self, embed_dim: int, voxel_regions: Sequence[int]) -> None:
        super().__init__()
        regions = torch.as_tensor(list(voxel_regions), dtype=torch.long)
        self.weight = nn.Parameter(torch.empty(regions.numel(), embed_dim))
        self.bias = nn.Parameter(torch.zeros(regions.numel()))
        nn.init.trunc_normal_(self.weight, std=embed_dim ** -0.5)
        self._groups = [torch.nonzero(regions == r).ravel()
                        for r in range(int(regions.max()) + 1)]
        for r, idx in enumerate(self._groups):
            self.register_buffer(f"_idx{r}", idx, persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out = tokens.new_empty(tokens.shape[0], self.weight.shape[0])
        for r in range(len(self._groups)):
            idx = getattr(self, f"_idx{r}")
            if idx.numel():
                out[:, idx] = tokens[:, r] @ self.weight[idx].T + self.bias[idx]
        return out


class _QueryBlock(nn.Module):
    """Pre-norm cross-attention of queries to tokens, then a feed-forward layer."""

    def __init__(self, embed_dim: int, n_heads: int, ffn_dim: int, drop_prob: float,
                 attn_drop_prob: float, value_proj: bool, attention: str | type,
                 activation: type[nn.Module]) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(embed_dim)
        self.attn = create_attention(attention, embed_dim=embed_dim, n_heads=n_heads,
                                     value_proj=value_proj,
                                     attn_drop_prob=attn_drop_prob, drop_prob=drop_prob)
        self.ffn = (FeedForward(embed_dim, ffn_dim, activation, drop_prob) if ffn_dim
                    else None)
        self.norm_ffn = nn.LayerNorm(embed_dim) if ffn_dim else None

    def forward(self, queries: torch.Tensor, tokens: torch.Tensor,
                key_pos: torch.Tensor) -> torch.Tensor:
        queries = queries + self.attn(self.norm_q(queries), tokens, key_pos=key_pos)
        if self.ffn is not None:
            queries = queries + self.ffn(self.norm_ffn(queries))
        return queries


@register_model("brain_encoder", task="encoding", modality="fmri",
                paper="Adeli, Sun & Kriegeskorte 2025 (transformer brain encoders)")
@fill_doc
class TransformerBrainEncoder(NeuroModel):
    """Learned region queries cross-attend to feature-map tokens; per-voxel readout.

    Each query group (a brain region in one hemisphere, plus one group for voxels
    outside every region) has a learned query that cross-attends (multi-head) to the
    tokens of a frozen vision backbone's feature map, with learned positional
    embeddings on the grid. Content, not a fixed spatial filter, decides which
    locations each region reads ("routing"). Tokens are used as values unnormalised
    and unprojected (``value_proj=False``), so each region's routed vector stays in
    the backbone's feature space. Every voxel then reads its region's output
    token through its own linear weights.

    Signal arguments map as follows: ``n_chans`` = feature width ``dim`` of the
    tokens, ``n_times`` = number of tokens (grid cells), ``n_outputs`` = voxels. The
    input is channel-first like a flattened conv map: ``(batch, dim, n_tokens)``.

    Parameters
    ----------
    %(signal_args)s
    voxel_regions : sequence of int | None
        ``(n_outputs,)`` query-group index of each labelled voxel (0 ... ``n_labelled -
        1``), -1 for a voxel routed through the ``n_queries`` learned queries. None puts
        every voxel in one group.
    embed_dim : int
        Query / token width. The reference model uses 768 (DINOv2 ViT-B/14 width).
        When it differs from ``n_chans`` the tokens go through a linear projection.
    n_heads : int
        Attention heads (reference: 16).
    depth : int
        Cross-attention layers (reference: 1).
    ffn_dim : int
        Hidden width of the feed-forward layer after each cross-attention (reference:
        1024); 0 drops it.
    drop_prob : float
        Dropout after attention, in the feed-forward layer and on the region tokens
        (reference: 0.1).
    %(attn_drop_prob)s
    value_proj : bool
        Project the values (False in the reference: the routed output stays in the
        backbone's feature space).
    activation : type[nn.Module]
        Feed-forward activation.
    attention : str | type
        A registered cross-attention block (``"cross"``, ``"gated_cross"``).
    pos_init_std : float
        Initial scale of the learned grid positions, relative to tokens standardised
        per dimension (as :class:`~neuroattn.estimators.BrainEncoderRegressor` feeds
        them); large enough that location-based routing is learned quickly.
    n_queries : int
        Learned queries for the voxels without a label (``voxel_regions == -1``); each
        such voxel reads a learned soft mixture (softmax over queries) of their tokens.
    query_init : sequence of int | None
        ``(n_free_voxels,)`` initial query of each free voxel (e.g. from clustering);
        None starts every free voxel uniform over the queries.
    assignment_init_logit : float
        Logit given to the initial query of a free voxel (the others get 0).

    Notes
    -----
    Input ``(batch, n_chans, n_times)`` = ``(batch, dim, n_tokens)``; output
    ``(batch, n_outputs)``. ``forward_features`` gives region tokens ``(batch,
    n_regions, embed_dim)`` (the labelled groups first, then the ``n_queries`` free
    queries). After :meth:`set_ridge_readout` every voxel is read in closed form from
    one query's :meth:`readout_features` (its attention-pooled input tokens, its
    output token and the mean input token). :meth:`routing_maps` returns the last layer's attention,
    averaged over heads, ``(batch, n_regions, n_tokens)``.

    The reference configuration (Adeli et al.) is ``embed_dim=768, n_heads=16,
    depth=1, ffn_dim=1024, drop_prob=0.1, value_proj=False`` on DINOv2 ViT-B/14 patch
    tokens; the defaults here are smaller so that CPU training takes seconds.
    """

    example_signal_args = {"n_chans": 8, "n_times": 16, "n_outputs": 6,
                           "voxel_regions": [0, 0, 1, 1, 2, 2]}

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None, *,
                 voxel_regions: Sequence[int] | None = None, embed_dim: int = 64,
                 n_heads: int = 4, depth: int = 1, ffn_dim: int = 128,
                 drop_prob: float = 0.1, attn_drop_prob: float = 0.0,
                 value_proj: bool = False, activation: type[nn.Module] = nn.GELU,
                 attention: str | type = "cross", pos_init_std: float = 0.3,
                 n_queries: int = 0, query_init: Sequence[int] | None = None,
                 assignment_init_logit: float = 3.0) -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        regions = [0] * self.n_outputs if voxel_regions is None else [int(r) for r in
                                                                         voxel_regions]
        if len(regions) != self.n_outputs:
            raise ValueError(f"voxel_regions has {len(regions)} entries for n_outputs="
                             f"{self.n_outputs} voxels; give one region index per voxel.")
        if min(regions) < -1:
            raise ValueError("voxel_regions must hold non-negative region indices (-1: a "
                             "voxel routed through the n_queries learned queries).")
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}.")
        free = [v for v, r in enumerate(regions) if r == -1]
        if free and not 1 <= n_queries <= len(free):
            raise ValueError(f"n_queries must be in [1, {len(free)}] (the voxels with "
                             f"voxel_regions == -1), got {n_queries}.")
        if not free and n_queries:
            raise ValueError(f"n_queries={n_queries} but no voxel has voxel_regions == -1.")
        self.n_labelled = max(regions) + 1
        self.n_free_queries = int(n_queries)
        self.n_regions = self.n_labelled + self.n_free_queries
        self.input_proj = (nn.Identity() if self.n_chans == embed_dim
                           else nn.Linear(self.n_chans, embed_dim))
        self.pos_embed = LearnedPositionalEmbedding(self.n_times, embed_dim)
        nn.init.normal_(self.pos_embed.pos, std=pos_init_std)
        self.queries = nn.Parameter(torch.randn(1, self.n_regions, embed_dim))
        self.blocks = nn.ModuleList(_QueryBlock(embed_dim, n_heads, ffn_dim, drop_prob,
                                                attn_drop_prob, value_proj, attention,
                                                activation) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim)
        self.drop = nn.Dropout(drop_prob)
        labelled = [max(r, 0) for r in regions]
        self.final_layer = RegionReadout(embed_dim, labelled)
        self.register_buffer("_free_idx", torch.as_tensor(free, dtype=torch.long),
                             persistent=False)
        init = torch.zeros(len(free), self.n_free_queries)
        if free and query_init is not None:
            query_init = torch.as_tensor(list(query_init), dtype=torch.long)
            if query_init.numel() != len(free) or query_init.min() < 0 or \
                    query_init.max() >= self.n_free_queries:
                raise ValueError(f"query_init must hold {len(free)} query indices in "
                                 f"[0, {self.n_free_queries}).")
            init[torch.arange(len(free)), query_init] = assignment_init_logit
        # Soft assignment of the free voxels to the free queries (softmax over queries).
        # (None without free voxels: every parameter must get a gradient.)
        self.assignment_logits = nn.Parameter(init) if free else None
        # Closed-form readout (set by the estimator after training; 0 = off): each voxel
        # reads [attention-pooled input tokens, query token] of one query.
        hard = torch.as_tensor(labelled, dtype=torch.long)
        self.register_buffer("voxel_query", hard.clone())
        if free:
            self.voxel_query[self._free_idx] = self.n_labelled + init.argmax(1)
        self.register_buffer("ridge_weight", torch.zeros(self.n_outputs,
                                                         2 * self.n_chans + embed_dim))
        self.register_buffer("ridge_bias", torch.zeros(self.n_outputs))
        self.register_buffer("use_ridge", torch.zeros((), dtype=torch.bool))

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone tokens ``(batch, dim, n_tokens)`` -> ``(batch, n_tokens, embed_dim)``."""
        return self.input_proj(x.transpose(1, 2))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Region tokens ``(batch, n_regions, embed_dim)``.

        Grid positions are added to the keys only (DETR-style), so they steer where a
        region looks while the values it routes stay the backbone's features.
        """
        tokens = self.tokens(x)
        key_pos = self.pos_embed.pos[:, : tokens.shape[1]]
        q = self.queries.expand(x.shape[0], -1, -1)
        for block in self.blocks:
            q = block(q, tokens, key_pos)
        return self.drop(self.norm(q))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(self.use_ridge):
            return self._ridge_readout(self.readout_features(x))
        q = self.forward_features(x)
        out = (self.final_layer(q[:, : self.n_labelled]) if self.n_labelled
               else q.new_empty(q.shape[0], self.n_outputs))
        if self.n_free_queries:
            free = q[:, self.n_labelled:]  # (b, k, e)
            idx = self._free_idx
            mix = self.assignment_logits.softmax(dim=1)  # (v_free, k)
            per_query = torch.einsum("bke,ve->bkv", free, self.final_layer.weight[idx])
            out[:, idx] = (torch.einsum("bkv,vk->bv", per_query, mix)
                           + self.final_layer.bias[idx])
        return out

    def voxel_assignment(self) -> torch.Tensor:
        """Soft assignment ``(n_free_voxels, n_queries)`` of the free voxels (rows sum to 1)."""
        if self.assignment_logits is None:
            return torch.zeros(0, 0)
        return self.assignment_logits.detach().softmax(dim=1)

    def readout_features(self, x: torch.Tensor) -> torch.Tensor:
        """What the closed-form readout reads: ``(batch, n_regions, 2 * n_chans +
        embed_dim)``.

        The input tokens pooled with each query's attention (averaged over heads) --
        linear in the features once the routing is fixed -- then the query's output
        token, then the mean of the input tokens (global features, the same for every
        query: with it the closed-form readout contains ridge on pooled features).
        """
        attn = self.blocks[-1].attn
        before = attn.record_attention
        attn.record_attention = True
        try:
            q = self.forward_features(x)
            weights = attn.last_attention.mean(dim=1)  # (b, n_regions, n_tokens)
        finally:
            attn.record_attention = before
            if not before:
                attn.last_attention = None
        pooled = weights @ x.transpose(1, 2)  # (b, n_regions, n_chans)
        mean = x.mean(dim=-1, keepdim=True).transpose(1, 2).expand_as(pooled)
        return torch.cat([pooled, q, mean], dim=-1)

    def _ridge_readout(self, z: torch.Tensor) -> torch.Tensor:
        out = z.new_empty(z.shape[0], self.n_outputs)
        for r in range(self.n_regions):
            idx = torch.nonzero(self.voxel_query == r).ravel()
            if idx.numel():
                out[:, idx] = z[:, r] @ self.ridge_weight[idx].T + self.ridge_bias[idx]
        return out

    @torch.no_grad()
    def set_ridge_readout(self, weight: torch.Tensor, bias: torch.Tensor,
                          voxel_query: torch.Tensor) -> None:
        """Switch to the closed-form readout.

        Parameters
        ----------
        weight : torch.Tensor
            ``(n_outputs, 2 * n_chans + embed_dim)`` weights on :meth:`readout_features`.
        bias : torch.Tensor
            ``(n_outputs,)``.
        voxel_query : torch.Tensor
            ``(n_outputs,)`` query read by each voxel.
        """
        self.ridge_weight.copy_(weight)
        self.ridge_bias.copy_(bias)
        self.voxel_query.copy_(voxel_query)
        self.use_ridge.fill_(True)

    def example_input(self, batch_size: int = 2,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """Random non-negative (post-ReLU-like) tokens ``(batch, dim, n_tokens)``."""
        return torch.rand(batch_size, self.n_chans, self.n_times, generator=generator)

    @torch.no_grad()
    def routing_maps(self, x: torch.Tensor, layer: int = -1) -> torch.Tensor:
        """Attention of each region query over the tokens, averaged over heads.

        Parameters
        ----------
        x : torch.Tensor
            Tokens ``(batch, dim, n_tokens)``.
        layer : int
            Which cross-attention layer (default the last).

        Returns
        -------
        torch.Tensor
            ``(batch, n_regions, n_tokens)``; each row sums to 1.
        """
        weights = self.get_attention_weights(x)
        name = f"blocks.{range(len(self.blocks))[layer]}.attn"
        return weights[name].mean(dim=1)
