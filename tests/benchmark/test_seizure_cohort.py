"""Leave-one-patient-out and per-patient forecasting over a tiny simulated cohort."""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.benchmark import _cohort_folds
from neuroattn.benchmark._cohort_data import read_cohort
from neuroattn.benchmark.seizure_cohort import cohort_table, evaluate_cohort, pooled_metrics
from neuroattn.data.seizure import extract_windows
from neuroattn.data.simulate import (
    CHBMIT_CHANNELS,
    simulate_seizure_cohort,
    simulate_seizure_recordings,
)
from neuroattn.data.simulate.seizure_cohort import COHORT_FOCI
from neuroattn.estimators.seizure import SeizureForecaster, band_power_baseline

#: Tiny labelling for 8-minute seizure files and 5-minute interictal files.
LABELS = dict(sph_seconds=30.0, sop_seconds=120.0, min_interictal_seconds=1200.0,
              postictal_seconds=60.0)
RULE = SeizureForecaster(sop_seconds=120.0, smoothing_seconds=30.0)
TINY_STAN = dict(model__embed_dim=8, model__n_heads=2, model__depth=1, model__patch_size=64,
                 max_epochs=1, batch_size=16, device="cpu", random_state=0)


def tiny_cohort(path, n_patients=2, n_seizures=2):
    return simulate_seizure_cohort(path, n_patients=n_patients, n_seizures=n_seizures,
                                   n_interictal_files=1, interictal_file_minutes=5,
                                   seizure_file_minutes=8, preictal_seconds=240,
                                   margin_seconds=60, interictal_gap_hours=0.5, sfreq=64.0)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    subjects = tiny_cohort(root)
    windows = extract_windows(read_cohort(root), ch_names=list(CHBMIT_CHANNELS), sfreq=64.0,
                              **LABELS)
    return root, subjects, windows


def test_cohort_patients_differ(cohort):
    root, subjects, windows = cohort
    assert [s.summary_path.parent.name for s in subjects] == ["chb01", "chb02"]
    assert [s.focus_channels for s in subjects] == [COHORT_FOCI[0], COHORT_FOCI[1]]
    assert [s.sfreq for s in subjects] == [64.0, 128.0]  # the second at twice the rate
    assert all(len(s.clock_seizures) == 2 for s in subjects)
    assert sorted(set(windows.subject)) == ["chb01", "chb02"]


def test_draw_balances_patients_and_classes(cohort):
    windows = cohort[2]
    idx = _cohort_folds._draw(windows, np.arange(len(windows.y)), 7,
                              np.random.default_rng(0))
    groups = {(s, c) for s in ("chb01", "chb02") for c in (0, 1)}
    subject = np.asarray(windows.subject).astype(str)[idx]
    counts = {g: int(((subject == g[0]) & (windows.y[idx] == g[1])).sum()) for g in groups}
    assert set(counts.values()) == {7}


def test_lopo_with_fine_tuning_and_loso(cohort):
    windows = cohort[2]
    methods = {"baseline": band_power_baseline(64.0, random_state=0)}
    lopo = evaluate_cohort(windows, methods, scheme="lopo", alarm_rule=RULE,
                           fine_tune={"interictal_seconds": 60.0}, max_windows_per_class=20)
    table = cohort_table(lopo)
    assert set(table.method) == {"baseline", "baseline+ft"}
    assert set(table.span) == {"all", "after_adaptation"}
    assert len(table) == 2 * 3  # per patient: base on 2 spans, adapted on 1
    full = table[table.span == "all"]
    assert list(full.n_seizures) == [2, 2]  # every seizure of the held-out patient
    after = table[table.span == "after_adaptation"]
    assert list(after.n_seizures) == [1, 1, 1, 1]  # the first seizure adapted the model
    loso = cohort_table(evaluate_cohort(windows, methods, scheme="loso", alarm_rule=RULE))
    assert set(loso.fold) == {"0", "1", "2", "3", "all"}
    pooled = pooled_metrics(loso)
    assert int(pooled.n_seizures.iloc[0]) == 4 and int(pooled.patients.iloc[0]) == 2


def test_resume_after_interruption_equals_uninterrupted(cohort, tmp_path, monkeypatch,
                                                        caplog):
    windows = cohort[2]
    methods = {"baseline": band_power_baseline(64.0, random_state=0)}
    kw = dict(scheme="loso", alarm_rule=RULE, max_windows_per_class=20)
    whole = cohort_table(evaluate_cohort(windows, methods, **kw))
    real, calls = _cohort_folds.run_fold, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr("neuroattn.benchmark.seizure_cohort.run_fold", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluate_cohort(windows, methods, checkpoint_dir=tmp_path, **kw)
    assert len(list(tmp_path.glob("loso*.json"))) == 2  # the finished folds kept
    monkeypatch.setattr("neuroattn.benchmark.seizure_cohort.run_fold", real)
    with caplog.at_level("INFO", logger="neuroattn.benchmark.seizure_cohort"):
        resumed = cohort_table(evaluate_cohort(windows, methods, checkpoint_dir=tmp_path,
                                               **kw))
    assert "2 of 4 folds already finished" in caplog.text
    assert resumed.drop(columns="alarms_min").equals(whole.drop(columns="alarms_min"))
    with pytest.raises(ValueError, match="another run"):  # other parameters: refused
        evaluate_cohort(windows, methods, checkpoint_dir=tmp_path,
                        **{**kw, "max_windows_per_class": 5})


@pytest.mark.slow
def test_stan_critic_on_and_off_same_folds(cohort):
    windows = cohort[2]
    methods = {"stan": SeizureForecaster(sop_seconds=120.0, **TINY_STAN),
               "stan_nocritic": SeizureForecaster(sop_seconds=120.0, adversarial_weight=0.0,
                                                  **TINY_STAN)}
    res = evaluate_cohort(windows, methods, scheme="lopo", alarm_rule=RULE,
                          max_windows_per_class=8)
    table = cohort_table(res)
    assert set(table.method) == {"stan", "stan_nocritic"}
    assert table.window_auc.between(0, 1).all()
    # same training windows and seeds, only the critic differs: different weights
    a, b = (np.concatenate([t["probability"] for t in res["folds"][0]["methods"][m]["traces"]])
            for m in ("stan", "stan_nocritic"))
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_fine_tune_warm_starts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 4, 128)).astype("float32")
    y = np.r_[np.zeros(12), np.ones(12)].astype(int)
    X[y == 1] *= 1.5
    est = SeizureForecaster(**{**TINY_STAN, "model__patch_size": 32}).fit(X, y)
    before = est.preictal_proba(X)
    est.fine_tune(X, y, max_epochs=1, lr=1e-12, random_state=0)  # no step: same weights
    np.testing.assert_allclose(est.preictal_proba(X), before, atol=1e-5)
    est.fine_tune(X[y == 0], y[y == 0], max_epochs=1, lr=1e-2, random_state=0)  # one class
    assert not np.allclose(est.preictal_proba(X), before, atol=1e-5)
    with pytest.raises(ValueError, match="not seen at fit"):
        est.fine_tune(X, y + 5)
    with pytest.raises(ValueError, match="max_epochs"):
        est.fine_tune(X, y, max_epochs=0)


@pytest.mark.parametrize("call, message", [
    (lambda p: simulate_seizure_cohort(p, n_patients=0), "n_patients must be an integer"),
    (lambda p: simulate_seizure_cohort(p, n_seizures=1.5), "n_seizures must be an integer"),
    (lambda p: simulate_seizure_recordings(p, focus_channels=["XX-YY"]),
     r"focus_channels must be a non-empty subset"),
])
def test_simulator_bad_input(tmp_path, call, message):
    with pytest.raises(ValueError, match=message):
        call(tmp_path)
