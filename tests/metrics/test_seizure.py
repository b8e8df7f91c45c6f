"""Alarms and event metrics of seizure forecasting."""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.metrics.seizure import (
    event_metrics,
    raise_alarms,
    random_predictor_pvalue,
    smooth_probability,
    window_auc,
)

H = 3600.0


def test_smooth_mean_is_causal_moving_average():
    p = np.array([0, 0, 1, 1, 1, 0], dtype=float)
    np.testing.assert_allclose(smooth_probability(p, 2), [0, 0, 0.5, 1, 1, 0.5])
    # Causal: changing the future never changes the past.
    q = p.copy()
    q[-1] = 1
    np.testing.assert_allclose(smooth_probability(q, 3)[:-1], smooth_probability(p, 3)[:-1])


def test_smooth_k_of_n():
    p = np.array([0.9, 0.1, 0.9, 0.9, 0.1, 0.1])
    out = smooth_probability(p, 3, method="k_of_n", min_fraction=2 / 3, threshold=0.5)
    assert (out == 1.0).tolist() == [False, False, True, True, True, False]
    with pytest.raises(ValueError, match="method"):
        smooth_probability(p, 3, method="median")
    with pytest.raises(ValueError, match="n_windows"):
        smooth_probability(p, 0)


def test_raise_alarms_refractory():
    t = np.arange(0, 100, 1.0)
    score = np.zeros(100)
    score[[10, 11, 12, 40, 55, 80]] = 1
    np.testing.assert_array_equal(raise_alarms(t, score, 0.5, 30), [10, 40, 80])
    np.testing.assert_array_equal(raise_alarms(t, score, 0.5, 0), [10, 11, 12, 40, 55, 80])
    with pytest.raises(ValueError, match="refractory"):
        raise_alarms(t, score, 0.5, -1)


def test_event_metrics_definitions():
    seizures = [(10 * H, 10 * H + 60), (20 * H, 20 * H + 60)]
    alarms = [10 * H - 900,   # in [onset - sph - sop, onset - sph]: predicts seizure 1
              10 * H - 100,   # inside the horizon: late, neither true nor false
              15 * H,         # interictal: false alarm
              20 * H - 100]   # late for seizure 2: seizure 2 is missed
    m = event_metrics(alarms, seizures, [(0, 24 * H)], sph_seconds=300, sop_seconds=900,
                      postictal_seconds=1800)
    assert (m.n_predicted, m.n_seizures, m.sensitivity) == (1, 2, 0.5)
    assert m.false_alarms == 1 and m.late_alarms == 2
    zone = 300 + 900 + 60 + 1800
    assert m.interictal_hours == pytest.approx((24 * H - 2 * zone) / H)
    assert m.false_alarms_per_hour == pytest.approx(1 / m.interictal_hours)
    assert m.warning_times == [900.0]
    # Warnings [a + sph, a + sph + sop]; the first two overlap by 100 s.
    assert m.time_in_warning == pytest.approx((4 * 900 - 100) / (24 * H))
    assert m.p_value == pytest.approx(1 - (1 - m.time_in_warning) ** 2)


def test_event_metrics_bad_input():
    with pytest.raises(ValueError, match="No seizure"):
        event_metrics([], [], [(0, H)])
    with pytest.raises(ValueError, match="interictal time"):
        event_metrics([], [(1000, 1060)], [(0, 2000)], sph_seconds=300, sop_seconds=900)


def test_random_predictor_pvalue():
    assert random_predictor_pvalue(0, 5, 0.1) == 1.0
    assert random_predictor_pvalue(5, 5, 0.1) == pytest.approx(1e-5)
    assert random_predictor_pvalue(3, 5, 0.5) > random_predictor_pvalue(3, 5, 0.1)
    with pytest.raises(ValueError, match="time_in_warning"):
        random_predictor_pvalue(1, 2, 1.5)


def test_window_auc():
    assert window_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    with pytest.raises(ValueError, match="both"):
        window_auc([1, 1], [0.2, 0.3])
