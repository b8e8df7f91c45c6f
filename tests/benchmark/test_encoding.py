"""Visual-encoding evaluation: the image split, the per-region table and the summary."""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.benchmark import save_results
from neuroattn.benchmark.encoding import evaluate_encoding, split_images
from neuroattn.data.encoding import as_feature_tokens
from neuroattn.data.simulate import simulate_encoding
from neuroattn.estimators.encoding import BrainEncoderRegressor


def test_split_images_is_a_seeded_partition():
    train, test = split_images(40, 0.25, random_state=3)
    assert len(test) == 10 and sorted(np.concatenate([train, test])) == list(range(40))
    np.testing.assert_array_equal(test, split_images(40, 0.25, random_state=3)[1])
    assert split_images(5, 0.01)[1].size == 2  # at least two held-out images
    with pytest.raises(ValueError, match="test_fraction must be in"):
        split_images(40, 1.0)
    with pytest.raises(ValueError, match="no training image"):
        split_images(2, 0.5)


def test_evaluate_encoding_table_summary_and_routing(tmp_path):
    sim = simulate_encoding(40, random_state=0)
    enc = BrainEncoderRegressor(max_epochs=2, device="cpu", random_state=0,
                                model__embed_dim=16, model__n_heads=2)
    res = evaluate_encoding(as_feature_tokens(sim.features), sim.Y, Y_repeats=sim.Y_repeats,
                            regions=sim.regions, hemispheres=sim.hemispheres, encoder=enc,
                            routing=sim.routing, group_names=sim.group_names)
    summary, table = res["summary"], res["table"]
    assert summary["n_train"] + summary["n_test"] == 40 and summary["n_test"] == 10
    assert list(table.columns) == ["encoder", "ridge_mean", "ridge_flatten"]
    assert table.index.name == "group"
    # Each table cell is the mean r of the held-out voxels of that group.
    r, labels = res["r"]["encoder"], res["labels"]
    for group, value in table["encoder"].items():
        np.testing.assert_allclose(value, np.nanmean(r[labels == group]))
    # Every planted group but "other" is scored, each a correlation.
    corr = summary["routing_correlation"]
    assert set(corr) == set(sim.group_names) - {"other"}
    assert all(-1 <= v <= 1 for v in corr.values())
    assert res["routing_maps"].shape[0] == 10
    paths = save_results(table, tmp_path, "r_by_region", extra_json=summary,
                         csv_kwargs={"float_format": "%.4f"})
    assert paths["csv"].read_text().startswith("group,encoder,ridge_mean,ridge_flatten\n")
    with pytest.raises(ValueError, match="group_names"):
        evaluate_encoding(as_feature_tokens(sim.features), sim.Y, routing=sim.routing)
    with pytest.raises(ValueError, match="one map per group_names entry"):
        evaluate_encoding(as_feature_tokens(sim.features), sim.Y, routing=sim.routing,
                          group_names=sim.group_names[:1])
    with pytest.raises(ValueError, match="one map per group_names entry"):
        evaluate_encoding(as_feature_tokens(sim.features), sim.Y, routing=sim.routing[:5],
                          group_names=sim.group_names)
    with pytest.raises(ValueError, match="one row per image"):
        evaluate_encoding(as_feature_tokens(sim.features), sim.Y[:5])
    with pytest.raises(ValueError, match="FeatureTokens"):
        evaluate_encoding(sim.features, sim.Y)
