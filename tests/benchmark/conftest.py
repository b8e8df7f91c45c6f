"""Fixtures of the benchmark tests: a stand-in forecaster for the seizure fold loops."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.base import BaseEstimator


class StandInForecaster(BaseEstimator):
    """Scores windows by their spread and raises one alarm 60 s into every monitored
    file: the fold loop is under test, not the model. ``ramp``: the monitored
    probability rises from 0 to 1 over the file instead of staying at 0.9. The keyword
    arguments of every ``monitor`` call are kept in ``monitor_kwargs_``."""

    def __init__(self, smoothing="mean", smoothing_seconds=20.0, min_fraction=0.7,
                 threshold=0.5, refractory_seconds=None, sop_seconds=180.0, ramp=False):
        self.smoothing = smoothing
        self.smoothing_seconds = smoothing_seconds
        self.min_fraction = min_fraction
        self.threshold = threshold
        self.refractory_seconds = refractory_seconds
        self.sop_seconds = sop_seconds
        self.ramp = ramp

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.monitor_kwargs_ = []
        return self

    def preictal_proba(self, X):
        return np.asarray(X).std(axis=(1, 2))

    def monitor(self, recording, **kwargs):
        self.monitor_kwargs_.append(kwargs)
        times = np.arange(4.0, recording.duration, 4.0)
        probability = (np.linspace(0, 1, times.size, dtype=np.float32) if self.ramp
                       else np.full(times.shape, 0.9))
        return SimpleNamespace(times=times, probability=probability,
                               alarms=np.array([60.0]))


@pytest.fixture
def stand_in():
    """The :class:`StandInForecaster` class (call it to get an estimator)."""
    return StandInForecaster
