import os

import numpy as np
import pytest

from neuroattn.data.moabb import (
    SimulatedMotorImagery,
    get_dataset,
    get_moabb_data,
    get_paradigm,
)
from neuroattn.data.simulate import MI_CHANNELS


@pytest.fixture(scope="module")
def small():
    return SimulatedMotorImagery(n_subjects=2, n_sessions=2, trials_per_run=8, sfreq=100.0)


def test_simulated_dataset_through_moabb_paradigm(small):
    X, y, meta = get_moabb_data(small, "left_right", fmin=8, fmax=30)
    assert X.dtype == np.float32 and X.ndim == 3 and X.shape[1] == len(MI_CHANNELS)
    assert X.shape[0] == 2 * 2 * 8 == len(y) == len(meta)
    assert set(y) == {"left_hand", "right_hand"}
    assert set(meta["subject"]) == {1, 2} and set(meta["session"]) == {"0", "1"}
    assert 0.3 < X.std() < 50  # microvolts, not volts
    # deterministic by seed
    X2, _, _ = get_moabb_data(SimulatedMotorImagery(n_subjects=2, n_sessions=2,
                                                    trials_per_run=8, sfreq=100.0),
                              "left_right", fmin=8, fmax=30)
    np.testing.assert_array_equal(X, X2)


def test_simulated_dataset_plants_lateralised_power(small):
    X, y, _ = get_moabb_data(small, "left_right", fmin=8, fmax=30)
    logp = np.log((X.astype(float) ** 2).mean(-1))
    lat = logp[:, MI_CHANNELS.index("C4")] - logp[:, MI_CHANNELS.index("C3")]
    assert lat[y == "left_hand"].mean() < lat[y == "right_hand"].mean()


def test_three_classes_with_motor_imagery_paradigm():
    ds = SimulatedMotorImagery(n_subjects=1, n_sessions=1, trials_per_run=6, n_classes=3,
                               sfreq=100.0)
    _, y, _ = get_moabb_data(ds, "motor_imagery", n_classes=3)
    assert set(y) == {"left_hand", "right_hand", "feet"}


def test_unknown_dataset_name_is_a_clear_error():
    with pytest.raises(ValueError, match="MOABB has no dataset 'BNCI2014_01'.*BNCI2014_001"):
        get_dataset("BNCI2014_01")


def test_unknown_subject_and_paradigm():
    with pytest.raises(ValueError, match="subjects \\[9\\] are not in"):
        get_dataset("simulated", subjects=[9])
    with pytest.raises(ValueError, match="Unknown paradigm"):
        get_paradigm("p300")


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_subjects=0), "n_subjects"),
    (dict(n_classes=4), "n_classes"),
    (dict(erd_range=(0.2, 1.5)), "erd_range"),
])
def test_simulated_dataset_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimulatedMotorImagery(**kwargs)


def test_dataset_constructor_leaves_os_environ_alone(monkeypatch):
    for key in [k for k in os.environ if k.startswith("MNE_DATASETS_SIMULATED")]:
        monkeypatch.delenv(key)
    before = dict(os.environ)
    ds = SimulatedMotorImagery(n_subjects=1, n_sessions=1, trials_per_run=4, sfreq=100.0)
    assert dict(os.environ) == before
    X, _, _ = get_moabb_data(ds, "left_right", fmin=8, fmax=30)
    assert X.shape[0] == 4 and dict(os.environ) == before
