"""STAN: cascaded spatial and temporal attention for seizure forecasting.

Its adversarial critic lives in :mod:`neuroattn.nn.losses`."""

from __future__ import annotations

import torch
from torch import nn

from .._docs import fill_doc
from ..nn import DropPath, FeedForward, SinusoidalPositionalEmbedding, SpectralPatchEmbed
from ..nn._registry import attention_registry
from . import register_model
from ._base import NeuroModel

__all__ = ["STAN", "STANBlock"]


@fill_doc
class STANBlock(nn.Module):
    """Spatial attention across channels, temporal attention across tokens, then an MLP.

    Each of the three parts is pre-norm and residual (with stochastic depth):
    ``x += SpatialMHA(LN(x))`` attends across channels at every time token,
    ``x += TemporalMHA(LN(x))`` attends across time tokens within every channel,
    ``x += FFN(LN(x))``.

    Parameters
    ----------
    %(embed_dim)s
    n_heads : int
        Heads of both attention modules.
    %(mlp_ratio)s
    drop_prob, attn_drop_prob, drop_path_prob : float
        Dropout after projections, on attention weights, and stochastic depth.
    %(mlp_activation)s
    attention : str | type
        Registered self-attention block used for both modules.

    Notes
    -----
    Input and output ``(batch, n_chans, n_tokens, embed_dim)``. Recorded weights:
    ``spatial_attn`` ``(batch * n_tokens, n_heads, n_chans, n_chans)`` and
    ``temporal_attn`` ``(batch * n_chans, n_heads, n_tokens, n_tokens)``.
    """

    def __init__(self, embed_dim: int, n_heads: int = 8, *, mlp_ratio: float = 4.0,
                 drop_prob: float = 0.0, attn_drop_prob: float = 0.0,
                 drop_path_prob: float = 0.0, activation: type[nn.Module] = nn.GELU,
                 attention: str | type = "multihead") -> None:
        super().__init__()
        attn_cls = attention_registry.get(attention)
        self.norm_spatial = nn.LayerNorm(embed_dim)
        self.spatial_attn = attn_cls(embed_dim, n_heads, attn_drop_prob=attn_drop_prob,
                                     drop_prob=drop_prob)
        self.norm_temporal = nn.LayerNorm(embed_dim)
        self.temporal_attn = attn_cls(embed_dim, n_heads, attn_drop_prob=attn_drop_prob,
                                      drop_prob=drop_prob)
        self.norm_mlp = nn.LayerNorm(embed_dim)
        self.mlp = FeedForward(embed_dim, max(1, int(embed_dim * mlp_ratio)), activation,
                               drop_prob)
        self.drop_path = DropPath(drop_path_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, n, d = x.shape
        s = x.transpose(1, 2).reshape(b * n, c, d)  # channels are the tokens
        s = s + self.drop_path(self.spatial_attn(self.norm_spatial(s)))
        t = s.reshape(b, n, c, d).transpose(1, 2).reshape(b * c, n, d)  # time tokens
        t = t + self.drop_path(self.temporal_attn(self.norm_temporal(t)))
        t = t + self.drop_path(self.mlp(self.norm_mlp(t)))
        return t.reshape(b, c, n, d)


@register_model("stan", task=("forecasting", "classification"), modality=("eeg", "ieeg"),
                paper="STAN, adversarial spatio-temporal attention (2025)")
@fill_doc
class STAN(NeuroModel):
    """Spatio-temporal attention network: per-channel patches, cascaded spatial/temporal MHA.

    Each channel of a window is cut into patches of ``patch_size`` samples, embedded
    by maps shared across channels (by default from the untapered patch's log power
    spectrum plus its phase coherence with the other channels, see
    :class:`~neuroattn.nn.SpectralPatchEmbed`: a preictal rise of coupling between
    channels is invisible to per-channel power); a learned channel embedding and sinusoidal
    time positions are added. ``depth`` :class:`STANBlock` s follow (spatial attention
    across channels at every time token, then temporal attention across tokens for
    every channel, then a feed-forward part; all pre-norm and residual). A LayerNorm
    and the mean over time tokens give one vector per channel; their concatenation
    (``num_features = n_chans * embed_dim``) is what ``final_layer`` maps to preictal
    logits. With the defaults, 18 channels x 5 s at 256 Hz give about
    2.3 M parameters (the size reported for STAN).

    The adversarial part of STAN is not inside the model: a
    :class:`~neuroattn.nn.WassersteinCritic` acts on :meth:`forward_features` during
    training (see :class:`neuroattn.estimators.SeizureForecaster`), so the deployed
    model is just the encoder and head.

    Parameters
    ----------
    %(signal_args)s
    embed_dim : int
        Token width (multiple of ``n_heads``).
    n_heads : int
        Heads of every attention module.
    depth : int
        Number of cascaded spatial-temporal blocks.
    patch_size : int
        Samples per patch (clipped to ``n_times``); 128 = 0.5 s at 256 Hz.
    patch_features : str
        What tokens are computed from: parts among ``"spectrum"`` (log power per
        bin), ``"coherence"`` (phase coherence of each channel with the others per
        bin) and ``"waveform"`` joined by ``"+"`` (see
        :class:`~neuroattn.nn.SpectralPatchEmbed`).
    spectral_smoothing : int
        Odd number of frequency bins averaged before the log (clipped for tiny
        patches).
    patch_taper : {"boxcar", "hann"}
        Window applied to each patch before its FFT (see
        :class:`~neuroattn.nn.SpectralPatchEmbed`).
    mlp_ratio : float
        Feed-forward width relative to ``embed_dim``.
    drop_prob, attn_drop_prob, drop_path_prob : float
        Dropout, attention dropout, and the last block's stochastic depth (linear
        from 0 at the first block).
    %(mlp_activation)s
    attention : str | type
        Registered self-attention block (``"multihead"``, ``"gated_multihead"``).

    Notes
    -----
    Input ``(batch, n_chans, n_times)`` in microvolts, output ``(batch, n_outputs)``.
    :meth:`get_attention_weights` returns, per block, ``blocks.<i>.spatial_attn``
    ``(batch * n_tokens, n_heads, n_chans, n_chans)`` and ``blocks.<i>.temporal_attn``
    ``(batch * n_chans, n_heads, n_tokens, n_tokens)``; :meth:`attention_maps`
    averages them into channel x channel and token x token maps.
    """

    example_signal_args = {"n_chans": 4, "n_times": 128, "n_outputs": 2, "sfreq": 64.0}

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None, *, embed_dim: int = 216,
                 n_heads: int = 8, depth: int = 3, patch_size: int = 128,
                 patch_features: str = "spectrum+coherence", spectral_smoothing: int = 5,
                 patch_taper: str = "boxcar",
                 mlp_ratio: float = 4.0, drop_prob: float = 0.1,
                 attn_drop_prob: float = 0.0, drop_path_prob: float = 0.1,
                 activation: type[nn.Module] = nn.GELU,
                 attention: str | type = "multihead") -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}.")
        self.patch_size = max(1, min(int(patch_size), self.n_times))
        self.num_features = self.n_chans * embed_dim
        self.patch_embed = SpectralPatchEmbed(embed_dim, self.patch_size, patch_features,
                                              min(spectral_smoothing,
                                                  2 * (self.patch_size // 4) + 1),
                                              patch_taper)
        self.chan_embed = nn.Parameter(torch.zeros(1, self.n_chans, 1, embed_dim))
        nn.init.trunc_normal_(self.chan_embed, std=0.02)
        self.time_embed = SinusoidalPositionalEmbedding(embed_dim)
        rates = torch.linspace(0, drop_path_prob, depth).tolist()
        self.blocks = nn.ModuleList(
            STANBlock(embed_dim, n_heads, mlp_ratio=mlp_ratio, drop_prob=drop_prob,
                      attn_drop_prob=attn_drop_prob, drop_path_prob=rate,
                      activation=activation, attention=attention) for rate in rates)
        self.norm = nn.LayerNorm(embed_dim)
        self.final_layer = nn.Linear(self.num_features, self.n_outputs)

    def forward_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Token grid ``(batch, n_chans, n_tokens, embed_dim)`` after the last block."""
        tokens = self.patch_embed(x)  # (b, c, n, d)
        b, c, n, d = tokens.shape
        tokens = self.time_embed(tokens.reshape(b * c, n, d)).reshape(b, c, n, d)
        tokens = tokens + self.chan_embed
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(batch, n_chans * embed_dim)``: mean over time tokens, per
        channel (a seizure focus involves some channels only, which the head can weigh)."""
        return self.forward_tokens(x).mean(dim=2).flatten(1)

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Spatial and temporal attention averaged over heads, tokens and blocks.

        Parameters
        ----------
        x : torch.Tensor
            ``(batch, n_chans, n_times)``.

        Returns
        -------
        dict
            ``"spatial"`` ``(batch, n_chans, n_chans)`` (row: attending channel) and
            ``"temporal"`` ``(batch, n_tokens, n_tokens)``.
        """
        weights = self.get_attention_weights(x)
        b = x.shape[0]
        spatial = [w for k, w in weights.items() if k.endswith("spatial_attn")]
        temporal = [w for k, w in weights.items() if k.endswith("temporal_attn")]

        def _avg(ws):
            stacked = torch.stack([w.mean(dim=1) for w in ws])  # (depth, b*m, q, k)
            return stacked.mean(0).reshape(b, -1, *stacked.shape[-2:]).mean(1)

        return {"spatial": _avg(spatial), "temporal": _avg(temporal)}
