"""Leave-one-seizure-out evaluation: per-fold records, splitter, labelling from the windows;
and what benchmarks/seizure_forecasting.py records (checked without its long run).

A stand-in forecaster (fit / preictal_proba / monitor with a fixed alarm per monitored
file) keeps these tests to seconds; tests/estimators/test_seizure.py runs the real one.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from neuroattn.benchmark.seizure import (
    evaluate_leave_one_seizure_out,
    rescore_alarms,
    seizure_scores,
)
from neuroattn.data.seizure import extract_windows, read_chbmit_summary
from neuroattn.data.simulate import simulate_seizure_recordings
from neuroattn.data.splits import LeaveOneSeizureOut
from neuroattn.estimators.seizure import SeizureForecaster

LABELS = dict(sph_seconds=30.0, sop_seconds=180.0, min_interictal_seconds=1800.0,
              postictal_seconds=120.0)


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    sim = simulate_seizure_recordings(
        tmp_path_factory.mktemp("sim"), n_seizures=2, n_interictal_files=1,
        interictal_file_minutes=5, seizure_file_minutes=8, preictal_seconds=210,
        seizure_seconds=(20, 30), interictal_gap_hours=1.0, margin_seconds=60, sfreq=64,
        random_state=1)
    return extract_windows(read_chbmit_summary(sim.summary_path), window_seconds=4.0,
                           l_freq=1.0, h_freq=30.0, **LABELS)


def test_alarms_are_counted_per_fold(windows, stand_in):
    res = evaluate_leave_one_seizure_out(stand_in(), windows)
    folds = res["folds"]
    assert len(folds) == 2
    # each fold monitors its seizure's file (one alarm, inside the whole-file span)
    assert all(f["n_alarms"] >= 1 for f in folds)
    assert sum(f["n_alarms"] for f in folds) == len(res["alarms"])
    table = seizure_scores(res)
    assert list(table.columns) == ["fold", "seizure", "method", "window_auc", "n_alarms"]
    assert table["n_alarms"].tolist() == [f["n_alarms"] for f in folds]


def test_labelling_and_band_pass_come_from_the_windows(windows, stand_in):
    res = evaluate_leave_one_seizure_out(stand_in(), windows)
    for key, value in LABELS.items():
        if key != "min_interictal_seconds":
            assert res["events"][key] == value
    rescored = rescore_alarms(res, SeizureForecaster(smoothing="mean", threshold=0.5))
    assert rescored["sph_seconds"] == 30.0 and rescored["postictal_seconds"] == 120.0
    with pytest.raises(ValueError, match="lacks"):
        rescore_alarms({"folds": []}, SeizureForecaster())


def test_monitor_uses_the_windows_band_pass(windows, monkeypatch, stand_in):
    seen = []
    monkeypatch.setattr(stand_in, "monitor",
                        lambda self, rec, **kw: seen.append(kw) or SimpleNamespace(
                            times=np.array([4.0]), probability=np.array([0.1]),
                            alarms=np.array([])))
    evaluate_leave_one_seizure_out(stand_in(), windows)
    assert seen and all(kw["l_freq"] == 1.0 and kw["h_freq"] == 30.0 for kw in seen)
    assert all(kw["ch_names"] == windows.ch_names for kw in seen)


def test_splitter_is_a_parameter(windows, stand_in):
    class TwoSeizuresPerFold:
        def split(self, X):
            yield np.arange(0), np.arange(len(X.y))

    res = evaluate_leave_one_seizure_out(stand_in(), windows,
                                         cv=LeaveOneSeizureOut())
    assert [f["seizure"] for f in res["folds"]] == sorted(set(windows.seizure[windows.y == 1]))
    with pytest.raises(ValueError, match="one seizure"):
        evaluate_leave_one_seizure_out(stand_in(), windows, cv=TwoSeizuresPerFold())
    with pytest.raises(ValueError, match="cv must be"):
        evaluate_leave_one_seizure_out(stand_in(), windows, cv=3)
    with pytest.raises(ValueError, match="verbose"):
        evaluate_leave_one_seizure_out(stand_in(), windows, verbose=True)


def test_verbose_logs_instead_of_printing(windows, caplog, capsys, stand_in):
    with caplog.at_level("INFO", logger="neuroattn.benchmark.seizure"):
        evaluate_leave_one_seizure_out(stand_in(), windows, verbose=1)
    assert capsys.readouterr().out == ""
    assert sum("fold seizure" in r.getMessage() for r in caplog.records) == 2


# benchmarks/seizure_forecasting.py

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def seizure_script(monkeypatch, stand_in):
    """benchmarks/seizure_forecasting.py with the stand-in forecaster fitted per fold;
    the adversarial weight of every evaluated forecaster is recorded in ``seen``."""
    script = _script("seizure_forecasting")
    seen = []

    def evaluate_with_stand_in(est, windows, **kwargs):
        seen.append(est.get_params()["adversarial_weight"])
        return evaluate_leave_one_seizure_out(stand_in(), windows, **kwargs)

    monkeypatch.setattr(script, "evaluate_leave_one_seizure_out",
                        evaluate_with_stand_in)
    return script, seen


def test_seizure_script_records_the_adversarial_weight_used(seizure_script, windows):
    script, seen = seizure_script
    config = script.forecaster_config(True, 1, 0.3)
    est = SeizureForecaster(device="cpu", random_state=0, **config)
    result = script.evaluate(est, windows, config=config, critic_ablation=True, verbose=0)
    assert seen == [0.3, 0.0]  # the ablation runs on a copy, the override stays
    assert result["training"]["adversarial_weight"] == 0.3
    assert result["critic_ablation"]["with_critic"]["adversarial_weight"] == 0.3
    assert result["overrides_of_defaults"]["adversarial_weight"] == 0.3
    assert est.get_params()["adversarial_weight"] == 0.3


def test_seizure_script_records_the_labelling_of_the_windows(seizure_script, windows):
    script, _ = seizure_script
    result = script.evaluate(SeizureForecaster(**script.SMALL), windows,
                             config=dict(script.SMALL), verbose=0)
    assert result["labelling"] == {**LABELS, "window_seconds": 4.0}
    assert "traces" not in result and len(result["alarm_rule_sweep"]) == 16


def test_a_seizure_cut_by_a_file_boundary_is_scored_whole(tmp_path, stand_in):
    # CHB-MIT lists a seizure that runs into the next file in both files; the event
    # metrics must see one seizure with its real offset (the postictal time that
    # excludes alarms runs from there), not a seizure cut at the end of its file.
    sim = simulate_seizure_recordings(
        tmp_path, n_seizures=2, n_interictal_files=1, interictal_file_minutes=5,
        seizure_file_minutes=8, preictal_seconds=210, seizure_seconds=(20, 30),
        interictal_gap_hours=1.0, margin_seconds=60, sfreq=64, random_state=1,
        seizure_across_files=True)
    recs = read_chbmit_summary(sim.summary_path)
    assert sum(len(r.seizures) for r in recs) == 3  # listed in both files
    win = extract_windows(recs, window_seconds=4.0, **LABELS)
    res = evaluate_leave_one_seizure_out(stand_in(), win)
    np.testing.assert_allclose(sorted(res["seizures"]), sorted(sim.clock_seizures))
