"""Pictures of the fMRI track."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from neuroattn.viz.fmri import (  # noqa: E402
    plot_attention_connectome,
    plot_fmri_scores,
    plot_reconstruction,
    plot_region_attention,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_region_attention_sorted_by_network():
    rng = np.random.default_rng(0)
    att = rng.random((6, 6))
    fig = plot_region_attention(att, networks=[1, 0, 1, 0, 2, 2],
                                region_names=[f"r{i}" for i in range(6)])
    image = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(image[0, 1], att[1, 3])  # network-0 regions first
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][:2] == ["r1", "r3"]
    with pytest.raises(ValueError, match="square"):
        plot_region_attention(att[:5])
    with pytest.raises(ValueError, match="one entry per region"):
        plot_region_attention(att, networks=[0, 1])


def test_glass_brain_needs_coordinates():
    rng = np.random.default_rng(0)
    att = rng.random((5, 5))
    coords = rng.uniform(-50, 50, size=(5, 3))
    fig = plot_attention_connectome(att, coords, edge_threshold="50%")
    assert len(fig.axes) >= 3
    with pytest.raises(ValueError, match="coordinates"):
        plot_attention_connectome(att, None)
    with pytest.raises(ValueError, match="coords must be"):
        plot_attention_connectome(att, coords[:4])


def test_reconstruction_shows_masked_regions_first():
    truth = np.zeros((4, 8))
    mask = np.zeros((4, 8), dtype=bool)
    mask[2] = True
    fig = plot_reconstruction(truth, truth + 1, mask, t_r=2.0, max_regions=2)
    assert fig.axes[0].get_ylabel() == "region 2"
    with pytest.raises(ValueError, match="Expected truth"):
        plot_reconstruction(truth, truth[:3], mask[:3] | True)
    with pytest.raises(ValueError, match="Expected truth"):
        plot_reconstruction(truth, np.zeros((4, 9)), np.zeros((4, 9), dtype=bool))


def test_scores_plot_and_missing_column():
    res = pd.DataFrame({"method": ["a", "a", "b", "b"], "split": ["s1", "s2"] * 2,
                        "accuracy": [0.6, 0.7, 0.5, 0.55], "roc_auc": [0.7, 0.8, 0.5, 0.6]})
    fig = plot_fmri_scores(res)
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="lacks columns"):
        plot_fmri_scores(res.drop(columns="roc_auc"))
