"""Attention over frequency-band tokens of tangent-space (Riemannian) features."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from .._docs import fill_doc
from ..nn.transformer import TransformerEncoder
from . import register_model
from ._base import NeuroModel

__all__ = ["TangentAttention"]


@register_model("tangent_attention", task="classification", modality=("eeg", "ieeg"),
                paper="hybrid: tangent space (Barachant et al. 2012) + band attention")
@fill_doc
class TangentAttention(NeuroModel):
    """Self-attention between band tokens and attention pooling over them.

    The input of one trial is one tangent-space vector per frequency band,
    ``(n_bands, n_features)`` (see
    :class:`neuroattn.estimators.riemann.FilterBankTangentSpace`): the features of
    tangent space + logistic regression, kept apart by band. Layers:

    1. feature dropout ``input_drop_prob``, a linear embedding shared by the bands
       plus a learned embedding per band;
    2. ``depth`` pre-norm transformer blocks over the band tokens;
    3. attention pooling: a learned query scores each band (softmax over bands; the
       weights are kept in ``band_weights_`` for plotting);
    4. ``final_layer`` on the pooled token, plus, with ``linear_skip``, a linear
       readout (``skip``) of the band-weighted input features (logistic regression on
       tangent features, with bands weighted by attention); :meth:`forward_features`
       returns both, concatenated.

    ``n_chans`` is the number of bands and ``n_times`` the features per band (the
    braindecode signal arguments of a ``(n_bands, n_features)`` input).

    Parameters
    ----------
    %(signal_args)s
    embed_dim : int
        Width of a band token after the shared embedding.
    depth : int
        Transformer blocks (0: attention pooling only).
    n_heads : int
        Attention heads (divides ``embed_dim``).
    input_drop_prob : float
        Dropout on the input features.
    drop_prob : float
        Dropout inside the blocks.
    linear_skip : bool
        Add the linear readout of the band-weighted features to the logits.

    Raises
    ------
    ValueError
        If ``n_heads`` does not divide ``embed_dim``, ``depth`` is negative or a
        dropout is outside [0, 1).
    """

    example_signal_args: ClassVar[dict[str, Any]] = {"n_chans": 4, "n_times": 10,
                                                     "n_outputs": 2}

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None, *, embed_dim: int = 32,
                 depth: int = 1, n_heads: int = 2, input_drop_prob: float = 0.2,
                 drop_prob: float = 0.1, linear_skip: bool = True) -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        if embed_dim < 1 or n_heads < 1 or embed_dim % n_heads:
            raise ValueError(f"n_heads={n_heads} must divide embed_dim={embed_dim}.")
        if depth < 0:
            raise ValueError(f"depth must be >= 0, got {depth}.")
        for name, p in (("input_drop_prob", input_drop_prob), ("drop_prob", drop_prob)):
            if not 0 <= p < 1:
                raise ValueError(f"{name} must be in [0, 1), got {p}.")
        self.input_drop = nn.Dropout(input_drop_prob)
        self.embed = nn.Linear(self.n_times, embed_dim)
        self.band_embed = nn.Parameter(torch.zeros(1, self.n_chans, embed_dim))
        self.encoder = (TransformerEncoder(embed_dim, depth, n_heads, drop_prob=drop_prob)
                        if depth else nn.LayerNorm(embed_dim))
        self.query = nn.Parameter(torch.randn(embed_dim) / embed_dim ** 0.5)
        self.skip = nn.Linear(self.n_times, self.n_outputs) if linear_skip else None
        self.final_layer = nn.Linear(embed_dim, self.n_outputs)
        self.num_features = embed_dim + (self.n_times if linear_skip else 0)
        self.band_weights_: torch.Tensor | None = None

    def _pool(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pooled token ``(batch, embed_dim)``, band weights ``(batch, n_bands)`` and the
        dropped-out input they weigh."""
        x = self.input_drop(x)
        tokens = self.encoder(self.embed(x) + self.band_embed)
        weights = torch.softmax(tokens @ self.query / tokens.shape[-1] ** 0.5, dim=1)
        self.band_weights_ = weights.detach()
        return (weights.unsqueeze(-1) * tokens).sum(1), weights, x

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(batch, num_features)`` of ``(batch, n_bands, n_features)`` tokens:
        the pooled token, then (with ``linear_skip``) the band-weighted input features."""
        pooled, weights, x = self._pool(x)
        if self.skip is None:
            return pooled
        return torch.cat([pooled, (weights.unsqueeze(-1) * x).sum(1)], dim=1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_outputs)``: ``final_layer`` on the pooled token plus the
        linear readout of the weighted features."""
        width = self.final_layer.in_features
        logits = self.final_layer(features[:, :width])
        if self.skip is not None:
            logits = logits + self.skip(features[:, width:])
        return logits
