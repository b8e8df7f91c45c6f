"""channel_weighted_tangent: OAS covariance, tangent vectors, stable matrix log, gate."""

import numpy as np
import pytest
import torch
from pyriemann.geometry.mean import mean_riemann
from pyriemann.tangentspace import tangent_space
from sklearn.covariance import oas

from neuroattn.models.channel_weighted_tangent import (
    ChannelWeightedTangent,
    _SymLog,
    oas_covariance,
    tangent_vectors,
)


def _trials(n=6, c=4, t=64, seed=0):
    return np.random.default_rng(seed).standard_normal((n, c, t)) * 10


def test_oas_covariance_equals_scikit_learn():
    X = _trials()
    ours = oas_covariance(torch.as_tensor(X)).numpy()
    for x, cov in zip(X, ours):
        np.testing.assert_allclose(cov, oas(x.T)[0], rtol=1e-10)


def test_tangent_vectors_equal_pyriemann_at_the_reference():
    covs = oas_covariance(torch.as_tensor(_trials())).numpy()
    ref = mean_riemann(covs)
    lam, u = np.linalg.eigh(ref)
    ours = tangent_vectors(torch.as_tensor(covs), torch.as_tensor((u / np.sqrt(lam)) @ u.T))
    np.testing.assert_allclose(ours.numpy(), tangent_space(covs, ref), atol=1e-10)
    # at the training mean the vectors average to about zero
    assert np.abs(ours.numpy().mean(0)).max() < 0.1 * np.abs(ours.numpy()).mean()


def test_matrix_log_gradient_matches_finite_differences_and_is_finite_when_degenerate():
    a = torch.as_tensor(oas_covariance(torch.as_tensor(_trials(2))).numpy(),
                        dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda m: _SymLog.apply(0.5 * (m + m.mT)), (a,))
    eye = torch.eye(4, dtype=torch.float64, requires_grad=True)  # all eigenvalues equal
    _SymLog.apply(eye).sum().backward()
    assert torch.isfinite(eye.grad).all()
    np.testing.assert_allclose(eye.grad.numpy(), np.ones((4, 4)), atol=1e-12)  # d log at I


def test_starts_at_the_prior_with_unit_electrode_weights():
    X = torch.as_tensor(_trials(5), dtype=torch.float32)
    covs = oas_covariance(X.double()).numpy()
    ref = mean_riemann(covs)
    w0 = np.random.default_rng(1).standard_normal((3, 10))
    b0 = np.array([0.5, -0.1, 0.0])
    model = ChannelWeightedTangent(4, 64, 3, reference=ref.tolist(), readout_weight=w0,
                                   readout_bias=b0).eval()
    expected = tangent_space(covs, ref) @ w0.T + b0
    torch.testing.assert_close(model(X).double(), torch.as_tensor(expected), rtol=1e-3,
                               atol=1e-3)
    gate = model.get_attention_weights(X)["gate"]
    assert gate.shape == (5, 4) and torch.equal(gate, torch.ones(5, 4))
    assert not model.final_layer.weight.any()  # the correction starts at zero


def test_electrode_weights_change_the_covariance_as_documented():
    model = ChannelWeightedTangent(4, 64, 2, hidden=0).eval()
    with torch.no_grad():
        model.gate.static.copy_(torch.tensor([0.0, 0.0, 0.0, -20.0]))  # switch channel 3 off
    X = torch.as_tensor(_trials(3), dtype=torch.float32)
    weights = model.get_attention_weights(X)["gate"]
    np.testing.assert_allclose(weights[0].numpy(), [1, 1, 1, 0], atol=1e-6)
    X2 = X.clone()
    X2[:, 3] *= 100  # an electrode weighted ~0 no longer matters
    torch.testing.assert_close(model.forward_features(X2)[:, :6],
                               model.forward_features(X)[:, :6], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(reference=[[1.0, 2.0], [0.0, 1.0]]), "shape"),
    (dict(reference=np.diag([1.0, 1.0, 1.0, -1.0])), "positive definite"),
    (dict(reference=np.eye(4) + np.triu(np.ones((4, 4)), 1)), "symmetric"),
    (dict(reference=np.full((4, 4), np.nan)), "NaN"),
    (dict(readout_weight=np.zeros((3, 9))), r"readout_weight must have shape \(3, 10\)"),
    (dict(readout_weight=np.zeros((3, 10)), readout_bias=np.zeros(2)), "readout_bias"),
    (dict(readout_bias=np.zeros(3)), "needs readout_weight"),
    (dict(hidden=-1), "hidden"),
    (dict(drop_prob=1.0), "drop_prob"),
])
def test_bad_constructor_arguments_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ChannelWeightedTangent(4, 64, 3, **kwargs)
