"""Bad inputs to the encoding loaders (images, feature files, responses, Algonauts layout):
each is refused with a message naming the parameter or file, never silently used."""

from __future__ import annotations

import re

import numpy as np
import pytest

from neuroattn.data.encoding import (
    EncodingResponses,
    as_feature_tokens,
    check_encoding_data,
    load_algonauts2023,
    load_images,
)


def _images(shape=(4, 1, 8, 8), seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


# ------------------------------------------------------------------------- images
@pytest.mark.parametrize("value, match", [(np.nan, "NaN"), (np.inf, "inf")])
@pytest.mark.parametrize("shape", [(4, 8, 8), (4, 1, 8, 8), (4, 8, 8, 3)])
def test_non_finite_images_are_refused_naming_the_image(value, match, shape):
    imgs = _images(shape)
    imgs.reshape(len(imgs), -1)[2, 3] = value
    with pytest.raises(ValueError, match=rf"images.*{match}.*image 2"):
        load_images(imgs)


@pytest.mark.parametrize("shape", [(8, 8), (2, 1, 3, 8, 8), (4,)])
def test_images_of_the_wrong_rank(shape):
    with pytest.raises(ValueError, match=r"\(n, H, W\).*\(n, C, H, W\).*" + re.escape(str(shape))):
        load_images(np.zeros(shape, np.float32))


@pytest.mark.parametrize("shape", [(4, 8, 8, 2), (4, 5, 8, 8), (4, 8, 8, 8)])
def test_images_with_an_unknown_colour_axis_are_refused(shape):
    # (n, 8, 8, 2) used to be read as 8 colours of 8 x 2 pixels
    with pytest.raises(ValueError, match="colour"):
        load_images(np.zeros(shape, np.float32))


@pytest.mark.parametrize("imgs", [np.array([["a", "b"], ["c", "d"]] * 2, dtype=object)
                                  .reshape(2, 2, 2), np.zeros((2, 4, 4), dtype=complex)])
def test_non_numeric_images_are_refused(imgs):
    with pytest.raises(ValueError, match="images must be real numbers"):
        load_images(imgs)


@pytest.mark.parametrize("dtype, scale", [(np.int64, 255), (np.float32, 255), (np.uint16, 65535)])
def test_images_outside_unit_range_warn(dtype, scale):
    imgs = (_images() * scale).astype(dtype)
    with pytest.warns(UserWarning, match=r"images hold values in \[\d.*expected \[0, 1\]"):
        load_images(imgs)


# ------------------------------------------------------------------- feature files
@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_feature_file_is_named(damage, tmp_path):
    path = tmp_path / "features.npy"
    np.save(path, np.ones((4, 9, 3), np.float32))
    data = path.read_bytes()
    path.write_bytes({"truncated": data[:-20], "garbage": b"not a numpy file" * 8,
                      "empty": b""}[damage])
    with pytest.raises(ValueError, match=r"features\.npy"):
        as_feature_tokens(path)


def test_missing_feature_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothere\.npy"):
        as_feature_tokens(tmp_path / "nothere.npy")


# --------------------------------------------------------------------- responses
@pytest.mark.parametrize("field, value, match", [
    ("regions", np.array(["V1"] * 4, dtype=object), "regions has 4 labels.*5 voxels"),
    ("hemispheres", np.array(["lh"] * 6, dtype=object), "hemispheres has 6 labels.*5 voxels"),
    ("Y_repeats", np.zeros((3, 2, 5)), r"Y_repeats.*\(3, 2, 5\).*6 images"),
    ("coords", np.zeros((5, 2)), r"coords.*\(5, 3\)"),
    ("image_ids", np.arange(5), "image_ids has 5 entries.*6 images"),
    ("image_paths", ["a.png"] * 7, "image_paths has 7 entries.*6 images"),
    ("Y", np.zeros((6, 5, 1)), r"Y must be \(n_images, n_voxels\)"),
])
def test_encoding_responses_checks_its_parts(field, value, match):
    parts = dict(Y=np.zeros((6, 5), np.float32), regions=np.array(["V1"] * 5, dtype=object))
    parts[field] = value
    with pytest.raises(ValueError, match=match):
        EncodingResponses(**parts)


@pytest.mark.parametrize("kwargs, match", [
    ({"Y": np.zeros((7, 5))}, "6 images but responses have 7 rows"),
    ({"regions": ["V1"] * 4}, "regions has 4 labels"),
    ({"hemispheres": ["lh"] * 6}, "hemispheres has 6 labels"),
    ({"Y": np.full((6, 5), np.inf)}, "infinity"),
    ({"Y": np.where(np.eye(6, 5) > 0, np.nan, 0.0) + np.nan}, "no finite response"),
])
def test_check_encoding_data_refuses(kwargs, match):
    args = {"Y": np.zeros((6, 5)), **kwargs}
    with pytest.raises(ValueError, match=match):
        check_encoding_data(6, **args)


# ----------------------------------------------------------------- Algonauts layout
def _algonauts(root, n_images=4, n_lh=5, n_rh=4):
    subj = root / "subj01"
    fmri = subj / "training_split" / "training_fmri"
    fmri.mkdir(parents=True)
    (subj / "roi_masks").mkdir()
    rng = np.random.default_rng(0)
    for hemi, n in (("lh", n_lh), ("rh", n_rh)):
        np.save(fmri / f"{hemi}_training_fmri.npy", rng.normal(size=(n_images, n)))
        codes = np.zeros(n, int)
        codes[0] = 1
        np.save(subj / "roi_masks" / f"{hemi}.prf-visualrois_challenge_space.npy", codes)
    return subj


@pytest.mark.parametrize("damage, match", [
    ("truncated", r"lh_training_fmri\.npy.*not a readable \.npy"),
    ("one-d", r"lh_training_fmri\.npy.*\(n_images, n_vertices\)"),
    ("inf", r"lh_training_fmri\.npy.*infinite"),
    ("mask-nan", r"lh\.prf-visualrois_challenge_space\.npy.*integer"),
    ("mask-truncated", r"lh\.prf-visualrois_challenge_space\.npy.*not a readable \.npy"),
    ("missing", r"rh_training_fmri\.npy"),
])
def test_algonauts_bad_files_are_named(damage, match, tmp_path):
    subj = _algonauts(tmp_path)
    fmri = subj / "training_split" / "training_fmri" / "lh_training_fmri.npy"
    mask = subj / "roi_masks" / "lh.prf-visualrois_challenge_space.npy"
    if damage == "truncated":
        fmri.write_bytes(fmri.read_bytes()[:-16])
    elif damage == "one-d":
        np.save(fmri, np.zeros(5))
    elif damage == "inf":
        np.save(fmri, np.full((4, 5), np.inf))
    elif damage == "mask-nan":
        np.save(mask, np.array([1.0, np.nan, 0, 0, 0]))
    elif damage == "mask-truncated":
        mask.write_bytes(mask.read_bytes()[:-8])
    else:
        (fmri.parent / "rh_training_fmri.npy").unlink()
    error = FileNotFoundError if damage == "missing" else ValueError
    with pytest.raises(error, match=match):
        load_algonauts2023(tmp_path, roi_families=("prf-visualrois",))


def test_feature_cache_key_refuses_object_arrays():
    from neuroattn.data.encoding import feature_cache_key

    with pytest.raises(ValueError, match="object array"):
        feature_cache_key(np.array([{"a": 1}], dtype=object))
