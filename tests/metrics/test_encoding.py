"""Per-voxel Pearson r, noise ceiling, normalised r."""

import numpy as np
import pytest

from neuroattn.metrics.encoding import (
    noise_ceiling,
    normalized_r,
    pearson_r,
    summarize_by_region,
)


def test_pearson_r_matches_numpy_per_voxel():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(50, 4))
    P = Y + rng.normal(size=(50, 4)) * [0.1, 1.0, 3.0, 10.0]
    r = pearson_r(Y, P)
    expected = [np.corrcoef(Y[:, v], P[:, v])[0, 1] for v in range(4)]
    np.testing.assert_allclose(r, expected, rtol=1e-10)
    assert r[0] > r[1] > r[2]
    np.testing.assert_allclose(pearson_r(Y[:, 0], P[:, 0]), expected[:1])


def test_pearson_r_leaves_out_nan_and_flags_degenerate_voxels():
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(30, 3))
    P = Y + rng.normal(size=(30, 3))
    Yn = Y.copy()
    Yn[:5, 0] = np.nan
    r = pearson_r(Yn, P)
    np.testing.assert_allclose(r[0], np.corrcoef(Y[5:, 0], P[5:, 0])[0, 1])
    P[:, 2] = 1.0  # constant prediction
    assert np.isnan(pearson_r(Y, P)[2])
    with pytest.raises(ValueError, match="same shape"):
        pearson_r(Y, P[:, :2])


def test_noise_ceiling_recovers_the_planted_ceiling():
    rng = np.random.default_rng(2)
    n_img, n_rep, n_vox = 2000, 3, 4
    signal = rng.normal(size=(n_img, 1, n_vox))
    sigma = np.array([0.5, 1.0, 2.0, 3.0])
    R = signal + rng.normal(size=(n_img, n_rep, n_vox)) * sigma
    expected = np.sqrt(1 / (1 + sigma ** 2 / n_rep))
    np.testing.assert_allclose(noise_ceiling(R), expected, atol=0.06)
    # the ceiling is what the true signal actually reaches on the repeat mean
    reached = pearson_r(R.mean(1), signal[:, 0])
    np.testing.assert_allclose(noise_ceiling(R), reached, atol=0.06)
    # predicting single trials has a lower ceiling
    assert (noise_ceiling(R, n_average=1) < noise_ceiling(R)).all()
    R[::2, 2] = np.nan  # half the images shown twice only
    assert np.isfinite(noise_ceiling(R)).all()
    with pytest.raises(ValueError, match="two finite repeats"):
        noise_ceiling(R[:, :1])
    with pytest.raises(ValueError, match="n_repeats"):
        noise_ceiling(R[:, 0])


def test_normalized_r_and_region_summary():
    r = np.array([0.4, 0.2, 0.3])
    c = np.array([0.8, 0.05, 0.6])
    out = normalized_r(r, c)
    np.testing.assert_allclose(out[[0, 2]], [0.5, 0.5])
    assert np.isnan(out[1])  # ceiling too low to normalise
    with pytest.raises(ValueError, match="same shape"):
        normalized_r(r, c[:2])
    summary = summarize_by_region([0.1, 0.3, np.nan, 0.5], ["V1", "V1", "FFA", "FFA"])
    assert list(summary) == ["V1", "FFA"]
    np.testing.assert_allclose([summary["V1"], summary["FFA"]], [0.2, 0.5])
