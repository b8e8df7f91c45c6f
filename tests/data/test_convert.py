import numpy as np
import pytest

from neuroattn.data import as_signal_array, check_signal_array, signal_metadata
from neuroattn.data.simulate import simulate_motor_imagery


def test_epochs_become_microvolts_with_metadata():
    epochs = simulate_motor_imagery(4, sfreq=100.0, trial_seconds=1.0, random_state=0)
    X = as_signal_array(epochs)
    np.testing.assert_allclose(X, epochs.get_data() * 1e6)
    meta = signal_metadata(epochs)
    assert meta["sfreq"] == 100.0 and meta["chs_info"][0]["ch_name"] == "Fz"
    assert signal_metadata(X) == {"sfreq": None, "chs_info": None}


def test_check_signal_array():
    X = np.random.default_rng(0).normal(size=(3, 2, 10))
    out = check_signal_array(X)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    with pytest.raises(ValueError, match="shape \\(n_samples, n_chans, n_times\\)"):
        check_signal_array(X[0])
    with pytest.raises(ValueError, match="0 sample"):
        check_signal_array(X[:0])
    bad = X.copy()
    bad[1, 1, 4] = np.nan
    with pytest.raises(ValueError, match="channels \\[1\\]"):
        check_signal_array(bad)
    flat = X.copy()
    flat[:, 0] = 5.0
    with pytest.raises(ValueError, match="Channels \\[0\\] are constant"):
        check_signal_array(flat)
    assert check_signal_array(flat, check_flat=False).shape == X.shape
