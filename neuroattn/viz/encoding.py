"""Pictures of encoding models: routing maps over images, r per region, glass brains."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._docs import fill_doc

__all__ = ["plot_routing_maps", "plot_region_r", "plot_glass_brain_r"]


@fill_doc
def plot_routing_maps(image: Any, maps: Any, grid_shape: tuple[int, int],
                      region_names: Sequence[str], *, true_maps: Any = None,
                      alpha: float = 0.55, cmap: str = "magma", axes: Any = None):
    """Routing (attention) map of each region over one image.

    Parameters
    ----------
    image : array-like
        ``(H, W)``, ``(C, H, W)`` or ``(H, W, C)`` image in [0, 1].
    maps : array-like
        ``(n_regions, n_tokens)`` attention of each region over the grid tokens
        (``n_tokens = n_rows * n_cols``, row-major; extra leading tokens such as a
        class token are dropped).
    grid_shape : (int, int)
        ``(n_rows, n_cols)`` of the feature grid.
    region_names : sequence of str
        ``(n_regions,)`` titles.
    true_maps : array-like | None
        ``(n_regions, n_tokens)`` planted maps, drawn in a second row when given.
    alpha : float
        Opacity of the maps over the image.
    cmap : str
        Colormap of the maps.
    axes : array of matplotlib.axes.Axes | None
        ``(n_rows, n_regions)`` axes to draw in (``n_rows`` 2 with ``true_maps``, else
        1); None draws in a new figure.

    Returns
    -------
    %(fig_returns)s
    """
    import matplotlib.pyplot as plt

    maps = np.asarray(maps, dtype=float)
    n_rows, n_cols = grid_shape
    if maps.ndim != 2 or maps.shape[0] != len(region_names):
        raise ValueError(f"maps must be (n_regions={len(region_names)}, n_tokens), got "
                         f"{maps.shape}.")
    if maps.shape[1] < n_rows * n_cols:
        raise ValueError(f"maps have {maps.shape[1]} tokens, fewer than the grid "
                         f"{n_rows} x {n_cols}.")
    img = _as_hwc(image)
    rows = [maps] + ([np.asarray(true_maps, dtype=float)] if true_maps is not None else [])
    if axes is None:
        fig, axes = plt.subplots(len(rows), len(region_names),
                                 figsize=(2.0 * len(region_names), 2.1 * len(rows)),
                                 squeeze=False)
    else:
        axes = np.atleast_2d(axes)
        fig = axes[0, 0].figure
    h, w = img.shape[:2]
    for i, row in enumerate(rows):
        for j, name in enumerate(region_names):
            ax = axes[i, j]
            grid = row[j, -n_rows * n_cols:].reshape(n_rows, n_cols)
            ax.imshow(img.squeeze(), cmap="gray" if img.shape[2] == 1 else None)
            ax.imshow(grid / (grid.max() + 1e-12), cmap=cmap, alpha=alpha,
                      extent=(-0.5, w - 0.5, h - 0.5, -0.5), interpolation="bilinear")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(name if i == 0 else f"{name} (planted)", fontsize=8)
    fig.tight_layout()
    return fig


def _as_hwc(image: Any) -> np.ndarray:
    img = np.asarray(image, dtype=float)
    if img.ndim == 2:
        return img[..., None]
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        return img.transpose(1, 2, 0)
    if img.ndim == 3:
        return img
    raise ValueError(f"image must be (H, W), (C, H, W) or (H, W, C); got {img.shape}.")


@fill_doc
def plot_region_r(r_by_model: dict[str, Any], labels: Any, *, ceiling: Any = None,
                  ax: Any = None, ylabel: str = "Pearson r (test images)"):
    """Bar plot of mean per-voxel r in each region, one bar per model.

    Parameters
    ----------
    r_by_model : dict of str to array-like
        Model name to ``(n_voxels,)`` r.
    labels : array-like
        ``(n_voxels,)`` region (or query-group) label per voxel.
    ceiling : array-like | None
        ``(n_voxels,)`` noise ceiling; its regional mean is drawn as a tick.
    %(fig_ax)s
    ylabel : str
        Y axis label.

    Returns
    -------
    %(fig_returns)s
    """
    import matplotlib.pyplot as plt

    labels = np.asarray(labels, dtype=object)
    regions = list(dict.fromkeys(labels.tolist()))
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(regions) + 2), 3.4))
    else:
        fig = ax.figure
    width = 0.8 / max(len(r_by_model), 1)
    x = np.arange(len(regions))
    for k, (name, r) in enumerate(r_by_model.items()):
        r = np.asarray(r, dtype=float)
        if r.shape != labels.shape:
            raise ValueError(f"r of {name!r} has shape {r.shape}, labels {labels.shape}.")
        means = [np.nanmean(r[labels == reg]) for reg in regions]
        sems = [np.nanstd(r[labels == reg]) / np.sqrt(max((labels == reg).sum(), 1))
                for reg in regions]
        ax.bar(x + (k - (len(r_by_model) - 1) / 2) * width, means, width, yerr=sems,
               label=name, capsize=2)
    if ceiling is not None:
        c = np.asarray(ceiling, dtype=float)
        ax.scatter(x, [np.nanmean(c[labels == reg]) for reg in regions], marker="_",
                   s=400, color="k", label="noise ceiling", zorder=3)
    ax.set_xticks(x, [str(r) for r in regions], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylim(top=max(1.0, ax.get_ylim()[1]) + 0.12)  # room for the legend row
    ax.legend(fontsize=8, frameon=False, loc="upper center", ncol=len(r_by_model) + 1)
    fig.tight_layout()
    return fig


@fill_doc
def plot_glass_brain_r(r: Any, coords: Any, *, title: str = "Pearson r per voxel",
                       vmax: float | None = None, axes: Any = None):
    """Per-voxel r as markers on a nilearn glass brain (needs voxel coordinates).

    Parameters
    ----------
    r : array-like
        ``(n_voxels,)`` values to colour (NaN voxels are dropped).
    coords : array-like
        ``(n_voxels, 3)`` positions in MNI mm.
    %(fig_title)s
    vmax : float | None
        Colour scale maximum (default the largest absolute value).
    axes : matplotlib.axes.Axes | None
        Axes nilearn draws the glass brain in; None draws in a new figure.

    Returns
    -------
    %(fig_returns)s
    """
    import matplotlib.pyplot as plt
    from nilearn import plotting

    r = np.asarray(r, dtype=float)
    coords = np.asarray(coords, dtype=float)
    if coords.shape != (r.shape[0], 3):
        raise ValueError(f"coords must be (n_voxels={r.shape[0]}, 3) in mm, got {coords.shape}.")
    keep = np.isfinite(r)
    vmax = float(np.nanmax(np.abs(r))) if vmax is None else vmax
    if axes is None:
        fig = plt.figure(figsize=(7, 2.6))
        axes = fig.add_subplot(111)
    fig = axes.figure
    plotting.plot_markers(r[keep], coords[keep], node_size=12, node_cmap="RdBu_r",
                          node_vmin=-vmax, node_vmax=vmax, display_mode="lzr",
                          title=title, axes=axes, colorbar=True)
    return fig
