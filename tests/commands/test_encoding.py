"""``neuroattn encoding``: offline simulator run and a local Algonauts-layout run."""

import json
import os

import numpy as np
import pytest

from neuroattn.cli import build_parser, main
from neuroattn.data.encoding import ALGONAUTS_ROI_FAMILIES

FAST = ["--max-epochs", "2", "--embed-dim", "16", "--n-heads", "2", "--device", "cpu"]


@pytest.fixture
def umask_027():
    """Run with umask 027: written files must be 0640 (not mkstemp's 0600, not 0644)."""
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_encode_simulator_writes_table_and_figures(tmp_path, capsys, umask_027):
    assert main(["encoding", "--out", str(tmp_path), "--n-images", "48", *FAST]) == 0
    res = json.loads((tmp_path / "results.json").read_text())
    assert set(res["mean_r"]) == {"encoder", "ridge_mean", "ridge_flatten"}
    assert res["n_test"] == 12 and res["mean_r_normalized"] is not None
    assert "loc0_lh" in res["routing_correlation"]
    for name in ("routing_maps.png", "r_by_region.png", "glass_brain_r.png", "r_by_region.csv"):
        assert (tmp_path / name).stat().st_size > 0
    written = [p for p in tmp_path.iterdir() if p.name != ".neuroattn.lock"]
    assert sorted(p.name for p in written) == sorted(
        ["results.json", "routing_maps.png", "r_by_region.png", "glass_brain_r.png",
         "r_by_region.csv"])  # nothing staged is left behind
    assert {p.stat().st_mode & 0o777 for p in written} == {0o640}
    assert "mean r: encoder=" in capsys.readouterr().out


def test_encode_algonauts_layout_with_precomputed_features(tmp_path, capsys):
    subj = tmp_path / "data" / "subj01"
    (subj / "training_split" / "training_fmri").mkdir(parents=True)
    (subj / "roi_masks").mkdir()
    rng = np.random.default_rng(0)
    feats = rng.random((30, 16, 6)).astype(np.float32)
    for hemi in ("lh", "rh"):
        Y = feats[:, :4].mean(1) @ rng.normal(size=(6, 5)) + 0.1 * rng.normal(size=(30, 5))
        np.save(subj / "training_split" / "training_fmri" / f"{hemi}_training_fmri.npy", Y)
        for family in ALGONAUTS_ROI_FAMILIES:
            np.save(subj / "roi_masks" / f"{hemi}.{family}_challenge_space.npy",
                    np.array([1, 1, 2, 0, 0]) if family == "floc-faces" else np.zeros(5))
    np.save(tmp_path / "feats.npy", feats)
    out = tmp_path / "out"
    out.mkdir()
    # A previous (simulated) run's results are kept unless --overwrite ...
    (out / "results.json").write_text('{"previous": true}')
    (out / "glass_brain_r.png").write_bytes(b"previous figure")
    argv = ["encoding", "--algonauts", str(tmp_path / "data"), "--features",
            str(tmp_path / "feats.npy"), "--out", str(out), *FAST]
    assert main(argv) == 2
    assert "results.json exists; pass --overwrite" in capsys.readouterr().err
    assert json.loads((out / "results.json").read_text()) == {"previous": True}
    assert main([*argv, "--overwrite"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["n_voxels"] == 10 and "OFA_lh" in res["r_by_region"]["encoder"]
    # ... and with it, the previous run's figure this run does not make is removed (no
    # voxel coordinates in this layout): no stale result beside the new ones.
    assert not (out / "glass_brain_r.png").exists()
    assert main(["encoding", "--algonauts", str(tmp_path / "data"), "--out", str(out)]) == 2
    assert "needs --features" in capsys.readouterr().err


def test_encode_is_a_hidden_deprecated_alias(capsys):
    """``neuroattn encode`` still parses (as ``encoding``) but is not listed in the help."""
    with pytest.raises(SystemExit) as exc:
        main(["encode", "--help"])
    assert exc.value.code == 0
    captured = capsys.readouterr()
    assert "usage: neuroattn encoding" in captured.out
    assert "'encode' is deprecated, use 'neuroattn encoding'" in captured.err
    assert main([]) == 0
    listing = capsys.readouterr().out
    assert "encoding" in listing and "encode " not in listing
    assert "encode" not in build_parser()._subparsers._group_actions[0].choices
