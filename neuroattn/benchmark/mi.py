"""Motor-imagery and SSVEP tracks: MOABB evaluations of pipelines on datasets, with
reports.

The splitter is MOABB's evaluation (within-session k-fold, cross-session, cross-subject);
each pipeline is fitted per fold by MOABB; the scores table is MOABB's result table (one
row per subject x session x pipeline); :func:`run` writes it with
:func:`~neuroattn.benchmark.save_results`. ``neuroattn benchmark`` is its command line.

SSVEP (``paradigm="ssvep"`` / ``"filter_bank_ssvep"``): MOABB's ``SSVEP_CCA``,
``SSVEP_TRCA`` and ``SSVEP_MsetCCA`` get ``mne.Epochs`` and the dataset's class names
(the stimulus frequencies), not MOABB's label-encoded ``0..k-1`` with which CCA and TRCA
score at chance (see :mod:`neuroattn.benchmark._ssvep`); each pipeline runs on the SSVEP
paradigm it declares (same trials, same folds). Leave-one-subject-out drops a recording
released under two subjects (Kalunga2016: subject 7's first run is subject 3's second)
from training when either subject is tested, and says so (``notes``, the table, the
``note`` column of the results).
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._files import FolderLock, check_output_dir
from ..data.moabb import (
    SSVEP_PARADIGMS,
    get_dataset,
    get_paradigm,
)
from ._mi_report import format_summary, plot_paired, summary_table
from ._moabb_jobs import EVALUATIONS, _check_evaluation, _evaluate_job
from ._parallel import JobFailure, check_n_jobs, fan_out
from ._pipelines import load_pipelines, pipeline_paradigms
from ._report import save_results
from ._resume import JobRecords, dataset_fingerprint, fingerprint, job_id
from ._ssvep import (
    check_frequency_classes,
    duplicate_notes,
    job_paradigms,
    ssvep_classes,
)

__all__ = ["run", "BenchmarkResult", "PipelineFailedError", "EVALUATIONS",
           "DEFAULT_PIPELINES", "DEFAULT_BASELINES", "default_pipelines", "summary_table",
           "format_summary", "plot_paired"]

logger = logging.getLogger(__name__)

#: The pipelines of the default (offline, few-minute) motor-imagery run.
DEFAULT_PIPELINES = ("CSP+LDA", "TS+LR", "CAN-SE")

#: ``baseline="auto"``: the pipeline on the x axis of the paired plot, per paradigm family.
DEFAULT_BASELINES = {"mi": "CSP+LDA", "ssvep": "CCA"}


def default_pipelines(paradigm: str = "left_right") -> tuple[str, ...]:
    """Names of the pipelines a run uses when none are given.

    Parameters
    ----------
    paradigm : str
        A :func:`~neuroattn.data.moabb.get_paradigm` name.

    Returns
    -------
    tuple of str
        :data:`DEFAULT_PIPELINES` for motor imagery; for ``"ssvep"`` and
        ``"filter_bank_ssvep"`` every shipped pipeline that declares an SSVEP paradigm
        (``SSVEP`` or ``FilterBankSSVEP``; ``neuroattn/pipelines/ssvep/``).
    """
    if paradigm not in SSVEP_PARADIGMS:
        return DEFAULT_PIPELINES
    return tuple(name for name, declared in pipeline_paradigms().items()
                 if {"SSVEP", "FilterBankSSVEP"} & set(declared))


class PipelineFailedError(RuntimeError):
    """A pipeline raised during :func:`run` (with ``on_error="stop"``); the message names
    the pipeline, dataset and subject, and the results that were kept."""


@dataclass
class BenchmarkResult:
    """What :func:`run` produced.

    Attributes
    ----------
    results : pandas.DataFrame
        MOABB's per-subject/session table (``score``, ``time``, ``pipeline``,
        ``dataset``, ``subject``, ``session``, ...); with failures (``on_error=
        "continue"``) a row per failed job with a NaN ``score`` and its ``error``.
    summary : pandas.DataFrame
        :func:`~neuroattn.benchmark.summary_table` of ``results``.
    table : str
        The summary as printable text, followed by the failed jobs if any.
    csv_path, summary_path, plot_path, failures_path : Path | None
        Written files (None when ``output_dir`` was None or nothing could be drawn).
    failures : pandas.DataFrame
        One row per failed job: ``pipeline``, ``dataset``, ``subject`` (None for a
        cross-subject job), ``error``.
    resumed : int
        Jobs read back from ``output_dir`` instead of being evaluated again.
    notes : list of str
        What was changed on the way and how (SSVEP classes left out, a duplicated
        recording dropped from training); also printed at the end of ``table``.
    """

    results: pd.DataFrame
    summary: pd.DataFrame
    table: str
    csv_path: Path | None = None
    summary_path: Path | None = None
    plot_path: Path | None = None
    seconds: float = field(default=0.0)
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FAILURE_COLUMNS))
    failures_path: Path | None = None
    resumed: int = 0
    notes: list[str] = field(default_factory=list)


#: Columns of :attr:`BenchmarkResult.failures` (and ``failures.csv``).
FAILURE_COLUMNS = ["pipeline", "dataset", "subject", "error"]


def _resolve_pipelines(pipelines: dict | list[str] | str | Path | None,
                       paradigm: str = "left_right") -> tuple[dict, dict]:
    """The pipelines, and the MOABB paradigms their YAML files declare."""
    if pipelines is None:
        names = list(default_pipelines(paradigm))
        return load_pipelines(names=names), pipeline_paradigms()
    if isinstance(pipelines, dict):
        return dict(pipelines), {}
    if isinstance(pipelines, (list, tuple)) and all(isinstance(p, str) for p in pipelines) \
            and not any(p.endswith((".yml", ".yaml", "/")) for p in pipelines):
        return load_pipelines(names=list(pipelines)), pipeline_paradigms()
    return load_pipelines(pipelines), pipeline_paradigms(pipelines)


def run(pipelines: dict | list[str] | str | None = None,
        datasets: list | str = "simulated", *, evaluation: str = "within_session",
        paradigm: str = "left_right", subjects: list[int] | None = None,
        baseline: str | None = "auto", output_dir: str | Path | None = None,
        paradigm_kwargs: dict[str, Any] | None = None, random_state: int = 0,
        n_jobs: int = 1, on_error: str = "stop", overwrite: bool = False,
        drop_duplicate_runs: bool = True, declared_paradigms: dict | None = None,
        verbose: int = 1) -> BenchmarkResult:
    """Evaluate pipelines on MOABB datasets and report mean +/- std per pipeline.

    The work is split into jobs (a pipeline on one subject of a dataset; on a whole
    dataset for ``cross_subject``). With ``output_dir``, each job's scores are written
    to ``output_dir/scores/`` as soon as it ends, the folder is locked for the run, and
    a rerun on the same folder continues with the jobs not yet finished (logged).

    Parameters
    ----------
    pipelines : dict | list of str | str | None
        A ``{name: sklearn pipeline}`` dict, names of neuroattn's YAML pipelines
        (see :func:`~neuroattn.benchmark.list_pipelines`), a path to YAML files, or
        None for :func:`default_pipelines` of the paradigm. A YAML file is code (its
        ``from:`` modules are imported): give only files you trust.
    datasets : list | str
        MOABB dataset class names (``"BNCI2014_001"``, ``"PhysionetMI"``), dataset
        instances, or ``"simulated"`` (offline, the default).
    evaluation : {"within_session", "cross_session", "cross_subject"}
        MOABB evaluation.
    paradigm : {"left_right", "motor_imagery", "filter_bank_left_right", "ssvep", \
"filter_bank_ssvep"}
        MOABB paradigm; the score is ROC AUC for two classes, accuracy otherwise. SSVEP:
        without ``events`` / ``n_classes`` the classes are the stimulus frequencies
        every dataset has (a class without one, like Kalunga2016's ``rest``, is left
        out and a note says so); a pipeline declaring only the other SSVEP paradigm
        runs on that one, with the same classes and window.
    subjects : list of int | None
        Subjects to evaluate in every dataset (default all).
    baseline : str | None
        Pipeline on the x axis of the paired plot (None: no plot); ``"auto"``:
        :data:`DEFAULT_BASELINES` of the paradigm (``CSP+LDA``, or ``CCA`` for SSVEP).
    output_dir : str | Path | None
        Where to write ``results.csv``, ``summary.csv``, ``paired.png``,
        ``failures.csv`` (when a job failed) and the per-job records ``scores/``;
        checked (created, writable) before any data is loaded.
    paradigm_kwargs : dict | None
        Passed to the paradigm (``fmin``, ``fmax``, ``resample``, ``n_classes``...).
    random_state : int
        Seeds MOABB's folds, and torch's random numbers for each job (in a fork of
        torch's generator: the caller's global RNG state is left as it was).
    n_jobs : int | None
        Jobs (pipeline x dataset x subject) evaluated at once through joblib, each in a
        worker process with one torch thread; the scores equal those of ``n_jobs=1``
        and each job's record is written as it ends. ``-1``: one per core; a lone job
        (cross-subject, one pipeline and dataset) passes ``n_jobs`` to MOABB, which
        then fits its folds at once. Inside ``joblib.parallel_backend("dask")`` the
        jobs run on a Dask cluster (``n_jobs=-1`` or None: all its workers).
    on_error : {"stop", "continue"}
        When a pipeline raises: ``"stop"`` writes the finished jobs' results and
        raises :class:`PipelineFailedError` naming the pipeline, dataset and subject;
        ``"continue"`` warns, records the failure (``failures``, ``failures.csv``, the
        printed table) and goes on with the other jobs.
    overwrite : bool
        Discard the job records of a previous run in ``output_dir`` instead of
        continuing it.
    drop_duplicate_runs : bool
        ``cross_subject`` only: leave a recording a dataset releases twice (see
        :data:`~neuroattn.data.moabb.DUPLICATE_RUNS`) out of training when the subject
        holding the other copy is tested. False keeps MOABB's plain leave-one-subject-out
        (and a note says that two subjects' scores include a seen recording).
    declared_paradigms : dict | None
        ``{pipeline name: [MOABB paradigm class names]}`` for pipelines given as a
        dict (read from the YAML files otherwise): picks the SSVEP paradigm each runs on.
    verbose : int
        0: silent; 1 or more: a progress bar (one step per job) and a log line when
        finished jobs are read back.

    Returns
    -------
    BenchmarkResult

    Raises
    ------
    ValueError
        On unknown datasets, pipelines, evaluation, paradigm or ``on_error`` values,
        ``n_jobs`` 0 or not an int, a
        paradigm that does not suit a dataset, too few sessions (cross-session) or
        subjects (cross-subject), a baseline that is not among the pipelines, an SSVEP
        pipeline reading stimulus frequencies from class names with a class that has
        none, an
        ``output_dir`` that is a file, or one that holds the records of a run with
        other parameters (or another pipeline of the same name).
    PipelineFailedError
        With ``on_error="stop"``, when a pipeline raises (the finished jobs are kept).
    neuroattn._files.FolderLockedError
        If another run is writing ``output_dir``.
    """
    if on_error not in ("stop", "continue"):
        raise ValueError(f"on_error must be 'stop' or 'continue', got {on_error!r}.")
    n_jobs = check_n_jobs(n_jobs)
    options = dict(drop_duplicate_runs=bool(drop_duplicate_runs),
                   declared_paradigms=declared_paradigms)
    if output_dir is None:
        return _run(pipelines, datasets, evaluation, paradigm, subjects, baseline, None,
                    paradigm_kwargs, random_state, n_jobs, on_error, overwrite, verbose,
                    **options)
    folder = check_output_dir(output_dir, parameter="output_dir")
    with FolderLock(folder):
        return _run(pipelines, datasets, evaluation, paradigm, subjects, baseline, folder,
                    paradigm_kwargs, random_state, n_jobs, on_error, overwrite, verbose,
                    **options)


def _run(pipelines, datasets, evaluation, paradigm, subjects, baseline, folder,
         paradigm_kwargs, random_state, n_jobs, on_error, overwrite,
         verbose, drop_duplicate_runs=True, declared_paradigms=None) -> BenchmarkResult:
    from tqdm.auto import tqdm

    start = time.perf_counter()
    if isinstance(datasets, (str,)) or not isinstance(datasets, (list, tuple)):
        datasets = [datasets]
    dsets = [get_dataset(d, subjects) for d in datasets]
    ssvep = paradigm in SSVEP_PARADIGMS
    kwargs = dict(paradigm_kwargs or {})
    notes: list[str] = []
    para = get_paradigm(paradigm, **kwargs)
    bad = [d.code for d in dsets if not para.is_valid(d)]
    if bad:
        raise ValueError(f"Paradigm {type(para).__name__} does not apply to {bad}.")
    _check_evaluation(evaluation, dsets)
    pipes, declared = _resolve_pipelines(pipelines, paradigm)
    if not pipes:
        raise ValueError("No pipeline to evaluate.")
    if baseline == "auto":
        baseline = DEFAULT_BASELINES["ssvep" if ssvep else "mi"]
    if baseline is not None and baseline not in pipes:
        raise ValueError(f"baseline {baseline!r} is not among the pipelines {list(pipes)}.")
    paras = {name: para for name in pipes}
    dup_notes: dict[tuple, str] = {}
    if ssvep:
        kwargs, note = ssvep_classes(paradigm, kwargs, dsets)
        notes += [note] if note else []
        paras = job_paradigms(pipes, {**declared, **(declared_paradigms or {})}, paradigm,
                              kwargs)
        para = next(iter(paras.values()))
        check_frequency_classes(pipes, para, dsets)
        dup_notes = duplicate_notes(dsets, evaluation, drop_duplicate_runs)
        notes += list(dict.fromkeys(dup_notes.values()))
        for note in dict.fromkeys(dup_notes.values()):
            logger.info(note)
    records = None
    if folder is not None:
        identity = {"evaluation": "moabb", "moabb_evaluation": evaluation,
                    "paradigm": paradigm, "paradigm_kwargs": paradigm_kwargs or {},
                    "random_state": random_state,
                    # the datasets' own settings (PhysionetMI(imagined=False) has the same
                    # code as PhysionetMI()); their subject lists are per job
                    "datasets": {d.code: dataset_fingerprint(d) for d in dsets}}
        if ssvep:
            identity.update(paradigm_kwargs=kwargs, drop_duplicate_runs=drop_duplicate_runs)
        records = JobRecords(folder / "scores", identity, overwrite=overwrite,
                             parameter="output_dir").open()
    jobs = [(d, name, s) for d in dsets for name in pipes
            for s in ([None] if evaluation == "cross_subject" else list(d.subject_list))]
    prints = {name: fingerprint(pipe) for name, pipe in pipes.items()}
    failures: list[dict] = []
    resumed = 0
    todo = []
    for job in jobs:
        record = None if records is None else records.load(job_id(*_job_key(job)))
        if record is not None and record["pipeline_repr"] != prints[job[1]]:
            raise ValueError(
                f"{records.path(job_id(*_job_key(job)))}: pipeline {job[1]!r} of the "
                f"previous run in {folder} differs from the one given now; use another "
                "output folder or pass overwrite=True (--overwrite).")
        todo.append((job, record))
        resumed += record is not None
    if resumed and verbose:
        logger.info("%s: %d of %d jobs (pipeline x dataset x subject) already finished; "
                    "continuing with the %d others (overwrite=True / --overwrite starts "
                    "again)", folder, resumed, len(jobs), len(jobs) - resumed)

    pending = [k for k, (_, record) in enumerate(todo) if record is None]
    done = {k: record["rows"] for k, (_, record) in enumerate(todo) if record is not None}
    # A lone job gets MOABB's own n_jobs (its folds at once); several jobs run at once
    # through joblib, each with MOABB's folds in turn and one torch thread.
    inner = n_jobs if len(pending) == 1 and n_jobs is not None else 1
    tasks = [(evaluation, paras[todo[k][0][1]], todo[k][0][0], todo[k][0][2], todo[k][0][1],
              pipes[todo[k][0][1]], random_state, inner, drop_duplicate_runs)
             for k in pending]
    moabb_logger = logging.getLogger("moabb")
    moabb_level = moabb_logger.level
    moabb_logger.setLevel(logging.ERROR)  # MOABB's per-fold INFO lines; restored below
    try:
        bar = tqdm(total=len(todo), initial=resumed, disable=verbose < 1, desc="benchmark",
                   unit="job")
        for position, outcome in fan_out(_evaluate_job, tasks, n_jobs, capture_errors=True):
            k = pending[position]
            dataset, name, subject = todo[k][0]
            bar.update()
            bar.set_postfix_str(f"{dataset.code[:24]} / {name}"
                                + ("" if subject is None else f" / {subject}"))
            if isinstance(outcome, JobFailure):
                exc = outcome.error
                where = (f"pipeline {name!r} failed on dataset {dataset.code}"
                         + ("" if subject is None else f", subject {subject}"))
                failures.append({"pipeline": name, "dataset": dataset.code,
                                 "subject": subject,
                                 "error": f"{type(exc).__name__}: {exc}"})
                if on_error == "stop":
                    rows = [r for j in sorted(done) for r in done[j]]
                    kept = _finish(rows, failures, para, evaluation, baseline, pipes,
                                   folder, start, resumed, in_table=False, notes=notes)
                    saved = (f" The {len(rows)} scores of the finished jobs are in "
                             f"{kept.csv_path}; rerun to continue with the others."
                             if kept is not None and kept.csv_path else "")
                    raise PipelineFailedError(
                        f"{where}: {type(exc).__name__}: {exc}.{saved} Use on_error="
                        "'continue' (--on-error continue) to go on past failures.") from exc
                warnings.warn(f"{where}: {type(exc).__name__}: {exc}; recorded as a failure, "
                              "continuing with the other jobs.", RuntimeWarning, stacklevel=3)
                continue
            done[k] = outcome
            if records is not None:
                records.save(job_id(*_job_key((dataset, name, subject))),
                             {"pipeline_repr": prints[name], "rows": outcome})
        bar.close()
    finally:
        moabb_logger.setLevel(moabb_level)
    rows = [r for k in sorted(done) for r in done[k]]  # in job order, however they ran
    if dup_notes:
        for row in rows:
            note = dup_notes.get((row.get("dataset"), _as_int(row.get("subject"))))
            if note:
                row["note"] = note
    return _finish(rows, failures, para, evaluation, baseline, pipes, folder, start, resumed,
                   notes=notes)


def _as_int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _job_key(job: tuple) -> tuple:
    dataset, name, subject = job
    return (dataset.code, name, "all" if subject is None else subject)


def _finish(rows: list[dict], failures: list[dict], para, evaluation: str,
            baseline: str | None, pipes: dict, folder: Path | None, start: float,
            resumed: int, in_table: bool = True,
            notes: list[str] | None = None) -> BenchmarkResult | None:
    """The result of the finished jobs (and failures), written to ``folder``; None when
    nothing is to be reported. ``in_table``: failed jobs also get a row (NaN score)."""
    fails = pd.DataFrame(failures, columns=FAILURE_COLUMNS)
    failed_rows = [{"score": np.nan, "dataset": f["dataset"], "pipeline": f["pipeline"],
                    "subject": None if f["subject"] is None else str(f["subject"]),
                    "error": f["error"]} for f in failures] if in_table else []
    if folder is not None:
        failures_path = folder / "failures.csv"
        if failures:
            save_results(fails, folder, "failures")
        else:
            failures_path.unlink(missing_ok=True)  # a stale list of an earlier run
    if not rows and not failed_rows:
        return None
    results = pd.DataFrame(rows + failed_rows)
    if not rows:  # every job failed: the table has the failures only
        results = results.reindex(columns=["score", "pipeline", "dataset", "subject",
                                           "session", "error"])
    summary = summary_table(results)
    metric = "roc_auc" if para.scoring == "roc_auc" else str(para.scoring)
    table = format_summary(summary, metric=f"{metric}, {evaluation}")
    if failures:
        table += f"\n\n{len(failures)} failed job(s):\n" + "\n".join(
            f"  {f['pipeline']} on {f['dataset']}"
            + ("" if f["subject"] is None else f" subject {f['subject']}")
            + f": {f['error']}" for f in failures)
    if notes:
        table += "\n\nNotes:\n" + "\n".join(f"  {n}" for n in notes)
    out = BenchmarkResult(results, summary, table, seconds=time.perf_counter() - start,
                          failures=fails, resumed=resumed, notes=list(notes or []))
    logger.info("%d scores in %.0f s", len(rows), out.seconds)
    if folder is not None:
        out.csv_path = save_results(results, folder, "results")["csv"]
        out.summary_path = save_results(summary, folder, "summary")["csv"]
        out.failures_path = folder / "failures.csv" if failures else None
        scored = results.dropna(subset=["score"])
        if baseline is not None and len(pipes) > 1 and baseline in set(scored["pipeline"]) \
                and scored["pipeline"].nunique() > 1:
            out.plot_path = plot_paired(scored, baseline, folder / "paired.png",
                                        metric=metric)
    return out
