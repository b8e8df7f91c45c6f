"""Run a user-supplied torch backbone on images and keep one layer's feature map as tokens.

This lives in ``estimators`` (not ``data``) because it runs a torch module: ``data``
knows nothing of torch modules. File and array handling (reading images, memory-mapped
caches, token layout) stays in :mod:`neuroattn.data.encoding`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.encoding import (
    FeatureTokens,
    as_feature_tokens,
    feature_cache_key,
    list_image_files,
    load_images,
    open_feature_cache,
)
from ._base import resolve_device

__all__ = ["extract_features", "layer_names"]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class _StopForward(Exception):
    """Raised by the hook once the chosen layer has run: the rest is not computed."""


def layer_names(backbone: torch.nn.Module) -> list[str]:
    """Names of the backbone's sub-modules (as in ``named_modules``), usable as ``layer``."""
    return [name for name, _ in backbone.named_modules() if name]


def extract_features(images: Any, backbone: torch.nn.Module, layer: str, *,
                     batch_size: int = 32, device: str = "auto",
                     normalize: str | tuple | None = None,
                     image_size: tuple[int, int] | None = None,
                     transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                     channels_last: bool = False, n_prefix_tokens: int | str = "auto",
                     cache_dir: str | Path | None = None, cache_key: str | None = None,
                     verbose: bool = False) -> FeatureTokens:
    """Tokens ``(n_images, n_tokens, dim)`` of one backbone layer, batched and cached.

    The backbone is any ``torch.nn.Module`` you built (a torchvision or timm model
    with the weights you chose, or your own network); neuroattn downloads nothing. It is
    run in eval mode without gradients, on GPU when present; the forward pass stops at
    ``layer``.

    Parameters
    ----------
    images : array-like | str | Path | list of paths
        See :func:`neuroattn.data.encoding.load_images`; arrays ``(n, C, H, W)`` in
        [0, 1] (uint8 is scaled). Grey images are repeated to 3 colours when
        ``normalize="imagenet"``.
    backbone : torch.nn.Module
        The feature extractor.
    layer : str
        Name of the module whose output is kept (see :func:`layer_names`). A 4-D
        output ``(b, C, H, W)`` gives ``H * W`` tokens; a 3-D ``(b, N, D)`` output (ViT
        blocks) gives ``N`` tokens, leading class/register tokens kept but without a
        grid position (``n_prefix_tokens``).
    batch_size : int
        Images per forward pass.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    normalize : {"imagenet", None} | (mean, std)
        Per-colour normalisation applied to [0, 1] images before the backbone.
    image_size : (int, int) | None
        Resize image files to this ``(height, width)``.
    transform : callable | None
        Extra function on each float batch ``(b, C, H, W)`` (after ``normalize``).
    channels_last : bool
        The layer outputs ``(b, H, W, C)`` (Swin-style).
    n_prefix_tokens : int | "auto"
        See :func:`neuroattn.data.encoding.as_feature_tokens`.
    cache_dir : str | Path | None
        Keep the tokens in ``<cache_dir>/<key>.npy`` (float32, memory-mapped) and read
        them from there next time instead of running the backbone.
    cache_key : str | None
        Entry name; by default a hash of the images (content or file names and
        times), the backbone's class, parameter shapes and a weight checksum, and
        ``layer``. A different backbone state gives a different key.
    verbose : bool
        Show a progress bar.

    Returns
    -------
    FeatureTokens
        ``tokens`` ``(n_images, n_tokens, dim)`` (memory-mapped when cached),
        ``positions`` ``(n_tokens, 2)`` and ``grid_shape``.

    Raises
    ------
    ValueError
        If ``layer`` is not a module of ``backbone`` (the message lists the names),
        the layer output is not 3- or 4-D, or the images are malformed.
    """
    modules = dict(backbone.named_modules())
    if layer not in modules or not layer:
        names = layer_names(backbone)
        shown = ", ".join(names[:40]) + (" ..." if len(names) > 40 else "")
        raise ValueError(f"Backbone {type(backbone).__name__} has no layer {layer!r}. "
                         f"Layers: {shown}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if isinstance(images, (str, Path)) or (isinstance(images, (list, tuple)) and images
                                           and isinstance(images[0], (str, Path))):
        arr = list_image_files(images)  # read batch by batch: files may not fit in memory
    else:
        arr = load_images(images)
    if cache_dir is not None:
        key = cache_key or feature_cache_key(
            [str(p) for p in arr] if isinstance(arr, list) else arr,
            type(backbone).__qualname__, layer, normalize, image_size, channels_last,
            _state_fingerprint(backbone))
        cached = open_feature_cache(cache_dir, key)
        if cached is not None and cached.n_images == len(arr):
            return cached
    dev = torch.device(resolve_device(device))
    was_training = backbone.training
    backbone.eval().to(dev)
    store: dict[str, torch.Tensor] = {}

    def hook(_module, _inputs, output):
        store["out"] = output[0] if isinstance(output, (tuple, list)) else output
        raise _StopForward

    handle = modules[layer].register_forward_hook(hook)
    writer = None
    try:
        for start in _progress(range(0, len(arr), batch_size), verbose):
            chunk = arr[start:start + batch_size]
            if isinstance(chunk, list):
                chunk = load_images(chunk, size=image_size)
            batch = torch.from_numpy(chunk).to(dev)
            batch = _normalize(batch, normalize)
            if transform is not None:
                batch = transform(batch)
            with torch.no_grad(), contextlib.suppress(_StopForward):
                backbone(batch)
            if "out" not in store:
                raise ValueError(f"Layer {layer!r} did not run in the forward pass.")
            out = store.pop("out").float()
            tok = as_feature_tokens(out.cpu().numpy(), channels_last=channels_last,
                                    n_prefix_tokens=n_prefix_tokens, mmap=False)
            if writer is None:
                shape = (len(arr),) + tok.tokens.shape[1:]
                writer = _Writer(shape, tok, cache_dir, key if cache_dir else None)
            writer.write(start, tok.tokens)
    finally:
        handle.remove()
        backbone.train(was_training)
    return writer.finish(layer)


class _Writer:
    """Fill an in-memory array or a memory-mapped cache entry batch by batch."""

    def __init__(self, shape, first: FeatureTokens, cache_dir, key) -> None:
        self.meta = first
        self.commit = None
        if key is None:
            self.arr = np.empty(shape, dtype=np.float32)
        else:
            self.arr, self.commit = open_feature_cache(
                cache_dir, key, shape, positions=first.positions,
                grid_shape=first.grid_shape, info=first.info)

    def write(self, start: int, tokens: np.ndarray) -> None:
        self.arr[start:start + len(tokens)] = tokens

    def finish(self, layer: str) -> FeatureTokens:
        if self.commit is not None:
            out = self.commit()
            out.info["layer"] = layer
            return out
        return FeatureTokens(self.arr, self.meta.positions, self.meta.grid_shape,
                             {**self.meta.info, "layer": layer})


def _normalize(batch: torch.Tensor, normalize: Any) -> torch.Tensor:
    if normalize is None:
        return batch
    if normalize == "imagenet":
        mean, std = _IMAGENET_MEAN, _IMAGENET_STD
        if batch.shape[1] == 1:
            batch = batch.expand(-1, 3, -1, -1)
    elif isinstance(normalize, (tuple, list)) and len(normalize) == 2:
        mean, std = normalize
    else:
        raise ValueError(f"normalize must be 'imagenet', None or (mean, std), got {normalize!r}.")
    mean = torch.as_tensor(mean, dtype=batch.dtype, device=batch.device).view(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=batch.dtype, device=batch.device).view(1, -1, 1, 1)
    return (batch - mean) / std


def _state_fingerprint(backbone: torch.nn.Module) -> str:
    h = []
    for name, t in backbone.state_dict().items():
        t = t.detach().float()
        h.append(f"{name}:{tuple(t.shape)}:{float(t.sum()):.6g}:{float(t.abs().sum()):.6g}")
    return "|".join(h)


def _progress(iterable, verbose: bool):
    if not verbose:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return iterable
    return tqdm(iterable, desc="features", unit="batch")
