"""Signal preprocessing transformers: Euclidean alignment and band-power features."""

import numpy as np
import pytest
from scipy import signal
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neuroattn.preprocessing import (
    DEFAULT_BANDS,
    BandPowerFeatures,
    EuclideanAlignment,
    band_power_features,
)


def test_euclidean_alignment_whitens_training_trials():
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(4, 4))
    X = np.einsum("cd,ndt->nct", mix, rng.normal(size=(30, 4, 200)))
    ea = EuclideanAlignment(shrinkage=0.0).fit(X[:20])
    Z = ea.transform(X[:20]).astype(float)
    cov = np.einsum("nct,ndt->cd", Z, Z) / (20 * 200)
    np.testing.assert_allclose(cov, np.eye(4), atol=1e-2)
    assert ea.transform(X[20:]).shape == (10, 4, 200)
    assert clone(ea).get_params() == {"shrinkage": 0.0}


@pytest.mark.parametrize("X, match", [
    (np.ones((3, 4)), "n_trials, n_chans, n_times"),
    (np.full((3, 2, 10), np.nan), "NaN"),
])
def test_euclidean_alignment_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        EuclideanAlignment().fit(X)


def test_euclidean_alignment_channel_mismatch_and_shrinkage():
    ea = EuclideanAlignment().fit(np.random.default_rng(0).normal(size=(5, 3, 50)))
    with pytest.raises(ValueError, match="fitted on 3"):
        ea.transform(np.zeros((2, 4, 50)))
    with pytest.raises(ValueError, match="shrinkage"):
        EuclideanAlignment(shrinkage=1.0).fit(np.ones((2, 2, 5)))


def test_band_power_features_find_the_planted_rhythm():
    sfreq, t = 128.0, np.arange(512) / 128.0
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2, 512))
    X[:3, 0] += 10 * np.sin(2 * np.pi * 10 * t)  # alpha on channel 0 of the first three
    F = band_power_features(X, sfreq)
    n_bands = len(DEFAULT_BANDS)
    assert F.shape == (6, 2 * (n_bands + 1)) and F.dtype == np.float64
    alpha = F[:, 2 * 2 + 0]  # column band * n_chans + channel: alpha (band 2), channel 0
    assert alpha[:3].min() > alpha[3:].max() + 2
    freqs, psd = signal.welch(X, fs=sfreq, nperseg=256, axis=-1)
    sel = (freqs >= 8) & (freqs < 13)
    np.testing.assert_allclose(F[:, 4:6], np.log(psd[..., sel].mean(-1) + 1e-12))
    length = np.log(np.abs(np.diff(X, axis=-1)).mean(-1) + 1e-12)
    np.testing.assert_allclose(F[:, -2:], length)
    assert band_power_features(X, sfreq, line_length=False).shape == (6, 2 * n_bands)
    # A band above Nyquist is dropped.
    assert band_power_features(X, 40.0, bands=((1, 4), (30, 45)),
                               line_length=False).shape == (6, 2)


@pytest.mark.parametrize("X, sfreq, match", [
    (np.zeros((4, 10)), 128.0, "n_windows, n_chans, n_times"),
    (np.zeros((2, 2, 64)), 0.0, "sfreq"),
])
def test_band_power_features_bad_input(X, sfreq, match):
    with pytest.raises(ValueError, match=match):
        band_power_features(X, sfreq)


def test_band_power_transformer_in_a_pipeline():
    X = np.random.default_rng(1).normal(size=(8, 3, 256))
    pipe = make_pipeline(BandPowerFeatures(sfreq=128.0), StandardScaler()).fit(X)
    assert pipe.transform(X).shape == (8, 3 * (len(DEFAULT_BANDS) + 1))
    bp = pipe[0]
    np.testing.assert_allclose(bp.transform(X), band_power_features(X, 128.0))
    with pytest.raises(ValueError, match=r"\(n_windows, 3, n_times\)"):
        bp.transform(X[:, :2])
    with pytest.raises(ValueError, match="n_windows, n_chans, n_times"):
        BandPowerFeatures().fit(np.zeros((4, 5)))
