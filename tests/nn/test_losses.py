"""Losses and critics: WGAN-GP critic, masked MSE for NaN targets, MAE reconstruction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroattn.nn import (
    MaskedMSELoss,
    WassersteinCritic,
    critic_loss,
    gradient_penalty,
    masked_reconstruction_loss,
    wasserstein_distance,
)


def test_critic_loss_and_gradient_penalty():
    torch.manual_seed(0)
    critic = WassersteinCritic(4, hidden=16)
    pre, inter = torch.randn(8, 4) + 2.0, torch.randn(8, 4)
    opt = torch.optim.Adam(critic.parameters(), lr=1e-2, betas=(0.5, 0.9))
    for _ in range(150):
        opt.zero_grad()
        loss, distance = critic_loss(critic, pre, inter, gp_weight=10.0)
        loss.backward()
        opt.step()
    # The critic learns to score preictal features higher; with the penalty its
    # estimate stays near the true W1 distance (|mean shift| = 4 here), not unbounded.
    d = wasserstein_distance(critic, pre, inter).item()
    assert 1.0 < d < 6.0
    mix = (0.5 * pre + 0.5 * inter).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix)
    assert grad.norm(dim=1).mean().item() == pytest.approx(1.0, abs=0.35)


def test_critic_loss_is_minus_distance_plus_weighted_penalty():
    torch.manual_seed(1)
    critic = WassersteinCritic(3, hidden=8)
    pre, inter = torch.randn(5, 3), torch.randn(7, 3)
    torch.manual_seed(2)
    loss, distance = critic_loss(critic, pre, inter, gp_weight=2.5)
    torch.manual_seed(2)  # the penalty draws the same interpolation weights
    penalty = gradient_penalty(critic, pre, inter)
    torch.testing.assert_close(distance, wasserstein_distance(critic, pre, inter).detach())
    torch.testing.assert_close(loss, -distance + 2.5 * penalty)
    assert not distance.requires_grad


def test_gradient_penalty_is_zero_for_a_unit_slope_linear_critic():
    critic = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.8]]))  # ||grad|| = 1 everywhere
    penalty = gradient_penalty(lambda f: critic(f).squeeze(-1), torch.randn(4, 2),
                               torch.randn(4, 2))
    assert penalty.item() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("f_pre, f_inter, match", [
    (torch.zeros(0, 3), torch.zeros(2, 3), "f_pre"),
    (torch.zeros(2, 3), torch.zeros(3), "f_inter"),
    (torch.zeros(2, 3), torch.zeros(2, 4), "same feature width"),
])
def test_critic_functions_refuse_bad_features(f_pre, f_inter, match):
    critic = WassersteinCritic(3)
    for fn in (wasserstein_distance, gradient_penalty, critic_loss):
        with pytest.raises(ValueError, match=match):
            fn(critic, f_pre, f_inter)


def test_critic_refuses_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="in_features"):
        WassersteinCritic(0)
    with pytest.raises(ValueError, match="hidden"):
        WassersteinCritic(4, hidden=2.5)
    with pytest.raises(ValueError, match=r"\(batch, 4\)"):
        WassersteinCritic(4)(torch.randn(2, 5))
    with pytest.raises(ValueError, match="gp_weight"):
        critic_loss(WassersteinCritic(2), torch.randn(2, 2), torch.randn(2, 2), gp_weight=-1)


def test_masked_mse_ignores_nan_targets():
    loss = MaskedMSELoss()(torch.zeros(2, 2), torch.tensor([[1.0, np.nan], [3.0, 1.0]]))
    assert loss.item() == pytest.approx((1 + 9 + 1) / 3)
    all_nan = MaskedMSELoss()(torch.ones(1, 2), torch.full((1, 2), np.nan))
    assert all_nan.item() == 0.0


def test_masked_mse_refuses_mismatched_shapes():
    # Before, a (batch, 1) prediction was broadcast against (batch, n) targets silently.
    with pytest.raises(ValueError, match="same shape"):
        MaskedMSELoss()(torch.zeros(2, 1), torch.zeros(2, 3))


def test_masked_reconstruction_loss_weights_masked_and_visible_parts():
    target = torch.zeros(1, 2, 4)
    recon = torch.tensor([[[1.0, 1.0, 3.0, 3.0], [1.0, 1.0, 3.0, 3.0]]])
    mask = torch.tensor([[[True, True, False, False]] * 2])
    # masked error 1, visible error 9
    loss = masked_reconstruction_loss(recon, target, mask, masked_weight=0.75)
    assert loss.item() == pytest.approx(0.75 * 1 + 0.25 * 9)
    all_masked = masked_reconstruction_loss(recon, target, torch.ones_like(mask),
                                            masked_weight=0.75)
    assert all_masked.item() == pytest.approx(0.75 * 5)


def test_masked_reconstruction_loss_refuses_bad_input():
    x = torch.zeros(1, 2, 4)
    with pytest.raises(ValueError, match="same shape"):
        masked_reconstruction_loss(x, x[..., :3], x.bool(), masked_weight=0.5)
    with pytest.raises(ValueError, match="masked_weight"):
        masked_reconstruction_loss(x, x, x.bool(), masked_weight=1.5)
