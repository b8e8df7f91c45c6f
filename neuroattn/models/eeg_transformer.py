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
    """Temporal conv patches of all channels, a pre-norm transformer, mean pooling.

    A small general-purpose default: a strided temporal convolution turns each patch of
    ``patch_size`` samples (all channels) into one token, sinusoidal positions are
    added, ``depth`` transformer blocks mix the tokens and their mean feeds a linear
    head.

    Parameters
    ----------
    %(signal_args)s
    %(transformer_args)s
    patch_size : int
        Samples per token; clipped to ``n_times`` for short inputs.

    Notes
    -----
    Input ``(batch, n_chans, n_times)``, output ``(batch, n_outputs)``.
    """

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None, *, embed_dim: int = 32,
                 n_heads: int = 4, depth: int = 2, patch_size: int = 25,
                 drop_prob: float = 0.1, attn_drop_prob: float = 0.0,
                 drop_path_prob: float = 0.0, activation: type[nn.Module] = nn.GELU,
                 attention: str | type = "multihead") -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        patch = max(1, min(int(patch_size), self.n_times))
        self.tokenizer = nn.Sequential(
            nn.Conv1d(self.n_chans, embed_dim, kernel_size=patch, stride=patch),
            nn.BatchNorm1d(embed_dim), activation())
        self.pos_embed = SinusoidalPositionalEmbedding(embed_dim)
        self.encoder = TransformerEncoder(embed_dim, depth, n_heads, drop_prob=drop_prob,
                                          attn_drop_prob=attn_drop_prob,
                                          drop_path_prob=drop_path_prob,
                                          activation=activation, attention=attention)
        self.final_layer = nn.Linear(embed_dim, self.n_outputs)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.pos_embed(self.tokenizer(x).transpose(1, 2))
        return self.encoder(tokens).mean(dim=1)
