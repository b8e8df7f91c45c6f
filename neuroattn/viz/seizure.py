"""Pictures of seizure forecasting: alarm timelines and STAN's attention maps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._docs import fill_doc

__all__ = ["plot_alarm_timeline", "plot_attention_maps"]


@fill_doc
def plot_alarm_timeline(times: np.ndarray, probability: np.ndarray, *,
                        score: np.ndarray | None = None, threshold: float = 0.5,
                        alarms: Sequence[float] = (),
                        seizures: Sequence[tuple[float, float]] = (),
                        sph_seconds: float = 300.0, sop_seconds: float = 900.0,
                        ax: Any = None, title: str | None = None):
    """Probability over time with threshold, alarms, onsets and shaded preictal periods.

    Parameters
    ----------
    times : numpy.ndarray
        ``(n,)`` seconds (shown in minutes).
    probability : numpy.ndarray
        ``(n,)`` per-window preictal probability (thin line).
    score : numpy.ndarray | None
        ``(n,)`` smoothed probability the threshold applies to (thick line).
    threshold : float
        Alarm threshold (dashed line).
    alarms : sequence of float
        Alarm times, seconds (triangles, with their warning period
        ``[a + sph, a + sph + sop]`` as a bar).
    seizures : sequence of (float, float)
        ``(onset, offset)`` seconds: ictal period in red, preictal period
        ``[onset - sph - sop, onset - sph]`` shaded orange.
    sph_seconds, sop_seconds : float
        Prediction horizon and occurrence period, seconds.
    %(fig_ax)s
    title : str | None
        Axes title (None: no title).

    Returns
    -------
    %(fig_returns)s

    Raises
    ------
    ValueError
        If ``times`` and ``probability`` differ in length.
    """
    import matplotlib.pyplot as plt

    times, probability = np.asarray(times, float), np.asarray(probability, float)
    if times.shape != probability.shape:
        raise ValueError(f"times {times.shape} and probability {probability.shape} must "
                         "have one length.")
    if ax is None:
        fig, ax = plt.subplots(figsize=(12, 3.2), layout="constrained")
    else:
        fig = ax.figure
    m = 60.0
    for k, (on, off) in enumerate(seizures):
        ax.axvspan((on - sph_seconds - sop_seconds) / m, (on - sph_seconds) / m,
                   color="tab:orange", alpha=0.25, lw=0,
                   label="preictal (SOP)" if k == 0 else None)
        ax.axvspan(on / m, off / m, color="tab:red", alpha=0.5, lw=0,
                   label="seizure" if k == 0 else None)
    ax.plot(times / m, probability, color="0.6", lw=0.6, label="window probability")
    if score is not None:
        ax.plot(times / m, score, color="tab:blue", lw=1.6, label="smoothed")
    ax.axhline(threshold, color="k", ls="--", lw=0.8, label=f"threshold {threshold:g}")
    for k, a in enumerate(alarms):
        ax.plot(a / m, 1.04, marker="v", color="tab:purple", ms=8, clip_on=False,
                label="alarm" if k == 0 else None)
        ax.hlines(1.0, (a + sph_seconds) / m, (a + sph_seconds + sop_seconds) / m,
                  color="tab:purple", lw=3, alpha=0.6, label="warning" if k == 0 else None)
    ax.set(xlabel="time (min)", ylabel="P(preictal)", ylim=(-0.02, 1.08),
           xlim=(times.min() / m if times.size else 0, times.max() / m if times.size else 1))
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


@fill_doc
def plot_attention_maps(spatial: np.ndarray, temporal: np.ndarray,
                        ch_names: Sequence[str] | None = None,
                        token_seconds: float | None = None, title: str | None = None):
    """STAN's spatial (channel x channel) and temporal (token x token) attention.

    Parameters
    ----------
    spatial : numpy.ndarray
        ``(n_chans, n_chans)`` attention, row = attending channel (average over heads,
        tokens, blocks and windows, e.g. from ``STAN.attention_maps``).
    temporal : numpy.ndarray
        ``(n_tokens, n_tokens)``.
    ch_names : sequence of str | None
        Channel labels.
    token_seconds : float | None
        Patch length, to label tokens by their start time in seconds.
    title : str | None
        Figure title (None: no title).

    Returns
    -------
    %(fig_returns)s

    Raises
    ------
    ValueError
        If a map is not square.
    """
    import matplotlib.pyplot as plt

    spatial, temporal = np.asarray(spatial), np.asarray(temporal)
    for name, a in (("spatial", spatial), ("temporal", temporal)):
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"{name} must be a square 2-D map, got shape {a.shape}.")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained",
                             gridspec_kw={"width_ratios": [1.4, 1]})
    im = axes[0].imshow(spatial, cmap="viridis")
    names = list(ch_names) if ch_names is not None else [str(i) for i in range(len(spatial))]
    axes[0].set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    axes[0].set_yticks(range(len(names)), names, fontsize=7)
    axes[0].set(title="spatial attention (across channels)", xlabel="attended channel",
                ylabel="attending channel")
    fig.colorbar(im, ax=axes[0], shrink=0.8)
    im = axes[1].imshow(temporal, cmap="magma")
    n = len(temporal)
    labels = ([f"{i * token_seconds:g}" for i in range(n)] if token_seconds
              else [str(i) for i in range(n)])
    axes[1].set_xticks(range(n), labels, fontsize=7)
    axes[1].set_yticks(range(n), labels, fontsize=7)
    unit = " (s)" if token_seconds else ""
    axes[1].set(title="temporal attention (across patches)", xlabel=f"attended patch{unit}",
                ylabel=f"attending patch{unit}")
    fig.colorbar(im, ax=axes[1], shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig
