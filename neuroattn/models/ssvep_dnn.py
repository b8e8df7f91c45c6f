"""SSVEP DNN: convolutions across harmonic sub-bands, channels and time (Guney et al. 2021)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from .._docs import fill_doc
from . import register_model
from ._base import NeuroModel

__all__ = ["SSVEPDNN"]


@register_model("ssvep_dnn", task="classification", modality="eeg",
                paper="Guney, Oblokulov & Ozkan, IEEE TBME 2021")
@fill_doc
class SSVEPDNN(NeuroModel):
    """Sub-band, spatial and temporal convolutions with a linear head, for SSVEP.

    The input holds ``n_subbands`` band-passed copies of each trial (harmonic
    sub-bands, see :class:`neuroattn.preprocessing.SubBandFilter`). Layers, as
    described by Guney, Oblokulov & Ozkan (2021):

    1. sub-band combination: a 1x1 convolution from ``n_subbands`` maps to one, no
       bias, its weights initialised to 1 (the plain sum of the sub-bands);
    2. spatial filtering: ``n_filters`` convolutions spanning all channels
       (``n_chans x 1``), then dropout ``drop_probs[0]``;
    3. temporal down-sampling: ``n_filters`` convolutions of 2 samples, stride 2, then
       dropout ``drop_probs[1]`` and ReLU;
    4. temporal filtering: ``n_filters`` convolutions of ``kernel_size`` samples
       ("same" padding), then dropout ``drop_probs[2]`` (0.95 in the paper);
    5. ``final_layer``: fully connected from the features to ``n_outputs`` logits.
       ``head="flatten"`` (the paper's, the default): the ``n_filters * (n_times // 2)``
       values of the temporal feature map. ``head="power"`` (not in the paper): the
       log of the mean square of each of the ``n_filters`` maps over time, ``n_filters``
       features that no longer depend on the stimulus phase at the window's start,
       standardised by a batch normalisation (``power_norm``) before the linear layer.

    The paper's head reads a time course, a phase template: it needs stimuli whose
    phase is locked to the trial onset (the Tsinghua benchmark, BETA). With a
    continuous flicker (Kalunga2016) the phase at a window's start varies from trial
    to trial and the paper's head stays near chance; ``head="power"`` measures the
    power of each learned spatio-temporal filter, whatever its phase.

    Other weights are drawn from N(0, 0.01^2), biases start at 0. Written from the
    paper's description (the authors' MATLAB code is not used).

    Parameters
    ----------
    %(signal_args)s
    n_subbands : int
        Number of sub-bands of the input.
    n_filters : int
        Feature maps of the spatial and temporal convolutions (120 in the paper).
    kernel_size : int
        Length in samples of the last temporal convolution (10 in the paper, where
        it spans 80 ms at 250 Hz after the stride-2 layer).
    drop_probs : sequence of float
        Dropout after the spatial, down-sampling and temporal convolutions. The
        paper fine-tunes each subject with the first two raised to 0.6-0.7.
    head : {"flatten", "power"}, default="flatten"
        ``"flatten"``: the paper's linear head on the flattened temporal feature map
        (phase-locked stimuli). ``"power"``: a linear head on the log mean power over
        time of each feature map (shift-invariant; for unlocked stimuli).
    power_norm : bool, default=True
        With ``head="power"``: batch-normalise the ``n_filters`` log powers (affine,
        ``BatchNorm1d``) before the linear layer; ignored with ``head="flatten"``.
        Without it the log powers of the initial N(0, 0.01^2) filters share one large
        offset (about -15) with a spread of a few hundredths between filters, and on
        Kalunga2016 the global stage stays at chance (training loss ln 3, see
        ``benchmarks/bench_ssvep_heads.py``).

    Raises
    ------
    ValueError
        If ``n_times`` is under 2 samples, ``n_subbands``, ``n_filters`` or
        ``kernel_size`` is not a positive integer, a dropout is outside [0, 1),
        ``head`` is not "flatten" or "power", or ``power_norm`` is not a bool.

    Notes
    -----
    Input ``(batch, n_subbands, n_chans, n_times)``, output ``(batch, n_outputs)``;
    ``forward_features`` returns ``(batch, n_filters * (n_times // 2))`` (``head=
    "flatten"``) or ``(batch, n_filters)`` (``head="power"``, standardised log powers
    with ``power_norm``). With 8
    channels, 512 samples (2 s at 256 Hz), 3 sub-bands and 4 classes it has 297,007
    parameters; with the paper's 9 channels, 100 samples and 40 targets, 414,283.
    """

    example_signal_args: ClassVar[dict[str, Any]] = {
        "n_chans": 4, "n_times": 64, "n_outputs": 3, "sfreq": 128.0}

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None, *, n_subbands: int = 3,
                 n_filters: int = 120, kernel_size: int = 10,
                 drop_probs: Sequence[float] = (0.1, 0.1, 0.95),
                 head: str = "flatten", power_norm: bool = True) -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        for name, value in (("n_subbands", n_subbands), ("n_filters", n_filters),
                            ("kernel_size", kernel_size)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if self.n_times < 2:
            raise ValueError(f"n_times={self.n_times}: SSVEPDNN needs at least 2 samples "
                             "(its stride-2 layer halves the window).")
        drop_probs = tuple(float(p) for p in drop_probs)
        if len(drop_probs) != 3 or not all(0 <= p < 1 for p in drop_probs):
            raise ValueError(f"drop_probs must be 3 probabilities in [0, 1), got {drop_probs}.")
        if head not in ("flatten", "power"):
            raise ValueError(f"head must be 'flatten' (the paper's) or 'power', got {head!r}.")
        if not isinstance(power_norm, bool):
            raise ValueError(f"power_norm must be True or False, got {power_norm!r}.")
        self.head = head
        self.power_norm = power_norm
        self.n_subbands = int(n_subbands)
        self.subband_combination = nn.Conv2d(self.n_subbands, 1, 1, bias=False)
        self.spatial_conv = nn.Conv2d(1, n_filters, (self.n_chans, 1))
        self.spatial_drop = nn.Dropout(drop_probs[0])
        self.downsample_conv = nn.Conv2d(n_filters, n_filters, (1, 2), stride=(1, 2))
        self.downsample_drop = nn.Dropout(drop_probs[1])
        self.activation = nn.ReLU()
        # "same" padding, the odd sample on the right (an even kernel_size is asymmetric)
        self.temporal_pad = nn.ZeroPad2d(((kernel_size - 1) // 2, kernel_size // 2, 0, 0))
        self.temporal_conv = nn.Conv2d(n_filters, n_filters, (1, kernel_size))
        self.feature_drop = nn.Dropout(drop_probs[2])
        n_features = n_filters * (self.n_times // 2) if head == "flatten" else n_filters
        # standardises the log powers (head="power"); identity otherwise
        self.feature_norm = (nn.BatchNorm1d(n_filters) if head == "power" and power_norm
                             else nn.Identity())
        self.final_layer = nn.Linear(n_features, self.n_outputs)
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.ones_(self.subband_combination.weight)
        for layer in (self.spatial_conv, self.downsample_conv, self.temporal_conv,
                      self.final_layer):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)

    def _check_input(self, x: torch.Tensor) -> None:
        expected = (self.n_subbands, self.n_chans, self.n_times)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"SSVEPDNN expects (batch, n_subbands, n_chans, n_times) = "
                             f"(batch, {', '.join(map(str, expected))}) inputs, got shape "
                             f"{tuple(x.shape)}.")

    def example_input(self, batch_size: int = 2,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """A random ``(batch_size, n_subbands, n_chans, n_times)`` batch."""
        return torch.randn(batch_size, self.n_subbands, self.n_chans, self.n_times,
                           generator=generator)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, n_subbands, n_chans, n_times)`` sub-band trials to
        ``(batch, n_filters * (n_times // 2))`` features (``head="flatten"``) or
        ``(batch, n_filters)`` log mean powers (``head="power"``); dropout applied in
        training."""
        x = self.subband_combination(x)  # (batch, 1, n_chans, n_times)
        x = self.spatial_drop(self.spatial_conv(x))  # (batch, n_filters, 1, n_times)
        x = self.activation(self.downsample_drop(self.downsample_conv(x)))
        # (batch, n_filters, 1, n_times // 2)
        x = self.feature_drop(self.temporal_conv(self.temporal_pad(x)))
        if self.head == "power":  # (batch, n_filters): log mean square over time
            return self.feature_norm(torch.log(x.square().mean(dim=(2, 3)) + 1e-12))
        return x.flatten(1)

    def set_dropout(self, drop_probs: Sequence[float]) -> None:
        """Change the three dropout probabilities in place (e.g. for fine-tuning).

        Parameters
        ----------
        drop_probs : sequence of float
            New probabilities after the spatial, down-sampling and temporal
            convolutions, each in [0, 1).

        Raises
        ------
        ValueError
            If there are not 3 probabilities in [0, 1).
        """
        drop_probs = tuple(float(p) for p in drop_probs)
        if len(drop_probs) != 3 or not all(0 <= p < 1 for p in drop_probs):
            raise ValueError(f"drop_probs must be 3 probabilities in [0, 1), got {drop_probs}.")
        for module, p in zip((self.spatial_drop, self.downsample_drop, self.feature_drop),
                             drop_probs):
            module.p = p
