"""DBConformer: a dual-branch (temporal and spatial) convolutional transformer for EEG."""

from __future__ import annotations

import torch
from torch import nn

from .._docs import fill_doc
from ..nn import LearnedPositionalEmbedding, RecordsAttention, TransformerEncoder
from . import register_model
from ._base import NeuroModel
from ._temporal import DepthwiseTemporalConv

__all__ = ["DBConformer", "ChannelAttentionPooling"]


@fill_doc
class ChannelAttentionPooling(RecordsAttention, nn.Module):
    """Pool channel tokens with softmax weights from a small tanh scorer.

    Parameters
    ----------
    %(embed_dim)s
    hidden_dim : int
        Width of the scorer's hidden layer.

    Notes
    -----
    Input ``(batch, n_chans, embed_dim)``, output ``(batch, embed_dim)``; the weights
    ``(batch, n_chans)`` (summing to 1 over channels) are recorded.
    """

    def __init__(self, embed_dim: int, hidden_dim: int = 10) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(embed_dim, hidden_dim), nn.Tanh(),
                                   nn.Linear(hidden_dim, 1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.score(tokens).squeeze(-1), dim=-1)
        self._record(weights)
        return (weights.unsqueeze(-1) * tokens).sum(dim=1)


@register_model("dbconformer", task="classification", modality="eeg",
                paper="DBConformer (dual-branch convolutional transformer), 2025")
@fill_doc
class DBConformer(NeuroModel):
    """Dual-branch convolutional transformer: temporal patches and channel tokens.

    Temporal branch: a pointwise conv mixes the electrodes into ``embed_dim`` maps, a
    depthwise temporal conv (``temporal_kernel`` samples) filters each, batch norm and
    ELU follow, average pooling of ``patch_size`` samples turns the maps into tokens,
    learnable positions are added and ``depth`` transformer layers mix them; their
    mean summarises time. Spatial branch: one token per electrode from a shared
    strided per-channel conv and log-power pooling, learnable channel positions,
    ``depth`` transformer layers, then a light channel-attention pooling (its weights,
    one per electrode, are what :meth:`get_attention_weights` reports). The two
    summaries are concatenated into a small MLP head.

    Reimplemented from the paper's description (the reference code is not used).

    Parameters
    ----------
    %(signal_args)s
    embed_dim : int
        Token width of both branches.
    %(n_heads)s
    depth : int
        Transformer layers per branch.
    temporal_kernel : int
        Depthwise temporal kernel of the temporal branch, in samples.
    patch_size : int
        Samples pooled into one temporal token.
    channel_kernel, channel_stride : int
        Kernel and stride of the per-channel conv of the spatial branch, in samples.
    hidden_dim : int
        Hidden width of the MLP head.
    drop_prob, attn_drop_prob, drop_path_prob : float
        Dropout in the branches and head, on attention weights, stochastic depth.
    activation : type[nn.Module]
        Activation of the conv stem and the head.
    attention : str | type
        Self-attention block of the transformer layers.

    Notes
    -----
    Input ``(batch, n_chans, n_times)``, output ``(batch, n_outputs)``. About 92k
    parameters with 22 electrodes x 1000 samples x 4 classes (BNCI2014_001).
    """

    example_signal_args = {"n_chans": 6, "n_times": 200, "n_outputs": 3, "sfreq": 100.0}

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None, *, embed_dim: int = 40,
                 n_heads: int = 4, depth: int = 2, temporal_kernel: int = 63,
                 patch_size: int = 25, channel_kernel: int = 25, channel_stride: int = 5,
                 hidden_dim: int = 64, drop_prob: float = 0.25, attn_drop_prob: float = 0.0,
                 drop_path_prob: float = 0.0, activation: type[nn.Module] = nn.ELU,
                 attention: str | type = "multihead") -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        if self.n_times < max(patch_size, channel_kernel):
            raise ValueError(f"n_times={self.n_times} is shorter than patch_size={patch_size} "
                             f"or channel_kernel={channel_kernel} samples.")
        n_patches = self.n_times // patch_size
        encoder = dict(depth=depth, n_heads=n_heads, drop_prob=drop_prob,
                       attn_drop_prob=attn_drop_prob, drop_path_prob=drop_path_prob,
                       attention=attention)
        # temporal branch
        self.temporal_stem = nn.Sequential(
            nn.Conv1d(self.n_chans, embed_dim, 1, bias=False), nn.BatchNorm1d(embed_dim),
            DepthwiseTemporalConv(embed_dim, temporal_kernel), nn.BatchNorm1d(embed_dim),
            activation(), nn.AvgPool1d(patch_size, patch_size), nn.Dropout(drop_prob))
        self.temporal_pos = LearnedPositionalEmbedding(n_patches, embed_dim)
        self.temporal_encoder = TransformerEncoder(embed_dim, **encoder)
        # spatial branch
        self.channel_conv = nn.Conv1d(1, embed_dim, channel_kernel, stride=channel_stride)
        self.channel_norm = nn.LayerNorm(embed_dim)
        self.channel_pos = LearnedPositionalEmbedding(self.n_chans, embed_dim)
        self.spatial_encoder = TransformerEncoder(embed_dim, **encoder)
        self.channel_pool = ChannelAttentionPooling(embed_dim)
        # head
        self.head = nn.Sequential(nn.Linear(2 * embed_dim, hidden_dim), activation(),
                                  nn.Dropout(drop_prob))
        self.final_layer = nn.Linear(hidden_dim, self.n_outputs)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        tokens = self.temporal_pos(self.temporal_stem(x).transpose(1, 2))
        temporal = self.temporal_encoder(tokens).mean(dim=1)
        maps = self.channel_conv(x.reshape(b * c, 1, t))  # (b * c, embed, t')
        power = torch.log(maps.square().mean(dim=-1) + 1e-6).view(b, c, -1)
        chans = self.spatial_encoder(self.channel_pos(self.channel_norm(power)))
        spatial = self.channel_pool(chans)
        return self.head(torch.cat([temporal, spatial], dim=1))
