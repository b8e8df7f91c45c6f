"""BrainEncoderRegressor, ridge peers and feature extraction; the planted-truth test."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from neuroattn.benchmark.encoding import compare_encoders
from neuroattn.data.encoding import FeatureTokens
from neuroattn.data.simulate import simulate_encoding
from neuroattn.estimators import (
    BandedRidgeEncoder,
    BrainEncoderRegressor,
    RidgeEncoder,
    extract_features,
)
from neuroattn.estimators.features import layer_names
from neuroattn.metrics.encoding import pearson_r
from neuroattn.nn import MaskedMSELoss

FAST = dict(max_epochs=3, lr=3e-3, device="cpu", random_state=0, model__embed_dim=16,
            model__n_heads=2, model__ffn_dim=16)


@pytest.fixture(scope="module")
def sim():
    return simulate_encoding(240, random_state=0)


@pytest.fixture(scope="module")
def planted(sim):
    """Encoder and ridge peers fitted on 180 images, scored on 60 (one run)."""
    tr, te = slice(0, 180), slice(180, None)
    enc = BrainEncoderRegressor(max_epochs=40, lr=4e-3, device="cpu", random_state=0)
    res = compare_encoders(sim.features[tr], sim.Y[tr], sim.features[te], sim.Y_repeats[te],
                           regions=sim.regions, hemispheres=sim.hemispheres, encoder=enc)
    return res, enc, te


def _routed_mean(r, sim):
    groups = np.asarray(sim.group_names, dtype=object)[sim.group]
    return float(np.nanmean(r[np.isin(groups, sim.routed_groups)]))


def test_encoder_beats_ridge_on_routed_regions(planted, sim):
    res, _, _ = planted
    enc = _routed_mean(res["r"]["encoder"], sim)
    ridge = {k: _routed_mean(v, sim) for k, v in res["r"].items() if k != "encoder"}
    print(f"\nmean r on routed regions: encoder {enc:.3f}, "
          + ", ".join(f"{k} {v:.3f}" for k, v in ridge.items()))
    assert enc > max(ridge.values())
    # normalised r (repeats given) is r divided by the ceiling: bounded near 1
    norm = res["r_normalized"]["encoder"]
    assert np.nanmean(norm) > np.nanmean(res["r"]["encoder"])
    assert np.nanmax(norm) < 1.3


def test_encoder_recovers_planted_routing_maps(planted, sim):
    _, enc, te = planted
    maps = enc.routing_maps(sim.features[te])
    assert maps.shape == (60, len(enc.query_names_), 64)
    corr = {}
    for i, g in enumerate(sim.group_names):
        if g in sim.routed_groups:
            model_map = maps[:, enc.region_names_.index(g)].ravel()
            corr[g] = np.corrcoef(model_map, sim.routing[te][:, i].ravel())[0, 1]
    print("\nrouting map correlation with planted maps: "
          + ", ".join(f"{k} {v:.2f}" for k, v in corr.items()))
    # Over random_state 0-4 the mean correlation is 0.64-0.72 and the weakest region's
    # 0.18-0.54: one location region can lag in a 40-epoch fit; none is unrelated.
    assert min(corr.values()) > 0.15 and np.mean(list(corr.values())) > 0.5
    # a region's map matches its own planted map better than other regions' maps
    own = np.corrcoef(maps[:, enc.region_names_.index("loc0_lh")].ravel(),
                      sim.routing[te][:, sim.group_names.index("loc0_rh")].ravel())[0, 1]
    assert corr["loc0_lh"] > own


def test_fit_predict_score_and_fitted_attributes(sim):
    enc = BrainEncoderRegressor(**FAST).fit(sim.features[:60], sim.Y[:60],
                                            regions=sim.regions, hemispheres=sim.hemispheres)
    pred = enc.predict(sim.features[60:80])
    assert pred.shape == (20, sim.Y.shape[1]) and np.isfinite(pred).all()
    assert enc.region_names_[-1] == "other" and len(enc.region_names_) == 7
    assert enc.n_tokens_ == 64 and enc.n_dims_ == 16 and enc.grid_shape_ == (8, 8)
    score = enc.score(sim.features[60:80], sim.Y[60:80])
    np.testing.assert_allclose(score, np.nanmean(pearson_r(sim.Y[60:80], pred)), rtol=1e-5)
    # feature maps (n, C, H, W) work the same as tokens
    np.testing.assert_allclose(enc.predict(sim.feature_maps[60:80]), pred, rtol=1e-4,
                               atol=1e-5)
    with pytest.raises(ValueError, match="expecting 1024 features.*64 tokens of width 16"):
        enc.predict(sim.features[:5, :10])
    before = enc.get_params()
    other = clone(enc).fit(sim.features[:40, :16], sim.Y[:40, :20])
    assert other.n_tokens_ == 16 and other.n_outputs_ == 20
    assert enc.get_params().keys() == before.keys()


def test_same_seed_same_predictions(sim):
    a = BrainEncoderRegressor(**FAST).fit(sim.features[:40], sim.Y[:40], regions=sim.regions)
    b = BrainEncoderRegressor(**FAST).fit(sim.features[:40], sim.Y[:40], regions=sim.regions)
    np.testing.assert_allclose(a.predict(sim.features[:5]), b.predict(sim.features[:5]),
                               rtol=1e-5)


def test_bad_inputs_raise_clear_errors(sim):
    enc = BrainEncoderRegressor(**FAST)
    with pytest.raises(ValueError, match="describe 40 images but responses have 39"):
        enc.fit(sim.features[:40], sim.Y[:39])
    regions = sim.regions.copy()
    regions[3] = None
    with pytest.raises(ValueError, match="no region label"):
        enc.fit(sim.features[:40], sim.Y[:40], regions=regions)
    bad = sim.features[:40].copy()
    bad[2, 3, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        enc.fit(bad, sim.Y[:40])
    with pytest.raises(ValueError, match="NaN or infinity \\(first in image 2\\)"):
        enc.fit(FeatureTokens(bad, sim.positions, sim.grid_shape), sim.Y[:40])
    with pytest.raises(ValueError, match="Unknown parameters"):
        BrainEncoderRegressor(depth=2).fit(sim.features[:40], sim.Y[:40])
    with pytest.raises(ValueError, match="grad_clip"):
        BrainEncoderRegressor(**{**FAST, "grad_clip": -1.0}).fit(sim.features[:40], sim.Y[:40])


def test_nan_responses_are_masked_and_reported(sim):
    Y = sim.Y[:60].copy()
    Y[:10, 0] = np.nan
    Y[5, 7] = np.nan
    with pytest.warns(UserWarning, match="11 NaN responses in 2 voxels"):
        enc = BrainEncoderRegressor(**FAST).fit(sim.features[:60], Y, regions=sim.regions)
    assert enc.missing_responses_[0] == 10 and enc.missing_responses_[7] == 1
    assert np.isfinite(enc.predict(sim.features[:5])).all()
    assert np.isfinite(enc.history_[-1, "train_loss"])
    assert np.isfinite(enc.score(sim.features[:60], Y))
    loss = MaskedMSELoss()(torch.zeros(2, 2), torch.tensor([[1.0, np.nan], [3.0, 1.0]]))
    torch.testing.assert_close(loss, torch.tensor((1 + 9 + 1) / 3))


def test_score_with_repeats_is_noise_ceiling_normalised(sim):
    enc = BrainEncoderRegressor(**FAST).fit(sim.features[:60], sim.Y[:60],
                                            regions=sim.regions)
    raw = enc.score_voxels(sim.features[60:120], sim.Y_repeats[60:120], normalize=False)
    norm = enc.score_voxels(sim.features[60:120], sim.Y_repeats[60:120])
    ok = np.isfinite(norm)
    assert ok.mean() > 0.9
    assert (np.abs(norm[ok]) >= np.abs(raw[ok]) - 1e-9).all()
    assert enc.score(sim.features[60:120], sim.Y_repeats[60:120]) == pytest.approx(
        np.nanmean(norm))


def test_ridge_peers(sim):
    Y = sim.Y[:100].copy()
    Y[0, 0] = np.nan
    for pooling, n_feat in (("mean", 16), ("flatten", 64 * 16)):
        ridge = RidgeEncoder(pooling=pooling).fit(sim.features[:100], Y)
        assert ridge.mean_.shape == (n_feat,) and ridge.alpha_.shape == (Y.shape[1],)
        assert ridge.n_features_in_ == 64 * 16  # features seen: tokens x width
        assert ridge.predict(sim.features[100:110]).shape == (10, Y.shape[1])
        assert ridge.missing_responses_[0] == 1
    with pytest.raises(ValueError, match="pooling"):
        RidgeEncoder(pooling="max").fit(sim.features[:100], Y)


# ------------------------------------------------------------------ torch backbones
class _TinyCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 3, padding=1), torch.nn.ReLU())
        self.down = torch.nn.Conv2d(6, 5, 4, stride=4)
        self.head = torch.nn.Linear(5, 2)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.head(self.down(self.stem(x)).mean((2, 3)))


class _TinyViT(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = torch.nn.Conv2d(1, 8, 8, stride=8)
        self.cls = torch.nn.Parameter(torch.zeros(1, 1, 8))
        self.blocks = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 8))

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2)
        return self.blocks(torch.cat([self.cls.expand(len(x), -1, -1), t], dim=1))


def test_extract_features_layer_tokens_and_cache(sim, tmp_path):
    cnn = _TinyCNN()
    images = sim.images[:10]
    ft = extract_features(images, cnn, "down", batch_size=4, device="cpu",
                          cache_dir=tmp_path)
    assert ft.tokens.shape == (10, 64, 5) and ft.grid_shape == (8, 8)
    assert isinstance(ft.tokens, np.memmap) and cnn.calls == 3
    with torch.no_grad():
        ref = cnn.down(cnn.stem(torch.from_numpy(images[3:4])))[0]
    np.testing.assert_allclose(ft.tokens[3, 8 * 2 + 5], ref[:, 2, 5].numpy(), rtol=1e-5,
                               atol=1e-6)
    again = extract_features(images, cnn, "down", device="cpu", cache_dir=tmp_path)
    assert cnn.calls == 3  # read from the cache, backbone not run
    np.testing.assert_array_equal(again.tokens, ft.tokens)
    with torch.no_grad():
        cnn.down.weight.add_(1.0)  # other weights -> other cache entry
    extract_features(images, cnn, "down", device="cpu", cache_dir=tmp_path)
    assert cnn.calls == 4
    vit = extract_features(images, _TinyViT(), "blocks.1", device="cpu")
    assert vit.tokens.shape == (10, 17, 8) and vit.info["n_prefix_tokens"] == 1


def test_unknown_backbone_layer_lists_names(sim):
    cnn = _TinyCNN()
    with pytest.raises(ValueError, match="no layer 'layer4'.*stem, stem.0, stem.1, down"):
        extract_features(sim.images[:2], cnn, "layer4")
    assert layer_names(cnn) == ["stem", "stem.0", "stem.1", "down", "head"]
    with pytest.raises(ValueError, match="needs a layer"):
        BrainEncoderRegressor(backbone=cnn, **FAST).fit(sim.images[:4], sim.Y[:4])


def test_fit_from_images_through_a_backbone(sim, tmp_path):
    enc = BrainEncoderRegressor(backbone=_TinyCNN(), layer="down", feature_cache=tmp_path,
                                **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NaN warning: responses complete
        enc.fit(sim.images[:30], sim.Y[:30], regions=sim.regions, hemispheres=sim.hemispheres)
    assert enc.n_tokens_ == 64 and enc.n_dims_ == 5
    assert enc.predict(sim.images[30:34]).shape == (4, sim.Y.shape[1])
    assert enc.routing_maps(sim.images[30:34]).shape == (4, len(enc.query_names_), 64)
    assert list(tmp_path.glob("*.npy"))


def test_save_load_round_trip(sim, tmp_path):
    enc = BrainEncoderRegressor(**FAST).fit(sim.features[:40], sim.Y[:40], regions=sim.regions,
                                            hemispheres=sim.hemispheres)
    path = enc.save(tmp_path / "enc")
    again = BrainEncoderRegressor.load(path, device="cpu")
    np.testing.assert_allclose(again.predict(sim.features[40:45]),
                               enc.predict(sim.features[40:45]), rtol=1e-5, atol=1e-6)
    assert again.region_names_ == enc.region_names_ and again.grid_shape_ == (8, 8)
    with pytest.raises(ValueError, match="backbone is not saved"):
        enc.set_params(backbone=_TinyCNN()).save(tmp_path / "x")


# Expected failures of scikit-learn's checks, each with why.
_EXPECTED_FAILED = {
    # float32 network: the same image in a batch of another size goes through other
    # BLAS blocking and differs at ~1e-7, more than the check's absolute 1e-7.
    "check_methods_subset_invariance": "float32 outputs depend on batch size at 1e-7",
}


@parametrize_with_checks(
    [RidgeEncoder(), BrainEncoderRegressor(max_epochs=10, batch_size=32, lr=5e-3, device="cpu",
                                           random_state=0, model__embed_dim=16,
                                           model__n_heads=2, model__ffn_dim=16)],
    expected_failed_checks=lambda est: (_EXPECTED_FAILED
                                        if isinstance(est, BrainEncoderRegressor) else {}))
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ------------------------------------------------------------------ issue 17
def test_unlabelled_voxels_get_learned_queries(sim):
    enc = BrainEncoderRegressor(n_queries=3, **FAST).fit(sim.features[:80], sim.Y[:80])
    assert enc.query_names_ == ["query0", "query1", "query2"]
    assert enc.unlabelled_voxels_.size == sim.Y.shape[1]
    assert enc.voxel_assignment_.shape == (sim.Y.shape[1], 3)
    assert np.allclose(enc.voxel_assignment_.sum(1), 1, atol=1e-5)
    assert set(np.unique(enc.voxel_queries_)) <= {0, 1, 2}
    assert enc.readout_alpha_.shape == (sim.Y.shape[1],)
    assert enc.routing_maps(sim.features[80:84]).shape == (4, 3, 64)
    # labelled groups keep one query each; the unlabelled ones share the learned queries
    lab = BrainEncoderRegressor(n_queries=2, **FAST).fit(
        sim.features[:80], sim.Y[:80], regions=sim.regions, hemispheres=sim.hemispheres)
    assert lab.query_names_ == lab.region_names_[:-1] + ["query0", "query1"]
    other = lab.unlabelled_voxels_
    assert np.all(lab.voxel_queries_[other] >= len(lab.region_names_) - 1)
    labelled = np.setdiff1d(np.arange(sim.Y.shape[1]), other)
    assert np.array_equal(lab.voxel_queries_[labelled], lab.voxel_groups_[labelled])


def test_ridge_readout_is_saved_and_loaded(sim, tmp_path):
    enc = BrainEncoderRegressor(n_queries=2, **FAST).fit(sim.features[:60], sim.Y[:60])
    assert bool(enc.module_.use_ridge)
    learned = BrainEncoderRegressor(n_queries=2, readout="learned", **FAST).fit(
        sim.features[:60], sim.Y[:60])
    assert not bool(learned.module_.use_ridge) and learned.readout_alpha_ is None
    path = enc.save(tmp_path / "enc")
    again = BrainEncoderRegressor.load(path, device="cpu")
    np.testing.assert_allclose(again.predict(sim.features[60:70]),
                               enc.predict(sim.features[60:70]), rtol=1e-4, atol=1e-5)


def test_ridge_loo_is_exact_leave_one_out():
    from sklearn.linear_model import Ridge

    from neuroattn.estimators._encoding_readout import ridge_loo

    rng = np.random.default_rng(0)
    Z, Y = rng.standard_normal((30, 5)), rng.standard_normal((30, 2))
    Y[:, 0] += Z @ rng.standard_normal(5)
    alphas = np.array([0.1, 10.0])
    w, b, alpha, loo = ridge_loo(Z, Y, alphas)
    Zs = (Z - Z.mean(0)) / Z.std(0)
    for t in range(2):
        errs = []
        for a in alphas:  # brute force: refit without each image
            e = [(Ridge(alpha=a).fit(np.delete(Zs, i, 0), np.delete(Y[:, t], i))
                  .predict(Zs[i:i + 1])[0] - Y[i, t]) ** 2 for i in range(30)]
            errs.append(np.mean(e))
        assert alpha[t] == alphas[int(np.argmin(errs))]
        assert np.isclose(loo[t], min(errs))
        full = Ridge(alpha=alpha[t]).fit(Zs, Y[:, t])
        np.testing.assert_allclose(Z @ w[t] + b[t], full.predict(Zs), atol=1e-8)


def test_voxel_clustering_finds_planted_location_groups():
    from sklearn.metrics import adjusted_rand_score

    from neuroattn.data.simulate import PLANTED_TRUTHS
    from neuroattn.estimators._encoding_readout import cluster_voxels

    s = simulate_encoding(400, n_unlabelled_voxels=0, noise_ceiling=0.9, random_state=0,
                          **PLANTED_TRUTHS["linear_local"])
    tokens = (s.features - s.features.mean((0, 1))) / s.features.std((0, 1))
    Y = (s.Y - s.Y.mean(0)) / s.Y.std(0)
    labels = cluster_voxels(tokens, Y, 4)
    assert adjusted_rand_score(s.group, labels) > 0.8


@pytest.mark.parametrize("make", [lambda: RidgeEncoder("flatten", solver="himalaya"),
                                  lambda: RidgeEncoder("mean", solver="himalaya"),
                                  lambda: BandedRidgeEncoder(n_iter=5)],
                         ids=["himalaya_flatten", "himalaya_mean", "himalaya_banded"])
def test_himalaya_peers(sim, make):
    est = make().fit(sim.features[:150], sim.Y[:150])
    assert est.alpha_.shape == (sim.Y.shape[1],)
    r = est.score_voxels(sim.features[150:], sim.Y[150:], normalize=False)
    assert np.nanmean(r) > 0.2
    with pytest.raises(ValueError, match="features"):
        est.predict(sim.features[150:, :10])


def test_banded_ridge_primal_and_dual_agree_on_bands(sim):
    dual = BandedRidgeEncoder(n_iter=3).fit(sim.features[:100], sim.Y[:100])
    assert dual.dual_ and dual.band_weights_.shape == (5, sim.Y.shape[1])
    wide = FeatureTokens(sim.features[:, ::16], np.zeros((4, 2)), (2, 2))
    primal = BandedRidgeEncoder(n_iter=3).fit(wide.tokens[:200], sim.Y[:200])
    assert not primal.dual_ and primal.predict(wide.tokens[200:]).shape == (40, sim.Y.shape[1])
    with pytest.raises(ValueError, match="n_split"):
        BandedRidgeEncoder(n_split=0).fit(sim.features[:20], sim.Y[:20])
