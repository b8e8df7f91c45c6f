"""On-the-fly data augmentation of EEG batches ``(batch, n_chans, n_times)``.

Each transform is an ``nn.Module`` that is active in training mode only (``eval()``
makes it the identity), is applied to each example of a batch with probability
``probability``, draws its randomness from an optional ``torch.Generator`` and keeps
the labels (:class:`Mixup` returns mixing weights instead, see there). They follow the
definitions of braindecode's ``augmentation`` module (Rommel et al. 2022), written
here so that the core does not need braindecode.

:meth:`Augmentation.check_signal` refuses settings that exceed the signal (a shift
past Nyquist, a mask longer than the window) before training starts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["Augmentation", "FrequencyShift", "FTSurrogate", "ChannelsDropout",
           "ChannelsShuffle", "SmoothTimeMask", "Mixup", "AUGMENTATIONS"]


def _check_probability(value: float, name: str) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}.")
    return float(value)


class Augmentation(nn.Module):
    """Base class: picks the examples to transform, identity in eval mode.

    Parameters
    ----------
    probability : float
        Chance that each example of a batch is transformed, in [0, 1].

    Raises
    ------
    ValueError
        If ``probability`` is outside [0, 1].
    """

    def __init__(self, probability: float = 0.5) -> None:
        super().__init__()
        self.probability = _check_probability(probability, "probability")

    def check_signal(self, n_chans: int, n_times: int, sfreq: float | None) -> None:
        """Refuse settings that do not fit the signal (called before training).

        Parameters
        ----------
        n_chans : int
            Channels of an example.
        n_times : int
            Samples of an example.
        sfreq : float | None
            Sampling rate in Hz (None when unknown).

        Raises
        ------
        ValueError
            In subclasses, naming the setting and the signal's limit.
        """

    def transform(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Transform every example of ``x`` ``(n, n_chans, n_times)``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                generator: torch.Generator | None = None):
        """Augmented ``(x, y)``: ``x`` ``(batch, n_chans, n_times)``, ``y`` unchanged."""
        if not self.training or self.probability == 0.0:
            return x, y
        chosen = torch.rand(x.shape[0], generator=generator, device="cpu") < self.probability
        if not chosen.any():
            return x, y
        out = x.clone()
        index = chosen.nonzero().squeeze(1).to(x.device)
        out[index] = self.transform(x[index], generator).to(x.dtype)
        return out, y


class FrequencyShift(Augmentation):
    """Shift every frequency of an example by the same random amount.

    The analytic signal (Hilbert transform) is multiplied by ``exp(2 pi i df t)`` with
    ``df`` uniform in ``[-max_shift_hz, max_shift_hz]``; the real part is kept.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    max_shift_hz : float
        Largest shift in Hz (below Nyquist, ``sfreq / 2``).
    probability : float
        Chance that each example is shifted.

    Raises
    ------
    ValueError
        If ``sfreq`` is not positive, ``max_shift_hz`` is negative or not below Nyquist.
    """

    def __init__(self, sfreq: float, max_shift_hz: float = 2.0,
                 probability: float = 0.5) -> None:
        super().__init__(probability)
        if not sfreq > 0:
            raise ValueError(f"sfreq must be positive (Hz), got {sfreq!r}.")
        if not 0 <= max_shift_hz < sfreq / 2:
            raise ValueError(f"max_shift_hz={max_shift_hz} must be >= 0 and below the "
                             f"Nyquist frequency ({sfreq / 2:g} Hz at sfreq={sfreq:g}).")
        self.sfreq, self.max_shift_hz = float(sfreq), float(max_shift_hz)

    def check_signal(self, n_chans: int, n_times: int, sfreq: float | None) -> None:
        if sfreq is not None and abs(float(sfreq) - self.sfreq) > 1e-6:
            raise ValueError(f"FrequencyShift was set for sfreq={self.sfreq:g} Hz, but the "
                             f"data are sampled at {sfreq:g} Hz.")

    def transform(self, x, generator):
        n = x.shape[-1]
        shift = (torch.rand(x.shape[0], generator=generator) * 2 - 1) * self.max_shift_hz
        spectrum = torch.fft.fft(x.double(), dim=-1)
        h = torch.zeros(n, dtype=torch.float64, device=x.device)
        h[0] = 1.0
        if n % 2 == 0:
            h[n // 2] = 1.0
            h[1:n // 2] = 2.0
        else:
            h[1:(n + 1) // 2] = 2.0
        analytic = torch.fft.ifft(spectrum * h, dim=-1)
        t = torch.arange(n, dtype=torch.float64, device=x.device) / self.sfreq
        phase = torch.exp(2j * math.pi * shift.to(x.device, torch.float64)[:, None] * t)
        return (analytic * phase[:, None, :]).real


class FTSurrogate(Augmentation):
    """Fourier-transform surrogate: random phases, same amplitude spectrum.

    Each non-DC, non-Nyquist Fourier coefficient's phase is shifted by a uniform random
    angle in ``[0, 2 pi * phase_noise]``; the same shift for all channels unless
    ``channel_independent``. The power spectrum of every channel is unchanged.

    Parameters
    ----------
    phase_noise : float
        Fraction of a full turn of the largest phase shift, in [0, 1].
    channel_independent : bool
        Draw the shifts per channel (breaks cross-channel phase relations).
    probability : float
        Chance that each example's phases are randomised.

    Raises
    ------
    ValueError
        If ``phase_noise`` or ``probability`` is outside [0, 1].
    """

    def __init__(self, phase_noise: float = 1.0, channel_independent: bool = False,
                 probability: float = 0.5) -> None:
        super().__init__(probability)
        self.phase_noise = _check_probability(phase_noise, "phase_noise")
        self.channel_independent = bool(channel_independent)

    def transform(self, x, generator):
        n = x.shape[-1]
        spectrum = torch.fft.rfft(x.double(), dim=-1)
        n_freq = spectrum.shape[-1]
        rows = x.shape[1] if self.channel_independent else 1
        angle = torch.rand(x.shape[0], rows, n_freq, generator=generator,
                           dtype=torch.float64) * (2 * math.pi * self.phase_noise)
        angle[..., 0] = 0.0
        if n % 2 == 0:
            angle[..., -1] = 0.0  # the Nyquist coefficient is real
        return torch.fft.irfft(spectrum * torch.exp(1j * angle.to(x.device)), n=n, dim=-1)


class ChannelsDropout(Augmentation):
    """Set a random subset of channels to zero.

    Parameters
    ----------
    drop_fraction : float
        Chance that each channel of a transformed example is zeroed, in [0, 1].
    probability : float
        Chance that each example loses channels.

    Raises
    ------
    ValueError
        If a fraction is outside [0, 1].
    """

    def __init__(self, drop_fraction: float = 0.2, probability: float = 0.5) -> None:
        super().__init__(probability)
        self.drop_fraction = _check_probability(drop_fraction, "drop_fraction")

    def transform(self, x, generator):
        keep = torch.rand(x.shape[0], x.shape[1], 1, generator=generator) >= self.drop_fraction
        return x * keep.to(x.device, x.dtype)


class ChannelsShuffle(Augmentation):
    """Permute channels at random, only within groups.

    Groups keep a permutation plausible: e.g. the electrodes of one hemisphere, so that
    left and right (what motor imagery is about) are never swapped.

    Parameters
    ----------
    groups : sequence of sequence of int | None
        Channel indices that may be exchanged with one another; None: all channels
        form one group. Channels in no group stay in place.
    shuffle_fraction : float
        Chance that each channel of a group takes part in the permutation.
    probability : float
        Chance that each example has channels permuted.

    Raises
    ------
    ValueError
        If a channel is in two groups, an index is negative, or a fraction is outside
        [0, 1]; at :meth:`check_signal`, if an index is not below ``n_chans``.
    """

    def __init__(self, groups: Sequence[Sequence[int]] | None = None,
                 shuffle_fraction: float = 0.5, probability: float = 0.5) -> None:
        super().__init__(probability)
        self.shuffle_fraction = _check_probability(shuffle_fraction, "shuffle_fraction")
        self.groups = None if groups is None else [[int(i) for i in g] for g in groups]
        if self.groups is not None:
            flat = [i for g in self.groups for i in g]
            if len(flat) != len(set(flat)) or min(flat, default=0) < 0:
                raise ValueError(f"groups must hold distinct non-negative channel indices, "
                                 f"got {groups!r}.")

    def check_signal(self, n_chans: int, n_times: int, sfreq: float | None) -> None:
        if self.groups is not None:
            top = max((i for g in self.groups for i in g), default=-1)
            if top >= n_chans:
                raise ValueError(f"ChannelsShuffle groups name channel {top}, but the data "
                                 f"have {n_chans} channels.")

    def transform(self, x, generator):
        out = x.clone()
        groups = self.groups if self.groups is not None else [list(range(x.shape[1]))]
        for k in range(x.shape[0]):
            for group in groups:
                group = torch.tensor(group, dtype=torch.long)
                picked = group[torch.rand(len(group), generator=generator)
                               < self.shuffle_fraction]
                if len(picked) > 1:
                    order = picked[torch.randperm(len(picked), generator=generator)]
                    out[k, picked.to(x.device)] = x[k, order.to(x.device)]
        return out


class SmoothTimeMask(Augmentation):
    """Zero a random stretch of time, with sigmoid edges (no step discontinuity).

    Parameters
    ----------
    mask_samples : int
        Length of the masked stretch in samples (shorter than the window).
    probability : float
        Chance that each example is masked.

    Raises
    ------
    ValueError
        If ``mask_samples`` is not a positive integer; at :meth:`check_signal`, if it is
        not shorter than the window.
    """

    def __init__(self, mask_samples: int = 50, probability: float = 0.5) -> None:
        super().__init__(probability)
        if int(mask_samples) != mask_samples or mask_samples < 1:
            raise ValueError(f"mask_samples must be a positive integer, got {mask_samples!r}.")
        self.mask_samples = int(mask_samples)

    def check_signal(self, n_chans: int, n_times: int, sfreq: float | None) -> None:
        if self.mask_samples >= n_times:
            raise ValueError(f"SmoothTimeMask(mask_samples={self.mask_samples}) is not shorter "
                             f"than the window ({n_times} samples).")

    def transform(self, x, generator):
        n = x.shape[-1]
        if self.mask_samples >= n:
            raise ValueError(f"SmoothTimeMask(mask_samples={self.mask_samples}) is not shorter "
                             f"than the window ({n} samples).")
        start = torch.randint(0, n - self.mask_samples + 1, (x.shape[0], 1),
                              generator=generator).to(x.device, x.dtype)
        t = torch.arange(n, device=x.device, dtype=x.dtype)[None, :]
        mask = (torch.sigmoid(start - t) + torch.sigmoid(t - start - self.mask_samples))
        return x * mask.clamp(max=1.0)[:, None, :]


class Mixup(nn.Module):
    """Convex combinations of pairs of examples and of their labels (Zhang et al. 2018).

    ``forward(x, y)`` returns ``(mixed_x, (y, y_permuted, lam))``: the loss of a batch
    is ``lam * L(out, y) + (1 - lam) * L(out, y_permuted)`` per example (the training
    core does this). Identity in eval mode.

    Parameters
    ----------
    alpha : float
        Beta(alpha, alpha) parameter of the mixing weight ``lam`` (> 0).

    Raises
    ------
    ValueError
        If ``alpha`` is not positive.
    """

    def __init__(self, alpha: float = 0.2) -> None:
        super().__init__()
        if not alpha > 0:
            raise ValueError(f"alpha must be positive, got {alpha!r}.")
        self.alpha = float(alpha)

    def check_signal(self, n_chans: int, n_times: int, sfreq: float | None) -> None:
        """Mixup fits any signal (see :meth:`Augmentation.check_signal`)."""

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                generator: torch.Generator | None = None):
        """Mixed ``x`` ``(batch, n_chans, n_times)`` and ``(y, y_perm, lam (batch,))``."""
        if not self.training or y is None:
            return x, y
        lam = _beta_sample(self.alpha, x.shape[0], generator)
        perm = torch.randperm(x.shape[0], generator=generator).to(x.device)
        lam_x = lam.to(x.device, x.dtype)[:, None, None]
        return lam_x * x + (1 - lam_x) * x[perm], (y, y[perm], lam.to(x.device))


def _beta_sample(alpha: float, n: int, generator: torch.Generator | None) -> torch.Tensor:
    """``n`` draws of Beta(alpha, alpha) from a generator (exact inverse transform).

    Uniform draws from ``generator`` go through the inverse regularised incomplete beta
    function, so the draws are reproducible and exactly Beta-distributed, also for small
    ``alpha`` whose mass sits within 1e-4 of 0 and 1 (a grid over [1e-4, 1 - 1e-4]
    loses it).
    """
    from scipy.special import betaincinv

    u = torch.rand(n, generator=generator, dtype=torch.float64)
    return torch.from_numpy(betaincinv(alpha, alpha, u.numpy())).float()


#: Augmentations by name (for YAML pipelines and ``augmentation=`` lists).
AUGMENTATIONS: dict[str, type[nn.Module]] = {
    "frequency_shift": FrequencyShift, "ft_surrogate": FTSurrogate,
    "channels_dropout": ChannelsDropout, "channels_shuffle": ChannelsShuffle,
    "smooth_time_mask": SmoothTimeMask, "mixup": Mixup,
}
