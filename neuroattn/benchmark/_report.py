"""The one writer of evaluation results: CSV table, JSON record and figure, atomically.

Every track's evaluation (:mod:`~neuroattn.benchmark.mi`,
:mod:`~neuroattn.benchmark.seizure`, :mod:`~neuroattn.benchmark.fmri`,
:mod:`~neuroattn.benchmark.encoding`) and every script in ``benchmarks/`` writes its
files through :func:`save_results`. Each file is written with
:func:`neuroattn._files.atomic_write` (a temporary file in the destination folder moved
into place with :func:`os.replace`, with the permissions of the user's umask), so an
interrupted run never leaves a half-written result next to the committed ones. Figures
are saved with ``Figure.savefig`` and never touch matplotlib's backend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .._files import atomic_write

__all__ = ["save_results", "save_figure"]


def _write(path: Path, write: Callable[[Any], None], *, binary: bool = False) -> Path:
    """:func:`neuroattn._files.atomic_write` into ``path``'s folder, created if missing
    (the file gets the permissions of the user's umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, write, binary=binary)


def _json_default(obj: Any) -> Any:
    """numpy scalars and arrays as their Python values (an int stays an int)."""
    if hasattr(obj, "tolist") and type(obj).__module__ == "numpy":
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def save_figure(fig: Any, path: str | Path, *, dpi: int = 110, **savefig_kwargs: Any) -> Path:
    """Write a matplotlib figure atomically and release it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (made with pyplot or with ``Figure()``: the backend is not changed).
    path : str | Path
        Destination; its suffix (``.png``, ``.pdf``, ``.svg``) sets the format.
    dpi : int
        Resolution, dots per inch.
    **savefig_kwargs
        Passed to ``Figure.savefig`` (``bbox_inches="tight"``...).

    Returns
    -------
    Path
        ``path``, written whole (through a temporary file) and the figure closed.

    Raises
    ------
    ValueError
        If ``fig`` has no ``savefig`` or ``path`` has no suffix.
    """
    if not hasattr(fig, "savefig"):
        raise ValueError(f"fig must be a matplotlib Figure, got {type(fig).__name__}.")
    path = Path(path)
    if not path.suffix:
        raise ValueError(f"path needs a suffix naming the image format, got {str(path)!r}.")
    _write(path, lambda fh: fig.savefig(fh, format=path.suffix[1:], dpi=dpi,
                                        **savefig_kwargs), binary=True)
    if getattr(fig.canvas, "manager", None) is not None:  # made by pyplot: release it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path


def save_results(table: pd.DataFrame | None, out_dir: str | Path, stem: str, *,
                 plot: Any = None, extra_json: dict | None = None,
                 csv_kwargs: dict[str, Any] | None = None,
                 savefig_kwargs: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write ``<stem>.csv`` (the scores table), ``<stem>.json`` and ``<stem>.png``.

    Parameters
    ----------
    table : pandas.DataFrame | None
        Scores, one row per fold x method (or any table); None writes no CSV. The
        index is written only when it is named (``table.index.name`` is set).
    out_dir : str | Path
        Folder of the written files, created with its parents if needed.
    stem : str
        File name without suffix.
    plot : matplotlib.figure.Figure | None
        Figure written as ``<stem>.png`` and then closed; None writes no image.
    extra_json : dict | None
        JSON-serialisable record (numpy scalars and arrays as their Python values)
        written as ``<stem>.json`` with 2-space indentation; None writes no JSON.
    csv_kwargs : dict | None
        Passed to :meth:`pandas.DataFrame.to_csv` (``float_format``, ``na_rep``...).
    savefig_kwargs : dict | None
        Passed to :func:`save_figure` (``dpi``, ``bbox_inches``...).

    Returns
    -------
    dict of str to Path
        ``"csv"``, ``"json"``, ``"png"``: the files written (keys of files not written
        are absent).

    Raises
    ------
    ValueError
        If ``stem`` is empty or holds a path separator, ``table`` is not a DataFrame,
        ``plot`` is not a figure, ``extra_json`` cannot be written as JSON, or nothing
        is to be written; in each case before any file is written.
    """
    if not stem or os.sep in stem or "/" in stem:
        raise ValueError(f"stem must be a bare file name, got {stem!r}.")
    if table is not None and not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame or None, got "
                         f"{type(table).__name__}.")
    if table is None and plot is None and extra_json is None:
        raise ValueError("Nothing to save: table, plot and extra_json are all None.")
    if plot is not None and not hasattr(plot, "savefig"):
        raise ValueError(f"plot must be a matplotlib Figure or None, got "
                         f"{type(plot).__name__}.")
    # Everything that can fail on the caller's data fails before the first file is
    # replaced, so a run never leaves a new CSV beside an old JSON.
    text = None
    if extra_json is not None:
        try:
            text = json.dumps(extra_json, indent=2, default=_json_default)
        except TypeError as exc:
            raise ValueError(f"extra_json is not JSON-serialisable: {exc}") from exc
    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    if table is not None:
        kwargs = {"index": table.index.name is not None, **(csv_kwargs or {})}
        paths["csv"] = _write(out_dir / f"{stem}.csv", lambda fh: table.to_csv(fh, **kwargs))
    if text is not None:
        paths["json"] = _write(out_dir / f"{stem}.json", lambda fh: fh.write(text))
    if plot is not None:
        paths["png"] = save_figure(plot, out_dir / f"{stem}.png", **(savefig_kwargs or {}))
    return paths
