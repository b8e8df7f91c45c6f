"""The track splitters as scikit-learn cross-validators."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import BaseCrossValidator, check_cv, cross_val_score

from neuroattn.data.seizure import extract_windows, read_chbmit_summary
from neuroattn.data.simulate import simulate_fmri_rois, simulate_seizure_recordings
from neuroattn.data.splits import LeaveOnePatientOut, LeaveOneSeizureOut, LeaveOneSiteOut

LABELS = dict(sph_seconds=30.0, sop_seconds=180.0, min_interictal_seconds=1800.0,
              postictal_seconds=120.0)


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    sim = simulate_seizure_recordings(
        tmp_path_factory.mktemp("sim"), n_seizures=3, n_interictal_files=2,
        interictal_file_minutes=4, seizure_file_minutes=6, preictal_seconds=210,
        seizure_seconds=(20, 30), interictal_gap_hours=1.0, margin_seconds=60, sfreq=64,
        random_state=1)
    return extract_windows(read_chbmit_summary(sim.summary_path), **LABELS)


def _reference_seizure_folds(y, seizure, start):
    """The rule of the former ``leave_one_seizure_out``, written out window by window."""
    ids = sorted({int(s) for s, lab in zip(seizure, y) if lab == 1 and s >= 0})
    inter = sorted((t, i) for i, (t, lab) in enumerate(zip(start, y)) if lab == 0)
    n_block, extra = divmod(len(inter), len(ids))
    folds, pos = [], 0
    for k, sid in enumerate(ids):
        size = n_block + (k < extra)
        block = {i for _, i in inter[pos: pos + size]}
        pos += size
        test = sorted({i for i, s in enumerate(seizure) if s == sid} | block)
        folds.append((sorted(set(range(len(y))) - set(test)), test))
    return folds


def test_leave_one_seizure_out_matches_former_rule(windows):
    cv = LeaveOneSeizureOut()
    folds = list(cv.split(windows))
    expected = _reference_seizure_folds(windows.y, windows.seizure, windows.start)
    assert len(folds) == cv.get_n_splits(windows) == 3
    for (tr, te), (etr, ete) in zip(folds, expected):
        assert tr.tolist() == etr and te.tolist() == ete
        assert len(set(windows.seizure[te][windows.y[te] == 1])) == 1
    # Blocks of interictal time are contiguous in clock order, and cover every window.
    assert np.array_equal(np.sort(np.concatenate([te for _, te in folds])),
                          np.arange(len(windows.y)))


def test_leave_one_seizure_out_in_sklearn(windows):
    cv = LeaveOneSeizureOut()
    assert isinstance(cv, BaseCrossValidator) and check_cv(cv) is cv
    assert repr(cv) == "LeaveOneSeizureOut()"
    X2 = windows.X.reshape(len(windows.y), -1)[:, :8]
    scores = cross_val_score(DummyClassifier(), X2, windows.y, cv=cv.split(windows))
    assert scores.shape == (3,)


@pytest.mark.parametrize("X, match", [
    (np.zeros((4, 2)), "SeizureWindows"),
    (None, "SeizureWindows"),
    (SimpleNamespace(y=np.array([1, 1, 0, 0]), seizure=np.array([0, 0, -1, -1]),
                     start=np.arange(4.0)), "at least 2 seizures"),
    (SimpleNamespace(y=np.array([1, 1, 0]), seizure=np.array([0, 1, -1]),
                     start=np.arange(2.0)), "one length"),
    (SimpleNamespace(y=np.array([1, 1, 1]), seizure=np.array([0, 1, 2]),
                     start=np.arange(3.0)), "interictal"),
])
def test_leave_one_seizure_out_errors(X, match):
    with pytest.raises(ValueError, match=match):
        list(LeaveOneSeizureOut().split(X))
    with pytest.raises(ValueError, match=match):
        LeaveOneSeizureOut().get_n_splits(X)


def test_leave_one_patient_out(windows):
    two = SimpleNamespace(subject=np.array(["chb02"] * 3 + ["chb01"] * 2))
    folds = list(LeaveOnePatientOut().split(two))
    assert [te.tolist() for _, te in folds] == [[0, 1, 2], [3, 4]]
    assert [tr.tolist() for tr, _ in folds] == [[3, 4], [0, 1, 2]]
    subj = np.array(["a", "a", "b", "c", "b"])
    X = np.arange(10.0).reshape(5, 2)
    cv = LeaveOnePatientOut()
    assert check_cv(cv) is cv and cv.get_n_splits(X, groups=subj) == 3
    assert [sorted(set(subj[te])) for _, te in cv.split(X, groups=subj)] == [
        ["a"], ["b"], ["c"]]
    scores = cross_val_score(DummyClassifier(), X, np.array([0, 1, 0, 1, 1]), groups=subj,
                             cv=cv)
    assert scores.shape == (3,)
    with pytest.raises(ValueError, match="2 subjects"):
        list(cv.split(windows))  # one simulated subject
    with pytest.raises(ValueError, match="groups"):
        list(cv.split(X))
    with pytest.raises(ValueError, match="5 samples"):
        list(cv.split(X, groups=subj[:3]))
    # Missing labels would make a fold with an empty test set.
    with pytest.raises(ValueError, match="missing"):
        list(cv.split(X, groups=np.array(["a", "a", None, "b", "b"], dtype=object)))
    with pytest.raises(ValueError, match="missing"):
        list(cv.split(X, groups=np.array([0.0, 1.0, np.nan, 1.0, 2.0])))
    # Windows have no len(); their labels give the sample count.
    with pytest.raises(ValueError, match=f"{len(windows.y)} samples"):
        list(cv.split(windows, groups=np.array(["a", "b", "c"])))


def test_leave_one_site_out():
    data = simulate_fmri_rois(12, n_regions=4, n_networks=2, n_timepoints=30, n_sites=3,
                              random_state=0)
    cv = LeaveOneSiteOut()
    folds = list(cv.split(data))
    sites = data.meta["site"].astype(str).to_numpy()
    assert len(folds) == cv.get_n_splits(data) == 3
    for (tr, te), site in zip(folds, dict.fromkeys(sites)):
        assert set(sites[te]) == {site} and site not in set(sites[tr])
        assert len(tr) + len(te) == len(data)
    X = np.zeros((len(data), 2))
    scores = cross_val_score(DummyClassifier(), X, data.labels.astype(int), groups=sites,
                             cv=cv)
    assert scores.shape == (3,)
    with pytest.raises(ValueError, match="2 sites"):
        list(cv.split(data.subset(np.flatnonzero(sites == sites[0]))))
    with pytest.raises(ValueError, match="no 'site' column"):
        list(cv.split(SimpleNamespace(meta=data.meta.drop(columns="site"))))
    with pytest.raises(ValueError, match="groups"):
        list(cv.split(X))
