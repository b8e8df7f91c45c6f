"""Motor-imagery track: MOABB evaluations of pipelines on datasets, with reports.

The splitter is MOABB's evaluation (within-session k-fold, cross-session, cross-subject);
each pipeline is fitted per fold by MOABB; the scores table is MOABB's result table (one
row per subject x session x pipeline); :func:`run` writes it with
:func:`~neuroattn.benchmark.save_results`. ``neuroattn benchmark`` is its command line.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.moabb import get_dataset, get_paradigm
from ._pipelines import load_pipelines
from ._report import save_figure, save_results

__all__ = ["run", "BenchmarkResult", "EVALUATIONS", "DEFAULT_PIPELINES", "summary_table",
           "format_summary", "plot_paired"]

logger = logging.getLogger(__name__)

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


def _ignore_known_moabb_warnings() -> None:
    """Silence only the warnings MOABB raises on every run (all others reach the caller).

    MOABB stores scores in an HDF5 file (here a temporary one, discarded) and creates
    its datasets without a dtype, which h5py >= 3.12 deprecates; it says nothing about
    the evaluation. Call inside ``warnings.catch_warnings()``.
    """
    warnings.filterwarnings("ignore", message="Creating a dataset without passing data or "
                            "dtype is deprecated", module="moabb")


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
        n_jobs: int = 1, verbose: int = 1) -> BenchmarkResult:
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
        Seeds MOABB's folds, and torch's random numbers for each pipeline (in a fork
        of torch's generator: the caller's global RNG state is left as it was).
    n_jobs : int
        MOABB's parallel jobs.
    verbose : int
        0: silent; 1 or more: a progress bar (one step per dataset and pipeline).

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
    moabb_logger = logging.getLogger("moabb")
    moabb_level = moabb_logger.level
    moabb_logger.setLevel(logging.ERROR)  # MOABB's per-fold INFO lines; restored below
    try:
        with tempfile.TemporaryDirectory() as hdf5:
            jobs = [(d, n) for d in dsets for n in pipes]
            bar = tqdm(jobs, disable=verbose < 1, desc="benchmark", unit="pipeline")
            for dataset, name in bar:
                bar.set_postfix_str(f"{dataset.code[:24]} / {name}")
                ev = _evaluation(evaluation, para, [dataset], random_state, n_jobs, hdf5)
                # Pipelines without a seed of their own draw from torch's global RNG:
                # seed it for this pipeline in a fork, so the caller's RNG is untouched.
                with torch.random.fork_rng(), warnings.catch_warnings():
                    _ignore_known_moabb_warnings()
                    torch.manual_seed(random_state)
                    frames.append(ev.process({name: pipes[name]}))
    finally:
        moabb_logger.setLevel(moabb_level)
    results = pd.concat(frames, ignore_index=True)
    summary = summary_table(results)
    metric = "roc_auc" if para.scoring == "roc_auc" else str(para.scoring)
    table = format_summary(summary, metric=f"{metric}, {evaluation}")
    out = BenchmarkResult(results, summary, table, seconds=time.perf_counter() - start)
    logger.info("%d scores in %.0f s", len(results), out.seconds)
    if output_dir is not None:
        out.csv_path = save_results(results, output_dir, "results")["csv"]
        out.summary_path = save_results(summary, output_dir, "summary")["csv"]
        if baseline is not None and len(pipes) > 1:
            out.plot_path = plot_paired(results, baseline, Path(output_dir) / "paired.png",
                                        metric=metric)
    return out


def _check_results(results: pd.DataFrame) -> None:
    need = {"score", "pipeline", "dataset", "subject", "session"}
    missing = need - set(results.columns)
    if missing:
        raise ValueError(f"results lack the columns {sorted(missing)} of a MOABB result table.")
    if results.empty:
        raise ValueError("results is empty: no pipeline was evaluated.")


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of the score per pipeline and dataset.

    Parameters
    ----------
    results : pandas.DataFrame
        MOABB results: one row per subject / session (/ fold) with ``score``,
        ``pipeline``, ``dataset``, ``subject``, ``session``.

    Returns
    -------
    pandas.DataFrame
        Index ``pipeline``; for each dataset the columns ``(dataset, "mean")``,
        ``(dataset, "std")`` and ``(dataset, "n")``, rows sorted by the mean over
        datasets, best first.

    Raises
    ------
    ValueError
        If columns are missing or the table is empty.
    """
    _check_results(results)
    table = results.groupby(["pipeline", "dataset"])["score"].agg(["mean", "std", "count"])
    table = table.rename(columns={"count": "n"}).unstack("dataset")
    table = table.swaplevel(0, 1, axis=1).sort_index(axis=1, level=0, sort_remaining=False)
    order = results.groupby("pipeline")["score"].mean().sort_values(ascending=False).index
    return table.loc[order]


def format_summary(table: pd.DataFrame, metric: str = "score") -> str:
    """The summary as an aligned text table with ``mean +/- std`` cells.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`summary_table`.
    metric : str
        Name shown above the table (``"roc_auc"``, ``"accuracy"``).

    Returns
    -------
    str
    """
    datasets = list(dict.fromkeys(table.columns.get_level_values(0)))
    rows = [["pipeline"] + [str(d) for d in datasets]]
    for name, row in table.iterrows():
        cells = []
        for d in datasets:
            mean, std = row[(d, "mean")], row[(d, "std")]
            cells.append("-" if np.isnan(mean) else
                         f"{mean:.3f} +/- {0.0 if np.isnan(std) else std:.3f}")
        rows.append([str(name)] + cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return f"{metric} (mean +/- std over subjects/sessions)\n" + "\n".join(lines)


def plot_paired(results: pd.DataFrame, baseline: str, path: str | Path,
                metric: str = "score") -> Path:
    """Score of every pipeline against a baseline, one point per subject and session.

    Parameters
    ----------
    results : pandas.DataFrame
        MOABB results (see :func:`summary_table`).
    baseline : str
        Pipeline on the x axis of every panel.
    path : str | Path
        PNG file to write.
    metric : str
        Axis label.

    Returns
    -------
    Path
        The written PNG.

    Raises
    ------
    ValueError
        If ``baseline`` is not in the results or it is the only pipeline.
    """
    from matplotlib.figure import Figure

    _check_results(results)
    pipelines = list(dict.fromkeys(results["pipeline"]))
    if baseline not in pipelines:
        raise ValueError(f"baseline {baseline!r} is not among the pipelines {pipelines}.")
    others = [p for p in pipelines if p != baseline]
    if not others:
        raise ValueError("A paired plot needs at least one pipeline besides the baseline.")
    keys = ["dataset", "subject", "session"]
    wide = results.groupby(keys + ["pipeline"])["score"].mean().unstack("pipeline")
    n_cols = min(4, len(others))
    n_rows = int(np.ceil(len(others) / n_cols))
    fig = Figure(figsize=(3.2 * n_cols, 3.2 * n_rows))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    lo = float(np.nanmin(wide.values)) - 0.02
    hi = float(np.nanmax(wide.values)) + 0.02
    datasets = list(dict.fromkeys(wide.index.get_level_values("dataset")))
    for ax, name in zip(axes.flat, others):
        for k, d in enumerate(datasets):
            sub = wide.xs(d, level="dataset")
            ax.scatter(sub[baseline], sub[name], s=18, alpha=0.8, color=f"C{k}",
                       label=str(d) if name == others[0] else None)
        ax.plot([lo, hi], [lo, hi], color="0.5", lw=0.8, ls="--")
        wins = int((wide[name] > wide[baseline]).sum())
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel=f"{baseline} ({metric})",
               ylabel=f"{name} ({metric})",
               title=f"{name}: better on {wins}/{int(wide[name].notna().sum())}")
        ax.set_aspect("equal")
        ax.title.set_fontsize(9)
    for ax in list(axes.flat)[len(others):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)
