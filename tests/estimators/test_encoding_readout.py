"""The closed-form readout of the brain encoder (issue 17, item 2): the mean-token band
(pooled ridge as a special case), banded leave-one-out, reduced rank, weight averaging."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from neuroattn.data.simulate import PLANTED_TRUTHS, simulate_encoding
from neuroattn.estimators import BrainEncoderRegressor, RidgeEncoder
from neuroattn.estimators._encoding_readout import BAND_SCALES, banded_ridge_loo

FAST = dict(max_epochs=2, lr=4e-3, device="cpu", random_state=0, model__embed_dim=16,
            model__n_heads=2, model__ffn_dim=16)


class _NoMeanBand(BrainEncoderRegressor):
    """The readout before the mean band (the query's own features only)."""

    _readout_mean_band = False


def test_banded_loo_is_exact_and_picks_the_band_that_drives_each_target():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((40, 8))
    bands = [np.arange(5), np.arange(5, 8)]
    Y = 0.3 * rng.standard_normal((40, 2))
    Y[:, 0] += Z[:, 5:] @ rng.standard_normal(3)  # the second band only
    Y[:, 1] += Z[:, :5] @ rng.standard_normal(5)  # the first band only
    alphas = np.array([0.1, 1.0, 10.0])
    w, b, alpha, loo, choice = banded_ridge_loo(Z, Y, bands, BAND_SCALES, alphas)
    scale = [BAND_SCALES[c] for c in choice]
    assert scale[0][1] / max(scale[0][0], 1e-12) >= 3  # target 0: mostly the second band
    assert scale[1][1] <= 0.3  # target 1: little of the second band
    for t in range(2):  # a band scaled by 0 is left out
        for band, c in zip(bands, scale[t]):
            assert c > 0 or np.all(w[t, band] == 0)
    Zs = (Z - Z.mean(0)) / Z.std(0)
    for t in range(2):  # brute force at the chosen scaling and penalty
        col = np.concatenate([np.full(5, scale[t][0]), np.full(3, scale[t][1])])
        Zc = Zs * col
        e = [(Ridge(alpha=alpha[t]).fit(np.delete(Zc, i, 0), np.delete(Y[:, t], i))
              .predict(Zc[i:i + 1])[0] - Y[i, t]) ** 2 for i in range(40)]
        assert np.isclose(loo[t], np.mean(e))
        full = Ridge(alpha=alpha[t]).fit(Zc, Y[:, t])
        np.testing.assert_allclose(Z @ w[t] + b[t], full.predict(Zc), atol=1e-8)
    with pytest.raises(ValueError, match=r"scales\[0\] has 1 values for 2 bands"):
        banded_ridge_loo(Z, Y, bands, ((1.0,),), alphas)


@pytest.fixture(scope="module")
def global_sim():
    return simulate_encoding(250, random_state=0, **PLANTED_TRUTHS["linear_global"])


def _r(est, sim, regions=True):
    tr, te = slice(0, 150), slice(150, None)
    kw = {"regions": sim.regions, "hemispheres": sim.hemispheres} if regions else {}
    est.fit(sim.features[tr], sim.Y[tr], **kw)
    return float(np.nanmean(est.score_voxels(sim.features[te], sim.Y_repeats[te],
                                             normalize=False)))


def test_mean_band_makes_the_encoder_reach_pooled_ridge_on_global_features(global_sim):
    """linear_global: every region reads the mean token, where pooled ridge is exact;
    with the mean band the encoder reaches it (without, it stays well below)."""
    pooled = _r(RidgeEncoder("mean"), global_sim)
    enc = BrainEncoderRegressor(**FAST)
    with_band = _r(enc, global_sim)
    without = _r(_NoMeanBand(**FAST), global_sim)
    assert with_band >= pooled - 0.01, (with_band, pooled)
    assert without < pooled - 0.03, (without, pooled)
    assert np.mean(enc.readout_mean_band_ >= 1) > 0.5  # most voxels lean on the mean band


def test_mean_band_does_not_hurt_local_features():
    sim = simulate_encoding(250, random_state=0, **PLANTED_TRUTHS["linear_local"])
    with_band = _r(BrainEncoderRegressor(**FAST), sim)
    without = _r(_NoMeanBand(**FAST), sim)
    assert with_band >= without - 0.01, (with_band, without)


def test_reduced_rank_readout_has_the_asked_rank(global_sim):
    enc = BrainEncoderRegressor(readout_rank=1, **FAST).fit(
        global_sim.features[:80], global_sim.Y[:80], regions=global_sim.regions,
        hemispheres=global_sim.hemispheres)
    weight = enc.module_.ridge_weight.numpy()
    for q in np.unique(enc.voxel_queries_):
        idx = np.flatnonzero(enc.voxel_queries_ == q)
        assert np.linalg.matrix_rank(weight[idx], tol=1e-6 * np.abs(weight).max()) <= 1
    full = BrainEncoderRegressor(**FAST).fit(
        global_sim.features[:80], global_sim.Y[:80], regions=global_sim.regions,
        hemispheres=global_sim.hemispheres)
    assert not np.allclose(enc.predict(global_sim.features[80:90]),
                           full.predict(global_sim.features[80:90]))


def test_weight_averaging_loads_the_mean_of_the_last_epochs(global_sim):
    enc = BrainEncoderRegressor(weight_averaging=2, **FAST).fit(
        global_sim.features[:60], global_sim.Y[:60])
    cb = dict(enc.net_.callbacks_)["weight_averaging"]
    assert len(cb.states_) == 2
    mean = (cb.states_[0]["queries"] + cb.states_[1]["queries"]) / 2
    np.testing.assert_allclose(enc.module_.queries.detach().numpy(), mean.numpy(), atol=1e-6)
    assert not np.allclose(mean.numpy(), cb.states_[1]["queries"].numpy())
