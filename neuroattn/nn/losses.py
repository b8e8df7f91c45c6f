"""Losses and critics: the WGAN-GP critic of STAN's adversarial training and masked MSEs.

``nn`` knows nothing of training loops: these are the differentiable pieces the
estimators plug into theirs (:class:`~neuroattn.estimators.SeizureForecaster`,
:class:`~neuroattn.estimators.BrainEncoderRegressor`, the BrainMAE pretrainer).
"""

from __future__ import annotations

import torch
from torch import nn

from .._docs import fill_doc

__all__ = ["WassersteinCritic", "wasserstein_distance", "gradient_penalty", "critic_loss",
           "MaskedMSELoss", "masked_reconstruction_loss"]


def _check_features(f_pre: torch.Tensor, f_inter: torch.Tensor) -> None:
    for name, f in (("f_pre", f_pre), ("f_inter", f_inter)):
        if f.ndim != 2 or len(f) == 0:
            raise ValueError(f"{name} must be a non-empty (n, dim) tensor of features, got "
                             f"shape {tuple(f.shape)}.")
    if f_pre.shape[1] != f_inter.shape[1]:
        raise ValueError(f"f_pre and f_inter must have the same feature width, got "
                         f"{f_pre.shape[1]} and {f_inter.shape[1]}.")


class WassersteinCritic(nn.Module):
    """Critic of STAN's adversarial training (WGAN-GP) on pooled encoder features.

    An MLP ``in_features -> hidden -> hidden -> 1`` with LeakyReLU and no normalisation
    (the gradient penalty needs per-sample gradients). It is trained to estimate the
    Wasserstein-1 distance between the distribution of the encoder's features of
    *preictal* windows and that of *interictal* windows (see :func:`critic_loss`).

    Parameters
    ----------
    in_features : int
        Feature width (``model.num_features``).
    hidden : int
        Hidden width.

    Raises
    ------
    ValueError
        If ``in_features`` or ``hidden`` is not a positive integer.

    Notes
    -----
    Input ``(batch, in_features)``, output ``(batch,)`` critic scores (unitless).
    """

    def __init__(self, in_features: int, hidden: int = 64) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("hidden", hidden)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        self.in_features = int(in_features)
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Scores ``(batch,)`` of features ``(batch, in_features)``."""
        if features.ndim != 2 or features.shape[1] != self.in_features:
            raise ValueError(f"features must be (batch, {self.in_features}), got shape "
                             f"{tuple(features.shape)}.")
        return self.net(features).squeeze(-1)


@fill_doc
def wasserstein_distance(critic: nn.Module, f_pre: torch.Tensor,
                         f_inter: torch.Tensor) -> torch.Tensor:
    """Critic estimate ``E[D(f_pre)] - E[D(f_inter)]`` of the Wasserstein-1 distance.

    Parameters
    ----------
    %(critic)s
    %(critic_features)s

    Returns
    -------
    torch.Tensor
        Scalar (in the critic's units); larger means further apart. Differentiable
        with respect to the features and the critic.

    Raises
    ------
    %(critic_features_raises)s
    """
    _check_features(f_pre, f_inter)
    return critic(f_pre).mean() - critic(f_inter).mean()


@fill_doc
def gradient_penalty(critic: nn.Module, f_pre: torch.Tensor,
                     f_inter: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty ``E[(||grad D(f_mix)|| - 1)^2]`` (Gulrajani et al. 2017).

    ``f_mix = e f_pre + (1 - e) f_inter`` with ``e ~ U(0, 1)`` drawn per pair from the
    global torch generator; pairs are the first ``min(n_pre, n_inter)`` rows of each.

    Parameters
    ----------
    %(critic)s
    %(critic_features)s

    Returns
    -------
    torch.Tensor
        Scalar penalty, differentiable with respect to the critic's parameters.

    Raises
    ------
    %(critic_features_raises)s
    """
    _check_features(f_pre, f_inter)
    m = min(len(f_pre), len(f_inter))
    eps = torch.rand(m, 1, device=f_pre.device, dtype=f_pre.dtype)
    mix = (eps * f_pre[:m] + (1 - eps) * f_inter[:m]).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
    return ((grad.norm(dim=1) - 1) ** 2).mean()


@fill_doc
def critic_loss(critic: nn.Module, f_pre: torch.Tensor, f_inter: torch.Tensor, *,
                gp_weight: float = 10.0) -> tuple[torch.Tensor, torch.Tensor]:
    """WGAN-GP critic loss between preictal and interictal features.

    ``loss = -(E[D(f_pre)] - E[D(f_inter)]) + gp_weight * gradient_penalty`` (see
    :func:`wasserstein_distance` and :func:`gradient_penalty`). Pass *detached*
    features: the critic step must not move the encoder.

    Parameters
    ----------
    %(critic)s
    %(critic_features)s
    gp_weight : float
        Weight of the gradient penalty (10 in Gulrajani et al. 2017), >= 0.

    Returns
    -------
    loss : torch.Tensor
        Scalar to minimise with the critic's optimizer.
    distance : torch.Tensor
        The (detached) Wasserstein estimate.

    Raises
    ------
    ValueError
        If ``gp_weight`` is negative, a feature tensor is empty or not 2-D, or their
        widths differ.
    """
    if not gp_weight >= 0:
        raise ValueError(f"gp_weight must be >= 0, got {gp_weight!r}.")
    distance = wasserstein_distance(critic, f_pre, f_inter)
    penalty = gradient_penalty(critic, f_pre, f_inter)
    return -distance + gp_weight * penalty, distance.detach()


class MaskedMSELoss(nn.Module):
    """Mean squared error over the finite targets only (NaN targets are ignored).

    ``sum over finite y_true of (y_pred - y_true)^2 / number of finite targets`` (0
    when no target is finite), in the squared units of the targets.

    Notes
    -----
    ``forward(y_pred, y_true)`` takes two tensors of the same shape, e.g.
    ``(batch, n_voxels)``, and returns a scalar; it raises a ValueError when the
    shapes differ.
    """

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        """Scalar mean squared error over the finite entries of ``y_true``."""
        if y_pred.shape != y_true.shape:
            raise ValueError(f"y_pred and y_true must have the same shape, got "
                             f"{tuple(y_pred.shape)} and {tuple(y_true.shape)}.")
        mask = torch.isfinite(y_true)
        diff = torch.where(mask, y_pred - torch.nan_to_num(y_true), 0.0)
        return diff.square().sum() / mask.sum().clamp(min=1)


def masked_reconstruction_loss(reconstruction: torch.Tensor, target: torch.Tensor,
                               mask: torch.Tensor, *, masked_weight: float) -> torch.Tensor:
    """Masked-autoencoder MSE: ``masked_weight`` on masked, the rest on visible samples.

    ``masked_weight * mean_masked (r - t)^2 + (1 - masked_weight) * mean_visible
    (r - t)^2``; an empty part contributes 0.

    Parameters
    ----------
    reconstruction, target : torch.Tensor
        Same shape, e.g. ``(batch, n_regions, n_samples)``: the prediction and what it
        should be (units of the signal, z-scores for BrainMAE).
    mask : torch.Tensor
        Boolean (or 0/1) tensor of the same shape, True on masked samples.
    masked_weight : float
        Weight of the masked part, in [0, 1].

    Returns
    -------
    torch.Tensor
        Scalar loss, in squared units of the signal.

    Raises
    ------
    ValueError
        If the shapes differ or ``masked_weight`` is outside [0, 1].
    """
    if reconstruction.shape != target.shape or mask.shape != target.shape:
        raise ValueError(f"reconstruction, target and mask must have the same shape, got "
                         f"{tuple(reconstruction.shape)}, {tuple(target.shape)} and "
                         f"{tuple(mask.shape)}.")
    if not 0 <= masked_weight <= 1:
        raise ValueError(f"masked_weight must be in [0, 1], got {masked_weight!r}.")
    err = (reconstruction - target).square()
    m = mask.to(err.dtype)
    masked = (err * m).sum() / m.sum().clamp_min(1.0)
    visible = (err * (1 - m)).sum() / (1 - m).sum().clamp_min(1.0)
    return masked_weight * masked + (1 - masked_weight) * visible
