"""Fan-out of evaluations through joblib (issue 13, item 5): jobs at once, one torch
thread per worker process, results equal to ``n_jobs=1``, a record per job written as
it ends, and the same code on a Dask cluster.

Starting worker processes means importing torch and neuroattn in each (tens of seconds
on a loaded machine), so the default run checks the machinery in-process (the worker's
thread limits with a stand-in parent, and joblib's threading backend, which exercises
the out-of-order assembly without processes, on models without torch); the process and
Dask runs are ``slow``.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import torch
from joblib import parallel_backend
from sklearn.pipeline import make_pipeline

from neuroattn import NeuroClassifier
from neuroattn.benchmark import load_pipelines, run
from neuroattn.benchmark._parallel import _run_job, check_n_jobs, fan_out
from neuroattn.benchmark.fmri import evaluate_fmri
from neuroattn.benchmark.seizure import evaluate_leave_one_seizure_out
from neuroattn.data.moabb import SimulatedMotorImagery
from neuroattn.data.simulate import simulate_fmri_rois

CONNECTIVITY = ("correlation_logreg",)
LABELS = dict(sph_seconds=30.0, sop_seconds=180.0, min_interictal_seconds=1800.0,
              postictal_seconds=120.0)
TINY_MAE = dict(max_epochs=1, model__embed_dim=8, model__n_heads=2, model__patch_size=2,
                max_segments_per_subject=3)


def _threads() -> tuple[int, list[int]]:
    from threadpoolctl import threadpool_info

    return torch.get_num_threads(), sorted({p["num_threads"] for p in threadpool_info()})


def _where(tag):
    return os.getpid(), tag, _threads()


def _boom(tag):
    raise ValueError(f"job {tag} failed")


@pytest.fixture(scope="module")
def fmri():
    return simulate_fmri_rois(24, n_regions=8, n_networks=2, n_timepoints=64, n_sites=3,
                              network_strength=0.7, coupling=0.8, random_state=1)


def _tiny_mi(n_subjects=2):
    return SimulatedMotorImagery(n_subjects=n_subjects, n_sessions=1, trials_per_run=12,
                                 sfreq=100.0)


# --- the machinery, in this process ------------------------------------------------

def test_a_worker_runs_with_one_thread_and_is_restored_after():
    before = _threads()
    torch_threads, pools = _run_job(0, _threads, (), parent=-1, capture_errors=False)[1]
    assert torch_threads == 1 and set(pools) <= {1}
    assert _threads() == before  # the worker process is left as it was


def _warn_and_log(k):
    import logging
    import warnings

    warnings.warn(f"job {k} found something odd", RuntimeWarning, stacklevel=1)
    logging.getLogger("neuroattn.benchmark").warning("job %d logged", k)
    logging.getLogger("neuroattn.benchmark").debug("job %d chatter", k)
    try:
        raise ZeroDivisionError("a step divided by zero")
    except ZeroDivisionError:
        logging.getLogger("neuroattn.benchmark").exception("job %d failed a step", k)
    return k


def test_warnings_and_logs_of_worker_processes_reach_the_caller(caplog):
    """A worker's stderr is not the user's: what a job warns and logs is raised and
    logged again in the calling process, at its own log level."""
    import logging

    caplog.set_level(logging.INFO, logger="neuroattn")
    with pytest.warns(RuntimeWarning, match=r"job [01] found something odd \(in a worker"):
        results = dict(fan_out(_warn_and_log, [(0,), (1,)], n_jobs=2))
    assert results == {0: 0, 1: 1}
    messages = [r.getMessage() for r in caplog.records]
    assert {"job 0 logged", "job 1 logged"} <= set(messages)
    assert not [m for m in messages if "chatter" in m]  # DEBUG is below the caller's level
    failed = [r for r in caplog.records if "failed a step" in r.getMessage()]
    assert failed and all("ZeroDivisionError" in (r.exc_text or "") for r in failed)


def test_the_calling_process_is_never_changed():
    before = _threads()
    with torch.random.fork_rng():
        torch.set_num_threads(2)
        try:
            assert _run_job(0, _threads, (), parent=os.getpid(),
                            capture_errors=False)[1][0] == 2
        finally:
            torch.set_num_threads(before[0])


def test_fan_out_yields_every_job_once_and_captures_failures():
    with parallel_backend("threading"):
        out = dict(fan_out(_where, [("a",), ("b",), ("c",)], n_jobs=2))
    assert sorted(out) == [0, 1, 2] and [out[k][1] for k in range(3)] == ["a", "b", "c"]
    failed = dict(fan_out(_boom, [("x",)], 1, capture_errors=True))
    assert "job x failed" in str(failed[0].error)
    with pytest.raises(ValueError, match="job x failed"):
        list(fan_out(_boom, [("x",)], 1))


def test_mi_jobs_at_once_equal_one_at_a_time(tmp_path):
    pipes = load_pipelines(names=["CSP+LDA"])
    one = run(pipes, [_tiny_mi()], output_dir=tmp_path / "one", n_jobs=1, verbose=0)
    with parallel_backend("threading"):
        two = run(pipes, [_tiny_mi()], output_dir=tmp_path / "two", n_jobs=2, verbose=0)
    cols = ["pipeline", "subject", "session", "score"]
    pd.testing.assert_frame_equal(one.results[cols], two.results[cols])
    assert len(list((tmp_path / "two" / "scores").glob("*.json"))) == 2 + 1  # + run.json
    again = run(pipes, [_tiny_mi()], output_dir=tmp_path / "two", n_jobs=2, verbose=0)
    assert again.resumed == 2


def test_fmri_folds_at_once_equal_one_at_a_time(fmri, tmp_path):
    one = evaluate_fmri(fmri, methods=CONNECTIVITY, n_jobs=1)
    with parallel_backend("threading"):
        two = evaluate_fmri(fmri, methods=CONNECTIVITY, n_jobs=2,
                            checkpoint_dir=tmp_path / "folds")
    cols = ["method", "split", "accuracy", "roc_auc"]
    pd.testing.assert_frame_equal(one[cols], two[cols])
    assert sorted(p.name for p in (tmp_path / "folds").glob("fold-*.json")) == [
        f"fold-{k:03d}.json" for k in range(3)]


def test_seizure_folds_at_once_equal_one_at_a_time(tmp_path, stand_in):
    from neuroattn.data.seizure import extract_windows, read_chbmit_summary
    from neuroattn.data.simulate import simulate_seizure_recordings

    sim = simulate_seizure_recordings(
        tmp_path / "sim", n_seizures=3, n_interictal_files=1, interictal_file_minutes=5,
        seizure_file_minutes=6, preictal_seconds=210, seizure_seconds=(20, 30),
        interictal_gap_hours=1.0, margin_seconds=60, sfreq=64, random_state=1)
    windows = extract_windows(read_chbmit_summary(sim.summary_path), window_seconds=4.0,
                              l_freq=1.0, h_freq=30.0, **LABELS)
    one = evaluate_leave_one_seizure_out(stand_in(), windows)
    with parallel_backend("threading"):
        two = evaluate_leave_one_seizure_out(stand_in(), windows, n_jobs=2,
                                             checkpoint_dir=tmp_path / "folds")
    assert one["folds"] == two["folds"] and one["events"] == two["events"]
    assert one["alarms"] == two["alarms"] and len(two["folds"]) == 3
    assert len(list((tmp_path / "folds").glob("fold-*.json"))) == 3


# --- bad input ------------------------------------------------------------------------

BAD_N_JOBS = [0, True, 1.5, "2"]


@pytest.mark.parametrize("value", BAD_N_JOBS)
def test_bad_input_n_jobs_refused_by_check(value):
    with pytest.raises(ValueError, match="n_jobs must be a non-zero int"):
        check_n_jobs(value)


@pytest.mark.parametrize("value", BAD_N_JOBS)
@pytest.mark.parametrize("where", ["mi", "fmri", "seizure"])
def test_bad_input_n_jobs_refused_before_any_work(where, value, fmri, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("work started before n_jobs was checked")

    if where == "mi":
        monkeypatch.setattr("neuroattn.benchmark.mi.get_dataset", forbidden)
        call = lambda: run(["CSP+LDA"], "simulated", n_jobs=value, verbose=0)  # noqa: E731
    elif where == "fmri":
        monkeypatch.setattr("neuroattn.benchmark.fmri.fmri_splits", forbidden)
        call = lambda: evaluate_fmri(fmri, methods=CONNECTIVITY, n_jobs=value)  # noqa: E731
    else:
        class Splitter:
            split = staticmethod(forbidden)

        call = lambda: evaluate_leave_one_seizure_out(  # noqa: E731
            object(), object(), cv=Splitter(), n_jobs=value)
    with pytest.raises(ValueError, match="n_jobs must be a non-zero int"):
        call()


@pytest.mark.parametrize("command", ["benchmark", "fmri"])
@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_bad_input_n_jobs_flag(command, value, capsys):
    from neuroattn.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--n-jobs", value])
    err = capsys.readouterr().err
    assert "--n-jobs: expected an integer >= 1, or -1 (one per core)" in err, err


def test_n_jobs_flag_reaches_the_evaluation(monkeypatch, tmp_path, capsys):
    from neuroattn.cli import main

    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr("neuroattn.benchmark.fmri.evaluate_fmri", fake)
    main(["fmri", "--n-subjects", "12", "--n-jobs", "-1", "--out", str(tmp_path / "o")])
    capsys.readouterr()
    assert seen["n_jobs"] == -1


# --- worker processes and a Dask cluster (slow: each worker imports torch) ----------

@pytest.mark.slow
def test_processes_one_torch_thread_each_parent_untouched():
    before = _threads()
    out = dict(fan_out(_where, [(k,) for k in range(4)], n_jobs=2))
    pids = {pid for pid, _, _ in out.values()}
    assert os.getpid() not in pids and len(out) == 4
    assert {threads for _, _, (threads, _) in out.values()} == {1}
    assert _threads() == before


@pytest.mark.slow
def test_processes_mi_with_a_torch_pipeline_equal_one_at_a_time(tmp_path):
    pipes = load_pipelines(names=["CSP+LDA"])
    pipes["CAN-fast"] = make_pipeline(NeuroClassifier(
        "channel_attention_net", max_epochs=2, batch_size=16, device="cpu", random_state=0,
        model__pool_length=30, model__pool_stride=6, model__head_pool=4))
    one = run(pipes, [_tiny_mi(2)], n_jobs=1, verbose=0)
    two = run(pipes, [_tiny_mi(2)], output_dir=tmp_path, n_jobs=2, verbose=0)
    cols = ["pipeline", "subject", "session", "score"]
    pd.testing.assert_frame_equal(one.results[cols], two.results[cols])
    assert len(list((tmp_path / "scores").glob("*.json"))) == 4 + 1


@pytest.mark.slow
def test_processes_fmri_with_brainmae_equal_one_at_a_time(fmri):
    methods = ("brainmae_probe", "correlation_logreg")
    params = dict(methods=methods, pretrainer_params={**TINY_MAE, "device": "cpu"},
                  finetune_params={"max_epochs": 1})
    one = evaluate_fmri(fmri, n_jobs=1, **params)
    two = evaluate_fmri(fmri, n_jobs=2, **params)
    cols = ["method", "split", "accuracy", "roc_auc"]
    pd.testing.assert_frame_equal(one[cols], two[cols])


@pytest.mark.slow
def test_dask_local_cluster_runs_the_same_folds(fmri, tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="dask distributed is the optional extra 'distributed'")
    methods = ("brainmae_probe", "correlation_logreg")
    params = dict(methods=methods, pretrainer_params={**TINY_MAE, "device": "cpu"},
                  finetune_params={"max_epochs": 1})
    one = evaluate_fmri(fmri, n_jobs=1, **params)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), parallel_backend("dask"):
        two = evaluate_fmri(fmri, n_jobs=-1, checkpoint_dir=tmp_path / "folds", **params)
    cols = ["method", "split", "accuracy", "roc_auc"]
    pd.testing.assert_frame_equal(one[cols], two[cols])
    assert len(list((tmp_path / "folds").glob("fold-*.json"))) == 3
    assert np.isfinite(two["accuracy"]).all()
