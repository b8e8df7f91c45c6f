"""Run a user-supplied torch backbone on images and keep one layer's feature map as tokens.

This lives in ``estimators`` (not ``data``) because it runs a torch module: ``data``
knows nothing of torch modules. File and array handling (reading images, memory-mapped
caches, token layout) stays in :mod:`neuroattn.data.encoding`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import types
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
from ._nets import resolve_device

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
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``. The backbone is moved
        there for the extraction, then back to the device it was on, in the training
        mode it was in.
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
        Entry name; by default a SHA-256 of the images (content, or file names, sizes
        and times), the backbone's class and every tensor of its ``state_dict`` (names,
        shapes, dtypes, bytes), ``layer``, the identity of ``transform`` (class path and
        parameters, or a function's code) and the other arguments that shape the
        tokens. A different backbone state or transform gives a different key.
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
        the backbone's tensors lie on several devices, the layer output is not 3- or
        4-D, or the images are malformed.
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
            _module_digest(backbone), layer, _callable_identity(transform), normalize,
            image_size, channels_last, n_prefix_tokens)
        cached = open_feature_cache(cache_dir, key)
        if cached is not None and cached.n_images == len(arr):
            return cached
    dev = torch.device(resolve_device(device))
    homes = {t.device for t in itertools.chain(backbone.parameters(), backbone.buffers())}
    if len(homes) > 1:
        raise ValueError(f"backbone spans several devices {sorted(map(str, homes))}; put it "
                         "on one device (it is moved to `device` and back).")
    was_training = backbone.training
    store: dict[str, torch.Tensor] = {}

    def hook(_module, _inputs, output):
        store["out"] = output[0] if isinstance(output, (tuple, list)) else output
        raise _StopForward

    handle = modules[layer].register_forward_hook(hook)
    writer = None
    try:
        backbone.eval().to(dev)
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
        if homes:
            backbone.to(next(iter(homes)))  # back where the caller had it
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


def _module_digest(module: torch.nn.Module) -> str:
    """SHA-256 of a module's class and of every ``state_dict`` entry (name, shape, dtype,
    bytes): any change of a weight, even one that keeps its sums, changes it."""
    h = hashlib.sha256(f"{type(module).__module__}.{type(module).__qualname__}".encode())
    for name, value in module.state_dict().items():
        h.update(f"|{len(name)}:{name}|".encode())
        if not isinstance(value, torch.Tensor):  # e.g. a module's extra state
            h.update(repr(value).encode())
            continue
        t = value.detach()
        t = t.to_dense() if t.is_sparse else t
        t = t.dequantize() if t.is_quantized else t
        t = t.cpu().contiguous().reshape(-1)
        h.update(f"{tuple(value.shape)}|{t.dtype}|".encode())
        h.update(t.view(torch.uint8).numpy())
    return h.hexdigest()


def _code_digest(code: Any) -> str:
    """SHA-256 of a function's byte code and constants (nested functions included)."""
    h = hashlib.sha256(code.co_code)
    for const in code.co_consts:
        h.update((_code_digest(const) if hasattr(const, "co_code") else repr(const)).encode())
    h.update(repr(code.co_names).encode())
    return h.hexdigest()


def _callable_identity(fn: Any) -> str:
    """What ``transform`` computes, stably across runs: class path and parameters.

    A module is named by its class and its state; a function by its qualified name, its
    code, defaults and closure; a ``functools.partial`` by its function and arguments;
    any other callable by its class and attributes (or its repr when it has one).
    """
    if fn is None:
        return "None"
    if isinstance(fn, torch.nn.Module):
        return f"module:{fn!r}:{_module_digest(fn)}"
    if isinstance(fn, functools.partial):
        return (f"partial:{_callable_identity(fn.func)}:{fn.args!r}:"
                f"{sorted(fn.keywords.items())!r}")
    code = getattr(fn, "__code__", None)
    if code is not None:
        cells = [c.cell_contents for c in (getattr(fn, "__closure__", None) or ())]
        owner = getattr(fn, "__self__", None)
        return (f"function:{fn.__module__}.{fn.__qualname__}:{_code_digest(code)}:"
                f"{getattr(fn, '__defaults__', None)!r}:{cells!r}:"
                f"{'' if owner is None else _callable_identity(owner)}")
    if isinstance(fn, types.BuiltinFunctionType):  # torch.flip, math.sqrt...
        owner = getattr(fn, "__self__", None)
        bound = not (owner is None or isinstance(owner, (types.ModuleType, type)))
        return (f"builtin:{getattr(fn, '__module__', None)}.{fn.__qualname__}:"
                f"{_callable_identity(owner) if bound else ''}")
    cls = type(fn)
    path = f"{cls.__module__}.{cls.__qualname__}"
    if cls.__repr__ is not object.__repr__:
        return f"object:{path}:{fn!r}"
    return f"object:{path}:{sorted(vars(fn).items()) if hasattr(fn, '__dict__') else ''!r}"


def _progress(iterable, verbose: bool):
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc="features", unit="batch")
