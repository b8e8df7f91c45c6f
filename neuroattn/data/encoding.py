"""Stimulus features and voxel responses for visual encoding models (numpy only).

Images (arrays or files) become float arrays; feature maps (computed elsewhere, e.g. by
:func:`neuroattn.estimators.extract_features`, or loaded from disk) become *tokens*
``(n_images, n_tokens, dim)`` with their grid positions; responses become
``(n_images, n_voxels)`` with a region label (and hemisphere) per voxel. Loaders read
the Algonauts 2023 challenge layout from a local folder and NSD-style beta volumes
through nilearn. Nothing is downloaded and no torch module is run here: ``data`` knows
nothing of torch modules.

Algonauts 2023 layout (as distributed; pass its root to :func:`load_algonauts2023`)::

    <root>/subj01/training_split/training_fmri/lh_training_fmri.npy   (n_images, n_lh)
    <root>/subj01/training_split/training_fmri/rh_training_fmri.npy   (n_images, n_rh)
    <root>/subj01/training_split/training_images/train-0001_nsd-00013.png ...
    <root>/subj01/roi_masks/lh.<family>_challenge_space.npy           (n_lh,) int codes
    <root>/subj01/roi_masks/mapping_<family>.npy                      {code: name}
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["UNLABELLED", "FeatureTokens", "EncodingResponses", "load_images",
           "grid_positions", "as_feature_tokens", "check_finite_tokens",
           "open_feature_cache", "feature_cache_key",
           "check_encoding_data", "region_groups", "load_algonauts2023",
           "responses_from_volumes", "ALGONAUTS_ROI_FAMILIES", "list_image_files"]

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

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


# ----------------------------------------------------------------------------- images
def load_images(images: Any, *, size: tuple[int, int] | None = None) -> np.ndarray:
    """Images as float32 ``(n_images, n_colors, height, width)`` in [0, 1].

    Parameters
    ----------
    images : array-like | str | Path | sequence of str or Path
        An array ``(n, H, W)`` (grey), ``(n, H, W, C)`` (channels last, C in 1, 3, 4)
        or ``(n, C, H, W)``; uint8 arrays are scaled by 1/255. A folder (its image
        files, sorted by name) or a list of image files is read with Pillow as RGB.
    size : (int, int) | None
        ``(height, width)`` to resize files to (bilinear); required when the files
        differ in size. Arrays are never resized.

    Returns
    -------
    numpy.ndarray
        float32 ``(n_images, n_colors, height, width)``.

    Raises
    ------
    ValueError
        If there are no images, the array has the wrong rank, or files differ in size
        while ``size`` is None.
    """
    if isinstance(images, (str, os.PathLike)) or (
            isinstance(images, Sequence) and len(images) and isinstance(images[0], (str, Path))):
        return _read_image_files(list_image_files(images), size)
    arr = np.asarray(images)
    if arr.size == 0:
        raise ValueError("No images given: expected an array (n_images, ...) or image files.")
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4 and arr.shape[-1] in (1, 3, 4) and arr.shape[1] not in (1, 3, 4):
        arr = arr.transpose(0, 3, 1, 2)
    elif arr.ndim != 4:
        raise ValueError(f"Images must be (n, H, W), (n, H, W, C) or (n, C, H, W); got "
                         f"an array of shape {arr.shape}.")
    scale = 1.0 / 255.0 if arr.dtype == np.uint8 else 1.0
    return np.ascontiguousarray(arr, dtype=np.float32) * np.float32(scale)


def list_image_files(images: Any) -> list[Path]:
    """Image files of a folder (sorted by name) or of a list of paths.

    Raises
    ------
    ValueError
        If the folder does not exist or holds no image file.
    """
    if isinstance(images, (str, os.PathLike)):
        root = Path(images)
        if not root.is_dir():
            raise ValueError(f"{root} is not a folder of images.")
        paths = sorted(p for p in root.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        if not paths:
            raise ValueError(f"No image files ({', '.join(_IMAGE_SUFFIXES)}) in {root}.")
        return paths
    return [Path(p) for p in images]


def _read_image_files(paths: list[Path], size: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image

    out = []
    for path in paths:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if size is not None:
                img = img.resize((int(size[1]), int(size[0])), Image.BILINEAR)
            out.append(np.asarray(img, dtype=np.uint8))
    shapes = {a.shape for a in out}
    if len(shapes) > 1:
        raise ValueError(f"Image files differ in size ({sorted(shapes)[:3]}...); pass "
                         "size=(height, width) to resize them.")
    return np.stack(out).transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)


# ---------------------------------------------------------------------------- features
@dataclass
class FeatureTokens:
    """Feature-map tokens of a set of images.

    Attributes
    ----------
    tokens : numpy.ndarray
        ``(n_images, n_tokens, dim)`` (possibly a read-only memory map).
    positions : numpy.ndarray
        ``(n_tokens, 2)`` (row, column) of each token on the feature grid, in grid
        units; NaN for tokens without a position (a class token).
    grid_shape : tuple of int | None
        ``(n_rows, n_cols)`` of the feature grid when the tokens form one, row-major.
    """

    tokens: np.ndarray
    positions: np.ndarray
    grid_shape: tuple[int, int] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_images(self) -> int:
        return int(self.tokens.shape[0])

    def __len__(self) -> int:
        return self.n_images


def grid_positions(n_rows: int, n_cols: int) -> np.ndarray:
    """Row-major (row, column) coordinates ``(n_rows * n_cols, 2)`` of a token grid."""
    if n_rows < 1 or n_cols < 1:
        raise ValueError(f"A grid needs positive sizes, got {n_rows} x {n_cols}.")
    rows, cols = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    return np.stack([rows.ravel(), cols.ravel()], axis=1).astype(np.float32)


def as_feature_tokens(features: Any, *, channels_last: bool = False,
                      n_prefix_tokens: int | str = 0, mmap: bool = True) -> FeatureTokens:
    """Precomputed feature maps as tokens ``(n_images, n_tokens, dim)`` with positions.

    Parameters
    ----------
    features : FeatureTokens | array-like | str | Path
        ``(n, C, H, W)`` conv maps (``(n, H, W, C)`` with ``channels_last``) become
        ``H * W`` tokens of width ``C`` in row-major order; ``(n, n_tokens, dim)`` is
        kept (a square number of tokens gets grid positions); ``(n, dim)`` is one token.
        A ``.npy`` path is opened memory-mapped.
    channels_last : bool
        Read 4-D maps as ``(n, H, W, C)`` (Swin-style) instead of ``(n, C, H, W)``.
    n_prefix_tokens : int | "auto"
        For 3-D tokens: leading tokens without a grid position (ViT class/register
        tokens). ``"auto"`` takes the smallest count that leaves a square grid.
    mmap : bool
        Memory-map ``.npy`` files instead of reading them.

    Returns
    -------
    FeatureTokens

    Raises
    ------
    ValueError
        If the array is not 2-, 3- or 4-D, is empty or holds NaN/inf.
    """
    if isinstance(features, FeatureTokens):
        return features
    if isinstance(features, (str, os.PathLike)):
        features = np.load(features, mmap_mode="r" if mmap else None, allow_pickle=False)
    arr = features if isinstance(features, np.memmap) else np.asarray(features)
    if arr.size == 0 or arr.ndim not in (2, 3, 4):
        raise ValueError("Features must be (n_images, C, H, W) maps, (n_images, n_tokens, "
                         f"dim) tokens or (n_images, dim) vectors; got shape {arr.shape}.")
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"Features must be numeric, got dtype {arr.dtype}.")
    if arr.ndim == 2:
        return FeatureTokens(arr[:, None, :], np.zeros((1, 2), np.float32), (1, 1))
    if arr.ndim == 4:
        if not channels_last:
            arr = arr.transpose(0, 2, 3, 1)
        n, h, w, c = arr.shape
        return FeatureTokens(np.ascontiguousarray(arr).reshape(n, h * w, c),
                             grid_positions(h, w), (h, w))
    n_tok = arr.shape[1]
    prefix = _n_prefix(n_tok, n_prefix_tokens)
    side = int(round(np.sqrt(n_tok - prefix)))
    grid = (side, side) if side * side == n_tok - prefix else None
    pos = np.full((n_tok, 2), np.nan, np.float32)
    if grid is not None:
        pos[prefix:] = grid_positions(*grid)
    return FeatureTokens(arr, pos, grid if prefix == 0 else None,
                         {"n_prefix_tokens": prefix})


def _n_prefix(n_tok: int, n_prefix_tokens: int | str) -> int:
    if n_prefix_tokens == "auto":
        for k in range(min(n_tok, 9)):
            side = int(round(np.sqrt(n_tok - k)))
            if side * side == n_tok - k and side > 0:
                return k
        return 0
    k = int(n_prefix_tokens)
    if not 0 <= k < n_tok:
        raise ValueError(f"n_prefix_tokens must be in [0, {n_tok}), got {n_prefix_tokens}.")
    return k


def check_finite_tokens(tokens: np.ndarray, chunk: int = 256) -> None:
    """Raise ``ValueError`` if ``tokens`` holds NaN or inf (checked in chunks of images)."""
    for start in range(0, tokens.shape[0], chunk):
        block = np.asarray(tokens[start:start + chunk])
        if not np.isfinite(block).all():
            rows = (~np.isfinite(block)).reshape(len(block), -1).any(axis=1)
            bad = start + int(np.flatnonzero(rows)[0])
            raise ValueError(f"Features contain NaN or infinity (first in image {bad}).")


def feature_cache_key(*parts: Any) -> str:
    """A short stable hash naming a feature cache entry.

    Parameters
    ----------
    *parts
        Things that determine the features: arrays (hashed by content), paths (by
        name, size and modification time), strings and numbers.

    Returns
    -------
    str
        16 hexadecimal characters.
    """
    h = hashlib.sha1()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str((part.shape, part.dtype.str)).encode())
            h.update(np.ascontiguousarray(part).view(np.uint8).ravel().data)
        elif isinstance(part, (str, os.PathLike)) and Path(part).is_file():
            st = Path(part).stat()
            h.update(f"{Path(part).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
        elif isinstance(part, (list, tuple)):
            h.update(feature_cache_key(*part).encode())
        else:
            h.update(repr(part).encode())
    return h.hexdigest()[:16]


def open_feature_cache(cache_dir: str | Path, key: str, shape: tuple[int, int, int] | None = None,
                       *, positions: np.ndarray | None = None,
                       grid_shape: tuple[int, int] | None = None,
                       info: dict[str, Any] | None = None):
    """Open (or create) a memory-mapped feature cache entry ``<cache_dir>/<key>.npy``.

    Parameters
    ----------
    cache_dir : str | Path
        Folder of the cache (created when missing).
    key : str
        Entry name, e.g. from :func:`feature_cache_key`.
    shape : (int, int, int) | None
        ``(n_images, n_tokens, dim)`` to create a new float32 entry; None only opens.
    positions, grid_shape, info
        Stored beside the tokens (``<key>.json``) when creating.

    Returns
    -------
    FeatureTokens | None
        For an existing complete entry, its tokens memory-mapped read-only; None when
        ``shape`` is None and there is no complete entry.
    writer : tuple (numpy.memmap, callable) | None
        When creating: the writable map and a ``commit()`` to call once it is filled
        (an interrupted run leaves no entry that looks complete).
    """
    cache_dir = Path(cache_dir)
    npy, meta = cache_dir / f"{key}.npy", cache_dir / f"{key}.json"
    if shape is None:
        if not (npy.is_file() and meta.is_file()):
            return None
        m = json.loads(meta.read_text())
        if not m.get("complete"):
            return None
        tokens = np.load(npy, mmap_mode="r", allow_pickle=False)
        pos = np.asarray(m["positions"], dtype=np.float32)
        grid = tuple(m["grid_shape"]) if m.get("grid_shape") else None
        return FeatureTokens(tokens, pos, grid, m.get("info", {}))
    cache_dir.mkdir(parents=True, exist_ok=True)
    arr = np.lib.format.open_memmap(npy, mode="w+", dtype=np.float32, shape=tuple(shape))
    record = {"complete": False, "shape": list(shape),
              "positions": None if positions is None else np.asarray(positions).tolist(),
              "grid_shape": list(grid_shape) if grid_shape else None, "info": info or {}}
    meta.write_text(json.dumps(record))

    def commit() -> FeatureTokens:
        arr.flush()
        record["complete"] = True
        meta.write_text(json.dumps(record))
        return open_feature_cache(cache_dir, key)

    return arr, commit


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
    """

    Y: np.ndarray
    regions: np.ndarray
    hemispheres: np.ndarray | None = None
    Y_repeats: np.ndarray | None = None
    coords: np.ndarray | None = None
    image_ids: np.ndarray | None = None
    image_paths: list[Path] | None = None

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
        If the folder layout is not found or the files disagree in size.
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
        Y = np.load(fmri_dir / f"{hemi}_training_fmri.npy", allow_pickle=False)
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
    codes = np.load(path, allow_pickle=False).astype(int).ravel()
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
