import numpy as np
import pytest
from mne.time_frequency import psd_array_welch

from neuroattn.data.simulate import MI_CHANNELS, pink_noise, simulate_motor_imagery


def test_deterministic_by_seed_and_shapes():
    a = simulate_motor_imagery(10, sfreq=100.0, trial_seconds=1.0, random_state=3)
    b = simulate_motor_imagery(10, sfreq=100.0, trial_seconds=1.0, random_state=3)
    np.testing.assert_array_equal(a.get_data(), b.get_data())
    assert a.get_data().shape == (10, len(MI_CHANNELS), 100)
    assert a.get_montage() is not None
    X, y = simulate_motor_imagery(10, sfreq=100.0, trial_seconds=1.0, random_state=3,
                                  return_epochs=False)
    np.testing.assert_allclose(X, a.get_data(units="uV"), rtol=1e-5)
    assert set(y) == {"left_hand", "right_hand"}
    assert 1 < X.std() < 100  # microvolts, EEG-like


def test_planted_lateralised_desynchronisation():
    X, y = simulate_motor_imagery(80, sfreq=128.0, trial_seconds=2.0, random_state=0,
                                  return_epochs=False)
    psd, _ = psd_array_welch(X.astype(float), 128.0, fmin=8, fmax=30, verbose=False)
    logp = np.log(psd.mean(-1))
    c3, c4 = MI_CHANNELS.index("C3"), MI_CHANNELS.index("C4")
    lat = logp[:, c4] - logp[:, c3]
    # Left-hand imagery desynchronises C4 (right hemisphere) and vice versa.
    assert lat[y == "left_hand"].mean() < 0 < lat[y == "right_hand"].mean()
    far = MI_CHANNELS.index("Fz")
    assert abs(logp[y == "left_hand", far].mean() - logp[y == "right_hand", far].mean()) < 0.2


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_classes=5), "n_classes"),
    (dict(n_trials=1), "at least n_classes"),
    (dict(ch_names=["C3", "C4", "XX9"]), "not in the standard_1020"),
    (dict(ch_names=["Fz", "Pz", "Cz"]), "missing \\['C3', 'C4'\\]"),
    (dict(erd_strength=1.0), "erd_strength"),
    (dict(noise_amplitude=0.0), "noise_amplitude"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_motor_imagery(**kwargs)


def test_pink_noise_spectrum_slope():
    rng = np.random.default_rng(0)
    x = pink_noise((50, 4096), rng)
    np.testing.assert_allclose(x.std(axis=-1), 1.0, rtol=1e-6)
    psd = (np.abs(np.fft.rfft(x, axis=-1)) ** 2).mean(0)
    f = np.fft.rfftfreq(4096)
    keep = (f > 0.01) & (f < 0.4)
    slope = np.polyfit(np.log(f[keep]), np.log(psd[keep]), 1)[0]
    assert -1.2 < slope < -0.8
