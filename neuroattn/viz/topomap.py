"""Scalp topomaps of electrode attention weights and spatial filters (``mne.viz.plot_topomap``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._docs import fill_doc

__all__ = ["montage_info", "class_average", "spatial_patterns", "plot_channel_weights",
           "plot_spatial_filters"]


def _montage_1005():
    import mne

    # MNE 1.13 renamed "standard_1005" to "colin27_1005" (the old name warns).
    name = "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() \
        else "standard_1005"
    return mne.channels.make_standard_montage(name)


def montage_info(ch_names: list[str] | Any, sfreq: float = 100.0):
    """An ``mne.Info`` with standard 10-20 positions for ``ch_names``.

    Parameters
    ----------
    ch_names : list of str | mne.Info
        Electrode names (an ``Info`` with a montage is returned as is).
    sfreq : float
        Sampling rate written in the info (irrelevant for plotting), Hz.

    Returns
    -------
    mne.Info

    Raises
    ------
    ValueError
        If a channel is not in the standard 10-20 montage (the unknown names are
        listed), or a name repeats.
    """
    import mne

    if isinstance(ch_names, mne.Info):
        if ch_names.get_montage() is None:
            raise ValueError("The info has no montage: set one (info.set_montage) or pass "
                             "channel names of the standard 10-20 system.")
        return ch_names
    names = [str(c) for c in ch_names]
    if len(set(names)) != len(names):
        raise ValueError(f"Channel names repeat: {names}.")
    montage = _montage_1005()
    names_lc = {n.lower(): n for n in montage.ch_names}
    unknown = [n for n in names if n.lower() not in names_lc]
    if unknown:
        raise ValueError(f"Channels {unknown} are not in the standard 10-20/10-05 montage, so "
                         "they have no scalp position; rename them (e.g. 'EEG C3' -> 'C3') or "
                         "drop them before plotting topomaps.")
    info = mne.create_info(names, sfreq, ch_types="eeg")
    montage.rename_channels({names_lc[n.lower()]: n for n in names})
    info.set_montage(montage, on_missing="raise", verbose="error")
    return info


def class_average(weights: np.ndarray, y: np.ndarray) -> dict[Any, np.ndarray]:
    """Average per-trial weights within each class.

    Parameters
    ----------
    weights : numpy.ndarray
        ``(n_trials, n_chans)``, or ``(n_trials, n_chans, n_times)`` (averaged over
        time first).
    y : numpy.ndarray
        ``(n_trials,)`` labels.

    Returns
    -------
    dict
        Class label to ``(n_chans,)`` mean weights, classes sorted.

    Raises
    ------
    ValueError
        If shapes disagree.
    """
    weights = np.asarray(weights, dtype=float)
    y = np.asarray(y)
    if weights.ndim == 3:
        weights = weights.mean(axis=-1)
    if weights.ndim != 2 or weights.shape[0] != y.shape[0]:
        raise ValueError(f"weights must be (n_trials, n_chans) with n_trials={y.shape[0]} "
                         f"labels, got shape {weights.shape}.")
    return {c: weights[y == c].mean(axis=0) for c in np.unique(y)}


def spatial_patterns(filters: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Spatial patterns of linear spatial filters (Haufe et al. 2014).

    A filter says how to combine electrodes; its pattern says where the extracted
    source appears on the scalp, which is what a topomap should show.

    Parameters
    ----------
    filters : numpy.ndarray
        ``(n_filters, n_chans)`` spatial filter weights.
    X : numpy.ndarray
        ``(n_trials, n_chans, n_times)`` data the filters were applied to.

    Returns
    -------
    numpy.ndarray
        ``(n_filters, n_chans)`` patterns ``Cov(X) w / (w' Cov(X) w)``.

    Raises
    ------
    ValueError
        If the channel counts disagree.
    """
    filters = np.asarray(filters, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.ndim != 3 or filters.ndim != 2 or filters.shape[1] != X.shape[1]:
        raise ValueError(f"filters (n_filters, n_chans) and X (n_trials, n_chans, n_times) "
                         f"must share n_chans; got {filters.shape} and {X.shape}.")
    Xc = X - X.mean(axis=-1, keepdims=True)
    cov = np.einsum("nct,ndt->cd", Xc, Xc) / (X.shape[0] * X.shape[2])
    proj = filters @ cov
    var = np.einsum("fc,fc->f", proj, filters)
    return proj / np.where(var > 0, var, 1.0)[:, None]


def _topomap_grid(maps: list[np.ndarray], titles: list[str], info, path: str | Path | None,
                  suptitle: str, cmap: str = "RdBu_r", symmetric: bool = True):
    import matplotlib.pyplot as plt
    import mne

    n = len(maps)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.9), squeeze=False)
    for ax, data, title in zip(axes[0], maps, titles):
        lim = float(np.abs(data).max()) or 1.0
        vlim = (-lim, lim) if symmetric else (float(data.min()), float(data.max()))
        im, _ = mne.viz.plot_topomap(data, info, axes=ax, show=False, cmap=cmap, vlim=vlim,
                                     contours=4, sensors=True,
                                     extrapolate="local")
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.7)
    fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


@fill_doc
def plot_channel_weights(weights: np.ndarray, y: np.ndarray, ch_names: list[str] | Any,
                         path: str | Path | None = None,
                         title: str = "channel-attention weights"):
    """Topomaps of electrode attention weights averaged per class, and their difference.

    One panel per class (weights minus their mean over classes and electrodes) and, for
    two classes, the difference of the first minus the second.

    Parameters
    ----------
    weights : numpy.ndarray
        ``(n_trials, n_chans)`` (or ``(n_trials, n_chans, n_times)``) weights of an
        attention block that sits on the electrodes (e.g. a ``ChannelAttentionNet``
        built with ``input_attention``, or DBConformer's ``channel_pool``).
    y : numpy.ndarray
        ``(n_trials,)`` class labels, one panel per class.
    ch_names : list of str | mne.Info
        Electrode names of the standard 10-20 system, in the order of ``weights``.
    %(fig_path)s
    %(fig_title)s

    Returns
    -------
    %(fig_returns)s

    Raises
    ------
    ValueError
        On unknown channel names or shapes that disagree.
    """
    info = montage_info(ch_names)
    means = class_average(weights, y)
    if len(info.ch_names) != next(iter(means.values())).shape[0]:
        raise ValueError(f"{len(info.ch_names)} channel names for "
                         f"{next(iter(means.values())).shape[0]} weights.")
    grand = np.mean(list(means.values()))
    maps = [m - grand for m in means.values()]
    titles = [f"{c}" for c in means]
    if len(means) == 2:
        a, b = list(means)
        maps.append(means[a] - means[b])
        titles.append(f"{a} - {b}")
    return _topomap_grid(maps, titles, info, path, title)


@fill_doc
def plot_spatial_filters(filters: np.ndarray, ch_names: list[str] | Any,
                         X: np.ndarray | None = None, n_show: int = 6,
                         path: str | Path | None = None, title: str = "spatial filters"):
    """Topomaps of spatial filters, or of their patterns when data ``X`` is given.

    Parameters
    ----------
    filters : numpy.ndarray
        ``(n_filters, n_chans)``.
    ch_names : list of str | mne.Info
        Electrode names in the order of the filters' columns.
    X : numpy.ndarray | None
        ``(n_trials, n_chans, n_times)``; if given, patterns (:func:`spatial_patterns`)
        are drawn instead of the raw weights.
    n_show : int
        How many filters to draw (those with the largest norm first).
    %(fig_path)s
    %(fig_title)s

    Returns
    -------
    %(fig_returns)s

    Raises
    ------
    ValueError
        On unknown channel names or mismatched shapes.
    """
    info = montage_info(ch_names)
    filters = np.asarray(filters, dtype=float)
    if filters.ndim != 2 or filters.shape[1] != len(info.ch_names):
        raise ValueError(f"filters must be (n_filters, {len(info.ch_names)}), got "
                         f"{filters.shape}.")
    maps = spatial_patterns(filters, X) if X is not None else filters
    order = np.argsort(-np.linalg.norm(filters, axis=1))[:max(1, n_show)]
    kind = "pattern" if X is not None else "filter"
    return _topomap_grid([maps[i] for i in order], [f"{kind} {i}" for i in order], info,
                         path, title)
