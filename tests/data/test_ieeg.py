"""Loaders of the canine iEEG clips (Dog_1) and the Bonn segments."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import savemat

from neuroattn.data.ieeg import BONN_SFREQ, load_bonn, load_seizure_detection_clips


def _fake_dog(folder, latencies=(0, 1, 2, 0, 1), n_inter=3):
    folder.mkdir()
    chans = np.empty((1, 2), dtype=object)
    chans[0, 0], chans[0, 1] = np.array(["c1"]), np.array(["c2"])
    for k, lat in enumerate(latencies, start=1):
        savemat(folder / f"D_ictal_segment_{k}.mat", {"data": np.full((2, 10), k, float),
                "freq": 10.0, "channels": np.array([[chans[0]]], dtype=object)[0],
                "latency": float(lat)})
    for k in range(1, n_inter + 1):
        savemat(folder / f"D_interictal_segment_{k}.mat", {"data": np.zeros((2, 10)),
                "freq": 10.0, "channels": np.array([[chans[0]]], dtype=object)[0]})
    return folder


def test_dog_loader_rebuilds_seizures(tmp_path):
    clips = load_seizure_detection_clips(_fake_dog(tmp_path / "D"))
    assert clips.X.shape == (8, 2, 10) and clips.sfreq == 10.0
    assert clips.y.tolist() == [1] * 5 + [0] * 3
    assert clips.group.tolist() == [0, 0, 0, 1, 1, -1, -1, -1]
    assert clips.X[:5, 0, 0].tolist() == [1, 2, 3, 4, 5]  # numeric, not lexical, order
    with pytest.raises(ValueError, match="ictal_segment"):
        load_seizure_detection_clips(tmp_path)


def test_bonn_loader(tmp_path):
    for s in ("Z", "S"):
        (tmp_path / s).mkdir()
        for k in range(2):
            np.savetxt(tmp_path / s / f"{s}00{k}.txt", np.arange(20) + k, fmt="%d")
    clips = load_bonn(tmp_path, sets=("Z", "S"))
    assert clips.X.shape == (4, 1, 20) and clips.y.tolist() == [0, 0, 1, 1]
    assert clips.sfreq == BONN_SFREQ
    with pytest.raises(ValueError, match="No segments"):
        load_bonn(tmp_path, sets=("Z", "F"))


@pytest.mark.realdata
def test_real_dog_1(shared_data):
    clips = load_seizure_detection_clips(shared_data / "seizure_detection_ieeg" / "Dog_1")
    assert clips.X.shape == (378, 16, 400) and round(clips.sfreq) == 400
    assert (clips.y == 1).sum() == 178
    assert np.unique(clips.group[clips.y == 1]).tolist() == [0, 1, 2, 3, 4]
    # the names are read from the MATLAB struct, one per channel (not its repr)
    assert len(clips.ch_names) == 16 and clips.ch_names[0] == "NVC0905_22_002_Ecog_c001"


@pytest.mark.realdata
def test_real_bonn(shared_data):
    clips = load_bonn(shared_data / "bonn_epilepsy")
    assert clips.X.shape == (500, 1, 4097) and (clips.y == 1).sum() == 100
