"""SeizureForecaster: training with the critic, balanced batches, monitoring, alarms."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from neuroattn.data.seizure import extract_windows, read_chbmit_summary
from neuroattn.data.simulate import simulate_seizure_recordings
from neuroattn.estimators.seizure import AdversarialStep, SeizureForecaster, band_power_baseline
from neuroattn.metrics.seizure import window_auc

LABELS = dict(sph_seconds=30.0, sop_seconds=180.0, min_interictal_seconds=1800.0,
              postictal_seconds=120.0)
# Tiny models trained for a few dozen steps: a per-epoch cosine (no warm-up), as the
# default warm-up schedule is meant for STAN at its default size.
TINY = dict(max_epochs=6, lr=3e-3, lr_scheduler="cosine", batch_size=16, device="cpu",
            random_state=0,
            model__embed_dim=16, model__n_heads=2, model__depth=1, model__patch_size=64,
            model__drop_path_prob=0.0, sop_seconds=180.0, smoothing="mean",
            smoothing_seconds=20.0)
# What the module's fitted forecaster uses (see the ``fitted`` fixture).
FIT = {**TINY, "max_epochs": 15, "lr": 1e-2}


@pytest.fixture(scope="module")
def subject(tmp_path_factory):
    sim = simulate_seizure_recordings(
        tmp_path_factory.mktemp("sim"), n_seizures=2, n_interictal_files=1,
        interictal_file_minutes=5, seizure_file_minutes=8, preictal_seconds=210,
        seizure_seconds=(20, 30), interictal_gap_hours=1.0, margin_seconds=60, sfreq=64,
        random_state=1)
    recs = read_chbmit_summary(sim.summary_path)
    return recs, extract_windows(recs, window_seconds=4.0, **LABELS)


@pytest.fixture(scope="module")
def split(subject):
    """(train, test) window indices: a stratified random half each.

    Neighbouring windows are alike, so this checks that the model learns, not that it
    generalises to an unseen seizure (the slow leave-one-seizure-out test does that);
    but no window is ever scored by a model trained on it.
    """
    _, win = subject
    return train_test_split(np.arange(len(win.y)), test_size=0.5, stratify=win.y,
                            random_state=0)


@pytest.fixture(scope="module")
def fitted(subject, split):
    # 15 epochs at lr 1e-2: 6 epochs at 3e-3 left the tiny model at a held-out AUC of
    # 0.54 (it had only memorised its training windows).
    _, win = subject
    train, _ = split
    return SeizureForecaster(**FIT).fit(win.X[train], win.y[train])


def test_fit_predict_and_critic_trained(subject, fitted):
    _, win = subject
    proba = fitted.predict_proba(win.X[:5])
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    assert fitted.classes_.tolist() == [0, 1]
    net = fitted.net_
    step = net.train_step_
    assert isinstance(step, AdversarialStep) and step.critic_ is not None
    # The critic is outside the model: the saved/deployed module has no critic weights.
    assert not any("critic" in k for k in fitted.module_.state_dict())
    assert step.critic_optimizer_.state, "the critic never took a step"
    critic_ids = {id(p) for p in step.critic_.parameters()}
    main = {id(p) for g in net.optimizer_.param_groups for p in g["params"]}
    assert not critic_ids & main
    # The classifier net is told its classes (a subclass check, not an identity one).
    np.testing.assert_array_equal(net.classes, [0, 1])


def test_adversarial_term_changes_training(subject, split, fitted):
    _, win = subject
    train, _ = split
    plain = SeizureForecaster(**{**FIT, "adversarial_weight": 0.0}).fit(win.X[train],
                                                                        win.y[train])
    assert plain.net_.train_step_.critic_ is None
    assert not np.allclose(plain.predict_proba(win.X[:8]), fitted.predict_proba(win.X[:8]))


def test_balanced_sampler_draws_both_classes_equally(subject, split, fitted):
    _, win = subject
    train, _ = split
    ds = fitted.net_.get_dataset(win.X[train], win.y[train])
    loader = fitted.net_.get_iterator(ds, training=True)
    ys = torch.cat([yb for _, yb in loader]).numpy()
    n_min = np.bincount(win.y[train]).min()
    assert len(ys) == 2 * n_min
    assert abs((ys == 1).mean() - 0.5) < 0.15
    # What the warm-up schedule counts as one epoch is what the sampler draws.
    assert fitted.net_.train_batches_per_epoch(ds) == len(loader)


def test_learns_the_planted_change(subject, split, fitted):
    # Scored on the held-out seizure's windows, never on the training windows.
    _, win = subject
    _, test = split
    # Chance is 0.5. Over random_state 0-9 this fit scores 0.75 +- 0.07 (min 0.64,
    # measured with per-epoch seeding); the bound says "it learns", not how well.
    assert window_auc(win.y[test], fitted.preictal_proba(win.X[test])) > 0.6


def test_monitor_recording_gives_trace_and_alarms(subject, fitted):
    recs, _ = subject
    res = fitted.monitor(recs[-1])
    assert res.probability.shape == res.times.shape == res.score.shape
    np.testing.assert_allclose(np.diff(res.times), 4.0)
    assert res.duration == recs[-1].duration and res.seizures == recs[-1].seizures
    # Refractory period: alarms at least sop_seconds apart.
    assert np.all(np.diff(res.alarms) >= 180.0)
    with pytest.raises(ValueError, match="samples"):
        fitted.monitor(recs[-1], window_seconds=3.0)
    with pytest.raises(ValueError, match="SeizureRecording"):
        fitted.monitor(np.zeros((3, 18, 256)))


def test_alarm_rule_parameters(fitted):
    times = np.arange(1, 101) * 4.0
    p = np.zeros(100)
    p[20:40] = 0.9
    p[60:80] = 0.9
    est = clone(fitted).set_params(smoothing_seconds=8.0, refractory_seconds=0.0)
    est.__dict__.update({k: v for k, v in vars(fitted).items() if k.endswith("_")})
    _, alarms = est.alarms_from_proba(times, p)
    assert alarms[0] == times[21] and len(alarms) == 38
    est.set_params(refractory_seconds=None)  # default: sop_seconds = 180
    _, alarms = est.alarms_from_proba(times, p)
    np.testing.assert_array_equal(alarms, [times[21], times[66]])
    est.set_params(smoothing="k_of_n", smoothing_seconds=16.0, min_fraction=0.75)
    _, alarms = est.alarms_from_proba(times, p)
    assert alarms[0] == times[22]
    est.set_params(smoothing="median")
    with pytest.raises(ValueError, match="smoothing"):
        est.alarms_from_proba(times, p)


def test_sklearn_contract(subject):
    _, win = subject
    est = SeizureForecaster(**TINY)
    params = est.get_params()
    assert params["model__depth"] == 1 and params["adversarial_weight"] == 0.05
    assert clone(est).get_params().keys() == params.keys()
    with pytest.raises(NotFittedError):
        est.predict_proba(win.X[:2])
    with pytest.raises(ValueError, match="two classes"):
        SeizureForecaster(**TINY).fit(win.X[:6], np.array([0, 1, 2, 0, 1, 2]))
    with pytest.raises(ValueError, match="adversarial_weight"):
        SeizureForecaster(**{**TINY, "adversarial_weight": -1}).fit(win.X[:4], [0, 1, 0, 1])


def test_pickle_round_trip(subject, fitted):
    _, win = subject
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(again.predict_proba(win.X[:4]), fitted.predict_proba(win.X[:4]),
                               rtol=1e-5)


def test_band_power_baseline(subject, split):
    _, win = subject
    train, test = split
    base = band_power_baseline(win.sfreq, random_state=0).fit(win.X[train], win.y[train])
    assert base.predict_proba(win.X[:3]).shape == (3, 2)
    assert window_auc(win.y[test], base.predict_proba(win.X[test])[:, 1]) > 0.7


@pytest.mark.slow
def test_leave_one_seizure_out_evaluation(tmp_path):
    # A reduced version of benchmarks/seizure_forecasting.py (which reports the figures).
    from neuroattn.benchmark.seizure import evaluate_leave_one_seizure_out

    sim = simulate_seizure_recordings(tmp_path, n_seizures=3, n_interictal_files=3,
                                      interictal_file_minutes=15, sfreq=64, random_state=0)
    win = extract_windows(read_chbmit_summary(sim.summary_path), window_seconds=4.0)
    est = SeizureForecaster(**{**TINY, "max_epochs": 10, "sop_seconds": 900.0,
                               "smoothing_seconds": 120.0})
    res = evaluate_leave_one_seizure_out(est, win, baseline=band_power_baseline(win.sfreq))
    assert len(res["folds"]) == 3
    assert res["window_auc"] > 0.65 and res["baseline_window_auc"] > 0.65
    ev = res["events"]
    assert ev["n_seizures"] == 3 and 0 <= ev["time_in_warning"] <= 1
    assert ev["sensitivity"] >= 2 / 3


def test_braindecode_model_as_forecaster(subject):
    # The braindecode baseline of the issue: any braindecode model class trains in the
    # same forecaster (no critic: it has no pooled-feature API).
    models = pytest.importorskip("braindecode.models")
    _, win = subject
    est = SeizureForecaster(models.ShallowFBCSPNet, max_epochs=2, batch_size=16, device="cpu",
                            random_state=0, model__final_conv_length="auto")
    est.fit(win.X, win.y)
    assert est.net_.train_step_.critic_ is None
    assert est.predict_proba(win.X[:4]).shape == (4, 2)


# scikit-learn's estimator checks on fast settings (2-D inputs become one channel).
# Expected failures, each with why: none (sample-order invariance, once listed for
# float32 batching noise, passes with the untapered default tokens).
_EXPECTED_FAILED: dict[str, str] = {}


@parametrize_with_checks(
    [SeizureForecaster(max_epochs=8, batch_size=32, lr=5e-3, lr_scheduler="cosine",
                       device="cpu", random_state=0,
                       model__embed_dim=8, model__n_heads=2, model__depth=1,
                       model__patch_size=4)],
    expected_failed_checks=lambda est: _EXPECTED_FAILED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_fit_on_windows_keeps_their_bandpass_for_monitoring(subject, tmp_path):
    # The band-pass, channels and rate of the training windows travel with the model:
    # monitor (and `neuroattn seizure monitor`) need no --l-freq repeated.
    import dataclasses

    recs, win = subject
    filtered = dataclasses.replace(win, l_freq=0.5, h_freq=25.0)
    est = SeizureForecaster(**{**TINY, "max_epochs": 1}).fit(filtered)
    assert est.bandpass_ == (0.5, 25.0)
    assert est.ch_names_ == list(win.ch_names) and est.sfreq_ == win.sfreq
    # The model was built knowing the rate, as load() rebuilds it.
    assert est.module_.sfreq == win.sfreq
    loaded = SeizureForecaster.load(est.save(tmp_path / "m"), device="cpu")
    assert loaded.bandpass_ == (0.5, 25.0) and loaded.ch_names_ == est.ch_names_
    res = loaded.monitor(recs[-1])
    np.testing.assert_allclose(res.probability, est.monitor(recs[-1]).probability, rtol=1e-5)
    with pytest.raises(ValueError, match="differs"):
        loaded.monitor(recs[-1], l_freq=1.0)
    with pytest.raises(ValueError, match="y must be None"):
        SeizureForecaster(**TINY).fit(filtered, filtered.y)
    # Plain arrays carry no band-pass.
    assert SeizureForecaster(**{**TINY, "max_epochs": 1}).fit(win.X, win.y).bandpass_ is None
