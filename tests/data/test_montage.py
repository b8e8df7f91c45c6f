"""The hemisphere of 10-20 electrodes from their names (channels_shuffle groups)."""

import pytest

from neuroattn.data._montage import hemisphere_groups


def test_hemisphere_groups_odd_left_even_right_z_midline():
    names = ["Fc5.", "C3", "Cz", "C4", "FCz", "T10", "Fp1", "AF8", "Iz", "P9"]
    groups = hemisphere_groups(names)
    assert groups == {"left": [0, 1, 6, 9], "right": [3, 5, 7], "midline": [2, 4, 8]}


def test_hemisphere_groups_physionet_64_is_symmetric():
    mne = pytest.importorskip("mne")
    name = ("colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages()
            else "standard_1005")
    montage = mne.channels.make_standard_montage(name)
    pos = montage.get_positions()["ch_pos"]
    names = ["FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6", "C5", "C3", "C1", "Cz",
             "C2", "C4", "C6", "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6", "Fp1",
             "Fpz", "Fp2", "AF7", "AF3", "AFz", "AF4", "AF8", "F7", "F5", "F3", "F1", "Fz",
             "F2", "F4", "F6", "F8", "FT7", "FT8", "T7", "T8", "T9", "T10", "TP7", "TP8",
             "P7", "P5", "P3", "P1", "Pz", "P2", "P4", "P6", "P8", "PO7", "PO3", "POz",
             "PO4", "PO8", "O1", "Oz", "O2", "Iz"]
    groups = hemisphere_groups(names)
    assert len(groups["left"]) == len(groups["right"]) == 27
    assert len(groups["midline"]) == 10
    # x < 0 is left in MNE's head frame: the names agree with the positions
    assert all(pos[names[i]][0] < 0 for i in groups["left"])
    assert all(pos[names[i]][0] > 0 for i in groups["right"])
    assert all(abs(pos[names[i]][0]) < 1e-3 for i in groups["midline"])


@pytest.mark.parametrize("names, match", [
    ([], "empty"),
    (["C3", "C3"], "duplicates"),
    (["C3", "EOG"], r"ch_names\[1\]='EOG'"),
    (["A1-A2"], "10-20 electrode name"),
    (["C0"], "number 0"),
])
def test_hemisphere_groups_bad_names(names, match):
    with pytest.raises(ValueError, match=match):
        hemisphere_groups(names)
