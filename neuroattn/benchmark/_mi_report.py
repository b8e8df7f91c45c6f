"""The motor-imagery track's tables and figure: summary per pipeline, paired plot.

Re-exported by :mod:`neuroattn.benchmark.mi` (and :mod:`neuroattn.benchmark`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._report import save_figure

__all__ = ["summary_table", "format_summary", "plot_paired"]


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
