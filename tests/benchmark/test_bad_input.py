"""Bad input and faults at the evaluation entry points (issue 11): nothing silently wrong,
nothing lost.

Entry points: ``benchmark.run`` / ``neuroattn benchmark`` (failing pipelines, resume,
locks, outputs checked first), the YAML pipelines, the MOABB glue, ``evaluate_fmri`` /
``neuroattn fmri`` and ``evaluate_leave_one_seizure_out`` (per-fold records and resume),
and ``save_results`` (file modes). All on tiny simulated data.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline

import neuroattn.benchmark.fmri as fmri_module
import neuroattn.benchmark.seizure as seizure_module
from neuroattn._files import FolderLock, FolderLockedError
from neuroattn.benchmark import PIPELINE_DIR, list_pipelines, load_pipelines, run, save_results
from neuroattn.benchmark.fmri import evaluate_fmri
from neuroattn.benchmark.mi import PipelineFailedError
from neuroattn.benchmark.seizure import evaluate_leave_one_seizure_out, seizure_scores
from neuroattn.cli import main
from neuroattn.data.moabb import SimulatedMotorImagery, get_dataset, get_paradigm
from neuroattn.data.simulate import simulate_fmri_rois

# --------------------------------------------------------------------------- helpers


def _tiny_mi(**kwargs):
    args = dict(n_subjects=2, n_sessions=1, trials_per_run=10, sfreq=100.0) | kwargs
    return SimulatedMotorImagery(**args)


class Flatten(BaseEstimator):
    """(n_trials, n_chans, n_times) -> log-variance per channel."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.log(np.asarray(X).var(axis=-1) + 1e-12)


class Boom(ClassifierMixin, BaseEstimator):
    """Raises in ``fit`` while the class switch ``failing`` is on (not a parameter, so a
    rerun sees the same pipeline)."""

    failing = True
    fits = 0

    def fit(self, X, y):
        type(self).fits += 1
        if type(self).failing:
            raise RuntimeError("boom in fit")
        self.lda_ = LinearDiscriminantAnalysis().fit(X, y)
        self.classes_ = self.lda_.classes_
        return self

    def predict(self, X):
        return self.lda_.predict(X)

    def predict_proba(self, X):
        return self.lda_.predict_proba(X)


@pytest.fixture
def boom():
    Boom.failing, Boom.fits = True, 0
    yield Boom
    Boom.failing, Boom.fits = True, 0


class CountingLDA(LinearDiscriminantAnalysis):
    fits = 0

    def fit(self, X, y):
        type(self).fits += 1
        return super().fit(X, y)


def _pipes():
    return {"LDA": make_pipeline(Flatten(), CountingLDA()),
            "Boom": make_pipeline(Flatten(), Boom())}


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# ----------------------------------------------------- case 1: benchmark keeps results


def test_failing_pipeline_is_named_and_finished_scores_are_kept(tmp_path, boom):
    ds = _tiny_mi()
    with pytest.raises(PipelineFailedError, match=f"pipeline 'Boom' failed on dataset "
                                                   f"{ds.code}, subject 1.*boom in fit"):
        run(_pipes(), [ds], baseline=None, output_dir=tmp_path, verbose=0)
    kept = pd.read_csv(tmp_path / "results.csv")
    assert set(kept["pipeline"]) == {"LDA"} and len(kept) == 2  # both subjects of LDA
    failures = pd.read_csv(tmp_path / "failures.csv")
    assert failures[["pipeline", "subject"]].values.tolist() == [["Boom", 1]]


def test_on_error_continue_records_the_failure_and_goes_on(tmp_path, boom):
    with pytest.warns(RuntimeWarning, match="pipeline 'Boom' failed"):
        result = run(_pipes(), [_tiny_mi()], baseline=None, output_dir=tmp_path,
                     on_error="continue", verbose=0)
    assert result.failures["pipeline"].tolist() == ["Boom", "Boom"]
    assert result.failures["subject"].tolist() == [1, 2]
    assert result.failures["error"].str.contains("RuntimeError: boom in fit").all()
    assert result.results.loc[result.results.pipeline == "LDA", "score"].notna().sum() == 2
    assert "2 failed job(s)" in result.table and "Boom on" in result.table
    assert (tmp_path / "failures.csv").exists()
    with pytest.raises(ValueError, match="on_error must be"):
        run(_pipes(), [_tiny_mi()], on_error="ignore", verbose=0)


def test_rerun_continues_with_the_unfinished_jobs(tmp_path, boom, caplog):
    with pytest.raises(PipelineFailedError):
        run(_pipes(), [_tiny_mi()], baseline=None, output_dir=tmp_path, verbose=0)
    boom.failing = False
    lda_fits = CountingLDA.fits
    with caplog.at_level("INFO", logger="neuroattn.benchmark.mi"):
        resumed = run(_pipes(), [_tiny_mi()], baseline=None, output_dir=tmp_path,
                      verbose=1)
    assert "2 of 4 jobs" in caplog.text and "continuing" in caplog.text
    assert resumed.resumed == 2 and CountingLDA.fits == lda_fits  # LDA not evaluated again
    assert not (tmp_path / "failures.csv").exists()  # the stale list is gone
    fresh = run(_pipes(), [_tiny_mi()], baseline=None, output_dir=tmp_path / "fresh",
                verbose=0)
    cols = ["pipeline", "subject", "session", "score"]
    pd.testing.assert_frame_equal(resumed.results[cols], fresh.results[cols])
    # another pipeline under the same name, or other run parameters: refused
    other = {"LDA": make_pipeline(Flatten(), CountingLDA(solver="lsqr")),
             "Boom": _pipes()["Boom"]}
    with pytest.raises(ValueError, match="pipeline 'LDA' of the previous run"):
        run(other, [_tiny_mi()], baseline=None, output_dir=tmp_path, verbose=0)
    with pytest.raises(ValueError, match="holds the records of another run.*random_state"):
        run(_pipes(), [_tiny_mi()], baseline=None, output_dir=tmp_path, random_state=1,
            verbose=0)
    again = run(other, [_tiny_mi()], baseline=None, output_dir=tmp_path, overwrite=True,
                verbose=0)
    assert again.resumed == 0


def test_rerun_with_other_dataset_settings_or_device_(tmp_path):
    # A dataset with the same code but other settings is another run; another device
    # is the same run (the pipeline identity leaves device and verbose out).
    d = _tiny_mi()
    run({"LDA": _pipes()["LDA"]}, [d], baseline=None, output_dir=tmp_path, verbose=0)
    other = _tiny_mi()
    other.erd_range = (0.5, 0.1)
    assert other.code == d.code
    with pytest.raises(ValueError, match="holds the records of another run.*datasets"):
        run({"LDA": _pipes()["LDA"]}, [other], baseline=None, output_dir=tmp_path,
            verbose=0)
    from neuroattn.benchmark._resume import fingerprint
    from neuroattn.estimators import NeuroClassifier

    assert fingerprint(NeuroClassifier(device="cpu", verbose=1)) == fingerprint(
        NeuroClassifier(device="cuda"))


# ------------------------------------------------- cases 3 and 4: locks, outputs first


def test_benchmark_refuses_a_folder_in_use(tmp_path):
    with FolderLock(tmp_path), pytest.raises(FolderLockedError, match=str(tmp_path)):
        run({"LDA": _pipes()["LDA"]}, [_tiny_mi()], baseline=None, output_dir=tmp_path,
            verbose=0)


def _no_data(*args, **kwargs):
    raise AssertionError("data were loaded before the output folder was checked")


def test_benchmark_checks_the_output_before_loading_data(tmp_path, monkeypatch, capsys):
    import neuroattn.benchmark.mi as mi

    monkeypatch.setattr(mi, "get_dataset", _no_data)
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(ValueError, match="output_dir.*is a file"):
        run(["CSP+LDA"], ["simulated"], output_dir=afile, verbose=0)
    assert main(["benchmark", "--pipelines", "CSP+LDA", "--out", str(afile), "-q"]) == 2
    assert "--out" in capsys.readouterr().err


def test_cli_benchmark_on_error_continue_exits_non_zero(tmp_path, monkeypatch, capsys,
                                                       boom):
    import neuroattn.commands.benchmark as command

    monkeypatch.setattr(command, "_pipelines", lambda args: _pipes())
    monkeypatch.setattr("neuroattn.benchmark.mi.get_dataset",
                        lambda name, subjects=None: _tiny_mi(n_subjects=1))
    argv = ["benchmark", "--baseline", "LDA", "--out", str(tmp_path), "-q"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "pipeline 'Boom' failed" in err and "Traceback" not in err
    with pytest.warns(RuntimeWarning, match="Boom"):
        assert main([*argv, "--on-error", "continue"]) == 1
    assert "1 failed job(s)" in capsys.readouterr().out


def test_fmri_cli_checks_the_output_before_loading_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("neuroattn.data.simulate.fmri.simulate_fmri_rois", _no_data)
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert main(["fmri", "--out", str(afile), "-q"]) == 2
    assert "--out" in capsys.readouterr().err


# --------------------------------------------------------------- case 5: YAML pipelines


def test_benchmark_help_says_pipeline_files_are_code(capsys):
    with pytest.raises(SystemExit):
        main(["benchmark", "--help"])
    assert "Pipeline files are code" in " ".join(capsys.readouterr().out.split())
    design = (Path(__file__).resolve().parents[2] / "docs" / "design.md").read_text()
    assert "Pipeline files are code" in design


GOOD_STEP = "  - name: LinearDiscriminantAnalysis\n    from: sklearn.discriminant_analysis\n"


@pytest.mark.parametrize("text, match", [
    ("name: X\npipeline:\n  - name: a: b\n", r"bad.yml, line 3.*YAML syntax error: mapping"),
    ("name: X\npipeline:\n  - name: [unclosed\n", r"bad.yml, line 4.*YAML syntax error"),
    ("name: X\n\tpipeline: []\n", r"bad.yml, line 2.*YAML syntax error"),
    ("- just\n- a list\n", r"bad.yml: not a MOABB pipeline file"),
    ("name: X\nparadigms: [LeftRightImagery]\n", r"bad.yml: .*missing keys \['pipeline'\]"),
    ("name: X\npipeline: []\n", r"bad.yml: 'pipeline' must be a non-empty list"),
    ("name: X\npipeline:\n  - name: Foo\n    from: not_a_module_xyz\n",
     r"bad.yml \(X\): cannot import 'not_a_module_xyz'"),
    ("name: X\npipeline:\n  - name: Foo\n    from: .relative\n",
     r"bad.yml \(X\): cannot import '.relative'"),
    ("name: X\npipeline:\n  - name: LinearDiscriminantAnalysis\n    from: "
     "sklearn.discriminant_analysis\n    parameters: [1, 2]\n",
     r"bad.yml \(X\): the 'parameters' .* must be a mapping"),
])
def test_bad_yaml_is_a_value_error_naming_the_file(tmp_path, text, match):
    (tmp_path / "bad.yml").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_pipelines(tmp_path / "bad.yml")


def test_yaml_errors_also_in_list_and_binary_files(tmp_path):
    (tmp_path / "bad.yml").write_text("name: X\npipeline:\n  - name: a: b\n")
    with pytest.raises(ValueError, match="bad.yml, line 3"):
        list_pipelines(tmp_path)
    (tmp_path / "bad.yml").write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(ValueError, match="bad.yml: not a text"):
        load_pipelines(tmp_path)
    (tmp_path / "bad.yml").write_text(f"name: A\npipeline:\n{GOOD_STEP}")
    (tmp_path / "dup.yml").write_text(f"name: A\npipeline:\n{GOOD_STEP}")
    with pytest.raises(ValueError, match="'A' is also defined in"):
        load_pipelines(tmp_path)


def test_unknown_pipeline_name_lists_close_names():
    with pytest.raises(ValueError, match="'CAN-SEE': did you mean 'CAN-SE'"):
        load_pipelines(names=["CAN-SEE"])


def test_no_yaml_is_read_from_the_working_directory(tmp_path, monkeypatch):
    """A ./pipelines folder (or any cwd file) is never read unless named."""
    evil = tmp_path / "pipelines"
    evil.mkdir()
    (evil / "evil.yml").write_text("name: CSP+LDA\npipeline:\n  - name: Foo\n"
                                   "    from: not_a_module_xyz\n")
    monkeypatch.chdir(tmp_path)
    assert load_pipelines(names=["CSP+LDA"])  # the shipped one, not ./pipelines/evil.yml
    shipped = list_pipelines(PIPELINE_DIR) + list_pipelines(PIPELINE_DIR / "ssvep")
    assert list_pipelines() == shipped + list_pipelines(
        PIPELINE_DIR / "braindecode") or list_pipelines() == shipped
    with pytest.raises(ValueError, match="cannot import 'not_a_module_xyz'"):
        load_pipelines("pipelines/")  # named: read


# ----------------------------------------------------------------- case 6: MOABB glue


@pytest.mark.parametrize("call, match", [
    (lambda: get_dataset("BNCI2014_01"), "MOABB has no dataset 'BNCI2014_01'.*BNCI2014_001"),
    (lambda: get_dataset("simulated", subjects=[9]), r"subjects \[9\] are not in"),
    (lambda: get_dataset("simulated", subjects=[]), "subjects is empty"),
    (lambda: get_dataset("simulated", subjects=[1, 1]), r"subjects lists \[1\] more than"),
    (lambda: get_dataset("simulated", subjects=1), "subjects must be a list"),
    (lambda: get_paradigm("left_rigth"), "Unknown paradigm 'left_rigth'.*'left_right'"),
    (lambda: get_paradigm("left_right", n_classes=3), r"paradigm_kwargs \['n_classes'\]"),
    (lambda: get_paradigm("left_right", fmin=30, fmax=8), "fmin .* must be below fmax"),
    (lambda: get_paradigm("left_right", fmin=40), "fmin .* must be below fmax"),
    (lambda: get_paradigm("left_right", fmin=-1), "fmin must be a finite frequency"),
    (lambda: get_paradigm("filter_bank_left_right", filters=[[8, 12], [30, 20]]),
     "fmin .* must be below fmax"),
])
def test_moabb_glue_refuses_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_get_dataset_leaves_the_callers_instance_alone():
    ds = _tiny_mi()
    assert get_dataset(ds, subjects=[2]).subject_list == [2]
    assert ds.subject_list == [1, 2]


# ------------------------------------------------------------ case 2, 3, 6: fMRI folds


@pytest.fixture(scope="module")
def sim():
    return simulate_fmri_rois(18, n_regions=6, n_networks=2, n_timepoints=60, n_sites=3,
                              network_strength=0.7, coupling=0.8, random_state=1)


FMRI = dict(methods=("correlation_logreg",), cv="stratified", n_splits=3)


def _fail_on_call(monkeypatch, module, n):
    shipped, calls = module._fold, []

    def fold(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt("interrupted in fold 2")
        return shipped(*args, **kwargs)

    monkeypatch.setattr(module, "_fold", fold)
    return calls


def test_fmri_resumes_after_an_interrupted_fold(sim, tmp_path, monkeypatch, caplog):
    reference = evaluate_fmri(sim, **FMRI)
    calls = _fail_on_call(monkeypatch, fmri_module, 2)
    with pytest.raises(KeyboardInterrupt):
        evaluate_fmri(sim, checkpoint_dir=tmp_path, **FMRI)
    assert sorted(p.name for p in tmp_path.glob("fold-*.json")) == ["fold-000.json"]
    monkeypatch.undo()
    calls = _fail_on_call(monkeypatch, fmri_module, 99)
    with caplog.at_level("INFO", logger="neuroattn.benchmark.fmri"):
        resumed = evaluate_fmri(sim, checkpoint_dir=tmp_path, **FMRI)
    assert len(calls) == 2 and "1 of 3 splits already finished" in caplog.text
    cols = ["method", "split", "n_train", "n_test", "accuracy", "roc_auc", "note"]
    pd.testing.assert_frame_equal(resumed[cols], reference[cols])


def test_fmri_records_of_another_run_are_refused(sim, tmp_path):
    evaluate_fmri(sim, checkpoint_dir=tmp_path, **FMRI)
    with pytest.raises(ValueError, match=f"{tmp_path} holds the records of another "
                                         "run.*random_state"):
        evaluate_fmri(sim, checkpoint_dir=tmp_path, random_state=1, **FMRI)
    with pytest.raises(ValueError, match="another run.*data"):
        evaluate_fmri(sim.subset(np.arange(15)), checkpoint_dir=tmp_path, **FMRI)
    evaluate_fmri(sim, checkpoint_dir=tmp_path, random_state=1, overwrite=True, **FMRI)
    with FolderLock(tmp_path), pytest.raises(FolderLockedError):
        evaluate_fmri(sim, checkpoint_dir=tmp_path, random_state=1, **FMRI)


@pytest.mark.parametrize("kwargs, match", [
    (dict(cv="kfold"), "cv must be"),
    (dict(cv="stratified", n_splits=1), "n_splits must be an int >= 2"),
    (dict(cv="stratified", n_splits=2.5), "n_splits must be an int >= 2"),
    (dict(cv="stratified", n_splits=12), "n_splits=12 is more than the 9 subjects"),
    (dict(methods=()), "methods is empty"),
])
def test_fmri_bad_parameters(sim, kwargs, match):
    args = dict(methods=("correlation_logreg",)) | kwargs
    with pytest.raises(ValueError, match=match):
        evaluate_fmri(sim, **args)


def test_fmri_one_site_is_refused_before_any_fit(sim):
    one = sim.subset(np.flatnonzero(sim.sites == "site-0"))
    with pytest.raises(ValueError, match="leave-site-out' needs at least 2 sites"):
        evaluate_fmri(one, methods=("correlation_logreg",))


def test_fmri_cli_resumes_and_locks(tmp_path, capsys):
    argv = ["fmri", "--n-subjects", "12", "--methods", "correlation_logreg",
            "--cv", "stratified", "--n-splits", "2", "--out", str(tmp_path), "-q"]
    assert main(argv) == 0
    folds = tmp_path / "simulated_stratified_folds"
    assert len(list(folds.glob("fold-*.json"))) == 2
    with FolderLock(tmp_path):
        assert main(argv) == 2
    assert "in use by another neuroattn run" in capsys.readouterr().err


# ---------------------------------------------------------- case 2, 3: seizure folds


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    from neuroattn.data.seizure import extract_windows, read_chbmit_summary
    from neuroattn.data.simulate import simulate_seizure_recordings

    sim = simulate_seizure_recordings(
        tmp_path_factory.mktemp("sim"), n_seizures=3, n_interictal_files=1,
        interictal_file_minutes=5, seizure_file_minutes=8, preictal_seconds=210,
        seizure_seconds=(20, 30), interictal_gap_hours=1.0, margin_seconds=60, sfreq=64,
        random_state=2)
    return extract_windows(read_chbmit_summary(sim.summary_path), window_seconds=4.0,
                           l_freq=1.0, h_freq=30.0, sph_seconds=30.0, sop_seconds=180.0,
                           min_interictal_seconds=1800.0, postictal_seconds=120.0)


def test_seizure_evaluation_resumes_after_an_interrupted_fold(windows, tmp_path,
                                                              monkeypatch, caplog, stand_in):
    reference = evaluate_leave_one_seizure_out(stand_in(ramp=True), windows)
    assert len(reference["folds"]) == 3
    _fail_on_call(monkeypatch, seizure_module, 2)
    with pytest.raises(KeyboardInterrupt):
        evaluate_leave_one_seizure_out(stand_in(ramp=True), windows, checkpoint_dir=tmp_path)
    monkeypatch.undo()
    calls = _fail_on_call(monkeypatch, seizure_module, 99)
    with caplog.at_level("INFO", logger="neuroattn.benchmark.seizure"):
        resumed = evaluate_leave_one_seizure_out(stand_in(ramp=True), windows,
                                                 checkpoint_dir=tmp_path)
    assert len(calls) == 2 and "1 of 3 folds already finished" in caplog.text
    pd.testing.assert_frame_equal(seizure_scores(resumed), seizure_scores(reference))
    assert resumed["events"] == reference["events"]
    assert resumed["alarms"] == reference["alarms"]
    for a, b in zip(resumed["traces"], reference["traces"]):
        assert a["probability"].dtype == b["probability"].dtype
        np.testing.assert_array_equal(a["probability"], b["probability"])


def test_seizure_records_of_another_run_are_refused(windows, tmp_path, stand_in):
    evaluate_leave_one_seizure_out(stand_in(ramp=True), windows, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=f"{tmp_path} holds the records of another "
                                         "run.*forecaster"):
        evaluate_leave_one_seizure_out(stand_in(ramp=True, threshold=0.6), windows,
                                       checkpoint_dir=tmp_path)
    with FolderLock(tmp_path), pytest.raises(FolderLockedError):
        evaluate_leave_one_seizure_out(stand_in(ramp=True), windows, checkpoint_dir=tmp_path)


def test_corrupt_fold_record_names_the_file(windows, tmp_path, stand_in):
    evaluate_leave_one_seizure_out(stand_in(ramp=True), windows, checkpoint_dir=tmp_path)
    (tmp_path / "fold-001.json").write_text('{"run": "x", "da')
    with pytest.raises(ValueError, match="fold-001.json: not a readable job record"):
        evaluate_leave_one_seizure_out(stand_in(ramp=True), windows, checkpoint_dir=tmp_path)


def test_seizure_cv_without_folds_is_refused(windows, stand_in):
    class NoFolds:
        def split(self, X):
            return iter(())

    with pytest.raises(ValueError, match="yielded no fold"):
        evaluate_leave_one_seizure_out(stand_in(ramp=True), windows, cv=NoFolds())


# ------------------------------------------------------------------- case 6: encoding


@pytest.mark.parametrize("kwargs, match", [
    (dict(Y=np.zeros(12)), r"Y must be \(n_images, n_voxels\)"),
    (dict(Y=np.where(np.eye(12, 3) > 0, np.nan, 1.0)), "Y .* must be finite.*3 NaN"),
    (dict(Y=np.ones((12, 3)), Y_repeats=np.ones((12, 3))), "Y_repeats must be"),
    (dict(Y=np.ones((12, 3)), Y_repeats=np.ones((12, 2, 4))), "Y_repeats must be"),
])
def test_encoding_bad_responses(kwargs, match):
    from neuroattn.benchmark.encoding import evaluate_encoding
    from neuroattn.data.encoding import FeatureTokens

    tokens = np.random.default_rng(0).normal(size=(12, 4, 8)).astype(np.float32)
    features = FeatureTokens(tokens, np.zeros((4, 2)), (2, 2))
    with pytest.raises(ValueError, match=match):
        evaluate_encoding(features, **kwargs)


# ------------------------------------------------------------ case 7: file permissions


def test_save_results_files_follow_the_umask(tmp_path, umask_022):
    from matplotlib.figure import Figure

    fig = Figure()
    fig.subplots().plot([0, 1])
    paths = save_results(pd.DataFrame({"a": [1]}), tmp_path / "new", "r", plot=fig,
                         extra_json={"a": 1})
    assert {k: _mode(p) for k, p in paths.items()} == {"csv": 0o644, "json": 0o644,
                                                       "png": 0o644}


def test_cli_pipelines_mix_shipped_names_and_yaml_files(tmp_path, monkeypatch):
    """``--pipelines CSP+LDA mine.yml``: the name from the shipped files, the file loaded."""
    import neuroattn.commands.benchmark as command

    (tmp_path / "mine.yml").write_text(f"name: Mine\nparadigms: [LeftRightImagery]\n"
                                       f"pipeline:\n{GOOD_STEP}")
    seen = {}

    def fake_run(pipelines, datasets, declared_paradigms=None, **kwargs):
        seen.update(pipes=list(pipelines), declared=declared_paradigms)
        raise KeyboardInterrupt

    monkeypatch.setattr("neuroattn.benchmark.run", fake_run)
    argv = ["benchmark", "--pipelines", "CSP+LDA", str(tmp_path / "mine.yml"), "--out",
            str(tmp_path / "out"), "-q"]
    assert main(argv) == 130
    assert seen["pipes"] == ["CSP+LDA", "Mine"]
    assert seen["declared"]["Mine"] == ["LeftRightImagery"] and "CSP+LDA" in seen["declared"]
    (tmp_path / "twice.yml").write_text(f"name: CSP+LDA\npipeline:\n{GOOD_STEP}")
    with pytest.raises(ValueError, match=r"--pipelines: 'CSP\+LDA' is named and also "
                                         r"defined in .*twice.yml"):
        command._pipelines(SimpleNamespace(pipelines=["CSP+LDA", str(tmp_path / "twice.yml")],
                                           device="cpu", max_epochs=None))
