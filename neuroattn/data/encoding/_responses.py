"""Voxel responses with their region labels, and the Algonauts 2023 / NSD loaders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._images import _IMAGE_SUFFIXES, load_npy

#: Region label of voxels outside every named region (they share one query group).
UNLABELLED = "other"

#: ROI families of the Algonauts 2023 challenge and their region names by code
#: (code 0 is "outside"). Used when the pickled ``mapping_*.npy`` files are not read.
ALGONAUTS_ROI_FAMILIES: dict[str, dict[int, str]] = {
    "prf-visualrois": {1: "V1v", 2: "V1d", 3: "V2v", 4: "V2d", 5: "V3v", 6: "V3d", 7: "hV4"},
    "floc-bodies": {1: "EBA", 2: "FBA-1", 3: "FBA-2", 4: "mTL-bodies"},
    "floc-faces": {1: "OFA", 2: "FFA-1", 3: "FFA-2", 4: "mTL-faces", 5: "aTL-faces"},
    "floc-places": {1: "OPA", 2: "PPA", 3: "RSC"},
    "floc-words": {1: "OWFA", 2: "VWFA-1", 3: "VWFA-2", 4: "mfs-words", 5: "mTL-words"},
}


# --------------------------------------------------------------------------- responses
@dataclass
class EncodingResponses:
    """Voxel responses to images with their region labels.

    Attributes
    ----------
    Y : numpy.ndarray
        ``(n_images, n_voxels)`` responses (mean over repeats), NaN where missing.
    regions : numpy.ndarray
        ``(n_voxels,)`` region name per voxel; :data:`UNLABELLED` outside all regions.
    hemispheres : numpy.ndarray | None
        ``(n_voxels,)`` ``"lh"`` / ``"rh"`` per voxel.
    Y_repeats : numpy.ndarray | None
        ``(n_images, n_repeats, n_voxels)`` single presentations (NaN-padded) when
        available; the noise ceiling is computed from them.
    coords : numpy.ndarray | None
        ``(n_voxels, 3)`` voxel positions in mm (scanner / MNI space) when known.
    image_ids : numpy.ndarray | None
        ``(n_images,)`` identifiers of the images, in row order of ``Y``.
    image_paths : list of Path | None
        Image files in row order of ``Y`` (Algonauts layout), for feature extraction.

    Raises
    ------
    ValueError
        If ``Y`` is not 2-D or a per-voxel / per-image part has another length than
        ``Y`` has voxels / images (the part is named).
    """

    Y: np.ndarray
    regions: np.ndarray
    hemispheres: np.ndarray | None = None
    Y_repeats: np.ndarray | None = None
    coords: np.ndarray | None = None
    image_ids: np.ndarray | None = None
    image_paths: list[Path] | None = None

    def __post_init__(self) -> None:
        if np.ndim(self.Y) != 2:
            raise ValueError(f"Y must be (n_images, n_voxels); got shape {np.shape(self.Y)}.")
        n_images, n_vox = np.shape(self.Y)
        for name in ("regions", "hemispheres"):
            value = getattr(self, name)
            if value is None and name == "hemispheres":
                continue
            n = len(np.ravel(np.asarray(value, dtype=object)))
            if n != n_vox:
                raise ValueError(f"{name} has {n} labels but Y has {n_vox} voxels; give one "
                                 "label per voxel.")
        if self.Y_repeats is not None and (np.ndim(self.Y_repeats) != 3 or (
                np.shape(self.Y_repeats)[0], np.shape(self.Y_repeats)[2]) != (n_images, n_vox)):
            raise ValueError(f"Y_repeats has shape {np.shape(self.Y_repeats)}; expected "
                             f"({n_images}, n_repeats, {n_vox}) for {n_images} images and "
                             f"{n_vox} voxels.")
        if self.coords is not None and np.shape(self.coords) != (n_vox, 3):
            raise ValueError(f"coords has shape {np.shape(self.coords)}; expected "
                             f"({n_vox}, 3) (one position in mm per voxel).")
        for name in ("image_ids", "image_paths"):
            value = getattr(self, name)
            if value is not None and len(value) != n_images:
                raise ValueError(f"{name} has {len(value)} entries but Y has {n_images} "
                                 "images; give one per row of Y.")

    @property
    def n_voxels(self) -> int:
        return int(self.Y.shape[1])


def check_encoding_data(n_images: int, Y: Any, regions: Any = None, hemispheres: Any = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check responses and voxel labels against ``n_images`` feature rows.

    Parameters
    ----------
    n_images : int
        Images in the features.
    Y : array-like
        ``(n_images, n_voxels)`` responses, or ``(n_images, n_repeats, n_voxels)``
        repeats (averaged, ignoring NaN). NaN marks a missing response.
    regions : array-like | None
        ``(n_voxels,)`` region label per voxel; :data:`UNLABELLED` (``"other"``) puts a
        voxel in the unlabelled group. None puts every voxel in that group.
    hemispheres : array-like | None
        ``(n_voxels,)`` ``"lh"``/``"rh"`` (or any labels) per voxel.

    Returns
    -------
    Y : numpy.ndarray
        float32 ``(n_images, n_voxels)``.
    regions : numpy.ndarray
        ``(n_voxels,)`` str.
    hemispheres : numpy.ndarray | None
        ``(n_voxels,)`` str.

    Raises
    ------
    ValueError
        If image counts differ, labels are missing (None, NaN, empty) or have the wrong
        length, a voxel has no finite response at all, or ``Y`` has inf.
    """
    Y = np.asarray(Y)
    if Y.dtype.kind not in "biuf":
        raise ValueError(f"Unknown label type: responses must be numeric, got dtype {Y.dtype}.")
    if Y.ndim == 3:
        Y = _nanmean_repeats(Y)
    if Y.ndim != 2:
        raise ValueError("Responses must be (n_images, n_voxels) or (n_images, n_repeats, "
                         f"n_voxels); got shape {Y.shape}.")
    if Y.shape[0] != n_images:
        raise ValueError(f"Features describe {n_images} images but responses have "
                         f"{Y.shape[0]} rows; they must be the same images in the same order.")
    Y = Y.astype(np.float32)
    if np.isinf(Y).any():
        raise ValueError("Responses contain infinity; mark missing responses with NaN.")
    empty = np.flatnonzero(np.isnan(Y).all(axis=0))
    if empty.size:
        raise ValueError(f"Voxels {empty[:10].tolist()} have no finite response in any "
                         "image; drop them.")
    n_vox = Y.shape[1]
    regions = (np.full(n_vox, UNLABELLED, dtype=object) if regions is None
               else _labels(regions, n_vox, "regions", required=True))
    if hemispheres is not None:
        hemispheres = _labels(hemispheres, n_vox, "hemispheres", required=True)
    return Y, regions, hemispheres


def _nanmean_repeats(Y: np.ndarray) -> np.ndarray:
    counts = np.isfinite(Y).sum(axis=1)
    total = np.where(np.isfinite(Y), Y, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)


def _labels(values: Any, n_vox: int, name: str, required: bool) -> np.ndarray:
    arr = np.asarray(values, dtype=object).ravel()
    if arr.shape[0] != n_vox:
        raise ValueError(f"{name} has {arr.shape[0]} labels but the responses have "
                         f"{n_vox} voxels; give one label per voxel.")
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) or str(v) == ""
                        for v in arr])
    if required and missing.any():
        idx = np.flatnonzero(missing)
        raise ValueError(f"{missing.sum()} voxel(s) have no {name[:-1]} label (e.g. voxels "
                         f"{idx[:10].tolist()}); label voxels outside every region "
                         f"{UNLABELLED!r} (they then share the unlabelled query group) or "
                         "drop them.")
    return np.array([str(v) for v in arr], dtype=object)


def region_groups(regions: np.ndarray, hemispheres: np.ndarray | None = None
                  ) -> tuple[np.ndarray, list[str]]:
    """Query group of each voxel: one per (region, hemisphere), one for unlabelled voxels.

    Parameters
    ----------
    regions : numpy.ndarray
        ``(n_voxels,)`` region labels (:data:`UNLABELLED` for none).
    hemispheres : numpy.ndarray | None
        ``(n_voxels,)`` hemisphere labels; None ignores hemispheres.

    Returns
    -------
    groups : numpy.ndarray
        ``(n_voxels,)`` int group index.
    names : list of str
        Group names (``"FFA-1_lh"``; ``"other"`` for the unlabelled group, always last
        when present, pooled over hemispheres).
    """
    keys = []
    for i, reg in enumerate(regions):
        reg = str(reg)
        if reg == UNLABELLED or hemispheres is None:
            keys.append(reg)
        else:
            keys.append(f"{reg}_{hemispheres[i]}")
    names = sorted(set(keys) - {UNLABELLED})
    if UNLABELLED in keys:
        names.append(UNLABELLED)
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[k] for k in keys], dtype=np.int64), names


# ---------------------------------------------------------------------------- loaders
def load_algonauts2023(root: str | Path, subject: int = 1, *,
                       roi_families: Sequence[str] = ("prf-visualrois", "floc-bodies",
                                                      "floc-faces", "floc-places",
                                                      "floc-words"),
                       hemispheres: Sequence[str] = ("lh", "rh"),
                       allow_pickle: bool = False) -> EncodingResponses:
    """Responses of one Algonauts 2023 subject from a local copy of the challenge data.

    Nothing is downloaded: ``root`` must hold ``subjXX/`` folders as distributed (see
    the module docstring). Responses are the challenge's z-scored, repeat-averaged
    betas on the surface vertices ("challenge space"), so no repeats (and no noise
    ceiling) are available from this layout.

    Parameters
    ----------
    root : str | Path
        Folder holding ``subj01`` ... ``subj08``.
    subject : int
        Subject number (1-8).
    roi_families : sequence of str
        ROI mask families to label vertices with (keys of
        :data:`ALGONAUTS_ROI_FAMILIES`); the first family listing a vertex names it,
        vertices in none are :data:`UNLABELLED`.
    hemispheres : sequence of str
        ``"lh"`` and/or ``"rh"``.
    allow_pickle : bool
        Read region names from the challenge's pickled ``mapping_*.npy`` files. Off by
        default (unpickling can run code); the built-in table is used instead.

    Returns
    -------
    EncodingResponses
        ``Y`` ``(n_images, n_vertices)``, ``regions``, ``hemispheres`` and
        ``image_paths`` (the training images, sorted, in the row order of ``Y``).

    Raises
    ------
    ValueError
        If the folder layout is not found, the files disagree in size, or a file is
        unreadable (empty, truncated), has the wrong shape, holds infinite responses or
        non-integer region codes (the file is named).
    FileNotFoundError
        If a hemisphere's response file or an ROI mask is missing.
    """
    subj = Path(root) / f"subj{int(subject):02d}"
    fmri_dir = subj / "training_split" / "training_fmri"
    if not fmri_dir.is_dir():
        raise ValueError(f"{fmri_dir} not found: expected the Algonauts 2023 layout "
                         "<root>/subjXX/training_split/training_fmri/{lh,rh}_training_fmri.npy"
                         " (download it yourself; neuroattn never downloads data).")
    Ys, regs, hemis = [], [], []
    for hemi in hemispheres:
        if hemi not in ("lh", "rh"):
            raise ValueError(f"hemispheres must be 'lh' and/or 'rh', got {hemi!r}.")
        path = fmri_dir / f"{hemi}_training_fmri.npy"
        Y = load_npy(path, what="response")
        if Y.ndim != 2 or Y.dtype.kind not in "biuf":
            raise ValueError(f"{path} holds a {Y.dtype} array of shape {Y.shape}; expected "
                             "numeric responses (n_images, n_vertices).")
        if np.isinf(Y).any():
            raise ValueError(f"{path} holds infinite responses; expected finite values (NaN "
                             "marks a missing one).")
        labels = np.full(Y.shape[1], UNLABELLED, dtype=object)
        for family in roi_families:
            codes = _algonauts_mask(subj, hemi, family, Y.shape[1])
            names = _algonauts_mapping(subj, family, allow_pickle)
            free = (labels == UNLABELLED) & (codes > 0)
            labels[free] = [names.get(int(c), f"{family}-{int(c)}") for c in codes[free]]
        Ys.append(Y.astype(np.float32))
        regs.append(labels)
        hemis.append(np.full(Y.shape[1], hemi, dtype=object))
    if len({y.shape[0] for y in Ys}) > 1:
        raise ValueError(f"Hemispheres have different image counts: {[y.shape for y in Ys]}.")
    img_dir = subj / "training_split" / "training_images"
    paths = (sorted(p for p in img_dir.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
             if img_dir.is_dir() else None)
    if paths is not None and len(paths) != Ys[0].shape[0]:
        raise ValueError(f"{img_dir} holds {len(paths)} images but the responses have "
                         f"{Ys[0].shape[0]} rows.")
    ids = (np.array([p.stem for p in paths]) if paths else None)
    return EncodingResponses(np.concatenate(Ys, axis=1), np.concatenate(regs),
                             np.concatenate(hemis), image_ids=ids, image_paths=paths)


def _algonauts_mask(subj: Path, hemi: str, family: str, n_vertices: int) -> np.ndarray:
    path = subj / "roi_masks" / f"{hemi}.{family}_challenge_space.npy"
    if not path.is_file():
        raise ValueError(f"ROI mask {path} not found (asked for family {family!r}).")
    codes = load_npy(path, what="ROI mask").ravel()
    if codes.dtype.kind not in "biuf" or (codes.dtype.kind == "f" and not (
            np.isfinite(codes).all() and (codes == np.round(codes)).all())):
        raise ValueError(f"{path} must hold integer region codes (0 outside every region); "
                         f"found {codes.dtype} values such as "
                         f"{codes[~np.isfinite(codes)][:1].tolist() or codes[:3].tolist()}.")
    codes = codes.astype(int)
    if codes.shape[0] != n_vertices:
        raise ValueError(f"{path} labels {codes.shape[0]} vertices but the responses have "
                         f"{n_vertices}.")
    return codes


def _algonauts_mapping(subj: Path, family: str, allow_pickle: bool) -> dict[int, str]:
    path = subj / "roi_masks" / f"mapping_{family}.npy"
    if allow_pickle and path.is_file():
        mapping = np.load(path, allow_pickle=True).item()
        return {int(k): str(v) for k, v in mapping.items() if int(k) != 0}
    return ALGONAUTS_ROI_FAMILIES.get(family, {})


def responses_from_volumes(imgs: Any, roi_masks: dict[str, Any], *,
                           trial_image_ids: Sequence[Any] | None = None,
                           mask_img: Any = None, split_hemispheres: bool = True,
                           standardize: bool = True) -> EncodingResponses:
    """Responses of voxels in ROI masks from single-trial beta volumes (NSD-style), nilearn.

    Parameters
    ----------
    imgs : Niimg-like | list of Niimg-like
        4-D beta volume(s), one volume per trial (e.g. NSD's
        ``betas_fithrf_GLMdenoise_RR/betas_sessionXX.nii.gz``, concatenated in order).
    roi_masks : dict of str to Niimg-like
        Region name to a binary mask in the same space; a voxel in several masks
        takes the first. Voxels of ``mask_img`` outside every ROI are :data:`UNLABELLED`.
    trial_image_ids : sequence | None
        ``(n_trials,)`` image shown in each trial (from NSD's experimental design);
        trials of the same image are repeats. None treats every trial as its own image.
    mask_img : Niimg-like | None
        Voxels to keep; defaults to the union of ``roi_masks``.
    split_hemispheres : bool
        Label hemispheres by the sign of the world x coordinate (x < 0 is ``"lh"``;
        right for RAS-oriented scanner and MNI space).
    standardize : bool
        z-score each voxel over trials (per session z-scoring is the user's choice
        before calling).

    Returns
    -------
    EncodingResponses
        ``Y`` ``(n_images, n_voxels)`` repeat means, ``Y_repeats`` ``(n_images,
        max_repeats, n_voxels)`` NaN-padded, ``coords`` in mm, ``image_ids``.

    Raises
    ------
    ValueError
        If no ROI mask is given, masks select no voxel, or ``trial_image_ids`` has the
        wrong length.
    """
    from nilearn.image import load_img, new_img_like
    from nilearn.maskers import NiftiMasker

    if not roi_masks:
        raise ValueError("roi_masks is empty: give at least one {name: mask image}.")
    names = list(roi_masks)
    if mask_img is None:
        first = load_img(roi_masks[names[0]])
        union = np.zeros(first.shape[:3], bool)
        for name in names:
            union |= _mask_data(roi_masks[name], first)
        mask_img = new_img_like(first, union.astype(np.int8))
    masker = NiftiMasker(mask_img=mask_img, standardize="zscore_sample" if standardize
                         else False).fit()
    n_vox = int(np.asarray(masker.mask_img_.get_fdata()).sum())
    if n_vox == 0:
        raise ValueError("The masks select no voxel.")
    inside = np.asarray(masker.mask_img_.get_fdata()) > 0
    labels = np.full(n_vox, UNLABELLED, dtype=object)
    for name in names:
        roi = _mask_data(roi_masks[name], masker.mask_img_)[inside]
        labels[(labels == UNLABELLED) & roi] = name
    X = masker.transform(imgs).astype(np.float32)  # (n_trials, n_voxels)
    ijk = np.argwhere(inside)
    coords = (masker.mask_img_.affine @ np.c_[ijk, np.ones(len(ijk))].T).T[:, :3]
    hemis = np.where(coords[:, 0] < 0, "lh", "rh").astype(object) if split_hemispheres else None
    ids = np.arange(X.shape[0]) if trial_image_ids is None else np.asarray(trial_image_ids)
    if ids.shape[0] != X.shape[0]:
        raise ValueError(f"trial_image_ids has {ids.shape[0]} entries for {X.shape[0]} trials.")
    uniq, inverse = np.unique(ids, return_inverse=True)
    n_rep = np.bincount(inverse).max()
    reps = np.full((len(uniq), n_rep, X.shape[1]), np.nan, np.float32)
    slot = np.zeros(len(uniq), int)
    for t, i in enumerate(inverse):
        reps[i, slot[i]] = X[t]
        slot[i] += 1
    return EncodingResponses(_nanmean_repeats(reps).astype(np.float32), labels, hemis,
                             Y_repeats=reps, coords=coords.astype(np.float32), image_ids=uniq)


def _mask_data(mask: Any, like: Any) -> np.ndarray:
    from nilearn.image import load_img, resample_to_img

    img = load_img(mask)
    if img.shape[:3] != like.shape[:3] or not np.allclose(img.affine, like.affine):
        img = resample_to_img(img, like, interpolation="nearest", copy_header=True,
                              force_resample=True)
    return np.asarray(img.get_fdata()).reshape(like.shape[:3]) > 0
