"""Brain Network Transformer: square symmetric inputs, readout, a planted connectome effect."""

import numpy as np
import pytest
import torch

from neuroattn import NeuroClassifier, create_model
from neuroattn.models.brain_network_transformer import (
    BrainNetworkTransformer,
    OrthonormalClusterReadout,
)


def _connectomes(n_subjects=80, n_regions=10, n_times=60, seed=0):
    """Correlation matrices; label 1 couples regions 0-2 through a shared signal."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_subjects) % 2
    mats = []
    for label in y:
        series = rng.standard_normal((n_times, n_regions))
        if label:
            series[:, :3] += 0.9 * rng.standard_normal((n_times, 1))
        mats.append(np.corrcoef(series.T))
    return np.asarray(mats, dtype=np.float32), y


def test_readout_centres_start_orthonormal_and_pool_by_assignment():
    readout = OrthonormalClusterReadout(embed_dim=6, n_clusters=3)
    centres = readout.centres.detach()
    assert torch.allclose(centres @ centres.t(), torch.eye(3), atol=1e-5)
    z = torch.randn(2, 5, 6)
    pooled = readout(z)
    assert pooled.shape == (2, 3, 6)
    assert torch.allclose(readout.assignments_.sum(-1), torch.ones(2, 5), atol=1e-6)
    expected = readout.assignments_.transpose(1, 2) @ z
    assert torch.allclose(pooled, expected, atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_chans=10, n_times=12, n_outputs=2), "square"),
    (dict(n_chans=10, n_times=10, n_outputs=2, n_heads=3), "divide"),
    (dict(n_chans=10, n_times=10, n_outputs=2, n_heads=2, n_clusters=11), "n_clusters"),
    (dict(n_chans=10, n_times=10, n_outputs=2, n_heads=2, n_clusters=0), "n_clusters"),
    (dict(n_chans=10, n_times=10, n_outputs=2, n_heads=2, hidden_dims=(8, 0)), "hidden_dims"),
])
def test_bad_construction_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BrainNetworkTransformer(**kwargs)


def test_check_array_refuses_non_square_and_non_symmetric():
    X, _ = _connectomes(4)
    BrainNetworkTransformer.check_array(X)
    with pytest.raises(ValueError, match="square"):
        BrainNetworkTransformer.check_array(X[:, :, :-1])
    bad = X.copy()
    bad[2, 0, 1] += 0.5
    with pytest.raises(ValueError, match="subject 2 .*symmetric|symmetric.*subject 2"):
        BrainNetworkTransformer.check_array(bad)
    nan = X.copy()
    nan[1, 3, 4] = np.nan
    with pytest.raises(ValueError, match="subject 1"):
        BrainNetworkTransformer.check_array(nan)


def test_estimator_refuses_non_symmetric_matrices_before_training():
    X, y = _connectomes(8)
    X[3, 0, 1] += 1.0
    clf = NeuroClassifier("brain_network_transformer", max_epochs=1, model__n_heads=2,
                          model__n_clusters=2, random_state=0)
    with pytest.raises(ValueError, match="symmetric"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_learns_a_planted_coupling():
    X, y = _connectomes(160, seed=1)
    clf = NeuroClassifier("brain_network_transformer", max_epochs=30, lr=3e-3, batch_size=32,
                          model__n_heads=2, model__n_clusters=4, model__hidden_dims=(32, 16),
                          random_state=0)
    clf.fit(X[:120], y[:120])
    assert clf.score(X[120:], y[120:]) > 0.85


def test_features_and_attention():
    model = create_model("brain_network_transformer", n_chans=10, n_times=10, n_outputs=2,
                         n_heads=2, n_clusters=3, hidden_dims=(16,))
    x = model.example_input(3)
    assert torch.allclose(x, x.transpose(1, 2), atol=1e-5)
    assert model.forward_features(x).shape == (3, 16)
    assert model.readout.assignments_.shape == (3, 10, 3)


# ------------------------------------------- BrainMAE region embeddings, linear skip (issue 16)

def test_region_embedding_widens_the_tokens_and_is_frozen():
    emb = np.random.default_rng(0).standard_normal((10, 6))
    model = create_model("brain_network_transformer", n_chans=10, n_times=10, n_outputs=2,
                         n_heads=2, n_clusters=3, hidden_dims=(16,), region_embedding=emb)
    assert model.project.__class__.__name__ == "Identity"
    assert model.region_features.shape == (10, 6)
    assert not any(p is model.region_features for p in model.parameters())
    x = model.example_input(3)
    assert model(x).shape == (3, 2)
    # the embedding reaches the output: another embedding, same weights, other outputs
    other = create_model("brain_network_transformer", n_chans=10, n_times=10, n_outputs=2,
                         n_heads=2, n_clusters=3, hidden_dims=(16,), region_embedding=emb[::-1])
    other.load_state_dict({k: v for k, v in model.state_dict().items()
                           if k != "region_features"}, strict=False)
    assert not torch.allclose(model.eval()(x), other.eval()(x))
    projected = create_model("brain_network_transformer", n_chans=10, n_times=10,
                             n_outputs=2, embed_dim=8, n_heads=2, n_clusters=3,
                             region_embedding=emb)
    assert projected.project.in_features == 16 and projected(x).shape == (3, 2)


def test_diagonal_offset_is_added_to_the_class_1_logit_and_hidden_from_the_tokens():
    model = create_model("brain_network_transformer", n_chans=10, n_times=10, n_outputs=2,
                         n_heads=2, n_clusters=3, diagonal_offset=True).eval()
    x = model.example_input(4)
    offset = torch.tensor([-2.0, 0.0, 0.5, 3.0])
    x = x - torch.diag_embed(torch.diagonal(x, dim1=1, dim2=2)) + torch.diag_embed(
        offset[:, None].expand(-1, 10))
    out = model(x)
    torch.testing.assert_close(out[:, 1] - out[:, 0], offset)  # zero-initialised head
    torch.nn.init.normal_(model.final_layer.weight)
    shifted = x + torch.diag_embed(torch.ones(4, 10))
    torch.testing.assert_close(model(shifted)[:, 1] - model(x)[:, 1], torch.ones(4))


@pytest.mark.parametrize("kwargs, match", [
    (dict(region_embedding=np.zeros((9, 4))), r"region_embedding must be a \(n_regions, d\)"),
    (dict(region_embedding=np.zeros(10)), "region_embedding"),
    (dict(region_embedding=np.zeros((10, 0))), "region_embedding"),
    (dict(region_embedding=np.full((10, 4), np.nan)), "region_embedding holds NaN"),
    (dict(region_embedding=np.zeros((10, 3))), "n_heads=2 must divide the token width 13"),
    (dict(diagonal_offset=True, n_outputs=3), "diagonal_offset .*binary"),
])
def test_bad_region_embedding_or_offset_is_refused(kwargs, match):
    args = dict(n_chans=10, n_times=10, n_outputs=2, n_heads=2, n_clusters=2)
    with pytest.raises(ValueError, match=match):
        BrainNetworkTransformer(**{**args, **kwargs})
