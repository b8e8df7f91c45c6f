"""Images and their feature tokens (numpy only)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_COLOURS = (1, 3, 4)


# ----------------------------------------------------------------------------- images
def load_images(images: Any, *, size: tuple[int, int] | None = None) -> np.ndarray:
    """Images as float32 ``(n_images, n_colors, height, width)`` in [0, 1].

    Parameters
    ----------
    images : array-like | str | Path | sequence of str or Path
        An array ``(n, H, W)`` (grey), ``(n, C, H, W)`` or ``(n, H, W, C)`` (channels
        last), C in 1, 3, 4; finite values in [0, 1], or uint8 arrays (scaled by 1/255).
        Values far outside [0, 1] (above 5, or above 1 for integer types other than
        uint8; e.g. 0-255 floats) are used as given with a warning. A folder (its
        image files, sorted by name) or a list of image files is read with Pillow as
        RGB.
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
        If there are no images, the array has the wrong rank, no colour axis of 1, 3
        or 4, is not real-valued, holds NaN or infinity (the first such image is
        named), or files differ in size while ``size`` is None.

    Warns
    -----
    UserWarning
        If the values lie far outside [0, 1] (see ``images``).
    """
    if isinstance(images, (str, os.PathLike)) or (
            isinstance(images, Sequence) and len(images) and isinstance(images[0], (str, Path))):
        return _read_image_files(list_image_files(images), size)
    arr = np.asarray(images)
    if arr.size == 0:
        raise ValueError("No images given: expected an array (n_images, ...) or image files.")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"images must be real numbers (floats in [0, 1] or uint8), got an "
                         f"array of dtype {arr.dtype}.")
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4 and arr.shape[1] not in _COLOURS:
        if arr.shape[-1] not in _COLOURS:
            raise ValueError(f"images of shape {arr.shape} have no colour axis: expected "
                             "(n, C, H, W) or (n, H, W, C) with C (colours) 1, 3 or 4.")
        arr = arr.transpose(0, 3, 1, 2)
    elif arr.ndim != 4:
        raise ValueError(f"Images must be (n, H, W), (n, H, W, C) or (n, C, H, W); got "
                         f"an array of shape {arr.shape}.")
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr).reshape(len(arr), -1).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise ValueError(f"images contain NaN or infinity (first in image {bad[0]}, "
                             f"{len(bad)} image(s) in all); clean them first.")
    if arr.dtype != np.uint8:
        low, high = float(arr.min()), float(arr.max())
        if high > (1.0 if arr.dtype.kind in "iu" else 5.0):
            warnings.warn(f"images hold values in [{low:.3g}, {high:.3g}]; expected [0, 1] "
                          f"(uint8 arrays are scaled by 1/255, {arr.dtype} ones are used as "
                          "given): divide them by their full scale (e.g. 255) first.",
                          UserWarning, stacklevel=2)
    scale = 1.0 / 255.0 if arr.dtype == np.uint8 else 1.0
    return np.ascontiguousarray(arr, dtype=np.float32) * np.float32(scale)


def load_npy(path: str | Path, *, mmap_mode: str | None = None, what: str = "array"
             ) -> np.ndarray:
    """``numpy.load`` of a ``.npy`` file (no pickle) whose errors name the file.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is empty, truncated or not a ``.npy`` array.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {what} file (.npy).")
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable .npy {what} (empty, truncated or another "
                         f"format: {exc}).") from None


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
        If the array is not 2-, 3- or 4-D, is empty or holds NaN/inf, or a ``.npy``
        file is not readable (named).
    FileNotFoundError
        If a ``.npy`` path does not exist.
    """
    if isinstance(features, FeatureTokens):
        return features
    if isinstance(features, (str, os.PathLike)):
        features = load_npy(features, mmap_mode="r" if mmap else None, what="feature")
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
