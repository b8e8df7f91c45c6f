"""Stimulus features, responses, loaders and the encoding simulator (numpy side)."""

import numpy as np
import pytest

from neuroattn.data.encoding import (
    UNLABELLED,
    as_feature_tokens,
    check_encoding_data,
    feature_cache_key,
    grid_positions,
    load_algonauts2023,
    load_images,
    open_feature_cache,
    region_groups,
    responses_from_volumes,
)
from neuroattn.data.simulate import digit_mosaics, simulate_encoding


# ------------------------------------------------------------------------- images
def test_load_images_arrays_and_layouts():
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (3, 8, 10, 3), dtype=np.uint8)
    out = load_images(u8)
    assert out.shape == (3, 3, 8, 10) and out.dtype == np.float32
    np.testing.assert_allclose(out[1, 2], u8[1, :, :, 2] / 255.0, rtol=1e-6)
    grey = load_images(rng.random((2, 5, 5)))
    assert grey.shape == (2, 1, 5, 5)
    with pytest.raises(ValueError, match="\\(n, H, W\\)"):
        load_images(rng.random((5, 5)))
    with pytest.raises(ValueError, match="No images"):
        load_images(np.zeros((0, 4, 4)))


def test_load_images_from_files(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(1)
    for i, size in enumerate([(6, 8), (6, 8), (10, 4)]):
        arr = rng.integers(0, 256, size + (3,), dtype=np.uint8)
        Image.fromarray(arr).save(tmp_path / f"img{i}.png")
    with pytest.raises(ValueError, match="differ in size"):
        load_images(tmp_path)
    out = load_images(tmp_path, size=(6, 8))
    assert out.shape == (3, 3, 6, 8) and out.min() >= 0 and out.max() <= 1
    first = load_images([tmp_path / "img0.png"])
    np.testing.assert_allclose(first[0], out[0], atol=1 / 255)
    with pytest.raises(ValueError, match="not a folder"):
        load_images(tmp_path / "missing")


# ----------------------------------------------------------------------- features
def test_feature_maps_become_row_major_tokens():
    maps = np.arange(2 * 3 * 2 * 4, dtype=np.float32).reshape(2, 3, 2, 4)  # n, C, H, W
    ft = as_feature_tokens(maps)
    assert ft.tokens.shape == (2, 8, 3) and ft.grid_shape == (2, 4)
    # token (row 1, col 2) of image 1 holds the 3 channels at that location
    np.testing.assert_array_equal(ft.tokens[1, 1 * 4 + 2], maps[1, :, 1, 2])
    np.testing.assert_array_equal(ft.positions[6], [1, 2])
    last = as_feature_tokens(maps.transpose(0, 2, 3, 1), channels_last=True)
    np.testing.assert_array_equal(last.tokens, ft.tokens)


def test_vit_tokens_with_class_token_and_vectors():
    tok = np.random.default_rng(0).random((3, 17, 5))
    ft = as_feature_tokens(tok, n_prefix_tokens="auto")
    assert ft.info["n_prefix_tokens"] == 1
    assert np.isnan(ft.positions[0]).all() and np.isfinite(ft.positions[1:]).all()
    np.testing.assert_array_equal(ft.positions[1:], grid_positions(4, 4))
    vec = as_feature_tokens(tok[:, 0])
    assert vec.tokens.shape == (3, 1, 5)
    with pytest.raises(ValueError, match="got shape"):
        as_feature_tokens(np.zeros((2, 2, 2, 2, 2)))
    with pytest.raises(ValueError, match="n_prefix_tokens"):
        as_feature_tokens(tok, n_prefix_tokens=17)


def test_npy_features_are_memory_mapped(tmp_path):
    tok = np.random.default_rng(0).random((4, 9, 3)).astype(np.float32)
    np.save(tmp_path / "f.npy", tok)
    ft = as_feature_tokens(tmp_path / "f.npy")
    assert isinstance(ft.tokens, np.memmap) and ft.grid_shape == (3, 3)
    np.testing.assert_array_equal(ft.tokens, tok)


def test_feature_cache_is_complete_only_after_commit(tmp_path):
    key = feature_cache_key(np.ones(3), "layer1")
    assert key != feature_cache_key(np.zeros(3), "layer1")
    assert open_feature_cache(tmp_path, key) is None
    arr, commit = open_feature_cache(tmp_path, key, (2, 4, 3), positions=grid_positions(2, 2),
                                     grid_shape=(2, 2))
    arr[:] = 7.0
    assert open_feature_cache(tmp_path, key) is None  # interrupted runs leave no entry
    ft = commit()
    assert isinstance(ft.tokens, np.memmap) and (ft.tokens == 7).all()
    assert ft.grid_shape == (2, 2) and ft.positions.shape == (4, 2)


# ---------------------------------------------------------------------- responses
def test_check_encoding_data_bad_inputs():
    Y = np.random.default_rng(0).normal(size=(5, 4))
    with pytest.raises(ValueError, match="5 rows"):
        check_encoding_data(6, Y)
    with pytest.raises(ValueError, match="no region label"):
        check_encoding_data(5, Y, regions=["V1", None, "V1", "FFA"])
    with pytest.raises(ValueError, match="no region label"):
        check_encoding_data(5, Y, regions=["V1", np.nan, "V1", "FFA"])
    with pytest.raises(ValueError, match="3 labels"):
        check_encoding_data(5, Y, regions=["V1", "V1", "V1"])
    allnan = Y.copy()
    allnan[:, 2] = np.nan
    with pytest.raises(ValueError, match="Voxels \\[2\\]"):
        check_encoding_data(5, allnan)
    with pytest.raises(ValueError, match="infinity"):
        check_encoding_data(5, np.where(Y > 1, np.inf, Y))
    Y2, reg, hemi = check_encoding_data(5, Y, regions=None)
    assert (reg == UNLABELLED).all() and hemi is None and Y2.dtype == np.float32


def test_repeats_are_averaged_ignoring_nan():
    R = np.array([[[1.0, 2.0], [3.0, np.nan]], [[0.0, 1.0], [2.0, 5.0]]])  # (2 img, 2 rep, 2 vox)
    Y, _, _ = check_encoding_data(2, R)
    np.testing.assert_allclose(Y, [[2.0, 2.0], [1.0, 3.0]])


def test_region_groups_split_hemispheres_and_keep_one_unlabelled_group():
    regions = np.array(["FFA", "FFA", "other", "V1", "other"], dtype=object)
    hemis = np.array(["lh", "rh", "lh", "lh", "rh"], dtype=object)
    groups, names = region_groups(regions, hemis)
    assert names == ["FFA_lh", "FFA_rh", "V1_lh", "other"]
    assert groups.tolist() == [0, 1, 3, 2, 3]
    groups, names = region_groups(regions)
    assert names == ["FFA", "V1", "other"]


# ------------------------------------------------------------------------ loaders
def _write_algonauts(root, n_images=4, n_lh=6, n_rh=5):
    from PIL import Image

    subj = root / "subj02"
    (subj / "training_split" / "training_fmri").mkdir(parents=True)
    (subj / "training_split" / "training_images").mkdir(parents=True)
    (subj / "roi_masks").mkdir()
    rng = np.random.default_rng(0)
    for hemi, n in (("lh", n_lh), ("rh", n_rh)):
        np.save(subj / "training_split" / "training_fmri" / f"{hemi}_training_fmri.npy",
                rng.normal(size=(n_images, n)).astype(np.float32))
        visual = np.zeros(n, int)
        visual[:2] = [1, 7]
        faces = np.zeros(n, int)
        faces[1:3] = 2  # vertex 1 is in V1v-... first family wins
        np.save(subj / "roi_masks" / f"{hemi}.prf-visualrois_challenge_space.npy", visual)
        np.save(subj / "roi_masks" / f"{hemi}.floc-faces_challenge_space.npy", faces)
    for i in range(n_images):
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
            subj / "training_split" / "training_images" / f"train-{i + 1:04d}_nsd-{i:05d}.png")
    return root


def test_load_algonauts2023_local_layout(tmp_path):
    root = _write_algonauts(tmp_path)
    resp = load_algonauts2023(root, subject=2, roi_families=("prf-visualrois", "floc-faces"))
    assert resp.Y.shape == (4, 11)
    assert resp.regions[:3].tolist() == ["V1v", "hV4", "FFA-1"]
    assert resp.regions[3] == UNLABELLED
    assert resp.hemispheres.tolist() == ["lh"] * 6 + ["rh"] * 5
    assert len(resp.image_paths) == 4 and resp.image_ids[0] == "train-0001_nsd-00000"
    assert load_images(resp.image_paths).shape == (4, 3, 8, 8)
    with pytest.raises(ValueError, match="Algonauts 2023 layout"):
        load_algonauts2023(root, subject=3)
    with pytest.raises(ValueError, match="ROI mask"):
        load_algonauts2023(root, subject=2, roi_families=("floc-places",))


def test_responses_from_volumes_with_repeats():
    import nibabel as nib

    rng = np.random.default_rng(0)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-6.0, -6.0, -6.0]  # x from -6 to +4 mm: both hemispheres
    betas = nib.Nifti1Image(rng.normal(size=(6, 6, 6, 7)).astype(np.float32), affine)
    m1 = np.zeros((6, 6, 6), np.int8)
    m1[1:3, 1:3, 1:3] = 1
    m2 = np.zeros((6, 6, 6), np.int8)
    m2[3:5, 2:4, 2:4] = 1
    masks = {"V1": nib.Nifti1Image(m1, affine), "FFA": nib.Nifti1Image(m2, affine)}
    ids = ["a", "b", "a", "c", "b", "a", "c"]
    resp = responses_from_volumes(betas, masks, trial_image_ids=ids)
    assert resp.Y.shape == (3, 16) and resp.Y_repeats.shape == (3, 3, 16)
    assert sorted(set(resp.regions)) == ["FFA", "V1"]
    assert resp.coords.shape == (16, 3)
    assert set(resp.hemispheres[resp.coords[:, 0] < 0]) == {"lh"}
    assert np.isnan(resp.Y_repeats[1, 2]).all()  # image "b" shown twice
    np.testing.assert_allclose(resp.Y[0], np.nanmean(resp.Y_repeats[0], axis=0), rtol=1e-5)
    with pytest.raises(ValueError, match="trial_image_ids"):
        responses_from_volumes(betas, masks, trial_image_ids=ids[:3])
    with pytest.raises(ValueError, match="roi_masks is empty"):
        responses_from_volumes(betas, {})


# ---------------------------------------------------------------------- simulator
def test_digit_mosaics_are_real_digits():
    images, classes = digit_mosaics(5, image_size=32, random_state=0)
    assert images.shape == (5, 1, 32, 32) and classes.shape == (5, 2, 2)
    assert images.min() >= 0 and images.max() <= 1 and images.std() > 0.1
    with pytest.raises(ValueError, match="multiple of 16"):
        digit_mosaics(2, image_size=20)


def test_simulator_plants_routing_and_noise_ceiling():
    sim = simulate_encoding(400, n_repeats=4, noise_ceiling=0.7, random_state=1)
    n_groups = len(sim.group_names)
    assert sim.features.shape == (400, 64, 16) and sim.grid_shape == (8, 8)
    assert sim.routing.shape == (400, n_groups, 64)
    np.testing.assert_allclose(sim.routing.sum(-1), 1.0, rtol=1e-5)
    assert sim.group_names[-1] == UNLABELLED and "loc0_lh" in sim.routed_groups
    # location maps are the same for every image, content maps are not
    loc = sim.group_names.index("loc0_lh")
    dig = sim.group_names.index("digit0_lh")
    assert np.ptp(sim.routing[:, loc], axis=0).max() == 0
    assert np.ptp(sim.routing[:, dig], axis=0).max() > 0.1
    # lh location regions read the right half of the grid
    cols = sim.positions[:, 1]
    assert sim.routing[0, loc, cols >= 4].sum() > 0.9
    # the realised correlation of signal and repeat mean is the planted ceiling
    r = [np.corrcoef(sim.signal[:, v], sim.Y[:, v])[0, 1] for v in range(sim.Y.shape[1])]
    assert abs(np.mean(r) - 0.7) < 0.03
    again = simulate_encoding(400, n_repeats=4, noise_ceiling=0.7, random_state=1)
    np.testing.assert_array_equal(sim.Y, again.Y)
    with pytest.raises(ValueError, match="noise_ceiling"):
        simulate_encoding(10, noise_ceiling=0.0)
