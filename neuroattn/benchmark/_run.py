"""``neuroattn.benchmark.run``: MOABB evaluations of pipelines on datasets, with reports."""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..data.moabb import get_dataset, get_paradigm
from ._pipelines import load_pipelines
from ._report import format_summary, plot_paired, summary_table

__all__ = ["run", "BenchmarkResult", "EVALUATIONS", "DEFAULT_PIPELINES"]

#: Evaluation names to MOABB evaluation classes.
EVALUATIONS = {"within_session": "WithinSessionEvaluation",
               "cross_session": "CrossSessionEvaluation",
               "cross_subject": "CrossSubjectEvaluation"}

#: The pipelines of the default (offline, few-minute) run.
DEFAULT_PIPELINES = ("CSP+LDA", "TS+LR", "CAN-SE")


@dataclass
class BenchmarkResult:
    """What :func:`run` produced.

    Attributes
    ----------
    results : pandas.DataFrame
        MOABB's per-subject/session table (``score``, ``time``, ``pipeline``,
        ``dataset``, ``subject``, ``session``, ...).
    summary : pandas.DataFrame
        :func:`~neuroattn.benchmark.summary_table` of ``results``.
    table : str
        The summary as printable text.
    csv_path, summary_path, plot_path : Path | None
        Written files (None when ``output_dir`` was None or nothing could be drawn).
    """

    results: pd.DataFrame
    summary: pd.DataFrame
    table: str
    csv_path: Path | None = None
    summary_path: Path | None = None
    plot_path: Path | None = None
    seconds: float = field(default=0.0)


def _evaluation(name: str, paradigm, datasets: list, random_state: int, n_jobs: int,
                hdf5_path: str):
    import moabb.evaluations as mevaluations

    if name not in EVALUATIONS:
        raise ValueError(f"Unknown evaluation {name!r}; expected one of {sorted(EVALUATIONS)}.")
    if name == "cross_session":
        few = [d.code for d in datasets if d.n_sessions < 2]
        if few:
            raise ValueError(f"cross_session needs at least 2 sessions per subject; {few} "
                             "have fewer. Use within_session or cross_subject.")
    if name == "cross_subject":
        few = [d.code for d in datasets if len(d.subject_list) < 2]
        if few:
            raise ValueError(f"cross_subject needs at least 2 subjects; {few} have fewer.")
    cls = getattr(mevaluations, EVALUATIONS[name])
    return cls(paradigm=paradigm, datasets=datasets, random_state=random_state,
               n_jobs=n_jobs, overwrite=True, hdf5_path=hdf5_path, save_model=False,
               verbose="ERROR")


def run(pipelines: dict | list[str] | str | None = None,
        datasets: list | str = "simulated", *, evaluation: str = "within_session",
        paradigm: str = "left_right", subjects: list[int] | None = None,
        baseline: str | None = "CSP+LDA", output_dir: str | Path | None = None,
        paradigm_kwargs: dict[str, Any] | None = None, random_state: int = 0,
        n_jobs: int = 1, verbose: bool = True) -> BenchmarkResult:
    """Evaluate pipelines on MOABB datasets and report mean +/- std per pipeline.

    Parameters
    ----------
    pipelines : dict | list of str | str | None
        A ``{name: sklearn pipeline}`` dict, names of neuroattn's YAML pipelines
        (see :func:`~neuroattn.benchmark.list_pipelines`), a path to YAML files, or
        None for :data:`DEFAULT_PIPELINES`.
    datasets : list | str
        MOABB dataset class names (``"BNCI2014_001"``, ``"PhysionetMI"``), dataset
        instances, or ``"simulated"`` (offline, the default).
    evaluation : {"within_session", "cross_session", "cross_subject"}
        MOABB evaluation.
    paradigm : {"left_right", "motor_imagery", "filter_bank_left_right"}
        MOABB paradigm; the score is ROC AUC for two classes, accuracy otherwise.
    subjects : list of int | None
        Subjects to evaluate in every dataset (default all).
    baseline : str | None
        Pipeline on the x axis of the paired plot (None: no plot).
    output_dir : str | Path | None
        Where to write ``results.csv``, ``summary.csv`` and ``paired.png``.
    paradigm_kwargs : dict | None
        Passed to the paradigm (``fmin``, ``fmax``, ``resample``, ``n_classes``...).
    random_state : int
        Seeds MOABB's folds and torch before each pipeline.
    n_jobs : int
        MOABB's parallel jobs.
    verbose : bool
        Show a progress bar (one step per dataset and pipeline) and timings.

    Returns
    -------
    BenchmarkResult

    Raises
    ------
    ValueError
        On unknown datasets, pipelines, evaluation or paradigm names, a paradigm that
        does not suit a dataset, too few sessions (cross-session) or subjects
        (cross-subject), or a baseline that is not among the pipelines.
    """
    import torch
    from tqdm.auto import tqdm

    start = time.perf_counter()
    if isinstance(datasets, (str,)) or not isinstance(datasets, (list, tuple)):
        datasets = [datasets]
    dsets = [get_dataset(d, subjects) for d in datasets]
    para = get_paradigm(paradigm, **(paradigm_kwargs or {}))
    bad = [d.code for d in dsets if not para.is_valid(d)]
    if bad:
        raise ValueError(f"Paradigm {type(para).__name__} does not apply to {bad}.")
    if pipelines is None:
        pipes = load_pipelines(names=list(DEFAULT_PIPELINES))
    elif isinstance(pipelines, dict):
        pipes = dict(pipelines)
    elif isinstance(pipelines, (list, tuple)) and all(isinstance(p, str) for p in pipelines) \
            and not any(p.endswith((".yml", ".yaml", "/")) for p in pipelines):
        pipes = load_pipelines(names=list(pipelines))
    else:
        pipes = load_pipelines(pipelines)
    if not pipes:
        raise ValueError("No pipeline to evaluate.")
    if baseline is not None and baseline not in pipes:
        raise ValueError(f"baseline {baseline!r} is not among the pipelines {list(pipes)}.")

    frames = []
    with tempfile.TemporaryDirectory() as hdf5, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("moabb").setLevel(logging.ERROR)
        jobs = [(d, n) for d in dsets for n in pipes]
        bar = tqdm(jobs, disable=not verbose, desc="benchmark", unit="pipeline")
        for dataset, name in bar:
            bar.set_postfix_str(f"{dataset.code[:24]} / {name}")
            torch.manual_seed(random_state)
            ev = _evaluation(evaluation, para, [dataset], random_state, n_jobs, hdf5)
            frames.append(ev.process({name: pipes[name]}))
    results = pd.concat(frames, ignore_index=True)
    summary = summary_table(results)
    metric = "roc_auc" if para.scoring == "roc_auc" else str(para.scoring)
    table = format_summary(summary, metric=f"{metric}, {evaluation}")
    out = BenchmarkResult(results, summary, table, seconds=time.perf_counter() - start)
    if output_dir is not None:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        out.csv_path = output_dir / "results.csv"
        results.to_csv(out.csv_path, index=False)
        out.summary_path = output_dir / "summary.csv"
        summary.to_csv(out.summary_path)
        if baseline is not None and len(pipes) > 1:
            out.plot_path = plot_paired(results, baseline, output_dir / "paired.png",
                                        metric=metric)
    return out
