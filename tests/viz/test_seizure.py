"""Alarm timeline and attention-map pictures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from neuroattn.viz.seizure import plot_alarm_timeline, plot_attention_maps  # noqa: E402


def test_alarm_timeline_draws_everything(tmp_path):
    t = np.arange(0, 3600, 5.0)
    p = np.clip(np.random.default_rng(0).normal(0.3, 0.1, t.size), 0, 1)
    fig = plot_alarm_timeline(t, p, score=p, threshold=0.5, alarms=[1500.0],
                              seizures=[(2400.0, 2460.0)], title="chb01_05")
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    for expected in ("preictal (SOP)", "seizure", "smoothed", "alarm", "warning"):
        assert expected in labels
    fig.savefig(tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 0
    with pytest.raises(ValueError, match="one length"):
        plot_alarm_timeline(t, p[:-1])


def test_attention_maps(tmp_path):
    fig = plot_attention_maps(np.eye(4), np.full((3, 3), 1 / 3), ["a", "b", "c", "d"],
                              token_seconds=0.5)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c", "d"]
    fig.savefig(tmp_path / "a.png")
    with pytest.raises(ValueError, match="square"):
        plot_attention_maps(np.ones((2, 3)), np.eye(2))
