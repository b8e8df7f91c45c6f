"""Channel attention before a covariance, then the tangent space at the training mean.

The second Riemannian hybrid of the motor-imagery track: a learned, per-trial
weighting of the electrodes re-weights the signal, its covariance is mapped to the
tangent space at a reference (the Riemannian mean of the training covariances, given
by the caller) and a linear readout classifies the tangent vector -- tangent space +
logistic regression with a learned, input-dependent electrode weighting in front. With
the weights at 1 (their initial value) and the readout set to a logistic regression
fitted on the same tangent vectors, the model starts exactly at that classifier, and
training learns a correction to it (see
:class:`neuroattn.estimators.riemann.TangentPriorClassifier`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from .._docs import fill_doc
from ..nn._registry import RecordsAttention
from . import register_model
from ._base import NeuroModel

__all__ = ["ChannelWeightedTangent", "oas_covariance", "tangent_vectors"]


def oas_covariance(x: torch.Tensor) -> torch.Tensor:
    """Oracle-approximating-shrinkage covariances of trials (Chen et al. 2010).

    The estimator of scikit-learn's ``oas`` (and pyriemann's ``"oas"``): channels are
    centred over time, the sample covariance ``S`` is shrunk towards ``mu * I`` with
    ``mu = trace(S) / n_chans`` and the data-dependent OAS coefficient. Differentiable.

    Parameters
    ----------
    x : torch.Tensor
        Trials ``(batch, n_chans, n_times)`` in signal units (e.g. microvolts).

    Returns
    -------
    torch.Tensor
        Covariances ``(batch, n_chans, n_chans)`` in squared signal units.
    """
    n_chans, n_times = x.shape[-2], x.shape[-1]
    x = x - x.mean(dim=-1, keepdim=True)
    s = x @ x.transpose(-1, -2) / n_times
    mu = torch.diagonal(s, dim1=-2, dim2=-1).mean(-1)
    alpha = s.square().mean(dim=(-2, -1))
    num = alpha + mu.square()
    den = (n_times + 1) * (alpha - mu.square() / n_chans)
    shrink = torch.where(den > 0, num / den.clamp_min(1e-30), torch.ones_like(den))
    shrink = shrink.clamp(max=1.0)[..., None, None]
    eye = torch.eye(n_chans, dtype=x.dtype, device=x.device)
    return (1 - shrink) * s + shrink * mu[..., None, None] * eye


class _SymLog(torch.autograd.Function):
    """Matrix logarithm of symmetric positive-definite matrices, with a backward pass
    that stays finite for (nearly) equal eigenvalues (Daleckii-Krein, divided
    differences replaced by the derivative where eigenvalues coincide)."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor) -> torch.Tensor:
        lam, u = torch.linalg.eigh(a)
        lam = lam.clamp_min(torch.finfo(a.dtype).tiny ** 0.5)
        ctx.save_for_backward(lam, u)
        return (u * lam.log().unsqueeze(-2)) @ u.transpose(-1, -2)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        lam, u = ctx.saved_tensors
        li, lj = lam.unsqueeze(-1), lam.unsqueeze(-2)
        diff = li - lj
        close = diff.abs() <= 1e-6 * torch.maximum(li.abs(), lj.abs())
        divided = (li.log() - lj.log()) / torch.where(close, torch.ones_like(diff), diff)
        loewner = torch.where(close, 2.0 / (li + lj), divided)
        g = 0.5 * (grad + grad.transpose(-1, -2))
        inner = loewner * (u.transpose(-1, -2) @ g @ u)
        return u @ inner @ u.transpose(-1, -2)


def tangent_vectors(cov: torch.Tensor, inv_sqrt_ref: torch.Tensor) -> torch.Tensor:
    """Tangent vectors of covariances at a reference ``R``: ``upper(log(P C P))``.

    ``P = R^(-1/2)``; the upper triangle is read row by row with the off-diagonal
    entries times sqrt(2) (pyriemann's ``tangent_space`` convention, so that the
    Euclidean norm of the vector is the Riemannian distance to ``R``).

    Parameters
    ----------
    cov : torch.Tensor
        Symmetric positive-definite ``(batch, n_chans, n_chans)``.
    inv_sqrt_ref : torch.Tensor
        ``P = R^(-1/2)``, ``(n_chans, n_chans)``.

    Returns
    -------
    torch.Tensor
        ``(batch, n_chans * (n_chans + 1) / 2)``, dimensionless.
    """
    n = cov.shape[-1]
    whitened = inv_sqrt_ref @ cov @ inv_sqrt_ref
    log = _SymLog.apply(0.5 * (whitened + whitened.transpose(-1, -2)))
    rows, cols = torch.triu_indices(n, n, device=cov.device)
    coeff = torch.where(rows == cols, 1.0, 2.0 ** 0.5).to(cov.dtype)
    return log[..., rows, cols] * coeff


class _ElectrodeGate(RecordsAttention, nn.Module):
    """Per-trial electrode weights in (0, 2) from the trial's log-variances.

    ``w = 2 * sigmoid(static + mlp(log var(x) - log var_ref))``; ``static`` and the
    MLP's output layer start at zero, so every weight starts at exactly 1. Recorded
    weights: ``(batch, n_chans)``.
    """

    def __init__(self, n_chans: int, hidden: int, drop_prob: float) -> None:
        super().__init__()
        self.static = nn.Parameter(torch.zeros(n_chans))
        self.drop = nn.Dropout(drop_prob)
        self.mlp = (nn.Sequential(nn.Linear(n_chans, hidden), nn.GELU(),
                                  nn.Linear(hidden, n_chans)) if hidden else None)
        if self.mlp is not None:
            nn.init.zeros_(self.mlp[-1].weight)
            nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, log_var: torch.Tensor) -> torch.Tensor:
        score = self.static.expand_as(log_var)
        if self.mlp is not None:
            score = score + self.mlp(self.drop(log_var))
        weights = 2 * torch.sigmoid(score)
        self._record(weights)
        return weights


@register_model("channel_weighted_tangent", task="classification",
                modality=("eeg", "ieeg"),
                paper="hybrid: electrode attention + tangent space (Barachant et al. 2012)")
@fill_doc
class ChannelWeightedTangent(NeuroModel):
    """Electrode attention, covariance, tangent space at a reference, linear readout.

    For a trial ``x`` ``(n_chans, n_times)``:

    1. electrode weights ``w`` ``(n_chans,)`` in (0, 2): ``2 * sigmoid(static + MLP(
       log var(x) - log var_ref))`` -- a learned per-electrode weight plus an
       input-dependent correction from the trial's channel log-variances (``hidden``
       units; 0: static weights only). Both start at zero, so ``w = 1`` at
       initialisation. Read them with ``get_attention_weights`` (key ``"gate"``).
    2. the OAS covariance of the re-weighted trial ``diag(w) x``
       (:func:`oas_covariance`), in squared input units;
    3. its tangent vector at the reference ``R`` (:func:`tangent_vectors`),
       ``n_chans * (n_chans + 1) / 2`` dimensionless features: what
       :meth:`forward_features` returns;
    4. logits ``(W0 + dW) v + (b0 + db)``: a fixed prior readout ``(W0, b0)``
       (``readout_weight`` / ``readout_bias``; zeros when not given) plus the learned
       ``final_layer`` ``(dW, db)``, which starts at zero when a prior is given, so that
       weight decay shrinks the readout towards the prior.

    Parameters
    ----------
    %(signal_args)s
    reference : array-like of shape (n_chans, n_chans) | None
        Symmetric positive-definite reference ``R`` in squared input units, e.g. the
        Riemannian mean of the training covariances; None: the identity.
    readout_weight : array-like of shape (n_outputs, n_features) | None
        Prior readout ``W0`` (e.g. a logistic regression's ``coef_`` on the tangent
        vectors at ``reference``); None: zeros, and ``final_layer`` is initialised at
        random.
    readout_bias : array-like of shape (n_outputs,) | None
        Prior bias ``b0``; None: zeros.
    hidden : int
        Hidden units of the input-dependent electrode gate (0: static weights only).
    drop_prob : float
        Dropout on the gate's input.

    Raises
    ------
    ValueError
        If ``reference`` is not a finite symmetric positive-definite
        ``(n_chans, n_chans)`` matrix, ``readout_weight`` / ``readout_bias`` have other
        shapes than ``(n_outputs, n_features)`` / ``(n_outputs,)`` or are not finite,
        ``readout_bias`` is given without ``readout_weight``, ``hidden`` is negative
        or ``drop_prob`` is outside [0, 1).
    """

    example_signal_args: ClassVar[dict[str, Any]] = {"n_chans": 4, "n_times": 64,
                                                     "n_outputs": 3, "sfreq": 64.0}

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None, *, reference: Any = None,
                 readout_weight: Any = None, readout_bias: Any = None, hidden: int = 16,
                 drop_prob: float = 0.1) -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        if int(hidden) != hidden or hidden < 0:
            raise ValueError(f"hidden must be a non-negative integer, got {hidden!r}.")
        if not 0 <= drop_prob < 1:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}.")
        c = self.n_chans
        n_features = c * (c + 1) // 2
        ref = self._matrix(reference, "reference", (c, c)) if reference is not None \
            else torch.eye(c, dtype=torch.float64)
        if not torch.allclose(ref, ref.T, rtol=1e-5, atol=1e-8 * float(ref.abs().max())):
            raise ValueError("reference must be symmetric.")
        lam, u = torch.linalg.eigh(ref)
        if lam.min() <= 0:
            raise ValueError(f"reference must be positive definite; its smallest "
                             f"eigenvalue is {float(lam.min()):.3g}.")
        self.register_buffer("inv_sqrt_ref", ((u * lam.rsqrt()) @ u.T).float())
        self.register_buffer("log_var_ref", torch.diagonal(ref).log().float())
        if readout_bias is not None and readout_weight is None:
            raise ValueError("readout_bias needs readout_weight (the prior readout).")
        w0 = (self._matrix(readout_weight, "readout_weight", (self.n_outputs, n_features))
              if readout_weight is not None else torch.zeros(self.n_outputs, n_features))
        b0 = (self._matrix(readout_bias, "readout_bias", (self.n_outputs,))
              if readout_bias is not None else torch.zeros(self.n_outputs))
        self.register_buffer("prior_weight", w0.float())
        self.register_buffer("prior_bias", b0.float())
        self.gate = _ElectrodeGate(c, int(hidden), drop_prob)
        self.final_layer = nn.Linear(n_features, self.n_outputs)
        if readout_weight is not None:
            nn.init.zeros_(self.final_layer.weight)
            nn.init.zeros_(self.final_layer.bias)
        self.num_features = n_features

    @staticmethod
    def _matrix(value: Any, name: str, shape: tuple[int, ...]) -> torch.Tensor:
        out = torch.as_tensor(value, dtype=torch.float64)
        if tuple(out.shape) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {tuple(out.shape)}.")
        if not torch.isfinite(out).all():
            raise ValueError(f"{name} contains NaN or infinity.")
        return out

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Tangent vectors ``(batch, n_chans * (n_chans + 1) / 2)`` of ``(batch, n_chans,
        n_times)`` trials after the electrode weighting."""
        x = x.float()
        centred = x - x.mean(dim=-1, keepdim=True)
        log_var = centred.square().mean(-1).clamp_min(1e-20).log() - self.log_var_ref
        weights = self.gate(log_var)
        cov = oas_covariance(weights.unsqueeze(-1) * x)
        return tangent_vectors(cov, self.inv_sqrt_ref)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_outputs)``: the prior readout plus ``final_layer``."""
        weight = self.prior_weight + self.final_layer.weight
        return nn.functional.linear(features, weight, self.prior_bias + self.final_layer.bias)
