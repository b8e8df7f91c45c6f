"""Pictures for the fMRI track: region attention, glass-brain connectome, reconstruction,
cross-validated scores, as matplotlib figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._docs import fill_doc

__all__ = ["plot_region_attention", "plot_attention_connectome", "plot_reconstruction",
           "plot_fmri_scores"]


def _check_square(matrix: Any) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"Expected a square (n_regions, n_regions) matrix, got shape {m.shape}.")
    return m


@fill_doc
def plot_region_attention(attention: Any, *, networks: Sequence[int] | None = None,
                          region_names: Sequence[str] | None = None, ax: Any = None,
                          title: str = "Region-to-region attention"):
    """Show a region-to-region attention matrix (rows attend to columns).

    Parameters
    ----------
    attention : array-like
        ``(n_regions, n_regions)``, e.g. ``BrainMAE.region_attention(x).mean(0)``.
    networks : sequence of int | None
        Network of each region; regions are sorted by it and boundaries drawn.
    region_names : sequence of str | None
        Tick labels (shown when there are at most 40 regions).
    %(fig_ax)s
    title : str
        Axes title.

    Returns
    -------
    %(fig_returns)s

    Raises
    ------
    ValueError
        If the matrix is not square or ``networks`` has the wrong length.
    """
    import matplotlib.pyplot as plt

    m = _check_square(attention)
    order = np.arange(len(m))
    if networks is not None:
        networks = np.asarray(networks)
        if networks.shape != (len(m),):
            raise ValueError(f"networks must have one entry per region ({len(m)}), got "
                             f"{networks.shape}.")
        order = np.argsort(networks, kind="stable")
    fig = ax.figure if ax is not None else plt.subplots(figsize=(5.5, 4.6))[0]
    ax = ax if ax is not None else fig.axes[0]
    im = ax.imshow(m[np.ix_(order, order)], cmap="magma", interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, label="attention weight")
    if networks is not None:
        edges = np.flatnonzero(np.diff(networks[order])) + 0.5
        for e in edges:
            ax.axhline(e, color="w", lw=0.8)
            ax.axvline(e, color="w", lw=0.8)
    if region_names is not None and len(m) <= 40:
        names = [region_names[i] for i in order]
        ax.set_xticks(range(len(m)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(m)), names, fontsize=7)
    ax.set_xlabel("attended region (key)")
    ax.set_ylabel("attending region (query)")
    ax.set_title(title)
    return fig


@fill_doc
def plot_attention_connectome(attention: Any, coords: Any, *, edge_threshold: str = "95%",
                              title: str = "Region attention (symmetrised)"):
    """Region attention on a glass brain with ``nilearn.plotting.plot_connectome``.

    Parameters
    ----------
    attention : array-like
        ``(n_regions, n_regions)``; symmetrised as ``(A + A.T) / 2``.
    coords : array-like
        ``(n_regions, 3)`` MNI coordinates in mm (e.g. from
        ``nilearn.plotting.find_parcellation_cut_coords`` or
        ``RoiTimeSeries.region_coords``).
    edge_threshold : str | float
        Edges shown (nilearn's ``edge_threshold``; ``"95%%"`` keeps the strongest 5 %%).
    %(fig_title)s

    Returns
    -------
    %(fig_returns)s

    Raises
    ------
    ValueError
        If the shapes disagree or coordinates are missing.
    """
    import matplotlib.pyplot as plt
    from nilearn.plotting import plot_connectome

    m = _check_square(attention)
    if coords is None:
        raise ValueError("Region coordinates are needed for a glass-brain plot.")
    coords = np.asarray(coords, dtype=float)
    if coords.shape != (len(m), 3):
        raise ValueError(f"coords must be (n_regions, 3) = ({len(m)}, 3), got {coords.shape}.")
    sym = (m + m.T) / 2
    np.fill_diagonal(sym, 0.0)
    fig = plt.figure(figsize=(8, 3.2))
    plot_connectome(sym, coords, edge_threshold=edge_threshold, node_size=12, figure=fig,
                    title=title, colorbar=True, edge_cmap="viridis")
    return fig


@fill_doc
def plot_reconstruction(truth: Any, reconstruction: Any, mask: Any, *, t_r: float = 1.0,
                        regions: Sequence[int] | None = None, max_regions: int = 6,
                        title: str = "Masked segment: reconstruction vs truth"):
    """Reconstruction of a masked segment against the truth, a few regions stacked.

    Parameters
    ----------
    truth : array-like
        ``(n_regions, n_timepoints)`` original segment.
    reconstruction : array-like
        ``(n_regions, n_samples)`` from ``BrainMAE.forward_masked`` (``n_samples <=
        n_timepoints``).
    mask : array-like
        ``(n_regions, n_samples)`` boolean, True where masked.
    t_r : float
        Sampling interval in seconds (time axis).
    regions : sequence of int | None
        Regions to show; by default masked regions first, up to ``max_regions``.
    max_regions : int
        Number of regions shown when ``regions`` is None.
    %(fig_title)s

    Returns
    -------
    %(fig_returns)s

    Raises
    ------
    ValueError
        If shapes disagree.
    """
    import matplotlib.pyplot as plt

    truth, rec = np.asarray(truth, dtype=float), np.asarray(reconstruction, dtype=float)
    mask = np.asarray(mask, dtype=bool)
    if truth.ndim != 2 or rec.shape != mask.shape or rec.shape[0] != truth.shape[0] \
            or rec.shape[1] > truth.shape[1]:
        raise ValueError(f"Expected truth (n_regions, n_timepoints) and reconstruction/mask "
                         f"(n_regions, n_samples <= n_timepoints); got {truth.shape}, "
                         f"{rec.shape}, {mask.shape}.")
    if regions is None:
        masked_first = np.argsort(~mask.any(axis=1), kind="stable")
        regions = masked_first[:max_regions]
    n = rec.shape[1]
    t = np.arange(n) * t_r
    fig, axes = plt.subplots(len(regions), 1, figsize=(7, 1.3 * len(regions) + 0.6),
                             sharex=True, squeeze=False)
    for ax, r in zip(axes[:, 0], regions):
        ax.plot(t, truth[r, :n], color="k", lw=1.5, label="truth")
        ax.plot(t, rec[r], color="tab:orange", lw=1.5, ls="--", label="reconstruction")
        if mask[r].any():
            ax.fill_between(t, 0, 1, where=mask[r], color="tab:blue", alpha=0.15,
                            transform=ax.get_xaxis_transform(), label="masked")
        ax.set_ylabel(f"region {r}", fontsize=8)
    axes[0, 0].legend(loc="upper right", fontsize=7, ncol=3)
    axes[-1, 0].set_xlabel("time in segment (s)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@fill_doc
def plot_fmri_scores(results: Any, *, metrics: Sequence[str] = ("accuracy", "roc_auc")):
    """Per-split scores of each method (points) and their mean (bar).

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`neuroattn.benchmark.fmri.evaluate_fmri` (columns ``method,
        split`` and the metrics).
    metrics : sequence of str
        Columns to plot, one panel each.

    Returns
    -------
    %(fig_returns)s

    Raises
    ------
    ValueError
        If a metric column is missing.
    """
    import matplotlib.pyplot as plt

    missing = [m for m in ("method", "split", *metrics) if m not in results.columns]
    if missing:
        raise ValueError(f"results lacks columns {missing}.")
    data = results.dropna(subset=list(metrics))
    methods = list(dict.fromkeys(data["method"]))
    splits = list(dict.fromkeys(data["split"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.8), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, metric in zip(axes[0], metrics):
        for i, method in enumerate(methods):
            vals = data[data["method"] == method]
            ax.bar(i, vals[metric].mean(), color="0.85", edgecolor="0.4")
            for j, split in enumerate(splits):
                v = vals.loc[vals["split"] == split, metric]
                if len(v):
                    ax.scatter(i + (j - len(splits) / 2) * 0.06, v.iloc[0], s=18,
                               color=cmap(j % 10), label=split if i == 0 else None, zorder=3)
        ax.axhline(0.5, color="k", ls=":", lw=1)
        ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(metric)
        ax.set_ylim(0, 1)
    axes[0, -1].legend(title="split", fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle("Cross-validated scores per split (points) and mean (bars)")
    fig.tight_layout()
    return fig
