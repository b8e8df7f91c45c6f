"""The SSVEP DNN two-stage on the paper's phase-locked benchmarks, one subject each
(network: MOABB downloads a subject, ~0.1-0.5 GB, into the MNE data folder).

    python -m pytest -m network tests/estimators/test_ssvep_network.py

Tsinghua benchmark (MOABB ``Wang2016``, 35 subjects, 40 targets 8-15.8 Hz, 250 Hz) and
BETA (MOABB ``Liu2020BETA``, 70 subjects, the same 40 targets): the paper's 9
occipital-parietal channels, 3 sub-bands (lower edges 8, 16, 24 Hz, upper 88 Hz), a 0.4-s
window 0.14 s after stimulus onset, the paper's head (``head="flatten"``: these stimuli
are phase-locked to the trial onset). Trained on the first 5 trials of each target,
scored on the last; a few epochs only, so the aim is "above chance", not the paper's
figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.estimators import SSVEPClassifier
from neuroattn.preprocessing import SubBandFilter

pytestmark = pytest.mark.network

CHANNELS = ["Pz", "PO5", "PO3", "POz", "PO4", "PO6", "O1", "Oz", "O2"]


@pytest.mark.parametrize("name", ["Wang2016", "Liu2020BETA"])
def test_two_stage_dnn_on_one_subject(name):
    import moabb.datasets
    from moabb.paradigms import SSVEP

    dataset = getattr(moabb.datasets, name)()
    paradigm = SSVEP(n_classes=40, channels=CHANNELS, fmin=3.0, fmax=95.0, tmin=0.0,
                     tmax=1.0, resample=250.0)
    X, y, meta = paradigm.get_data(dataset, subjects=[1])
    assert X.shape[1:] == (9, 251) and len(set(y)) == 40
    freqs = sorted({float(c) for c in y})
    sub_band = SubBandFilter(freqs, 3, sfreq=250.0, upper_edge=88.0, window_seconds=0.4,
                             latency_seconds=0.14, margin=0.0)
    Xs = sub_band.fit_transform(X)
    assert Xs.shape[1:] == (3, 9, 100)
    # the last trial of each target is the test trial
    order = np.arange(len(y))
    test = np.array([order[y == c][-1] for c in np.unique(y)])
    train = np.setdiff1d(order, test)
    clf = SSVEPClassifier(max_epochs=30, finetune_max_epochs=10, batch_size=100,
                          model__head="flatten", device="cpu", random_state=0)
    clf.fit(Xs[train], y[train], groups=np.ones(len(train), int))
    assert clf.subjects_.tolist() == [1]
    accuracy = float(np.mean(clf.predict(Xs[test], groups=np.ones(len(test), int))
                             == y[test]))
    assert accuracy > 2 / 40, accuracy  # chance: 1/40
