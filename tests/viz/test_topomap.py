import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from neuroattn.data.simulate import MI_CHANNELS
from neuroattn.viz.topomap import (
    class_average,
    montage_info,
    plot_channel_weights,
    plot_spatial_filters,
    spatial_patterns,
)


def test_channel_weight_topomaps_per_class(tmp_path):
    rng = np.random.default_rng(0)
    y = np.array(["left_hand", "right_hand"] * 10)
    w = rng.uniform(0.4, 0.6, size=(20, len(MI_CHANNELS)))
    w[y == "left_hand", MI_CHANNELS.index("C4")] += 0.3
    fig = plot_channel_weights(w, y, list(MI_CHANNELS), path=tmp_path / "w.png")
    assert (tmp_path / "w.png").stat().st_size > 1000
    assert len([ax for ax in fig.axes if ax.get_title()]) == 3  # 2 classes + difference
    means = class_average(w, y)
    assert np.argmax(means["left_hand"] - means["right_hand"]) == MI_CHANNELS.index("C4")


def test_spatial_patterns_recover_a_source():
    rng = np.random.default_rng(1)
    a = np.array([0.0, 0.5, 1.0, 0.5, 0.0])
    X = a[None, :, None] * rng.normal(size=(10, 1, 300)) + 0.1 * rng.normal(size=(10, 5, 300))
    # a filter that picks electrode 2 only: its pattern spreads like the source does
    pattern = spatial_patterns(np.eye(5)[2:3], X)[0]
    assert np.argmax(pattern) == 2
    assert pattern[1] > 0.3 and abs(pattern[0]) < 0.1


def test_plot_spatial_filters(tmp_path):
    rng = np.random.default_rng(0)
    filters = rng.normal(size=(8, len(MI_CHANNELS)))
    X = rng.normal(size=(4, len(MI_CHANNELS), 100))
    plot_spatial_filters(filters, list(MI_CHANNELS), X=X, n_show=3, path=tmp_path / "f.png")
    assert (tmp_path / "f.png").exists()


def test_unknown_montage_channels_are_named():
    with pytest.raises(ValueError, match="\\['EEG 001', 'XYZ'\\].*not in the standard"):
        montage_info(["C3", "EEG 001", "Cz", "XYZ"])


def test_shape_mismatch():
    with pytest.raises(ValueError, match="n_trials"):
        class_average(np.ones((3, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match="share n_chans"):
        spatial_patterns(np.ones((2, 3)), np.ones((4, 5, 10)))


def test_plotting_leaves_the_matplotlib_backend_alone(monkeypatch, tmp_path):
    """Library code selects no backend (it used to call ``matplotlib.use("Agg")``)."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"matplotlib.use{args} called by library code")

    monkeypatch.setattr(matplotlib, "use", refuse)
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 5)
    fig = plot_channel_weights(rng.uniform(size=(10, len(MI_CHANNELS))), y,
                               list(MI_CHANNELS), path=tmp_path / "w.png")
    assert (tmp_path / "w.png").exists() and fig.axes


def test_library_never_selects_a_backend():
    """No ``matplotlib.use`` / ``pyplot.switch_backend`` anywhere but the CLI entry point."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "neuroattn"
    offenders = []
    for path in package.rglob("*.py"):
        if path.name == "cli.py" and path.parent == package:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("use", "switch_backend") \
                    and isinstance(node.value, ast.Name) \
                    and node.value.id in ("matplotlib", "plt", "mpl"):
                offenders.append(f"{path.relative_to(package.parent)}:{node.lineno}")
    assert not offenders, offenders
