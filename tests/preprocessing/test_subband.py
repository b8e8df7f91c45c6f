"""SubBandFilter: harmonic sub-bands on synthetic sinusoids, windows, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from neuroattn.preprocessing import SubBandFilter

SFREQ = 256.0
STIM = [13.0, 17.0, 21.0]


def _sines(freqs, n_times=768, sfreq=SFREQ):
    t = np.arange(n_times) / sfreq
    return np.stack([np.sin(2 * np.pi * f * t)[None] for f in freqs])  # (n, 1, n_times)


def _gains(out):
    # amplitude relative to a unit sine, away from the window edges
    return out[:, :, 0, 64:-64].std(axis=-1) * np.sqrt(2)


def test_band_edges_are_harmonics_of_the_lowest_target():
    sb = SubBandFilter(STIM, n_subbands=3, sfreq=SFREQ, margin=2.0).fit(_sines([13.0]))
    np.testing.assert_allclose(sb.bands_, [[11, 90], [24, 90], [37, 90]])


def test_band_containing_a_frequency_passes_it_and_others_attenuate():
    freqs = [13.0, 17.0, 21.0, 26.0, 39.0, 42.0]
    sb = SubBandFilter(STIM, n_subbands=3, sfreq=SFREQ, window_seconds=2.5)
    gains = _gains(sb.fit_transform(_sines(freqs)))  # (n_freqs, n_subbands)
    for f, row in zip(freqs, gains):
        for (lo, _), gain in zip(sb.bands_, row):
            if f >= lo:
                assert gain > 0.7, (f, lo, gain)
            elif f <= lo - 10:
                assert gain < 0.15, (f, lo, gain)
            elif f <= lo - 3:
                assert gain < 0.6, (f, lo, gain)
    # the fundamental of the lowest target leaves the harmonic bands; its 2nd harmonic not
    assert gains[0, 1] < 0.1 and gains[0, 2] < 0.01 and gains[3, 1] > 0.8


def test_output_shape_window_and_latency():
    X = np.random.default_rng(0).standard_normal((4, 3, 600))
    sb = SubBandFilter(STIM, n_subbands=2, sfreq=SFREQ, window_seconds=1.0,
                       latency_seconds=0.14)
    out = sb.fit_transform(X)
    assert out.shape == (4, 2, 3, 256) and out.dtype == np.float32
    # the window starts round(0.14 * 256) = 36 samples in: a change after the window
    # end, or before its start, leaves the output untouched (no sample outside is used)
    Y = X.copy()
    Y[..., 36 + 256:] += 100.0
    Y[..., :36] -= 50.0
    np.testing.assert_allclose(sb.transform(Y), out, atol=1e-4)
    clone(sb).fit(X)  # clone-safe


def test_epochs_input_in_microvolts():
    mne = pytest.importorskip("mne")
    X = _sines([13.0, 17.0]).repeat(2, axis=1) * 1e-5  # volts
    info = mne.create_info(["O1", "O2"], SFREQ, "eeg")
    epochs = mne.EpochsArray(X, info, verbose=False)
    out = SubBandFilter(STIM, n_subbands=2, window_seconds=2.0).fit_transform(epochs)
    assert out.shape == (2, 2, 2, 512)
    assert 5 < out[0, 0, 0, 64:-64].std() * np.sqrt(2) < 11  # ~10 uV amplitude
    with pytest.raises(ValueError, match="sampled at 256.0 Hz"):
        SubBandFilter(STIM, sfreq=250.0).fit(epochs)


@pytest.mark.parametrize("params, match", [
    (dict(stim_freqs=[13.0, 130.0]), "above Nyquist"),
    (dict(stim_freqs=None), "stim_freqs"),
    (dict(stim_freqs=[0.0, 13.0]), "stim_freqs"),
    (dict(n_subbands=8), "sub-bands do not fit"),
    (dict(upper_edge=128.0), "upper_edge"),
    (dict(n_subbands=0), "n_subbands"),
    (dict(window_seconds=0.05), "shorter than one period"),
    (dict(window_seconds=3.5), "does not fit in trials"),
    (dict(latency_seconds=-0.1), "latency_seconds"),
    (dict(margin=13.0), "margin"),
    (dict(sfreq=None), "needs sfreq"),
])
def test_bad_parameters(params, match):
    kwargs = dict(stim_freqs=STIM, n_subbands=3, sfreq=SFREQ, window_seconds=1.0)
    kwargs.update(params)
    with pytest.raises(ValueError, match=match):
        SubBandFilter(**kwargs).fit(_sines([13.0]))


def test_bad_input_at_transform():
    sb = SubBandFilter(STIM, sfreq=SFREQ).fit(_sines([13.0]))
    with pytest.raises(ValueError, match="channels"):
        sb.transform(_sines([13.0]).repeat(2, axis=1))
    with pytest.raises(ValueError, match="n_trials, n_chans, n_times"):
        sb.transform(np.zeros((3, 100)))
    bad = _sines([13.0])
    bad[0, 0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sb.transform(bad)


def test_transform_windows_cuts_random_onsets_each_filtered_alone():
    X = np.random.default_rng(0).standard_normal((3, 2, 400))
    sb = SubBandFilter(STIM, n_subbands=2, sfreq=SFREQ, window_seconds=0.5,
                       latency_seconds=0.1).fit(X)
    out, trial = sb.transform_windows(X, 5, random_state=0)
    assert out.shape == (15, 2, 2, 128) and out.dtype == np.float32
    np.testing.assert_array_equal(trial, np.repeat([0, 1, 2], 5))
    # every window equals the fixed-window transform of its trial shifted to some onset in
    # [latency, end - window]; the onsets differ (phase varies) and repeat with the seed
    onsets = []
    for k, i in enumerate(trial):
        found = [s for s in range(26, 400 - 128 + 1) if np.allclose(
            sb._filter(X[i:i + 1, :, s:s + 128])[0], out[k], atol=1e-5)]
        assert found, k
        onsets.append(found[0])
    assert len(set(onsets)) > 5
    np.testing.assert_array_equal(sb.transform_windows(X, 5, random_state=0)[0], out)


@pytest.mark.parametrize("n_windows", [0, -1, 2.5, True])
def test_transform_windows_bad_count(n_windows):
    sb = SubBandFilter(STIM, sfreq=SFREQ).fit(_sines([13.0]))
    with pytest.raises(ValueError, match="n_windows must be a positive integer"):
        sb.transform_windows(_sines([13.0]), n_windows)
