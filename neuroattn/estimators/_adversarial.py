"""STAN's adversarial training step: a Wasserstein critic between the features of the
two classes, trained beside the classifier (Li et al., the seizure-forecasting track)."""

from __future__ import annotations

import torch

from ..nn.losses import WassersteinCritic, critic_loss, wasserstein_distance
from ._accelerate import forward_through, unwrap
from ._nets import TrainStep

__all__ = ["AdversarialStep"]


class AdversarialStep(TrainStep):
    """STAN's training step: cross-entropy minus a WGAN-GP critic's distance.

    Each batch: (1) the critic (:class:`~neuroattn.nn.losses.WassersteinCritic`, built
    in :meth:`initialize` with its own Adam optimizer) takes ``critic_steps`` steps on
    the detached pooled features of the batch's preictal and interictal windows;
    (2) with the critic frozen, the model's loss is ``cross_entropy -
    adversarial_weight * distance``. Models without ``forward_features`` and
    ``num_features`` take the plain step.

    Parameters
    ----------
    adversarial_weight, gp_weight, critic_hidden, critic_lr, critic_steps
        As in :class:`SeizureForecaster`.
    """

    def __init__(self, adversarial_weight: float, gp_weight: float, critic_hidden: int,
                 critic_lr: float, critic_steps: int) -> None:
        self.adversarial_weight = adversarial_weight
        self.gp_weight = gp_weight
        self.critic_hidden = critic_hidden
        self.critic_lr = critic_lr
        self.critic_steps = critic_steps
        self.critic_ = None

    def initialize(self, net) -> None:
        model = unwrap(net.module_)
        if self.adversarial_weight > 0 and hasattr(model, "num_features"):
            self.critic_ = WassersteinCritic(model.num_features,
                                             self.critic_hidden).to(net.device)
            self.critic_optimizer_ = torch.optim.Adam(self.critic_.parameters(),
                                                      lr=self.critic_lr, betas=(0.5, 0.9))

    def __call__(self, net, Xi, yi, **fit_params) -> dict:
        if self.critic_ is None:  # plain classifier step (e.g. braindecode models)
            return super().__call__(net, Xi, yi, **fit_params)
        model = unwrap(net.module_)

        def features_and_head(x):
            features = model.forward_features(x)
            return features, model.forward_head(features)

        # Through the prepared model's forward: under accelerate launch its gradients
        # are averaged across processes.
        features, y_pred = forward_through(net.module_, features_and_head, Xi)
        loss = net.get_loss(y_pred, yi, X=Xi, training=True)
        # The critic sees standardised features (zero mean, unit variance across the
        # feature axis, no learned scale), so the encoder cannot inflate the distance
        # by scaling its features up.
        # Divided by sqrt(dim): unit-norm features, a distance of at most a few units.
        critic_in = torch.nn.functional.layer_norm(features, features.shape[-1:]) / (
            features.shape[-1] ** 0.5)
        pre, inter = critic_in[yi == 1], critic_in[yi == 0]
        if self._all_processes(net, len(pre) > 1 and len(inter) > 1):
            for _ in range(self.critic_steps):
                self.critic_optimizer_.zero_grad()
                c_loss, _ = critic_loss(self.critic_, pre.detach(), inter.detach(),
                                        gp_weight=self.gp_weight)
                # The critic (prepared by the net's accelerator: data-parallel under
                # accelerate launch) takes all its steps on every batch; its optimizer
                # is its own, not accumulated.
                c_loss.backward()
                self.critic_optimizer_.step()
            critic = unwrap(self.critic_)  # frozen: no gradient exchange to wait for
            critic.requires_grad_(False)
            distance = wasserstein_distance(critic, pre, inter)
            critic.requires_grad_(True)
            # The encoder is rewarded for pushing the two feature distributions apart.
            loss = loss - self.adversarial_weight * distance
        net.accelerator.backward(loss)  # loss scaling, gradient accumulation
        return {"loss": loss, "y_pred": y_pred}

    @staticmethod
    def _all_processes(net, condition: bool) -> bool:
        """``condition`` on every process of a data-parallel run (each sees its share of
        the batch): the critic steps everywhere or nowhere, or its gradient exchange
        would wait forever."""
        if net.accelerator.num_processes == 1:
            return condition
        flags = net.accelerator.gather(torch.tensor([int(condition)], device=net.device))
        return bool(flags.min().item())

