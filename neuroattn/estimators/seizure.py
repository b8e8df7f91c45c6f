"""``SeizureForecaster``: STAN (or any model) with adversarial training, monitoring, alarms."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.utils._param_validation import (
    Interval,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted

from .._docs import fill_estimator_doc
from ..data.seizure import SeizureRecording, SeizureWindows, iter_windows
from ..data.seizure._windows import _check_window_args
from ..metrics.seizure import _probabilities, _times, raise_alarms, smooth_probability
from ._adversarial import AdversarialStep
from ._seizure_common import _ALARM_CONSTRAINTS, MonitorResult, band_power_baseline
from ._streaming import LazyWindows
from .neural import NeuroClassifier

__all__ = ["SeizureForecaster", "AdversarialStep", "MonitorResult", "band_power_baseline"]


# The training defaults differ from NeuroClassifier's: STAN at its default size (2.3 M
# parameters) stalls near chance for epochs after loss spikes when trained at a
# constant-start rate; with a warm-up it reaches on 15 epochs what the 1-block model does
# (benchmarks/seizure_forecasting.py).
@fill_estimator_doc
class SeizureForecaster(NeuroClassifier):
    """Forecast seizures: a preictal-vs-interictal window classifier that raises alarms.

    ``fit(X, y)`` trains on windows ``(n_windows, n_chans, n_times)`` (microvolts) with
    ``y`` 1 = preictal, 0 = interictal (see :func:`neuroattn.data.seizure.
    extract_windows`), by default STAN with the adversarial critic and balanced
    batches. ``predict_proba`` gives per-window probabilities; :meth:`monitor` streams a
    whole recording and returns the probability over time and the alarms after
    smoothing, a threshold and a refractory period.

    Parameters
    ----------
    %(training_params)s
    %(forecast_params)s

    Attributes
    ----------
    classes_ : numpy.ndarray
        ``[0, 1]`` (the labels seen at fit; the second is "preictal").
    input_scale_ : float
        Standard deviation of the training windows; inputs are divided by it.
    bandpass_ : tuple of (float | None) | None
        ``(l_freq, h_freq)`` of the training windows when ``fit`` was given a
        SeizureWindows (used by :meth:`monitor`), else None.
    %(fitted_net_attrs)s
    %(fitted_signal_attrs)s
    """

    _parameter_constraints = {
        **NeuroClassifier._parameter_constraints,
        "adversarial_weight": [Interval(Real, 0, None, closed="left")],
        "gp_weight": [Interval(Real, 0, None, closed="left")],
        "critic_hidden": [Interval(Integral, 1, None, closed="left")],
        "critic_lr": [Interval(Real, 0, None, closed="neither")],
        "critic_steps": [Interval(Integral, 1, None, closed="left")],
        "balance": ["boolean"],
        **_ALARM_CONSTRAINTS,
    }
    _fitted_required = (*NeuroClassifier._fitted_required, "input_scale_")

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
                 mixed_precision: str = "no", gradient_accumulation_steps: int = 1,
                 compile: bool = False, num_workers: int = 0, pin_memory: bool | None = None,
                 persistent_workers: bool = False,
                 checkpoint_dir: str | Path | None = None,
                 random_state: Any = None, verbose: int = 0, **kwargs: Any) -> None:
        self._init_params(locals())

    @property
    def _balanced(self) -> bool:
        return bool(self.balance)

    def _check_alarm_params(self) -> None:
        # The alarm rule is also used unfitted (rescoring): check just its parameters.
        validate_parameter_constraints(
            _ALARM_CONSTRAINTS, {k: getattr(self, k) for k in _ALARM_CONSTRAINTS},
            caller_name=type(self).__name__)

    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        # One global amplitude scale, fitted on the training windows: models see
        # inputs of unit variance whatever the units (uV scalp, iEEG, raw integers),
        # while relative amplitudes across windows and channels are kept.
        # A streamed input (memmap, Dataset) is scaled as its windows are read; its
        # standard deviation comes from the chunk-wise check.
        data = super()._validate_X(X, reset=reset)
        if isinstance(data, LazyWindows):
            if reset:
                self.input_scale_ = float(data.std_) or 1.0
            return data.scaled(1.0 / self.input_scale_)
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

    def _train_step(self) -> AdversarialStep:
        return AdversarialStep(self.adversarial_weight, self.gp_weight, self.critic_hidden,
                               self.critic_lr, self.critic_steps)

    def fit(self, X: Any, y: Any = None) -> SeizureForecaster:
        """Train on labelled windows.

        Parameters
        ----------
        X : SeizureWindows | array-like
            A :class:`~neuroattn.data.seizure.SeizureWindows` (its ``y``, channels,
            sampling rate and band-pass are taken from it and kept with the model, so
            :meth:`monitor` windows new recordings the same way), or windows
            ``(n_windows, n_chans, n_times)`` in microvolts. Windows on disk (the
            memory map of ``extract_windows(..., out=...)`` or ``load_windows``, any
            ``numpy.memmap``) and a ``torch.utils.data.Dataset`` of ``(x, y)`` pairs
            are streamed: checked chunk by chunk, then the class-balanced sampler draws
            indices and the DataLoader reads only those windows (memory does not grow
            with the hours on disk).
        y : array-like | None
            ``(n_windows,)`` 1 = preictal, 0 = interictal; taken from ``X`` when it is
            a SeizureWindows (then it must be None).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If ``y`` is given with a SeizureWindows, or missing with an array.
        """
        if isinstance(X, SeizureWindows):
            if y is not None:
                raise ValueError("y must be None when X is a SeizureWindows: its labels "
                                 "are X.y.")
            windows = X
            sop = getattr(windows, "sop_seconds", None)
            if sop is not None and float(sop) != float(self.sop_seconds):
                warnings.warn(f"The windows were labelled with sop_seconds={sop}, but the "
                              f"alarm rule's sop_seconds is {self.sop_seconds}.",
                              UserWarning, stacklevel=2)
            # The model is built knowing the windows' rate, as load() rebuilds it.
            self._fit(windows.X, windows.y, meta={
                "sfreq": float(windows.sfreq), "chs_info": None,
                "ch_names": list(windows.ch_names) if windows.ch_names else None})
            self.bandpass_ = (getattr(windows, "l_freq", None), getattr(windows, "h_freq", None))
            return self
        self._fit(X, y)
        self.bandpass_ = None
        return self

    def preictal_proba(self, X: Any) -> np.ndarray:
        """Preictal probability per window, ``(n_windows,)``."""
        return self.predict_proba(X)[:, 1]

    def fine_tune(self, X: Any, y: Any = None, *, max_epochs: int = 3,
                  lr: float | None = None, random_state: Any = None) -> SeizureForecaster:
        """Adapt the fitted model to new windows (warm start), e.g. a new patient's first
        seizure and first hours of interictal EEG.

        Training continues from the fitted weights (nothing is re-initialised); the
        input scale, channels, rate and band-pass of the first ``fit`` are kept, so the
        new windows must be made the same way. Batches are class-balanced as in
        ``fit`` when both classes are present.

        Parameters
        ----------
        X : SeizureWindows | array-like
            Windows ``(n_windows, n_chans, n_times)`` in microvolts, or a SeizureWindows
            (its channels and rate must be the fitted ``ch_names_`` and ``sfreq_``).
        y : array-like | None
            ``(n_windows,)`` labels (0 interictal, 1 preictal); None with a SeizureWindows.
        max_epochs : int
            Epochs of adaptation (>= 1).
        lr : float | None
            Peak learning rate; None: a tenth of ``lr``.
        random_state : int | None
            Seed of the adaptation (sampling, dropout); None draws one from
            ``random_state``.

        Returns
        -------
        self

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If ``max_epochs`` or ``lr`` is out of range, the windows' channels, rate or
            shape differ from the fitted ones, ``y`` is missing or given twice, or it
            holds labels other than those seen at fit.
        """
        check_is_fitted(self, "net_")
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, Integral) \
                or max_epochs < 1:
            raise ValueError(f"max_epochs must be an integer >= 1, got {max_epochs!r}.")
        if lr is not None and not (isinstance(lr, Real) and np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0 or None, got {lr!r}.")
        if isinstance(X, SeizureWindows):
            if y is not None:
                raise ValueError("y must be None when X is a SeizureWindows: its labels "
                                 "are X.y.")
            fitted = [c.upper() for c in (self.ch_names_ or [])]
            if fitted and [c.upper() for c in X.ch_names] != fitted:
                raise ValueError(f"fine_tune: the windows have channels {list(X.ch_names)}; "
                                 f"the model was fitted on {list(self.ch_names_)} (same "
                                 "order expected).")
            if self.sfreq_ is not None and float(X.sfreq) != float(self.sfreq_):
                raise ValueError(f"fine_tune: the windows are sampled at {X.sfreq} Hz; the "
                                 f"model was fitted at {self.sfreq_} Hz.")
            X, y = X.X, X.y
        if y is None:
            raise ValueError("fine_tune requires y with array windows.")
        data = self._validate_X(X, reset=False)
        y = np.asarray(y).ravel()
        if y.shape[0] != data.shape[0]:
            raise ValueError(f"X has {data.shape[0]} windows but y has {y.shape[0]}.")
        unknown = sorted(set(y.tolist()) - set(self.classes_.tolist()))
        if unknown:
            raise ValueError(f"y holds labels {unknown} not seen at fit "
                             f"({self.classes_.tolist()}).")
        y_enc = np.searchsorted(self.classes_, y).astype(np.int64)
        seed = self._seed(None if random_state is None
                          else np.random.RandomState(random_state))
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            net = self._make_net(self.module_, seed)
            net.set_params(max_epochs=int(max_epochs),
                           lr=float(self.lr) / 10 if lr is None else float(lr))
            net.balance = bool(self._balanced) and np.unique(y_enc).size == 2
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*does not have many workers.*")
                net.fit(data, y_enc)
        self.net_, self.module_, self.history_ = net, net.module_, net.history
        return self

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

        Raises
        ------
        ValueError
            Naming the parameter: an alarm-rule parameter out of range (``threshold``
            NaN or outside [0, 1], ...), ``probability`` holding NaN or values outside
            [0, 1], ``times`` not finite and strictly increasing (unsorted or
            duplicated), or ``times`` and ``probability`` of different lengths.
        """
        self._check_alarm_params()
        probability = _probabilities("probability", probability)
        times = _times("times", times, len(probability))
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
            Band-pass edges (Hz). Default: the band-pass of the windows the model was
            fitted on (``bandpass_``, known when ``fit`` was given a SeizureWindows);
            giving other edges than those is refused.

        Returns
        -------
        MonitorResult

        Raises
        ------
        ValueError
            If the windows would not match the fitted shape, the band-pass contradicts
            the fitted one, the recording is shorter than one window, or a parameter
            cannot be right (naming it): ``window_seconds``, ``stride_seconds`` or
            ``sfreq`` not a positive finite number, ``l_freq >= h_freq`` (a band-stop),
            or a band edge at or above the Nyquist frequency.
        """
        check_is_fitted(self, "net_")
        if not isinstance(recording, SeizureRecording):
            raise ValueError(f"monitor expects a SeizureRecording, got "
                             f"{type(recording).__name__}.")
        _check_window_args(1.0 if window_seconds is None else window_seconds,
                           stride_seconds, sfreq, l_freq, h_freq)
        raw = recording.open()
        fs = (float(sfreq) if sfreq is not None
              else self.sfreq_ or float(raw.info["sfreq"]))
        if window_seconds is None:
            window_seconds = self.n_times_ / fs
        if int(round(window_seconds * fs)) != self.n_times_:
            raise ValueError(f"Windows of {window_seconds} s at {fs} Hz have "
                             f"{int(round(window_seconds * fs))} samples; the model was "
                             f"fitted on {self.n_times_}.")
        ch_names = ch_names if ch_names is not None else self.ch_names_
        fitted = getattr(self, "bandpass_", None)
        if fitted is not None:
            given = (l_freq, h_freq)
            if any(g is not None and g != f for g, f in zip(given, fitted)):
                raise ValueError(f"Band-pass l_freq={l_freq}, h_freq={h_freq} differs from "
                                 f"the one the model was trained with ({fitted[0]}, "
                                 f"{fitted[1]} Hz); leave them None to use it.")
            l_freq, h_freq = fitted
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

    def monitor_stream(self, stream: Any, *, n_windows: int | None = None,
                       duration: float | None = None, timeout: float = 10.0,
                       jsonl: str | Path | None = None, **kwargs: Any):
        """Monitor a live LSL stream: score each window as it completes, raise alarms.

        Channels are picked by name (``ch_names_``), band-passed causally with the
        fitted band (``bandpass_``), windowed as at fit, and the alarm rule of
        :meth:`alarms_from_proba` is applied online. Samples missing from the stream
        (a gap in its timestamps) are reported; windows overlapping a gap are not
        scored (listed in ``skipped``). See ``neuroattn/estimators/_live.py``.

        Parameters
        ----------
        stream : str | mne_lsl.stream.StreamLSL
            LSL stream name, or a StreamLSL (connected or not).
        n_windows : int | None
            Stop after this many scored windows.
        duration : float | None
            Stop after this many seconds of stream (on its sample clock).
        timeout : float
            Seconds to wait for new samples before deciding the stream stopped (then
            the results so far are returned, with a warning); finding the stream
            waits ``max(timeout, 2)`` seconds.
        jsonl : str | Path | None
            Append one JSON line per event (window, gap, skipped windows, stop).
        **kwargs
            ``window_seconds``, ``stride_seconds``, ``ch_names``, ``start_timestamp``
            (LSL time of time zero; default the first sample's), ``gap_tolerance``
            (s, default 0.05), ``poll_seconds`` (default 0.005), ``filter_phase``
            (``"linear"``, default: the offline filter, each window scored half the
            filter's length later; ``"minimum"``: no added delay, approximate).

        Returns
        -------
        StreamMonitorResult
            A :class:`MonitorResult` (times, probability, score, alarms) plus
            per-window ``latency`` and ``delay`` (s), ``gaps``, ``skipped``,
            ``stop_reason`` and ``message``. Ctrl-C returns what was scored so far.

        Raises
        ------
        ValueError
            If no single stream has that name, its sampling rate differs from
            ``sfreq_`` (both given), it lacks a model channel (missing and unexpected
            channels named), or a parameter is out of range (naming it).
        """
        from ._live import collect, iter_stream

        events = iter_stream(self, stream, n_windows=n_windows, duration=duration,
                             timeout=timeout, jsonl=jsonl, **kwargs)
        return collect(self, events)
