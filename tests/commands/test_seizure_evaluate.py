"""``neuroattn seizure evaluate DATA_DIR``: outputs, resume after Ctrl-C, bad input."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from neuroattn.benchmark import seizure_cohort
from neuroattn.benchmark.seizure_cohort import evaluate_cohort
from neuroattn.cli import main
from neuroattn.data.simulate import simulate_seizure_cohort

LABELS = ["--sph", "30", "--sop", "120", "--min-interictal", "1200", "--postictal", "60",
          "--sfreq", "64", "--smoothing-seconds", "30"]


def _cohort(path, n_seizures=2, n_patients=2):
    simulate_seizure_cohort(path, n_patients=n_patients, n_seizures=n_seizures,
                            n_interictal_files=1, interictal_file_minutes=5,
                            seizure_file_minutes=8, preictal_seconds=240, margin_seconds=60,
                            interictal_gap_hours=0.5, sfreq=64.0)
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return _cohort(tmp_path_factory.mktemp("cohort"))


def _evaluate(data, out, *extra):
    return main(["seizure", "evaluate", str(data), "--out", str(out), *LABELS,
                 "--max-windows", "20", *extra])


def _partials(folder):
    return [p for p in folder.rglob("*") if ".partial" in p.name]


def test_evaluate_interrupt_resume_and_refuse(data_dir, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    real, calls = seizure_cohort.run_fold, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(seizure_cohort, "run_fold", interrupted)
    assert _evaluate(data_dir, out, "--baseline-only", "--scheme", "loso") == 130
    err = capsys.readouterr().err
    assert "1 finished fold(s) kept" in err and "run the same command" in err
    assert not (out / "scores.csv").exists() and not _partials(out)  # nothing truncated
    monkeypatch.setattr(seizure_cohort, "run_fold", real)
    assert _evaluate(data_dir, out, "--baseline-only", "--scheme", "loso") == 0
    printed = capsys.readouterr().out
    assert "1 fold(s) already finished" in printed and "sensitivity" in printed
    table = pd.read_csv(out / "scores.csv")
    assert set(table.patient) == {"chb01", "chb02"}
    assert {"window_auc", "sensitivity", "false_alarms_per_hour", "time_in_warning",
            "warning_minutes", "p_value"} <= set(table.columns)
    assert len(json.loads((out / "scores.json").read_text())) == len(table)
    assert json.loads((out / "pooled.json").read_text())["pooled"][0]["n_seizures"] == 4
    assert sorted(p.name for p in (out / "timelines").iterdir()) == [
        "loso_chb01.png", "loso_chb02.png"]
    before = (out / "scores.csv").read_bytes()
    assert _evaluate(data_dir, out, "--baseline-only", "--scheme", "loso") == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "scores.csv").read_bytes() == before  # nothing lost


@pytest.mark.slow
def test_evaluate_stan_both_schemes_fine_tuned(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert _evaluate(data_dir, out, "--max-epochs", "1", "--fine-tune", "1") == 0
    table = pd.read_csv(out / "scores.csv")
    assert set(table.scheme) == {"loso", "lopo"}
    assert {"stan", "baseline", "stan+ft", "baseline+ft"} <= set(table.method)


def _one_patient(src, dst):
    shutil.copytree(src / "chb01", dst / "chb01")


def _one_seizure(src, dst):
    _cohort(dst, n_seizures=1)


def _edit_summary(pattern, repl):
    def edit(src, dst):
        shutil.copytree(src, dst, dirs_exist_ok=True)
        summary = dst / "chb01" / "chb01-summary.txt"
        text, n = re.subn(pattern, repl, summary.read_text(), count=1)
        assert n == 1
        summary.write_text(text)
    return edit


BAD = [
    (_one_patient, ["--scheme", "lopo"], r"at least 2 patients.*chb01"),
    (_one_seizure, ["--scheme", "loso"], r"patient chb01 has 1 seizure.*at least 2"),
    (_edit_summary(r"Data Sampling Rate: 64 Hz", "Data Sampling Rate: 256 Hz"),
     ["--scheme", "loso"], r"chb01-summary.txt, line 1: Data Sampling Rate 256 Hz.*64 Hz"),
    (_edit_summary(r"Channel 1: FP1-F7", "Channel 1: FP1-F9"), ["--scheme", "loso"],
     r"chb01_01.edf.*listed but absent: \['FP1-F9'\]"),
    (_edit_summary(r"File End Time: 08:05:00", "File End Time: 08:15:00"),
     ["--scheme", "loso"], r"chb01_01.edf lasts 300 s.*span 900 s"),
    (None, ["--n-jobs", "0"], r"--n-jobs.*integer >= 1"),
    (None, ["--channels", "FP1-F7,FT9-FT10"],
     r"chb01_01.edf lacks channels \['FT9-FT10'\].*Channels every file has"),
]


@pytest.mark.parametrize("make, flags, message", BAD,
                         ids=["one-patient-lopo", "one-seizure-loso", "summary-rate",
                              "summary-channels", "summary-duration", "n-jobs-0",
                              "montage-missing"])
def test_bad_input(data_dir, tmp_path, capsys, make, flags, message):
    data = data_dir
    if make is not None:
        data = tmp_path / "data"
        data.mkdir()
        make(data_dir, data)
    out = tmp_path / "out"
    try:
        code = _evaluate(data, out, "--baseline-only", *flags)
    except SystemExit as exc:  # a flag refused by argparse
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert not (out / "scores.csv").exists()


def test_library_refuses_n_jobs_0_and_unknown_scheme():
    with pytest.raises(ValueError, match="n_jobs must be a non-zero int"):
        evaluate_cohort(None, {"m": seizure_cohort.SeizureForecaster()}, n_jobs=0)
    with pytest.raises(ValueError, match="scheme must be one of"):
        evaluate_cohort(None, {"m": seizure_cohort.SeizureForecaster()}, scheme="lofo")


@pytest.mark.parametrize("size, small", [("small", True), ("full", False)])
def test_size_flag_picks_the_stan_that_is_trained(tmp_path, size, small):
    from neuroattn.cli import build_parser
    from neuroattn.commands._seizure_evaluate import _methods

    args = build_parser().parse_args(["seizure", "evaluate", str(tmp_path), "--out",
                                      str(tmp_path / "out"), "--size", size])
    est = _methods(args, sfreq=64.0)["stan"]
    params = est.get_params()
    assert ("model__embed_dim" in params) is small
    if not small:
        assert params["lr_scheduler"] == "warmup_cosine"  # the estimator's default
