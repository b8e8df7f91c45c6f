"""Crop training of SSVEPClassifier (``crop_seconds``) and StridedCropClassifier."""

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from neuroattn.estimators import SSVEPClassifier
from neuroattn.estimators._ssvep_crops import CropDataset, StridedCropClassifier

SFREQ, FREQS = 64.0, (13.0, 17.0)
_SMALL = dict(max_epochs=2, finetune_max_epochs=1, batch_size=8, random_state=0,
              device="cpu", model__n_filters=4, model__kernel_size=4, model__head="power")
_CROP = dict(crop_seconds=0.5, sfreq=SFREQ, stim_freqs=FREQS)


def _data(n=16, n_times=128, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2, 3, n_times)).astype("float32")
    return X, np.tile([0, 1], n // 2), np.repeat([1, 2], n // 2)


@pytest.mark.parametrize("params, n_times, match", [
    (dict(_CROP, crop_seconds=2.5), 128, r"crop_seconds=2.5 \(160 samples.*longer than the "
                                         r"trials given to fit \(128 samples"),
    (dict(_CROP, crop_seconds=0.05), 128, r"crop_seconds=0.05 is shorter than one period of "
                                          r"the lowest stimulus frequency \(13 Hz"),
    (dict(_CROP, sfreq=None), 128, r"crop_seconds=0.5 needs sfreq"),
    (dict(_CROP, stim_freqs=None), 128, r"crop_seconds=0.5 needs stim_freqs"),
    (dict(_CROP, stim_freqs=[13.0, -1.0]), 128, r"needs stim_freqs.*positive"),
    (dict(_CROP, crop_seconds=0.0), 128, r"crop_seconds"),
    (dict(_CROP, crop_seconds=-1.0), 128, r"crop_seconds"),
])
def test_bad_crop_settings_raise_before_training(params, n_times, match, monkeypatch):
    X, y, _ = _data(n_times=n_times)
    clf = SSVEPClassifier(**_SMALL, **params)
    monkeypatch.setattr(SSVEPClassifier, "_train", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


@pytest.mark.parametrize("method", ["predict", "fine_tune"])
def test_trials_shorter_than_a_crop_after_fit(method):
    X, y, groups = _data()
    clf = SSVEPClassifier(**_SMALL, **_CROP).fit(X, y, groups=groups)
    short = X[..., :20]  # 20 samples < 32 (0.5 s at 64 Hz)
    with pytest.raises(ValueError, match=r"crop_seconds=0.5 \(32 samples\).*at least one crop"):
        if method == "predict":
            clf.predict(short)
        else:
            clf.fine_tune(short, y, subject=3)


def test_network_is_built_for_the_crop_and_predicts_from_the_first_crop():
    X, y, groups = _data()
    clf = SSVEPClassifier(**_SMALL, **_CROP).fit(X, y, groups=groups)
    assert clf.n_times_ == 32 and clf.n_subbands_ == 2
    later = X.copy()
    later[..., 32:] = 100 * np.random.default_rng(1).standard_normal(later[..., 32:].shape)
    np.testing.assert_allclose(clf.decision_function(later), clf.decision_function(X))
    # the first crop alone gives the same scores (a w-second decision sees only w seconds)
    np.testing.assert_allclose(clf.decision_function(X[..., :32]), clf.decision_function(X),
                               rtol=1e-5, atol=1e-6)
    clf.fine_tune(X[:8], y[:8], subject=3)  # full-length trials for the new subject too
    assert 3 in clf.subjects_.tolist()


def test_save_load_keeps_the_crop(tmp_path):
    X, y, groups = _data()
    clf = SSVEPClassifier(**_SMALL, **_CROP).fit(X, y, groups=groups)
    again = SSVEPClassifier.load(clf.save(tmp_path / "crop"), device="cpu")
    assert again.crop_seconds == 0.5 and again.n_times_ == 32
    np.testing.assert_allclose(again.predict_proba(X, groups=groups),
                               clf.predict_proba(X, groups=groups), rtol=1e-5)


def test_crop_dataset_draws_a_fresh_reproducible_window_per_read():
    X = np.arange(2 * 1 * 1 * 50, dtype="float32").reshape(2, 1, 1, 50)
    data = CropDataset(X, np.array([0, 1]), n_crop=10, scale=False)
    torch.manual_seed(0)
    first = [data[0][0].numpy().ravel() for _ in range(5)]
    starts = {int(x[0]) for x in first}
    assert len(starts) > 1  # a fresh crop each read (each epoch)
    assert all(np.array_equal(x, np.arange(x[0], x[0] + 10)) for x in first)  # contiguous
    torch.manual_seed(0)
    again = [data[0][0].numpy().ravel() for _ in range(5)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))  # seeded: reproducible
    scaled = CropDataset(X, np.array([0, 1]), n_crop=10, scale=True)[1][0].numpy()
    assert scaled.std() == pytest.approx(1.0, rel=1e-5)  # each crop scaled on its own


def test_crop_training_is_reproducible_and_differs_from_first_window_training():
    X, y, _ = _data()
    crop = SSVEPClassifier(**_SMALL, **_CROP)
    a = crop.fit(X, y).decision_function(X)
    b = SSVEPClassifier(**_SMALL, **_CROP).fit(X, y).decision_function(X)
    np.testing.assert_allclose(a, b)  # same random_state, same crops
    first = SSVEPClassifier(**_SMALL).fit(X[..., :32], y).decision_function(X[..., :32])
    assert not np.allclose(a, first)  # the crops changed what was learned


def _flat(X):
    return X.reshape(len(X), -1)


class _Recorder(ClassifierMixin, BaseEstimator):
    """LogisticRegression on flattened trials, keeping the shape it was fitted on."""

    def fit(self, X, y):
        self.shape_, self.lr_ = X.shape, LogisticRegression().fit(_flat(X), y)
        self.classes_ = self.lr_.classes_
        return self

    def predict(self, X):
        return self.lr_.predict(_flat(X))


def test_strided_crop_classifier_trains_on_every_crop_and_reads_the_first():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 2, 40)).astype("float32")
    y = np.array([0, 1] * 3)
    base = _Recorder()
    clf = StridedCropClassifier(base, crop_seconds=0.25, sfreq=40.0, stride_seconds=0.25,
                                time_axis=-1).fit(X, y)
    # crops of 10 samples starting at 0, 10, 20, 30: 4 per trial
    assert clf.estimator_.shape_ == (24, 2, 10) and clf.n_crop_ == 10
    later = X.copy()
    later[..., 10:] = 0
    np.testing.assert_array_equal(clf.predict(later), clf.predict(X))
    with pytest.raises(ValueError, match=r"crop_seconds=2 \(80 samples\) is longer"):
        StridedCropClassifier(base, crop_seconds=2, sfreq=40.0, time_axis=-1).fit(X, y)
    with pytest.raises(ValueError, match=r"stride_seconds must be a positive"):
        StridedCropClassifier(base, stride_seconds=0, sfreq=40.0, time_axis=-1).fit(X, y)
