"""Wolpaw ITR against hand-computed values, and its edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuroattn.metrics.ssvep import itr_bits_per_minute


def test_perfect_accuracy_is_log2_n_per_selection():
    assert itr_bits_per_minute(1.0, 40, 1.0) == pytest.approx(math.log2(40) * 60)
    assert itr_bits_per_minute(1.0, 2, 0.5) == pytest.approx(120.0)


def test_hand_computed_value():
    # P = 0.9, N = 4, T = 2 s: 2 + 0.9 log2 0.9 + 0.1 log2(0.1 / 3) bits a selection.
    bits = 2 + 0.9 * math.log2(0.9) + 0.1 * math.log2(0.1 / 3)
    assert itr_bits_per_minute(0.9, 4, 2.0) == pytest.approx(bits * 30)
    # Guney et al.'s setting: 40 targets, 0.4 s window + 0.5 s gaze shift.
    bits40 = math.log2(40) + 0.95 * math.log2(0.95) + 0.05 * math.log2(0.05 / 39)
    assert itr_bits_per_minute(0.95, 40, 0.9) == pytest.approx(bits40 * 60 / 0.9)


@pytest.mark.parametrize("accuracy", [0.0, 0.1, 0.25])
def test_at_or_below_chance_is_zero(accuracy):
    assert itr_bits_per_minute(accuracy, 4, 1.0) == 0.0


def test_vectorised_and_monotone_above_chance():
    acc = np.array([0.2, 0.5, 0.7, 1.0])
    rates = itr_bits_per_minute(acc, 4, np.array([1.0, 1.0, 1.0, 1.0]))
    assert rates.shape == (4,) and rates[0] == 0 and np.all(np.diff(rates) > 0)
    assert np.isfinite(rates).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(accuracy=1.1, n_targets=4, selection_seconds=1.0), "accuracy"),
    (dict(accuracy=-0.1, n_targets=4, selection_seconds=1.0), "accuracy"),
    (dict(accuracy=float("nan"), n_targets=4, selection_seconds=1.0), "accuracy"),
    (dict(accuracy=0.9, n_targets=1, selection_seconds=1.0), "n_targets"),
    (dict(accuracy=0.9, n_targets=2.5, selection_seconds=1.0), "n_targets"),
    (dict(accuracy=0.9, n_targets=4, selection_seconds=0.0), "selection_seconds"),
    (dict(accuracy=0.9, n_targets=4, selection_seconds=-1.0), "selection_seconds"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        itr_bits_per_minute(**kwargs)
