"""A compact convolution-tokenised transformer for EEG windows (the default model)."""

from __future__ import annotations

import torch
from torch import nn

from .._docs import fill_doc
from ..nn import SinusoidalPositionalEmbedding, TransformerEncoder
from . import register_model
from ._base import NeuroModel

__all__ = ["EEGTransformer"]


@register_model("eeg_transformer", task=("classification", "regression"),
                modality=("eeg", "ieeg", "fmri"),
                paper="Vaswani et al. 2017 (tokens: conv patches)")
@fill_doc
class EEGTransformer(NeuroModel):
    """Filtered-signal and log-power tokens of time patches, a transformer, mean pooling.

    A small general-purpose default. A temporal convolution over all channels
    (``embed_dim`` spatio-temporal filters of ``filter_length`` samples) is summarised
    per patch of ``patch_size`` samples twice: by its mean (waveform) and by its log mean
    square (band power, which is what motor imagery and most EEG decoding rely on, as in
    ShallowConvNet). Both summaries are projected into one token; sinusoidal positions
    are added, ``depth`` transformer blocks mix the tokens and their mean feeds a linear
    head.

    Parameters
    ----------
    %(signal_args)s
    %(transformer_args)s
    patch_size : int
        Samples per token; clipped to ``n_times`` for short inputs.
    filter_length : int
        Length in samples of the temporal filters; clipped to ``n_times``.

    Notes
    -----
    Input ``(batch, n_chans, n_times)``, output ``(batch, n_outputs)``.
    """

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None, *, embed_dim: int = 32,
                 n_heads: int = 4, depth: int = 2, patch_size: int = 25,
                 filter_length: int = 25, drop_prob: float = 0.1, attn_drop_prob: float = 0.0,
                 drop_path_prob: float = 0.0, activation: type[nn.Module] = nn.GELU,
                 attention: str | type = "multihead") -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        self.patch_size = max(1, min(int(patch_size), self.n_times))
        length = max(1, min(int(filter_length), self.n_times))
        self.temporal_filter = nn.Sequential(
            nn.Conv1d(self.n_chans, embed_dim, kernel_size=length, padding="same"),
            nn.BatchNorm1d(embed_dim))
        self.token_proj = nn.Sequential(nn.Linear(2 * embed_dim, embed_dim), activation())
        self.pos_embed = SinusoidalPositionalEmbedding(embed_dim)
        self.encoder = TransformerEncoder(embed_dim, depth, n_heads, drop_prob=drop_prob,
                                          attn_drop_prob=attn_drop_prob,
                                          drop_path_prob=drop_path_prob,
                                          activation=activation, attention=attention)
        self.final_layer = nn.Linear(embed_dim, self.n_outputs)

    def tokenize(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens ``(batch, n_times // patch_size, embed_dim)`` of inputs ``(batch,
        n_chans, n_times)``: per patch, the filtered signal's mean and log mean square."""
        filtered = self.temporal_filter(x)
        n = filtered.shape[-1] // self.patch_size
        patches = filtered[..., : n * self.patch_size].unflatten(-1, (n, self.patch_size))
        power = patches.square().mean(-1).clamp_min(1e-6).log()
        summary = torch.cat([patches.mean(-1), power], dim=1)  # (batch, 2 * embed_dim, n)
        return self.token_proj(summary.transpose(1, 2))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.pos_embed(self.tokenize(x))).mean(dim=1)
