"""simulate_ssvep: planted frequencies, harmonics, occipital pattern and phase, checked."""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.data.simulate import SSVEP_CHANNELS, simulate_ssvep

FREQS = (13.0, 17.0, 21.0)


def _fourier(X, sfreq, freq):
    """Complex Fourier coefficient of every trial and channel at ``freq``."""
    t = np.arange(X.shape[-1]) / sfreq
    return (X * np.exp(-2j * np.pi * freq * t)).mean(-1)


def test_each_trial_peaks_at_its_class_frequency_and_harmonic():
    X, y = simulate_ssvep(30, sfreq=256.0, trial_seconds=2.0, noise_amplitude=1.0,
                          return_epochs=False, random_state=0)
    assert X.shape == (30, 8, 512) and X.dtype == np.float32
    assert sorted(set(y)) == ["13.0", "17.0", "21.0"]
    oz = X[:, SSVEP_CHANNELS.index("Oz")]
    power = np.stack([np.abs(_fourier(oz, 256.0, f)) for f in FREQS], axis=1)
    assert (np.array(FREQS)[power.argmax(1)].astype(str) == y).all()
    second = np.abs(_fourier(oz, 256.0, 2 * 13.0))[y == "13.0"]
    off = np.abs(_fourier(oz, 256.0, 2 * 17.0))[y == "13.0"]
    assert second.mean() > 3 * off.mean()  # the harmonic is planted too


def test_response_is_largest_at_oz_and_falls_off_with_distance():
    X, y = simulate_ssvep(30, noise_amplitude=0.5, return_epochs=False, random_state=1,
                          ch_names=("Oz", "O1", "POz", "Cz", "Fz"))
    amp = np.abs(_fourier(X[y == "13.0"], 256.0, 13.0)).mean(0)
    assert amp.argmax() == 0 and amp[3] < 0.2 * amp[0] and amp[4] < amp[3] + 0.1


@pytest.mark.parametrize("phase, locked", [("locked", True), ("random", False)])
def test_phase_option(phase, locked):
    X, y = simulate_ssvep(60, phase=phase, noise_amplitude=1.0, return_epochs=False,
                          random_state=2)
    coef = _fourier(X[y == "17.0", 0], 256.0, 17.0)
    concentration = np.abs((coef / np.abs(coef)).mean())  # 1: same phase in every trial
    assert (concentration > 0.9) if locked else (concentration < 0.5)


def test_epochs_and_same_seed_same_data():
    epochs = simulate_ssvep(9, random_state=3)
    assert epochs.ch_names == list(SSVEP_CHANNELS) and epochs.info["sfreq"] == 256.0
    assert epochs.event_id == {"13.0": 1, "17.0": 2, "21.0": 3}
    X, y = simulate_ssvep(9, random_state=3, return_epochs=False)
    np.testing.assert_allclose(epochs.get_data(units="uV"), X, rtol=1e-5, atol=1e-4)
    assert list(np.array(["13.0", "17.0", "21.0"])[epochs.events[:, 2] - 1]) == list(y)


@pytest.mark.parametrize("kwargs, match", [
    (dict(stim_freqs=(13.0,)), "at least 2 different"),
    (dict(stim_freqs=(13.0, 13.0)), "at least 2 different"),
    (dict(stim_freqs=(13.0, 50.0), n_harmonics=3), "below Nyquist"),
    (dict(sfreq=60.0), "below Nyquist"),
    (dict(trial_seconds=0.05), "shorter than one period"),
    (dict(phase="fixed"), "phase"),
    (dict(ch_names=("O1", "O2")), "Oz"),
    (dict(ch_names=("Oz", "XX")), "not in the standard"),
    (dict(n_trials=2), "n_trials"),
    (dict(n_harmonics=0), "n_harmonics"),
    (dict(noise_amplitude=0.0), "noise_amplitude"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_ssvep(**kwargs)
