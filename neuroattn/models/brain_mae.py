"""BrainMAE: region embeddings, region-aware graph attention, masked autoencoding."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from .._docs import fill_doc
from ..nn import (
    ChannelPatchEmbed,
    SinusoidalPositionalEmbedding,
    TransformerBlock,
    masked_reconstruction_loss,
)
from ..nn.graph import GraphAttentionBlock
from . import register_model
from ._base import NeuroModel

__all__ = ["BrainMAE"]

_MASK_STRATEGIES = ("regions", "patches")
_POOLS = ("mean", "meanstd", "coupling", "attention")


@register_model("brain_mae", task=("pretraining", "classification", "regression"),
                modality="fmri", paper="BrainMAE (Yang et al. 2024)")
@fill_doc
class BrainMAE(NeuroModel):
    """Masked autoencoder over ROI time series with region-aware graph attention.

    Each region's segment is cut into time patches of ``patch_size`` samples, every
    patch is embedded (weights shared across regions), and a learnable embedding of its
    region plus a sinusoidal position of the patch are added. ``depth`` encoder layers
    alternate a graph-attention block across regions (per time patch; logits from
    region-embedding similarity plus the signal, self-loops removed, see
    :class:`~neuroattn.nn.graph.RegionGraphAttention`) and a temporal transformer block
    across the patches of each region. In pretraining (:meth:`forward_masked`), whole
    regions (``mask_strategy="regions"``) or random region-patches (``"patches"``) are
    replaced by a mask token and hidden as attention keys; a light decoder
    (``decoder_depth`` graph blocks and a linear layer) reconstructs every patch, and
    :meth:`reconstruction_loss` weights the error ``masked_weight`` on masked and
    ``1 - masked_weight`` on visible samples. For downstream use, :meth:`forward`
    encodes unmasked input and pools the tokens into one vector per segment that
    ``final_layer`` maps to ``n_outputs``.

    Signal arguments map as follows: ``n_chans`` is the number of regions, ``n_times``
    the samples per segment, ``sfreq`` is ``1 / TR``. Without ``n_outputs`` the head
    is the identity (pretraining only).

    Parameters
    ----------
    %(signal_args)s
    %(embed_dim)s
    n_heads : int
        Attention heads (graph and temporal).
    depth : int
        Encoder layers (each one graph block and one temporal block).
    patch_size : int
        Samples per time patch (clipped to ``n_times``); trailing samples that do not
        fill a patch are ignored.
    decoder_depth : int
        Graph blocks of the decoder.
    mask_ratio : float
        Fraction of regions (or region-patches) masked in pretraining, in (0, 1).
    mask_strategy : {"regions", "patches"}
        Mask whole regions of a segment or random region-patches.
    masked_weight : float
        Weight of the masked part of the loss (the visible part gets the rest).
    pool : {"coupling", "attention", "meanstd", "mean"}
        Segment representation. ``"mean"``: mean of the tokens over regions and
        patches; ``"meanstd"``: mean and standard deviation (``2 * embed_dim``
        features). ``"coupling"`` adds to ``"meanstd"`` the region-to-region
        *coupling* of the segment: the decoder reads the unmasked encoder tokens out
        as one time course per region (the pretrained reconstruction head), and the
        upper triangle of their correlation matrix across the segment's samples is
        appended (``n_regions * (n_regions - 1) / 2`` more features). ``"attention"``
        instead appends the upper triangle of the symmetrised region-to-region
        attention of the encoder (averaged over heads, patches and layers). Mean or
        std pooling alone discards which regions co-fluctuate, which is where
        group differences in functional connectivity live.
    drop_prob, attn_drop_prob, drop_path_prob : float
        Dropout, attention-weight dropout and stochastic depth of the last layer.
    %(mlp_activation)s
    attention : str | type
        Graph attention block (``kind="graph"``), ``"region_graph"`` by default.

    Notes
    -----
    Input ``(batch, n_regions, n_timepoints)``, each region z-scored; output
    ``(batch, n_outputs)``. Region attention: :meth:`region_attention`.
    """

    _required_signal_args = ("n_chans", "n_times")
    example_signal_args: ClassVar[dict] = {"n_chans": 6, "n_times": 8, "n_outputs": 2,
                                           "sfreq": 0.5}

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None, *, embed_dim: int = 32,
                 n_heads: int = 4, depth: int = 1, patch_size: int = 4,
                 decoder_depth: int = 1, mask_ratio: float = 0.5,
                 mask_strategy: str = "regions", masked_weight: float = 0.75,
                 pool: str = "coupling", drop_prob: float = 0.0, attn_drop_prob: float = 0.0,
                 drop_path_prob: float = 0.0, activation: type[nn.Module] = nn.GELU,
                 attention: str | type = "region_graph") -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        if self.n_chans < 2:
            raise ValueError(f"BrainMAE needs at least 2 regions, got n_chans={self.n_chans}.")
        if not 0 < mask_ratio < 1 or not 0 <= masked_weight <= 1:
            raise ValueError(f"mask_ratio must be in (0, 1) and masked_weight in [0, 1], got "
                             f"{mask_ratio}, {masked_weight}.")
        if mask_strategy not in _MASK_STRATEGIES:
            raise ValueError(f"mask_strategy must be one of {_MASK_STRATEGIES}, got "
                             f"{mask_strategy!r}.")
        if pool not in _POOLS:
            raise ValueError(f"pool must be one of {_POOLS}, got {pool!r}.")
        if depth < 1 or decoder_depth < 1:
            raise ValueError(f"depth and decoder_depth must be >= 1, got {depth}, "
                             f"{decoder_depth}.")
        self.patch_size = max(1, min(int(patch_size), self.n_times))
        self.n_patches = self.n_times // self.patch_size
        self.mask_ratio, self.mask_strategy = mask_ratio, mask_strategy
        self.masked_weight, self.pool = masked_weight, pool

        self.patch_embed = ChannelPatchEmbed(embed_dim, self.patch_size)
        self.region_embed = nn.Parameter(torch.randn(self.n_chans, embed_dim) * 0.1)
        self.pos_embed = SinusoidalPositionalEmbedding(embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(embed_dim))
        nn.init.normal_(self.mask_token, std=0.02)
        rates = torch.linspace(0, drop_path_prob, depth).tolist()
        common = dict(drop_prob=drop_prob, attn_drop_prob=attn_drop_prob, activation=activation)
        self.graph_blocks = nn.ModuleList(
            GraphAttentionBlock(embed_dim, n_heads, drop_path_prob=p, attention=attention,
                                **common) for p in rates)
        self.temporal_blocks = nn.ModuleList(
            TransformerBlock(embed_dim, n_heads, mlp_ratio=2.0, drop_path_prob=p, **common)
            for p in rates)
        self.norm = nn.LayerNorm(embed_dim)
        self.decoder_blocks = nn.ModuleList(
            GraphAttentionBlock(embed_dim, n_heads, attention=attention, **common)
            for _ in range(decoder_depth))
        self.decoder_norm = nn.LayerNorm(embed_dim)
        self.decoder_pred = nn.Linear(embed_dim, self.patch_size)
        self._triu = torch.triu_indices(self.n_chans, self.n_chans, offset=1)
        n_pairs = self._triu.shape[1] if pool in ("coupling", "attention") else 0
        self.n_features = embed_dim * (1 if pool == "mean" else 2) + n_pairs
        self.final_layer = (nn.Linear(self.n_features, self.n_outputs)
                            if self.n_outputs is not None else nn.Identity())

    # ------------------------------------------------------------------ encoder
    def _tokens(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, r, _ = x.shape
        tok = self.patch_embed(x)  # (b, r, p, d)
        if mask is not None:
            tok = torch.where(mask[..., None], self.mask_token.to(tok.dtype), tok)
        tok = self.pos_embed(tok.reshape(b * r, self.n_patches, -1)).view(b, r, self.n_patches, -1)
        return tok + self.region_embed[None, :, None, :]

    def _graph(self, block: GraphAttentionBlock, tok: torch.Tensor,
               visible: torch.Tensor | None) -> torch.Tensor:
        b, r, p, d = tok.shape
        per_patch = tok.transpose(1, 2).reshape(b * p, r, d)
        keys = None if visible is None else visible.transpose(1, 2).reshape(b * p, r)
        return block(per_patch, self.region_embed, key_mask=keys).view(b, p, r, d).transpose(1, 2)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Encoder tokens ``(batch, n_regions, n_patches, embed_dim)``.

        Parameters
        ----------
        x : torch.Tensor
            Segments ``(batch, n_regions, n_timepoints)`` to encode, each region z-scored.
        mask : torch.Tensor | None
            ``(batch, n_regions, n_patches)`` boolean, True where a patch is masked.
        """
        self._check_input(x)
        if x.shape[-1] != self.n_times:
            raise ValueError(f"BrainMAE was built for segments of {self.n_times} samples, got "
                             f"{x.shape[-1]}.")
        tok = self._tokens(x, mask)
        visible = None if mask is None else ~mask
        b, r, p, d = tok.shape
        for graph, temporal in zip(self.graph_blocks, self.temporal_blocks):
            tok = self._graph(graph, tok, visible)
            tok = temporal(tok.reshape(b * r, p, d)).view(b, r, p, d)
        return self.norm(tok)

    def _decode(self, tok: torch.Tensor) -> torch.Tensor:
        """Decoder readout ``(batch, n_regions, n_patches * patch_size)`` of tokens."""
        for block in self.decoder_blocks:
            tok = self._graph(block, tok, None)
        pred = self.decoder_pred(self.decoder_norm(tok))  # (b, r, p, patch)
        return pred.flatten(2)

    def _upper(self, mat: torch.Tensor) -> torch.Tensor:
        rows, cols = self._triu.to(mat.device)
        return mat[:, rows, cols]

    def coupling(self, x: torch.Tensor) -> torch.Tensor:
        """Region coupling ``(batch, n_regions, n_regions)`` of unmasked segments.

        Pearson correlation, across the segment's samples, of the decoder's readout of
        every region from the encoder tokens (what the pretrained model reconstructs);
        regions read out as constant get zero coupling.

        Parameters
        ----------
        x : torch.Tensor
            Unmasked segments ``(batch, n_regions, n_timepoints)``.
        """
        return self._correlation(self._decode(self.encode(x)))

    @staticmethod
    def _correlation(series: torch.Tensor) -> torch.Tensor:
        z = series - series.mean(dim=-1, keepdim=True)
        z = z / z.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        return z @ z.transpose(-2, -1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled representation ``(batch, n_features)`` of unmasked segments (``pool``)."""
        if self.pool == "attention":
            tok, att = self._encode_with_attention(x)
        else:
            tok = self.encode(x)
        flat = tok.flatten(1, 2)
        if self.pool == "mean":
            return flat.mean(dim=1)
        feats = [flat.mean(dim=1), flat.std(dim=1)]
        if self.pool == "coupling":
            feats.append(self._upper(self._correlation(self._decode(tok))))
        elif self.pool == "attention":
            feats.append(self._upper(att + att.transpose(-2, -1)))
        return torch.cat(feats, dim=1)

    def _encode_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder tokens and region attention ``(batch, n_regions, n_regions)`` averaged
        over heads, patches and layers (detached: a fixed readout of the encoder)."""
        mods = [block.attn for block in self.graph_blocks]
        before = [m.record_attention for m in mods]
        try:
            for m in mods:
                m.record_attention = True
            tok = self.encode(x)
            b, r = x.shape[0], self.n_chans
            att = torch.stack([m.last_attention.view(b, self.n_patches, -1, r, r).mean(dim=(1, 2))
                               for m in mods]).mean(dim=0)
        finally:
            for m, flag in zip(mods, before):
                m.record_attention = flag
        return tok, att

    # -------------------------------------------------------------- pretraining
    def make_mask(self, batch_size: int, generator: torch.Generator | None = None,
                  device: torch.device | str | None = None) -> torch.Tensor:
        """Random mask ``(batch_size, n_regions, n_patches)``, True = masked.

        ``"regions"`` masks ``round(mask_ratio * n_regions)`` whole regions per sample,
        ``"patches"`` the same fraction of region-patches; at least one element is
        masked and one kept.
        """
        r, p = self.n_chans, self.n_patches
        n_items = r if self.mask_strategy == "regions" else r * p
        n_mask = min(max(int(round(self.mask_ratio * n_items)), 1), n_items - 1)
        scores = torch.rand(batch_size, n_items, generator=generator)
        ranks = scores.argsort(dim=1).argsort(dim=1)
        mask = ranks < n_mask
        mask = (mask[:, :, None].expand(-1, -1, p) if self.mask_strategy == "regions"
                else mask.view(batch_size, r, p))
        return mask.to(device) if device is not None else mask

    def forward_masked(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                       generator: torch.Generator | None = None,
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask, encode and reconstruct a batch (the pretraining pass).

        Parameters
        ----------
        x : torch.Tensor
            Segments ``(batch, n_regions, n_timepoints)`` to mask and reconstruct.
        mask : torch.Tensor | None
            ``(batch, n_regions, n_patches)`` boolean; drawn by :meth:`make_mask` when
            None.
        generator : torch.Generator | None
            Source of the random mask.

        Returns
        -------
        reconstruction : torch.Tensor
            ``(batch, n_regions, n_patches * patch_size)``, the prediction of the
            first ``n_patches * patch_size`` samples of ``x``.
        sample_mask : torch.Tensor
            Boolean of the same shape, True on masked samples.
        """
        if mask is None:
            mask = self.make_mask(x.shape[0], generator=generator, device=x.device)
        expected = (x.shape[0], self.n_chans, self.n_patches)
        if tuple(mask.shape) != expected:
            raise ValueError(f"mask must be (batch, n_regions, n_patches) = {expected}, got "
                             f"{tuple(mask.shape)}.")
        pred = self._decode(self.encode(x, mask))
        b, r = x.shape[:2]
        sample_mask = mask[..., None].expand(-1, -1, -1, self.patch_size)
        return pred, sample_mask.reshape(b, r, -1)

    def reconstruction_loss(self, x: torch.Tensor, reconstruction: torch.Tensor,
                            mask: torch.Tensor) -> torch.Tensor:
        """Weighted MSE: ``masked_weight`` on masked, ``1 - masked_weight`` on visible samples.

        See :func:`~neuroattn.nn.masked_reconstruction_loss`; the samples of ``x``
        beyond the last full patch are not reconstructed and not scored.

        Parameters
        ----------
        x : torch.Tensor
            ``(batch, n_regions, n_timepoints)`` targets.
        reconstruction, mask : torch.Tensor
            Outputs of :meth:`forward_masked`.

        Returns
        -------
        torch.Tensor
            Scalar loss.
        """
        return masked_reconstruction_loss(reconstruction, x[..., : reconstruction.shape[-1]],
                                          mask, masked_weight=self.masked_weight)

    def example_loss(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction loss plus the head's output, so every parameter gets gradient."""
        recon, mask = self.forward_masked(x, generator=torch.Generator().manual_seed(0))
        return self.reconstruction_loss(x, recon, mask) + self(x).square().mean()

    # ----------------------------------------------------------- interpretation
    @torch.no_grad()
    def region_attention(self, x: torch.Tensor) -> torch.Tensor:
        """Region-to-region attention ``(batch, n_regions, n_regions)`` of the encoder.

        Averaged over heads, time patches and encoder layers; rows are the attending
        (query) regions and sum to one; the diagonal is zero (no self-loops).
        """
        weights = self.get_attention_weights(x)
        graph = [w for name, w in weights.items() if name.startswith("graph_blocks")]
        b = x.shape[0]
        stacked = torch.stack([w.view(b, self.n_patches, *w.shape[1:]).mean(dim=(1, 2))
                               for w in graph])
        return stacked.mean(dim=0)
