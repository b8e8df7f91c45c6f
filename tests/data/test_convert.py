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


def _mixed_epochs():
    import mne

    info = mne.create_info(["C3", "C4", "EOG1", "STI"], 100.0, ["eeg", "eeg", "eog", "stim"])
    info["bads"] = ["C4"]
    data = np.random.default_rng(0).normal(size=(3, 4, 20)) * 1e-5
    return mne.EpochsArray(data, info, verbose=False)


def test_select_channels_keeps_data_channels_without_bads():
    from neuroattn.data._convert import select_channels

    epochs = _mixed_epochs()
    sel = select_channels(epochs)
    assert sel.names == ["C3"] and sel.bads == ["C4"]
    assert sel.other_types == {"eog": ["EOG1"], "stim": ["STI"]}
    assert "EOG1" in sel.dropped_message() and "['C4']" in sel.dropped_message()
    X = as_signal_array(epochs)
    np.testing.assert_allclose(X, epochs.get_data(picks=["C3"]) * 1e6)
    assert [ch["ch_name"] for ch in signal_metadata(epochs)["chs_info"]] == ["C3"]
    with pytest.raises(ValueError, match="no usable channel.*eog"):
        select_channels(epochs.copy().pick(["EOG1", "STI"]))


def test_match_channels_by_name_and_rate():
    from neuroattn.data._convert import match_channels

    epochs = _mixed_epochs()
    epochs.info["bads"] = []
    assert match_channels(epochs, ["C4", "C3"], 100.0) == (["C4", "C3"], [])
    assert match_channels(epochs, ["C4"], None) == (["C4"], ["C3"])
    assert match_channels(epochs, None, None) == (["C3", "C4"], [])
    with pytest.raises(ValueError, match=r"missing \['Cz'\], unexpected \[\]"):
        match_channels(epochs, ["C3", "C4", "Cz"], 100.0)
    with pytest.raises(ValueError, match="sampled at 100 Hz.*fitted at 250 Hz"):
        match_channels(epochs, ["C3"], 250.0)
