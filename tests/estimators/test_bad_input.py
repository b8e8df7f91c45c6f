"""Bad inputs to the estimators' fit / predict / transform: each is refused with a
ValueError naming what was expected and found, warned about, or handled right (issue
11). Tiny data, one epoch of training."""

from __future__ import annotations

import re
import warnings

import mne
import numpy as np
import pytest
import torch

from neuroattn.data.fmri import Segments
from neuroattn.estimators import (
    BrainEncoderRegressor,
    BrainMAEPretrainer,
    NeuroClassifier,
    NeuroRegressor,
    RidgeEncoder,
    SeizureForecaster,
)

_SIGNAL = dict(max_epochs=1, batch_size=8, device="cpu", random_state=0,
               model__depth=1, model__embed_dim=8, model__n_heads=2)
_EEG = ["C3", "C4", "Cz", "Pz"]
_ENC = dict(max_epochs=1, device="cpu", random_state=0, model__embed_dim=8,
            model__ffn_dim=8, model__n_heads=2)
_MAE = dict(max_epochs=1, batch_size=16, device="cpu", random_state=0,
            model__embed_dim=4, model__n_heads=1, model__patch_size=2)
_Y = np.tile([0, 1], 6)


def _epochs(names=tuple(_EEG), types=None, sfreq=64.0, seed=0, bads=()):
    """12 epochs x len(names) channels x 64 samples, EEG in volts (~10 uV)."""
    types = list(types or ["eeg"] * len(names))
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((12, len(names), 64))
    scale = {"eeg": 1e-5, "seeg": 1e-5, "ecog": 1e-5, "dbs": 1e-5, "eog": 1e-4,
             "ecg": 1e-3, "mag": 1e-13, "misc": 1.0, "stim": 1.0}
    data *= np.array([scale[t] for t in types])[None, :, None]
    info = mne.create_info(list(names), sfreq, types)
    info["bads"] = list(bads)
    return mne.EpochsArray(data, info, verbose=False)


def _clf(**kw):
    return NeuroClassifier("eeg_transformer", **{**_SIGNAL, **kw})


@pytest.fixture(scope="module")
def fitted():
    """A classifier fitted on four EEG channels at 64 Hz, and its epochs."""
    epochs = _epochs()
    return _clf().fit(epochs, _Y), epochs


# ------------------------------------------------------------ mne.Epochs at fit
def test_non_data_channels_are_left_out_with_a_warning():
    names = [*_EEG, "EOG1", "MEG1", "STI", "ECG", "MISC"]
    types = ["eeg"] * 4 + ["eog", "mag", "stim", "ecg", "misc"]
    epochs = _epochs(names, types)
    with pytest.warns(UserWarning, match=r"left out: eog \['EOG1'\]; mag \['MEG1'\]"):
        clf = _clf().fit(epochs, _Y)
    assert clf.n_chans_ == 4 and clf.ch_names_ == _EEG
    assert [ch["ch_name"] for ch in clf.chs_info_] == _EEG
    eeg_uv = epochs.get_data(picks="eeg", units="uV")
    np.testing.assert_allclose(clf.predict_proba(epochs), clf.predict_proba(eeg_uv), rtol=1e-5)


def test_intracranial_types_are_data_channels():
    epochs = _epochs(["A1", "A2", "G1", "D1", "EOG1"], ["seeg", "seeg", "ecog", "dbs", "eog"])
    with pytest.warns(UserWarning, match="EOG1"):
        clf = _clf().fit(epochs, _Y)
    assert clf.ch_names_ == ["A1", "A2", "G1", "D1"]


def test_bad_channels_are_left_out_with_a_warning():
    epochs = _epochs(bads=["C4"])
    with pytest.warns(UserWarning, match=r"marked bad in info\['bads'\].*\['C4'\]"):
        clf = _clf().fit(epochs, _Y)
    assert clf.ch_names_ == ["C3", "Cz", "Pz"] and clf.n_chans_ == 3


@pytest.mark.parametrize(("names", "types", "bads", "match"), [
    (["EOG1", "STI"], ["eog", "stim"], (), r"eog.*EOG1.*stim.*STI"),
    (["C3", "EOG1"], ["eeg", "eog"], ("C3",), r"marked bad \['C3'\]"),
])
def test_no_data_channel_left_is_refused(names, types, bads, match):
    with pytest.raises(ValueError, match=match):
        _clf().fit(_epochs(names, types, bads=bads), _Y)


def test_raw_and_evoked_are_refused():
    epochs = _epochs()
    raw = mne.io.RawArray(np.zeros((4, 100)), epochs.info, verbose=False)
    with pytest.raises(ValueError, match="continuous recording.*make_fixed_length_epochs"):
        _clf().fit(raw, _Y)
    with pytest.raises(ValueError, match="Evoked"):
        _clf().fit(epochs.average(), _Y)


# -------------------------------------------------------- mne.Epochs at predict
def test_reordered_channels_are_matched_by_name(fitted):
    clf, epochs = fitted
    shuffled = epochs.copy().reorder_channels(["Pz", "C4", "C3", "Cz"])
    np.testing.assert_allclose(clf.predict_proba(shuffled), clf.predict_proba(epochs),
                               rtol=1e-5)
    a, b = clf.get_attention_weights(shuffled), clf.get_attention_weights(epochs)
    assert a.keys() == b.keys() and a
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function",
                                    "get_attention_weights"])
def test_renamed_channel_is_refused(fitted, method):
    clf, epochs = fitted
    renamed = epochs.copy().rename_channels({"Cz": "CZ"})
    with pytest.raises(ValueError, match=r"missing \['Cz'\], unexpected \['CZ'\]"):
        getattr(clf, method)(renamed)


def test_missing_or_bad_channel_is_refused(fitted):
    clf, epochs = fitted
    with pytest.raises(ValueError, match=r"missing \['Pz'\]"):
        clf.predict(epochs.copy().drop_channels(["Pz"]))
    bad = epochs.copy()
    bad.info["bads"] = ["C3"]
    with pytest.raises(ValueError, match=r"missing \['C3'\] \(marked bad: \['C3'\]\)"):
        clf.predict(bad)


def test_other_sampling_rate_is_refused(fitted):
    clf, _ = fitted
    with pytest.raises(ValueError, match="sampled at 128 Hz.*fitted at 64 Hz"):
        clf.predict(_epochs(sfreq=128.0))


def test_extra_channels_at_predict_are_left_out_with_a_warning(fitted):
    clf, epochs = fitted
    more = _epochs([*_EEG, "O1"])
    more._data[:, :4] = epochs.get_data()
    with pytest.warns(UserWarning, match=r"not seen at fit.*\['O1'\]"):
        proba = clf.predict_proba(more)
    np.testing.assert_allclose(proba, clf.predict_proba(epochs), rtol=1e-5)


def test_arrays_after_an_epochs_fit_and_epochs_after_an_array_fit(fitted):
    clf, epochs = fitted
    X = epochs.get_data(units="uV")
    np.testing.assert_allclose(clf.predict_proba(X), clf.predict_proba(epochs), rtol=1e-5)
    on_arrays = _clf().fit(X, _Y)  # only shapes are known: names cannot be compared
    assert on_arrays.ch_names_ is None
    np.testing.assert_allclose(on_arrays.predict_proba(epochs), on_arrays.predict_proba(X),
                               rtol=1e-5)
    with pytest.raises(ValueError, match="3 channels x 64 samples.*fitted on 4 channels"):
        on_arrays.predict(epochs.copy().drop_channels(["Pz"]))


# ---------------------------------------------------------- shapes and dtypes
def _signal_estimators():
    return [
        ("clf", lambda: _clf(), lambda X: (X, _Y)),
        ("reg", lambda: NeuroRegressor("eeg_transformer", **_SIGNAL),
         lambda X: (X, _Y.astype(float))),
        ("seizure", lambda: SeizureForecaster("stan", **{**_SIGNAL, "model__patch_size": 16}),
         lambda X: (X, _Y)),
    ]


_X = np.random.default_rng(0).standard_normal((12, 4, 64)).astype(np.float32)
_BAD_SHAPES = {"4-D": _X[:, None], "1-D": _X[0, 0], "0-D": np.float32(1.0)}


@pytest.mark.parametrize("shape", list(_BAD_SHAPES))
@pytest.mark.parametrize(("name", "make", "args"), _signal_estimators(),
                         ids=[e[0] for e in _signal_estimators()])
def test_signal_estimators_refuse_wrong_dimensions(name, make, args, shape):
    bad = _BAD_SHAPES[shape]
    pattern = rf"\(n_samples, n_chans, n_times\).*{re.escape(str(np.shape(bad)))}"
    with pytest.raises(ValueError, match=pattern):
        make().fit(*args(bad))
    est = make().fit(*args(_X))
    with pytest.raises(ValueError, match=pattern):
        est.predict(bad)


@pytest.mark.parametrize(("bad", "match"), [
    (_X.astype(np.complex64), "Complex data not supported.*complex64"),
    (np.full((12, 4, 64), "a", dtype=object), "could not convert string to float"),
])
def test_non_real_signals_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        _clf().fit(bad, _Y)


@pytest.mark.parametrize(("y", "match"), [
    (_Y[:-1], "X has 12 samples but y has 11"),
    (np.zeros(12), "only one class"),
    (np.where(_Y, 1.0, np.nan), "NaN"),
    (np.linspace(0, 1, 12), "continuous"),
])
def test_classifier_refuses_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        _clf().fit(_X, y)


def test_string_labels_round_trip():
    y = np.where(_Y, "right", "left")
    clf = _clf().fit(_X, y)
    assert set(clf.predict(_X)) <= {"left", "right"}
    assert list(clf.classes_) == ["left", "right"]


def test_regressor_refuses_bad_targets():
    with pytest.raises(ValueError, match="numeric"):
        NeuroRegressor(**_SIGNAL).fit(_X, np.array(["a"] * 12))
    with pytest.raises(ValueError, match=r"n_samples=12, got shape \(11,\)"):
        NeuroRegressor(**_SIGNAL).fit(_X, np.zeros(11))


# ---------------------------------------------------------------- BrainMAE
def _series(n_subjects=3, n_timepoints=40, n_regions=6, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n_timepoints, n_regions)) for _ in range(n_subjects)]


@pytest.mark.parametrize("method", ["fit", "transform"])
def test_brain_mae_refuses_one_subject_as_a_2d_array(method):
    series = _series()
    pre = BrainMAEPretrainer(t_r=2.0, segment_seconds=8.0, **_MAE)
    if method == "transform":
        pre.fit(series)
    with pytest.raises(ValueError, match=r"2-D array of shape \(40, 6\).*list of "
                                         r"per-subject.*RoiTimeSeries"):
        getattr(pre, method)(series[0])


def test_brain_mae_accepts_a_list_with_one_subject():
    series = _series()
    pre = BrainMAEPretrainer(t_r=2.0, segment_seconds=8.0, **_MAE).fit(series)
    assert pre.transform([series[0]]).shape[0] == 1


@pytest.mark.parametrize("bad", [
    np.zeros((2, 3, 8, 40)), np.zeros(40), np.float64(1.0)])
def test_brain_mae_refuses_wrong_dimensions(bad):
    pattern = rf"\(n_samples, n_regions, n_timepoints\).*{re.escape(str(np.shape(bad)))}"
    with pytest.raises(ValueError, match=pattern):
        BrainMAEPretrainer(t_r=2.0, **_MAE).fit(bad)


def test_brain_mae_checks_segments_input():
    X = np.random.default_rng(0).standard_normal((6, 4, 8)).astype(np.float32)
    X[2, 1, 3] = np.nan
    seg = Segments(X=X, groups=np.arange(6), skipped=[], t_r=2.0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        BrainMAEPretrainer(**_MAE).fit(seg)


def test_brain_mae_keeps_the_repetition_time_of_a_roi_time_series():
    from neuroattn.data.fmri import roi_timeseries_from_arrays

    rois = roi_timeseries_from_arrays(_series(), t_r=2.0)
    with pytest.warns(UserWarning, match=r"t_r=1.0 is ignored.*\[2.0\] s"):
        pre = BrainMAEPretrainer(t_r=1.0, segment_seconds=8.0, **_MAE).fit(rois)
    assert pre.t_r_ == 2.0 and pre.n_times_ == 4


@pytest.mark.parametrize("t_r", [float("inf"), "2", 0, -1.0, float("nan")])
def test_brain_mae_refuses_bad_t_r(t_r):
    with pytest.raises(ValueError, match="'t_r' parameter of BrainMAEPretrainer"):
        BrainMAEPretrainer(t_r=t_r, **_MAE).fit(_series())


# ---------------------------------------------------------------- encoding
_NONFINITE_FEATURES = (r"X contains NaN or infinity \(first in image 1\): 4 non-finite "
                       r"value\(s\) in the features")
_NONFINITE_IMAGES = (r"X contains NaN or infinity \(first in image 3\): 2 non-finite "
                     r"value\(s\) in the images")

def _tokens(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4, 6)).astype(np.float32), rng.standard_normal((n, 5))


@pytest.mark.parametrize("Est", [BrainEncoderRegressor, RidgeEncoder])
def test_encoders_refuse_non_finite_features(Est):
    X, Y = _tokens()
    est = Est(**_ENC) if Est is BrainEncoderRegressor else Est()
    bad = X.copy()
    bad[1, 2, :3] = np.nan
    bad[5, 0, 0] = np.inf
    with pytest.raises(ValueError, match=_NONFINITE_FEATURES):
        est.fit(bad, Y)
    est.fit(X, Y)
    with pytest.raises(ValueError, match=_NONFINITE_FEATURES):
        est.predict(bad)


def test_brain_encoder_refuses_nan_images_with_a_backbone():
    rng = np.random.default_rng(0)
    images = rng.random((8, 3, 6, 6)).astype(np.float32)
    images[3, 0, :2, 0] = np.nan
    backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU())
    est = BrainEncoderRegressor(backbone=backbone, layer="0", **_ENC)
    with pytest.raises(ValueError, match=_NONFINITE_IMAGES):
        est.fit(images, rng.standard_normal((8, 5)))


@pytest.mark.parametrize("Est", [BrainEncoderRegressor, RidgeEncoder])
def test_encoders_mask_nan_responses_with_a_warning(Est):
    X, Y = _tokens()
    Y[:3, 1] = np.nan
    est = Est(**_ENC) if Est is BrainEncoderRegressor else Est()
    with pytest.warns(UserWarning, match="3 NaN responses in 1 voxel"):
        est.fit(X, Y)
    assert np.isfinite(est.predict(X)).all()
    assert est.missing_responses_.tolist() == [0, 3, 0, 0, 0]


@pytest.mark.parametrize("Est", [BrainEncoderRegressor, RidgeEncoder])
@pytest.mark.parametrize(("Y", "match"), [
    (np.full((8, 5), np.inf), "infinity"),
    (np.zeros((7, 5)), "8 images but responses have 7 rows"),
    (np.full((8, 5), "a"), "numeric"),
])
def test_encoders_refuse_bad_responses(Est, Y, match):
    X, _ = _tokens()
    est = Est(**_ENC) if Est is BrainEncoderRegressor else Est()
    with pytest.raises(ValueError, match=match):
        est.fit(X, Y)


@pytest.mark.parametrize("Est", [BrainEncoderRegressor, RidgeEncoder])
@pytest.mark.parametrize("bad", [np.zeros((8, 1, 1, 4, 6)), np.zeros(8), np.float32(1.0)])
def test_encoders_refuse_wrong_dimensions(Est, bad):
    est = Est(**_ENC) if Est is BrainEncoderRegressor else Est()
    pattern = rf"\(n_images, n_tokens, dim\).*{re.escape(str(np.shape(bad)))}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=pattern):
            est.fit(bad, np.zeros((8, 5)))


def test_encoder_refuses_complex_features():
    X, Y = _tokens()
    with pytest.raises(ValueError, match="Complex data not supported"):
        RidgeEncoder().fit(X.astype(np.complex64), Y)


# ------------------------------------------------- non-finite signals, units at predict
@pytest.mark.parametrize(("name", "make", "args"), _signal_estimators(),
                         ids=[e[0] for e in _signal_estimators()])
def test_signal_estimators_count_non_finite_values(name, make, args):
    bad = _X.copy()
    bad[3, 1, 5] = np.inf
    bad[5, 0, :2] = np.nan
    pattern = (r"X contains NaN or infinity \(first in sample 3\): 3 non-finite value\(s\) "
               r"in channels \[0, 1\]")
    with pytest.raises(ValueError, match=pattern):
        make().fit(*args(bad))
    est = make().fit(*args(_X))
    with pytest.raises(ValueError, match=pattern):
        est.predict(bad)
    with pytest.raises(ValueError, match=r"NaN or infinity \(first in sample 5\): 2 non-"):
        make().fit(*args(bad[:, 0]))  # 2-D: one channel


def test_volts_at_predict_after_an_epochs_fit_warn(fitted):
    clf, epochs = fitted
    assert clf.input_amplitude_ == pytest.approx(10.0, rel=0.2)  # microvolts
    with pytest.warns(UserWarning, match=r"1e\+06 times smaller.*volts.*microvolts"):
        clf.predict(epochs.get_data())  # volts: mne's default units
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(epochs.get_data(units="uV"))
        clf.predict(epochs)


def test_amplitude_far_from_the_training_data_warns():
    clf = _clf().fit(_X, _Y)
    with pytest.warns(UserWarning, match=r"1e\+03 times larger than .*training data"):
        clf.predict(_X * 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(_X * 50)  # other data, not other units
        del clf.input_amplitude_  # a model file written before it existed: unknown
        clf.predict(_X * 1e6)
