"""Each augmentation keeps shapes and labels and changes the signal as documented."""

import numpy as np
import pytest
import torch

from neuroattn.nn.augmentation import (
    AUGMENTATIONS,
    ChannelsDropout,
    ChannelsShuffle,
    FrequencyShift,
    FTSurrogate,
    Mixup,
    SmoothTimeMask,
)

SFREQ = 128.0


def _sines(n=16, n_chans=4, n_times=256, freq=10.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n_times) / SFREQ
    phase = torch.rand(n, n_chans, 1, generator=g) * 2 * np.pi
    amp = 1 + torch.arange(n_chans, dtype=torch.float32)[None, :, None]
    return amp * torch.sin(2 * np.pi * freq * t + phase)


def _peak_hz(x):
    spectrum = torch.fft.rfft(x, dim=-1).abs()
    return torch.fft.rfftfreq(x.shape[-1], 1 / SFREQ)[spectrum.argmax(-1)]


ALL = [FrequencyShift(SFREQ, 3.0, probability=1.0), FTSurrogate(probability=1.0),
       ChannelsDropout(0.5, probability=1.0), ChannelsShuffle(probability=1.0),
       SmoothTimeMask(40, probability=1.0)]


@pytest.mark.parametrize("aug", ALL, ids=lambda a: type(a).__name__)
def test_shape_labels_kept_signal_changed_identity_in_eval(aug):
    x, y = _sines(), torch.arange(16) % 3
    out, y_out = aug(x, y, generator=torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert y_out is y
    assert not torch.allclose(out, x)
    aug.eval()
    same, _ = aug(x, y)
    assert torch.equal(same, x)
    aug.train()


@pytest.mark.parametrize("aug", ALL, ids=lambda a: type(a).__name__)
def test_probability_zero_is_identity_and_same_generator_same_output(aug):
    x = _sines()
    first, _ = aug(x, generator=torch.Generator().manual_seed(3))
    second, _ = aug(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(first, second)
    off = type(aug).__new__(type(aug))
    off.__dict__.update(aug.__dict__)
    off.probability = 0.0
    assert torch.equal(off(x)[0], x)


def test_frequency_shift_moves_the_peak_within_the_bound():
    x = _sines(n=64, n_times=1024)
    out, _ = FrequencyShift(SFREQ, 3.0, probability=1.0)(
        x, generator=torch.Generator().manual_seed(0))
    peaks = _peak_hz(out)[:, 0]
    assert (peaks >= 10 - 3 - 0.2).all() and (peaks <= 10 + 3 + 0.2).all()
    assert peaks.std() > 0.8  # the shifts differ between examples
    # every channel of an example is shifted by the same amount
    assert torch.allclose(_peak_hz(out)[:, 0:1].expand(-1, 4), _peak_hz(out), atol=0.2)


def test_ft_surrogate_keeps_the_amplitude_spectrum():
    x = torch.randn(8, 3, 200, generator=torch.Generator().manual_seed(0))
    out, _ = FTSurrogate(1.0, probability=1.0)(x, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(torch.fft.rfft(out, dim=-1).abs(), torch.fft.rfft(x, dim=-1).abs(),
                          atol=1e-3)
    assert (out - x).abs().mean() > 0.5


def test_channels_dropout_zeroes_whole_channels_at_the_rate():
    x = _sines(n=200)
    out, _ = ChannelsDropout(0.3, probability=1.0)(x, generator=torch.Generator().manual_seed(0))
    zeroed = (out.abs().amax(-1) == 0)
    kept = torch.isclose(out, x).all(-1)
    assert (zeroed | kept).all()
    assert 0.25 < zeroed.float().mean() < 0.35


def test_channels_shuffle_never_crosses_groups():
    x = torch.arange(6, dtype=torch.float32)[None, :, None].expand(50, 6, 8).clone()
    aug = ChannelsShuffle(groups=[[0, 1, 2], [3, 4]], shuffle_fraction=1.0, probability=1.0)
    out, _ = aug(x, generator=torch.Generator().manual_seed(0))
    values = out[:, :, 0]
    assert set(values[:, :3].unique().tolist()) == {0.0, 1.0, 2.0}
    assert set(values[:, 3:5].unique().tolist()) == {3.0, 4.0}
    assert (values[:, 5] == 5).all()  # in no group: stays
    assert (values.sort(1).values == torch.arange(6.0)).all()  # a permutation
    assert (values[:, :3] != torch.arange(3.0)).any()


def test_smooth_time_mask_silences_one_stretch():
    x = torch.ones(20, 2, 300)
    out, _ = SmoothTimeMask(60, probability=1.0)(x, generator=torch.Generator().manual_seed(0))
    low = (out[:, 0] < 0.05).sum(-1).float()
    assert ((low > 50) & (low < 62)).all()
    assert (out <= 1.0 + 1e-6).all() and (out >= 0).all()


def test_mixup_mixes_inputs_and_returns_both_labels():
    x, y = _sines(n=10), torch.arange(10)
    out, (y_a, y_b, lam) = Mixup(0.4)(x, y, generator=torch.Generator().manual_seed(0))
    assert torch.equal(y_a, y)
    expected = lam[:, None, None] * x + (1 - lam[:, None, None]) * x[y_b]
    assert torch.allclose(out, expected, atol=1e-5)
    assert ((lam >= 0) & (lam <= 1)).all() and lam.std() > 0
    mix = Mixup(0.4).eval()
    assert mix(x, y)[0] is x


@pytest.mark.parametrize("alpha", [0.1, 0.2, 1.0])
def test_mixup_weights_follow_beta_alpha_alpha(alpha):
    # the mixing weight of mixup is Beta(alpha, alpha); small alphas (0.2 is the usual
    # default) put much of the mass within 1e-4 of 0 and 1, which a draw must keep
    stats = pytest.importorskip("scipy.stats")
    x, y = torch.zeros(20000, 1, 2), torch.zeros(20000, dtype=torch.long)
    _, (_, _, lam) = Mixup(alpha)(x, y, generator=torch.Generator().manual_seed(0))
    # the lower half (float32 resolves values near 0, not near 1), against 2 F(x)
    low = lam.double().numpy()
    low = low[low < 0.5]
    assert abs(len(low) / len(lam) - 0.5) < 0.02
    assert stats.kstest(low, lambda v: 2 * stats.beta(alpha, alpha).cdf(v)).statistic < 0.02


@pytest.mark.parametrize("make, match", [
    (lambda: FrequencyShift(SFREQ, 64.0), "Nyquist"),
    (lambda: FrequencyShift(SFREQ, -1.0), "Nyquist"),
    (lambda: FrequencyShift(0.0, 1.0), "sfreq"),
    (lambda: FTSurrogate(1.5), "phase_noise"),
    (lambda: ChannelsDropout(0.2, probability=1.2), "probability"),
    (lambda: ChannelsShuffle(groups=[[0, 1], [1, 2]]), "distinct"),
    (lambda: SmoothTimeMask(0), "mask_samples"),
    (lambda: Mixup(0.0), "alpha"),
])
def test_bad_settings_refused_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("aug, match", [
    (SmoothTimeMask(256), "not shorter than the window"),
    (ChannelsShuffle(groups=[[0, 7]]), "channel 7"),
    (FrequencyShift(256.0, 2.0), "sampled at 128"),
])
def test_settings_beyond_the_signal_refused_by_check_signal(aug, match):
    with pytest.raises(ValueError, match=match):
        aug.check_signal(4, 256, SFREQ)


def test_registry_names_every_augmentation():
    assert set(AUGMENTATIONS) == {"frequency_shift", "ft_surrogate", "channels_dropout",
                                  "channels_shuffle", "smooth_time_mask", "mixup"}
