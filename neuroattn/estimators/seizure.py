"""``SeizureForecaster``: STAN (or any model) with adversarial training, monitoring, alarms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from skorch.dataset import unpack_data
from skorch.utils import to_device

from ..data.features import BandPowerFeatures
from ..data.seizure import SeizureRecording, SeizureWindows, iter_windows, leave_one_seizure_out
from ..metrics.seizure import event_metrics, raise_alarms, smooth_probability, window_auc
from ..models.stan import WassersteinCritic, critic_loss, wasserstein_distance
from ._base import _Classifier
from .neural import _COMMON_ATTRS, _COMMON_PARAMS, NeuroClassifier

__all__ = ["SeizureForecaster", "MonitorResult", "band_power_baseline",
           "evaluate_leave_one_seizure_out", "rescore_alarms"]


class _AdversarialNet(_Classifier):
    """skorch classifier with a balanced sampler and a WGAN-GP critic on the features.

    Attributes set by :class:`SeizureForecaster` after construction:
    ``adversarial_weight, gp_weight, critic_hidden, critic_lr, critic_steps, balance,
    sampler_seed``.
    """

    adversarial_weight = 0.0
    gp_weight = 10.0
    critic_hidden = 64
    critic_lr = 1e-3
    critic_steps = 1
    balance = True
    sampler_seed = 0

    def _adversarial(self) -> bool:
        return self.adversarial_weight > 0 and hasattr(self.module_, "num_features")

    def initialize_module(self):
        super().initialize_module()
        if self._adversarial():
            self.critic_ = WassersteinCritic(self.module_.num_features,
                                             self.critic_hidden).to(self.device)
        return self

    def get_all_learnable_params(self):
        # The main optimizer updates the encoder and head only; the critic has its own.
        for name, param in self.module_.named_parameters():
            if param.requires_grad:
                yield name, param

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        if getattr(self, "critic_", None) is not None:
            self.critic_optimizer_ = torch.optim.Adam(self.critic_.parameters(),
                                                      lr=self.critic_lr, betas=(0.5, 0.9))
        return self

    @staticmethod
    def _balanced_draws(y: np.ndarray) -> int:
        """Windows a balanced epoch draws: as many of each class as the rarer class has."""
        counts = np.bincount(y, minlength=2)
        return int(2 * counts[counts > 0].min())

    def train_batches_per_epoch(self, dataset) -> int:
        """Batches one training epoch draws (read by the warm-up schedule)."""
        n = self._balanced_draws(_dataset_targets(dataset)) if self.balance else len(dataset)
        bs = self.batch_size if self.batch_size > 0 else n
        return -(-n // bs)

    def get_iterator(self, dataset, training=False):
        if not (training and self.balance):
            return super().get_iterator(dataset, training=training)
        y = _dataset_targets(dataset)
        weights = 1.0 / np.bincount(y, minlength=2).astype(float)[y]
        sampler = torch.utils.data.WeightedRandomSampler(
            torch.as_tensor(weights, dtype=torch.double),
            num_samples=self._balanced_draws(y),
            replacement=True, generator=torch.Generator().manual_seed(self.sampler_seed))
        self.sampler_seed += 1
        kwargs = self.get_params_for("iterator_train")
        kwargs.update(shuffle=False, sampler=sampler, generator=None)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        return self.iterator_train(dataset, **kwargs)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi, yi = to_device(Xi, self.device), to_device(yi, self.device)
        if not self._adversarial():  # plain classifier step (e.g. braindecode models)
            return super().train_step_single(batch, **fit_params)
        features = self.module_.forward_features(Xi)
        y_pred = self.module_.forward_head(features)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        # The critic sees standardised features (zero mean, unit variance across the
        # feature axis, no learned scale), so the encoder cannot inflate the distance
        # by scaling its features up.
        # Divided by sqrt(dim): unit-norm features, a distance of at most a few units.
        critic_in = torch.nn.functional.layer_norm(features, features.shape[-1:]) / (
            features.shape[-1] ** 0.5)
        pre, inter = critic_in[yi == 1], critic_in[yi == 0]
        if len(pre) > 1 and len(inter) > 1:
            for _ in range(self.critic_steps):
                self.critic_optimizer_.zero_grad()
                c_loss, _ = critic_loss(self.critic_, pre.detach(), inter.detach(),
                                        gp_weight=self.gp_weight)
                c_loss.backward()
                self.critic_optimizer_.step()
            self.critic_.requires_grad_(False)
            distance = wasserstein_distance(self.critic_, pre, inter)
            self.critic_.requires_grad_(True)
            # The encoder is rewarded for pushing the two feature distributions apart.
            loss = loss - self.adversarial_weight * distance
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}


def _dataset_targets(dataset) -> np.ndarray:
    if isinstance(dataset, torch.utils.data.Subset):
        return np.asarray(_dataset_targets(dataset.dataset))[np.asarray(dataset.indices)]
    return np.asarray(dataset.y).astype(np.int64)


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


_FORECAST_PARAMS = """
    adversarial_weight : float, default=0.05
        Weight of the adversarial term in the encoder's loss (0 turns the critic off).
        Each training batch: (1) the critic ``D`` (:class:`~neuroattn.models.stan.
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


# The training defaults differ from NeuroClassifier's: STAN at its default size (2.3 M
# parameters) stalls near chance for epochs after loss spikes when trained at a
# constant-start rate; with a warm-up it reaches on 15 epochs what the 1-block model does
# (benchmarks/seizure_forecasting.py).
_FORECAST_TRAINING = (
    _COMMON_PARAMS.replace('default="eeg_transformer"', 'default="stan"')
    .replace("max_epochs : int, default=50", "max_epochs : int, default=15")
    .replace("lr : float, default=1e-3", "lr : float, default=3e-3")
    .replace('lr_scheduler : {"cosine", "warmup_cosine", None}, default="cosine"',
             'lr_scheduler : {"cosine", "warmup_cosine", None}, default="warmup_cosine"'))


class SeizureForecaster(NeuroClassifier):
    __doc__ = f"""Forecast seizures: a preictal-vs-interictal window classifier that raises alarms.

    ``fit(X, y)`` trains on windows ``(n_windows, n_chans, n_times)`` (microvolts) with
    ``y`` 1 = preictal, 0 = interictal (see :func:`neuroattn.data.seizure.
    extract_windows`), by default STAN with the adversarial critic and balanced
    batches. ``predict_proba`` gives per-window probabilities; :meth:`monitor` streams a
    whole recording and returns the probability over time and the alarms after
    smoothing, a threshold and a refractory period.

    Parameters
    ----------{_FORECAST_TRAINING}{_FORECAST_PARAMS}

    Attributes
    ----------
    classes_ : numpy.ndarray
        ``[0, 1]`` (the labels seen at fit; the second is "preictal").
    input_scale_ : float
        Standard deviation of the training windows; inputs are divided by it.{_COMMON_ATTRS}
    """

    _net_class = _AdversarialNet

    def __init__(self, model: str | type = "stan", *, adversarial_weight: float = 0.05,
                 gp_weight: float = 10.0, critic_hidden: int = 64, critic_lr: float = 1e-3,
                 critic_steps: int = 1, balance: bool = True, smoothing: str = "k_of_n",
                 smoothing_seconds: float = 300.0, min_fraction: float = 0.7,
                 threshold: float = 0.5, refractory_seconds: float | None = None,
                 sop_seconds: float = 900.0, max_epochs: int = 15, lr: float = 3e-3,
                 batch_size: int = 64, weight_decay: float = 1e-2,
                 lr_scheduler: str | None = "warmup_cosine",
                 validation_fraction: float | None = None, early_stopping: bool = False,
                 patience: int = 10, callbacks: list | None = None, device: str = "auto",
                 random_state: Any = None, verbose: int = 0, **kwargs: Any) -> None:
        super().__init__(model, max_epochs=max_epochs, lr=lr, batch_size=batch_size,
                         weight_decay=weight_decay, lr_scheduler=lr_scheduler,
                         validation_fraction=validation_fraction,
                         early_stopping=early_stopping, patience=patience,
                         callbacks=callbacks, device=device, random_state=random_state,
                         verbose=verbose, **kwargs)
        self.adversarial_weight = adversarial_weight
        self.gp_weight = gp_weight
        self.critic_hidden = critic_hidden
        self.critic_lr = critic_lr
        self.critic_steps = critic_steps
        self.balance = balance
        self.smoothing = smoothing
        self.smoothing_seconds = smoothing_seconds
        self.min_fraction = min_fraction
        self.threshold = threshold
        self.refractory_seconds = refractory_seconds
        self.sop_seconds = sop_seconds

    def _check_params(self) -> None:
        super()._check_params()
        if self.adversarial_weight < 0 or self.gp_weight < 0:
            raise ValueError(f"adversarial_weight and gp_weight must be >= 0, got "
                             f"{self.adversarial_weight} and {self.gp_weight}.")
        if int(self.critic_steps) < 1:
            raise ValueError(f"critic_steps must be >= 1, got {self.critic_steps}.")
        self._check_alarm_params()

    def _check_alarm_params(self) -> None:
        if self.smoothing not in ("mean", "k_of_n"):
            raise ValueError(f"smoothing must be 'mean' or 'k_of_n', got {self.smoothing!r}.")
        if self.smoothing_seconds < 0 or not 0 < self.min_fraction <= 1:
            raise ValueError("smoothing_seconds must be >= 0 and min_fraction in (0, 1].")
        if self.refractory_seconds is not None and self.refractory_seconds < 0:
            raise ValueError(f"refractory_seconds must be >= 0, got {self.refractory_seconds}.")

    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        # One global amplitude scale, fitted on the training windows: models see
        # inputs of unit variance whatever the units (uV scalp, iEEG, raw integers),
        # while relative amplitudes across windows and channels are kept.
        data = super()._validate_X(X, reset=reset)
        if reset:
            self.input_scale_ = float(data.std()) or 1.0
        return data / np.float32(self.input_scale_)

    def _encode_targets(self, y: Any, n_samples: int) -> np.ndarray:
        y_enc = super()._encode_targets(y, n_samples)
        if len(self.classes_) != 2:
            raise ValueError(f"Only binary classification is supported. SeizureForecaster needs "
                             f"two classes (0 interictal, 1 preictal), "
                             f"got {self.classes_.tolist()}.")
        return y_enc

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # preictal vs interictal only
        return tags

    def _make_net(self, module, seed):
        net = super()._make_net(module, seed)
        for name in ("adversarial_weight", "gp_weight", "critic_hidden", "critic_lr",
                     "critic_steps", "balance"):
            setattr(net, name, getattr(self, name))
        net.sampler_seed = seed
        return net

    def fit(self, X: Any, y: Any) -> SeizureForecaster:
        """Train on windows ``X`` ``(n_windows, n_chans, n_times)`` and labels ``y``.

        Returns
        -------
        self
        """
        return self._fit(X, y)

    def preictal_proba(self, X: Any) -> np.ndarray:
        """Preictal probability per window, ``(n_windows,)``."""
        return self.predict_proba(X)[:, 1]

    def alarms_from_proba(self, times: np.ndarray, probability: np.ndarray,
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Smooth a probability trace and raise alarms with this estimator's rule.

        Parameters
        ----------
        times : numpy.ndarray
            ``(n,)`` time (s) of each probability, evenly spaced.
        probability : numpy.ndarray
            ``(n,)`` preictal probabilities.

        Returns
        -------
        score : numpy.ndarray
            ``(n,)`` smoothed probability.
        alarms : numpy.ndarray
            Alarm times, seconds.
        """
        self._check_alarm_params()
        times = np.asarray(times, dtype=float)
        step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
        n = max(1, int(round(self.smoothing_seconds / step)))
        score = smooth_probability(probability, n, method=self.smoothing,
                                   min_fraction=self.min_fraction, threshold=self.threshold)
        thr = 1.0 if self.smoothing == "k_of_n" else self.threshold
        refractory = (self.sop_seconds if self.refractory_seconds is None
                      else self.refractory_seconds)
        return score, raise_alarms(times, score, thr, refractory)

    def monitor(self, recording: SeizureRecording, *, window_seconds: float | None = None,
                stride_seconds: float | None = None, ch_names: list[str] | None = None,
                sfreq: float | None = None, l_freq: float | None = None,
                h_freq: float | None = None) -> MonitorResult:
        """Stream a recording window by window and raise alarms.

        Parameters
        ----------
        recording : SeizureRecording
            The file to monitor (read lazily; memory stays flat).
        window_seconds : float | None
            Window length; default ``n_times_ / sfreq`` (the fitted window).
        stride_seconds : float | None
            Step between windows; default ``window_seconds``.
        ch_names : list of str | None
            Channels in the order used at fit (default: ``ch_names_`` when known).
        sfreq : float | None
            Resample to this rate (default: ``sfreq_`` when known, else the file's).
        l_freq, h_freq : float | None
            Band-pass used at fit, if any.

        Returns
        -------
        MonitorResult

        Raises
        ------
        ValueError
            If the windows would not match the fitted shape, or the recording is
            shorter than one window.
        """
        check_is_fitted(self, "net_")
        if not isinstance(recording, SeizureRecording):
            raise ValueError(f"monitor expects a SeizureRecording, got "
                             f"{type(recording).__name__}.")
        raw = recording.open()
        fs = sfreq or self.sfreq_ or float(raw.info["sfreq"])
        if window_seconds is None:
            window_seconds = self.n_times_ / fs
        if int(round(window_seconds * fs)) != self.n_times_:
            raise ValueError(f"Windows of {window_seconds} s at {fs} Hz have "
                             f"{int(round(window_seconds * fs))} samples; the model was "
                             f"fitted on {self.n_times_}.")
        ch_names = ch_names if ch_names is not None else self.ch_names_
        times, probs = [], []
        for starts, windows in iter_windows(recording, window_seconds=window_seconds,
                                            stride_seconds=stride_seconds,
                                            ch_names=ch_names, sfreq=fs, l_freq=l_freq,
                                            h_freq=h_freq):
            times.append(starts + window_seconds)
            probs.append(self.preictal_proba(windows))
        times, probs = np.concatenate(times), np.concatenate(probs)
        score, alarms = self.alarms_from_proba(times, probs)
        return MonitorResult(times, probs, score, alarms, float(self.threshold),
                             list(recording.seizures), float(recording.duration))


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


def evaluate_leave_one_seizure_out(forecaster: SeizureForecaster, windows: SeizureWindows,
                                   *, sph_seconds: float = 300.0, sop_seconds: float = 900.0,
                                   postictal_seconds: float = 1800.0, baseline: Any = None,
                                   monitor_kwargs: dict | None = None,
                                   verbose: bool = False) -> dict:
    """Leave-one-seizure-out evaluation of one subject: window AUC and event metrics.

    For each fold (:func:`neuroattn.data.seizure.leave_one_seizure_out`) a clone of
    ``forecaster`` is fitted on the training windows; its window ROC AUC is measured on
    the held-out windows, and it monitors the held-out seizure's whole file and the
    time span of the held-out interictal windows. Alarms of all folds are pooled and
    scored with :func:`neuroattn.metrics.seizure.event_metrics` over the held-out
    seizures.

    Parameters
    ----------
    forecaster : SeizureForecaster
        Unfitted estimator (cloned per fold); its alarm rule is used.
    windows : SeizureWindows
        Windows of one subject from :func:`neuroattn.data.seizure.extract_windows`.
    sph_seconds, sop_seconds, postictal_seconds : float
        Must match those used to label ``windows``.
    baseline : estimator | None
        Also fitted per fold (e.g. :func:`band_power_baseline`); its window AUC reported.
    monitor_kwargs : dict | None
        Extra arguments of :meth:`SeizureForecaster.monitor` (band-pass, channels).
    verbose : bool
        Print one line per fold.

    Returns
    -------
    dict
        ``"folds"`` (per fold: seizure, window AUCs, alarms), ``"window_auc"`` (mean
        over folds), ``"baseline_window_auc"``, ``"events"`` (an
        :class:`~neuroattn.metrics.seizure.EventMetrics` as a dict), the alarm rule,
        and ``"traces"`` (per monitored file: clock ``start``, ``times``,
        ``probability``, scored ``span``) to re-score other alarm rules with
        :func:`rescore_alarms`.

    Raises
    ------
    ValueError
        If the subject has fewer than 2 seizures or no interictal windows.
    """
    kwargs = dict(monitor_kwargs or {})
    kwargs.setdefault("ch_names", windows.ch_names)
    kwargs.setdefault("sfreq", windows.sfreq)
    kwargs.setdefault("window_seconds", windows.window_seconds)
    folds, alarms, monitored, seizures, traces = [], [], [], [], []
    for train, test in leave_one_seizure_out(windows.y, windows.seizure, windows.start):
        est = clone(forecaster).fit(windows.X[train], windows.y[train])
        fold = {"window_auc": window_auc(windows.y[test], est.preictal_proba(windows.X[test]))}
        if baseline is not None:
            base = clone(baseline).fit(windows.X[train], windows.y[train])
            fold["baseline_window_auc"] = window_auc(
                windows.y[test], base.predict_proba(windows.X[test])[:, 1])
        sid = int(np.unique(windows.seizure[test][windows.y[test] == 1])[0])
        for r in np.unique(windows.recording[test]):
            rec = windows.recordings[int(r)]
            res = est.monitor(rec, **kwargs)
            if (windows.seizure[test][windows.recording[test] == r] == sid).any():
                lo, hi = rec.start, rec.start + rec.duration
                seizures += [s for s in rec.absolute_seizures]
            else:
                sel = windows.start[test][windows.recording[test] == r]
                lo, hi = sel.min(), sel.max() + windows.window_seconds
            keep = (res.alarms + rec.start >= lo) & (res.alarms + rec.start <= hi)
            alarms += (res.alarms[keep] + rec.start).tolist()
            monitored.append((lo, hi))
            traces.append({"start": rec.start, "times": res.times,
                           "probability": res.probability, "span": (lo, hi)})
        fold.update(seizure=sid, n_alarms=len(alarms))
        folds.append(fold)
        if verbose:
            print(f"fold seizure {sid}: " + ", ".join(
                f"{k}={v:.3f}" for k, v in fold.items() if isinstance(v, float)), flush=True)
    events = event_metrics(alarms, sorted(set(seizures)), monitored, sph_seconds=sph_seconds,
                           sop_seconds=sop_seconds, postictal_seconds=postictal_seconds)
    out = {"folds": folds, "window_auc": float(np.mean([f["window_auc"] for f in folds])),
           "events": events.as_dict(), "alarms": alarms, "monitored": monitored,
           "seizures": sorted(set(seizures)), "traces": traces,
           "alarm_rule": {k: forecaster.get_params()[k] for k in (
               "smoothing", "smoothing_seconds", "min_fraction", "threshold",
               "refractory_seconds", "sop_seconds")}}
    if baseline is not None:
        out["baseline_window_auc"] = float(np.mean([f["baseline_window_auc"] for f in folds]))
    return out


def rescore_alarms(result: dict, forecaster: SeizureForecaster, *,
                   sph_seconds: float = 300.0, sop_seconds: float = 900.0,
                   postictal_seconds: float = 1800.0) -> dict:
    """Event metrics of the traces of :func:`evaluate_leave_one_seizure_out` under the
    alarm rule (smoothing, threshold, refractory period) of ``forecaster``.

    No model is refitted: only the alarm rule changes. Choosing a rule by its score on
    these held-out traces is optimistic; report it as such.

    Parameters
    ----------
    result : dict
        Output of :func:`evaluate_leave_one_seizure_out`.
    forecaster : SeizureForecaster
        Holds the alarm-rule parameters (need not be fitted).
    sph_seconds, sop_seconds, postictal_seconds : float
        As used for the evaluation.

    Returns
    -------
    dict
        :class:`~neuroattn.metrics.seizure.EventMetrics` as a dict.
    """
    alarms = []
    for tr in result["traces"]:
        _, a = forecaster.alarms_from_proba(tr["times"], tr["probability"])
        a = a + tr["start"]
        lo, hi = tr["span"]
        alarms += a[(a >= lo) & (a <= hi)].tolist()
    return event_metrics(alarms, result["seizures"], result["monitored"],
                         sph_seconds=sph_seconds, sop_seconds=sop_seconds,
                         postictal_seconds=postictal_seconds).as_dict()
