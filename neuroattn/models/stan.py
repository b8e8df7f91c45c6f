"""STAN: cascaded spatial and temporal attention for seizure forecasting, and its critic."""

from __future__ import annotations

import torch
from torch import nn

from ..nn import DropPath, FeedForward, SinusoidalPositionalEmbedding
from ..nn._registry import attention_registry
from ..nn.embedding import ChannelPatchEmbed
from . import register_model
from ._base import NeuroModel

__all__ = ["STAN", "STANBlock", "SpectralPatchEmbed", "WassersteinCritic", "critic_loss",
           "wasserstein_distance"]


_PATCH_PARTS = ("spectrum", "waveform", "coherence")


class SpectralPatchEmbed(nn.Module):
    """Per-channel patch embedding from each patch's spectrum, coherence and/or waveform.

    ``features`` joins parts with ``"+"``; each part has its own linear map (shared
    across channels) and the token is their sum:

    - ``"spectrum"``: ``W_s log(|rfft(hann * patch)|^2 + eps)``, the log power per
      frequency bin (band powers in one linear map; generalises from few windows).
    - ``"coherence"``: ``W_c coh`` with ``coh[c, f] = mean_{c' != c} Re(u_c(f)
      conj(u_c'(f)))``, ``u = rfft / |rfft|`` the unit phasor of each bin: how much
      each channel is in phase with the others at each frequency in this patch (0 for
      independent channels, towards 1 for coupled ones). It puts the cross-channel
      coupling into every channel's token, which the log power spectrum cannot carry.
    - ``"waveform"``: ``W_t patch`` (keeps phase, but lets a small training set be
      memorised).

    ``"both"`` is an alias of ``"spectrum+waveform"``.

    Parameters
    ----------
    embed_dim : int
        Token width.
    patch_size : int
        Samples per patch (also the stride).
    features : str
        Parts joined by ``"+"`` among ``"spectrum"``, ``"coherence"``, ``"waveform"``.
    smoothing_bins : int
        Odd number of neighbouring frequency bins averaged (power before the log, and
        the coherence); a single periodogram bin is a very noisy estimate.
    taper : {"boxcar", "hann"}
        Window applied to each patch before the FFT. Patches do not overlap, so a
        Hann taper throws away about half of every patch's samples (its edges) and
        makes the power estimates noisier; ``"boxcar"`` (no taper) keeps them all, at
        the cost of more spectral leakage.

    Notes
    -----
    Input ``(batch, n_chans, n_times)``; output ``(batch, n_chans, n_times //
    patch_size, embed_dim)``.
    """

    def __init__(self, embed_dim: int, patch_size: int, features: str = "spectrum",
                 smoothing_bins: int = 5, taper: str = "boxcar") -> None:
        super().__init__()
        if taper not in ("boxcar", "hann"):
            raise ValueError(f"taper must be 'boxcar' or 'hann', got {taper!r}.")
        self.taper = taper
        if smoothing_bins < 1 or smoothing_bins % 2 == 0:
            raise ValueError(f"smoothing_bins must be a positive odd integer, got "
                             f"{smoothing_bins}.")
        self.smoothing_bins = smoothing_bins
        parts = ("spectrum", "waveform") if features == "both" else tuple(
            str(features).split("+"))
        if not parts or any(p not in _PATCH_PARTS for p in parts) or len(set(parts)) < len(
                parts):
            raise ValueError(f"features must be parts among {_PATCH_PARTS} joined by '+' "
                             f"(or 'both'), got {features!r}.")
        self.features = features
        self.parts = parts
        self.patch_size = patch_size
        n_bins = patch_size // 2 + 1
        self.waveform = ChannelPatchEmbed(embed_dim, patch_size) if "waveform" in parts else None
        self.spectrum = nn.Linear(n_bins, embed_dim) if "spectrum" in parts else None
        self.coherence = nn.Linear(n_bins, embed_dim) if "coherence" in parts else None
        window = (torch.hann_window(patch_size, periodic=False) if taper == "hann"
                  else torch.ones(patch_size))
        self.register_buffer("window", window, persistent=False)

    def _smooth(self, z: torch.Tensor) -> torch.Tensor:
        k = self.smoothing_bins
        if k == 1:
            return z
        return nn.functional.avg_pool1d(z.reshape(-1, 1, z.shape[-1]), k, stride=1,
                                        padding=k // 2,
                                        count_include_pad=False).reshape(z.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        n = t // self.patch_size
        if n == 0:
            raise ValueError(f"Signal of {t} samples is shorter than one patch "
                             f"({self.patch_size} samples).")
        tokens = self.waveform(x) if self.waveform is not None else 0.0
        if self.spectrum is None and self.coherence is None:
            return tokens
        patches = x[..., : n * self.patch_size].reshape(b, c, n, self.patch_size)
        spec = torch.fft.rfft(patches * self.window)  # (b, c, n, n_bins)
        if self.spectrum is not None:
            power = self._smooth(spec.abs().square())
            tokens = tokens + self.spectrum(torch.log(power + 1e-6))
        if self.coherence is not None:
            coh = torch.zeros(spec.shape, dtype=x.dtype, device=x.device)
            if c > 1:
                unit = spec / (spec.abs() + 1e-6)
                others = unit.sum(dim=1, keepdim=True) - unit
                coh = (unit * others.conj()).real / (c - 1)
            tokens = tokens + self.coherence(self._smooth(coh))
        return tokens


class STANBlock(nn.Module):
    """Spatial attention across channels, temporal attention across tokens, then an MLP.

    Each of the three parts is pre-norm and residual (with stochastic depth):
    ``x += SpatialMHA(LN(x))`` attends across channels at every time token,
    ``x += TemporalMHA(LN(x))`` attends across time tokens within every channel,
    ``x += FFN(LN(x))``.

    Parameters
    ----------
    embed_dim : int
        Token width.
    n_heads : int
        Heads of both attention modules.
    mlp_ratio : float
        Hidden width of the feed-forward part relative to ``embed_dim``.
    drop_prob, attn_drop_prob, drop_path_prob : float
        Dropout after projections, on attention weights, and stochastic depth.
    activation : type[nn.Module]
        Activation class of the MLP.
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
class STAN(NeuroModel):
    """Spatio-temporal attention network: per-channel patches, cascaded spatial/temporal MHA.

    Each channel of a window is cut into patches of ``patch_size`` samples, embedded
    by maps shared across channels (by default from the untapered patch's log power
    spectrum plus its phase coherence with the other channels, see
    :class:`SpectralPatchEmbed`: a preictal rise of coupling between channels is
    invisible to per-channel power); a learned channel embedding and sinusoidal
    time positions are added. ``depth`` :class:`STANBlock` s follow (spatial attention
    across channels at every time token, then temporal attention across tokens for
    every channel, then a feed-forward part; all pre-norm and residual). A LayerNorm
    and the mean over time tokens give one vector per channel; their concatenation
    (``num_features = n_chans * embed_dim``) is what ``final_layer`` maps to preictal
    logits. With the defaults, 18 channels x 5 s at 256 Hz give about
    2.3 M parameters (the size reported for STAN).

    The adversarial part of STAN is not inside the model: :class:`WassersteinCritic`
    acts on :meth:`forward_features` during training (see
    :class:`neuroattn.estimators.SeizureForecaster`), so the deployed model is just the
    encoder and head.

    Parameters
    ----------
    n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds
        Signal arguments, see :class:`~neuroattn.models.NeuroModel`.
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
        bin) and ``"waveform"`` joined by ``"+"`` (see :class:`SpectralPatchEmbed`).
    spectral_smoothing : int
        Odd number of frequency bins averaged before the log (clipped for tiny
        patches).
    patch_taper : {"boxcar", "hann"}
        Window applied to each patch before its FFT (see :class:`SpectralPatchEmbed`).
    mlp_ratio : float
        Feed-forward width relative to ``embed_dim``.
    drop_prob, attn_drop_prob, drop_path_prob : float
        Dropout, attention dropout, and the last block's stochastic depth (linear
        from 0 at the first block).
    activation : type[nn.Module]
        MLP activation class.
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


class WassersteinCritic(nn.Module):
    """Critic of STAN's adversarial training (WGAN-GP) on pooled encoder features.

    An MLP ``embed_dim -> hidden -> hidden -> 1`` with LeakyReLU and no normalisation
    (the gradient penalty needs per-sample gradients). It is trained to estimate the
    Wasserstein-1 distance between the distribution of the encoder's features of
    *preictal* windows and that of *interictal* windows (see :func:`critic_loss`).

    Parameters
    ----------
    in_features : int
        Feature width (``model.num_features``).
    hidden : int
        Hidden width.

    Notes
    -----
    Input ``(batch, in_features)``, output ``(batch,)`` critic scores.
    """

    def __init__(self, in_features: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features).squeeze(-1)


def wasserstein_distance(critic: nn.Module, f_pre: torch.Tensor,
                         f_inter: torch.Tensor) -> torch.Tensor:
    """Critic estimate ``E[D(f_pre)] - E[D(f_inter)]`` (a scalar; larger = more apart)."""
    return critic(f_pre).mean() - critic(f_inter).mean()


def critic_loss(critic: nn.Module, f_pre: torch.Tensor, f_inter: torch.Tensor, *,
                gp_weight: float = 10.0) -> tuple[torch.Tensor, torch.Tensor]:
    """WGAN-GP critic loss between preictal and interictal features.

    ``loss = -(E[D(f_pre)] - E[D(f_inter)]) + gp_weight * E[(||grad D(f_mix)|| - 1)^2]``
    with ``f_mix = e f_pre + (1 - e) f_inter``, ``e ~ U(0, 1)`` per pair (pairs are the
    first ``min(n_pre, n_inter)`` of each). Pass *detached* features: the critic step
    must not move the encoder.

    Parameters
    ----------
    critic : nn.Module
        Maps ``(n, dim)`` features to ``(n,)`` scores.
    f_pre, f_inter : torch.Tensor
        ``(n_pre, dim)`` and ``(n_inter, dim)`` features of preictal and interictal
        windows.
    gp_weight : float
        Weight of the gradient penalty (10 in Gulrajani et al. 2017).

    Returns
    -------
    loss : torch.Tensor
        Scalar to minimise with the critic's optimizer.
    distance : torch.Tensor
        The (detached) Wasserstein estimate.
    """
    distance = wasserstein_distance(critic, f_pre, f_inter)
    m = min(len(f_pre), len(f_inter))
    eps = torch.rand(m, 1, device=f_pre.device, dtype=f_pre.dtype)
    mix = (eps * f_pre[:m] + (1 - eps) * f_inter[:m]).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
    penalty = ((grad.norm(dim=1) - 1) ** 2).mean()
    return -distance + gp_weight * penalty, distance.detach()
