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
        ``(n_outputs,)`` query-group index of each voxel (0 ... ``n_regions - 1``).
        None puts every voxel in one group.
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

    Notes
    -----
    Input ``(batch, n_chans, n_times)`` = ``(batch, dim, n_tokens)``; output
    ``(batch, n_outputs)``. ``forward_features`` gives region tokens ``(batch,
    n_regions, embed_dim)``. :meth:`routing_maps` returns the last layer's attention,
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
                 attention: str | type = "cross", pos_init_std: float = 0.3) -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        regions = [0] * self.n_outputs if voxel_regions is None else [int(r) for r in
                                                                         voxel_regions]
        if len(regions) != self.n_outputs:
            raise ValueError(f"voxel_regions has {len(regions)} entries for n_outputs="
                             f"{self.n_outputs} voxels; give one region index per voxel.")
        if min(regions) < 0:
            raise ValueError("voxel_regions must hold non-negative region indices.")
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}.")
        self.n_regions = max(regions) + 1
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
        self.final_layer = RegionReadout(embed_dim, regions)

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
