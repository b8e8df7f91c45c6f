"""The family of planted truths of the encoding simulator (issue 17): each truth has the
ceiling, routing and response that were set."""

import numpy as np
import pytest

from neuroattn.data.simulate import PLANTED_TRUTHS, simulate_encoding
from neuroattn.metrics.encoding import noise_ceiling


@pytest.mark.parametrize("ceiling", [0.3, 0.6, 0.9])
def test_estimated_noise_ceiling_matches_the_set_one(ceiling):
    sim = simulate_encoding(600, n_repeats=3, noise_ceiling=ceiling, random_state=0,
                            **PLANTED_TRUTHS["mixture"])
    est = noise_ceiling(sim.Y_repeats)
    assert abs(np.median(est) - ceiling) < 0.04
    # and the noiseless signal correlates with the repeat mean at the ceiling
    r = [np.corrcoef(sim.signal[:, v], sim.Y[:, v])[0, 1] for v in range(sim.Y.shape[1])]
    assert abs(np.median(r) - ceiling) < 0.04


@pytest.mark.parametrize("truth", list(PLANTED_TRUTHS))
def test_each_truth_plants_its_routing(truth):
    sim = simulate_encoding(120, random_state=0, **PLANTED_TRUTHS[truth])
    g = sim.grid_shape[0]
    assert np.allclose(sim.routing.sum(-1), 1, atol=1e-5)
    kinds = set(sim.routing_kind[n] for n in sim.routed_groups)
    expected = {"linear_local": {"location"}, "linear_global": {"global"},
                "content": {"content"}, "nonlinear": {"location", "content"},
                "mixture": {"location", "content"}}[truth]
    assert kinds == expected
    for i, name in enumerate(sim.group_names):
        maps = sim.routing[:, i].reshape(len(sim.routing), g, g)
        kind = sim.routing_kind[name]
        if kind == "global":
            assert np.allclose(maps, 1.0 / (g * g))
        elif kind == "location":  # a fixed spot in the opposite hemifield
            assert np.allclose(maps, maps[:1])
            col = np.unravel_index(maps[0].argmax(), maps[0].shape)[1]
            assert (col >= g // 2) if name.endswith("_lh") else (col < g // 2)
        else:  # content: image-dependent, ordered like the class-c detector score
            c = int(name.split("_")[0][len("digit"):])
            assert maps.std(axis=0).mean() > 0
            quadrant = ((np.arange(g)[:, None] >= g // 2) * 2
                        + (np.arange(g)[None, :] >= g // 2)).ravel()
            is_c = sim.digit_classes.reshape(-1, 4)[:, quadrant] == c
            mean = sim.features.mean(axis=(0, 1))
            score = (sim.features - mean) @ (sim.features[is_c].mean(0) - mean)
            flat = sim.routing[:, i]
            rank_r = np.corrcoef(np.argsort(np.argsort(score, 1), 1).ravel(),
                                 np.argsort(np.argsort(flat, 1), 1).ravel())[0, 1]
            assert rank_r > 0.99


def _linear_fit_r(sim, v):
    """r of the best linear fit of voxel v's signal from its region's routed features."""
    feats = np.einsum("nj,njf->nf", sim.routing[:, sim.group[v]], sim.features)
    X = np.c_[feats, np.ones(len(feats))]
    coef, *_ = np.linalg.lstsq(X, sim.signal[:, v], rcond=None)
    return np.corrcoef(X @ coef, sim.signal[:, v])[0, 1]


@pytest.mark.parametrize("truth", ["linear_local", "nonlinear", "mixture"])
def test_responses_are_linear_or_not_as_planted(truth):
    sim = simulate_encoding(400, random_state=0, **PLANTED_TRUTHS[truth])
    kinds = np.asarray(sim.response)
    for kind in np.unique(kinds):
        r = [_linear_fit_r(sim, v) for v in np.flatnonzero(kinds == kind)[:6]]
        if kind == "linear":
            assert min(r) > 0.999  # exactly linear in the routed features
        elif kind == "product":
            assert np.median(r) < 0.5
        else:  # rectified: partly linear
            assert 0.5 < np.median(r) < 0.99
    assert {"linear_local": {"linear"}, "nonlinear": {"product", "rectified"},
            "mixture": {"linear", "product", "rectified"}}[truth] == set(kinds)


def test_feature_maps_from_a_torch_conv():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.AvgPool2d(2))

    def feature_fn(images):
        with torch.no_grad():
            return conv(torch.from_numpy(images)).numpy()

    sim = simulate_encoding(30, feature_fn=feature_fn, random_state=0)
    assert sim.features.shape == (30, 256, 8) and sim.routing.shape[-1] == 256


@pytest.mark.slow
def test_feature_maps_from_another_backbone():
    """A random-init torchvision backbone (run by the caller) supplies the features."""
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    net = tv.models.resnet18(weights=None).eval()
    body = torch.nn.Sequential(net.conv1, net.bn1, net.relu, net.layer1)

    def feature_fn(images):
        with torch.no_grad():
            x = torch.from_numpy(images).repeat(1, 3, 1, 1)
            return body(x).numpy()  # (n, 64, 16, 16)

    sim = simulate_encoding(40, feature_fn=feature_fn, random_state=0,
                            **PLANTED_TRUTHS["linear_local"])
    assert sim.feature_maps.shape == (40, 64, 16, 16)
    assert sim.features.shape == (40, 256, 64) and sim.routing.shape[-1] == 256
    with pytest.raises(ValueError, match="feature_fn must return square feature maps"):
        simulate_encoding(10, feature_fn=lambda im: np.zeros((10, 4, 8)), random_state=0)


@pytest.mark.parametrize("kw, match", [({"routing": "nowhere"}, "routing must be one of"),
                                       ({"response": "cubic"}, "response must be one of"),
                                       ({"routing": "content", "content_classes": ()},
                                        "needs content_classes")])
def test_bad_truth_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        simulate_encoding(10, **kw)
