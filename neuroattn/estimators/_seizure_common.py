"""Parts of the seizure forecaster shared with live monitoring and the evaluations:
the monitoring result, the alarm rule's constraints and documentation, the classical
band-power baseline."""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions

from .._docs import docdict
from ..preprocessing import BandPowerFeatures

__all__ = ["MonitorResult", "band_power_baseline"]


@dataclass
class MonitorResult:
    """Output of :meth:`SeizureForecaster.monitor`.

    Attributes
    ----------
    times : numpy.ndarray
        ``(n,)`` end of each window (when its probability becomes available), seconds
        from the recording's start.
    probability : numpy.ndarray
        ``(n,)`` preictal probability per window.
    score : numpy.ndarray
        ``(n,)`` smoothed probability (what the threshold is applied to).
    alarms : numpy.ndarray
        Alarm times, seconds from the recording's start.
    threshold : float
    seizures : list of tuple of float
        The recording's ``(onset, offset)`` seizures (seconds), if known.
    duration : float
        Recording length in seconds.
    """

    times: np.ndarray
    probability: np.ndarray
    score: np.ndarray
    alarms: np.ndarray
    threshold: float
    seizures: list[tuple[float, float]] = field(default_factory=list)
    duration: float = 0.0


#: The alarm rule's parameters (checked at fit and whenever alarms are raised).
_ALARM_CONSTRAINTS = {
    "smoothing": [StrOptions({"mean", "k_of_n"})],
    "smoothing_seconds": [Interval(Real, 0, None, closed="left")],
    "min_fraction": [Interval(Real, 0, 1, closed="right")],
    "threshold": [Interval(Real, 0, 1, closed="both")],
    "refractory_seconds": [Interval(Real, 0, None, closed="left"), None],
    "sop_seconds": [Interval(Real, 0, None, closed="neither")],
}


docdict["forecast_params"] = """adversarial_weight : float, default=0.05
        Weight of the adversarial term in the encoder's loss (0 turns the critic off).
        Each training batch: (1) the critic ``D`` (:class:`~neuroattn.nn.losses.
        WassersteinCritic`) takes ``critic_steps`` Adam steps on the WGAN-GP loss
        ``-(E[D(f_pre)] - E[D(f_inter)]) + gp_weight * GP`` on *detached* pooled
        features ``f`` of the batch's preictal and interictal windows (standardised
        across the feature axis without learned scale and divided by the square root
        of its width, so the distance cannot be inflated by scaling), so it estimates the
        Wasserstein-1 distance between the two feature distributions; (2) with ``D``
        frozen, the encoder and head minimise ``cross_entropy - adversarial_weight *
        (E[D(f_pre)] - E[D(f_inter)])``, i.e. they are pushed to *separate* preictal
        from interictal features in distribution, beyond the per-window decision.
        Only models with ``forward_features`` and ``num_features`` (STAN) use it.
    gp_weight : float, default=10.0
        Weight of the critic's gradient penalty.
    critic_hidden : int, default=64
        Hidden width of the critic.
    critic_lr : float, default=1e-3
        Adam learning rate of the critic (betas 0.5, 0.9).
    critic_steps : int, default=1
        Critic updates per encoder update.
    balance : bool, default=True
        Draw training batches with class-balanced probabilities (a weighted sampler
        over indices; no window is copied).
    smoothing : {"mean", "k_of_n"}, default="k_of_n"
        How :meth:`monitor` smooths the per-window probability (see
        :func:`neuroattn.metrics.seizure.smooth_probability`): a moving average
        compared with ``threshold``, or an alarm when at least ``min_fraction`` of the
        windows of the span exceed ``threshold``.
    smoothing_seconds : float, default=300.0
        Span of the smoothing, seconds.
    min_fraction : float, default=0.7
        For ``"k_of_n"``: fraction of windows of the span above ``threshold``.
    threshold : float, default=0.5
        Alarm threshold on the smoothed probability.
    refractory_seconds : float | None, default=None
        No new alarm within this time after an alarm; None uses ``sop_seconds``.
    sop_seconds : float, default=900.0
        Preictal length used for the default refractory period (15 min)."""


def band_power_baseline(sfreq: float, *, C: float = 1.0, random_state: Any = None,
                        ) -> Pipeline:
    """Log band powers and line length per channel, standardised, logistic regression.

    Parameters
    ----------
    sfreq : float
        Sampling frequency of the windows, Hz.
    C : float
        Inverse L2 regularisation strength.
    random_state : int | None
        Seed of the solver.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``fit(X, y)`` / ``predict_proba(X)`` on ``(n_windows, n_chans, n_times)``,
        class-balanced.
    """
    return make_pipeline(BandPowerFeatures(sfreq=sfreq), StandardScaler(),
                         LogisticRegression(C=C, class_weight="balanced", max_iter=2000,
                                            random_state=random_state))
