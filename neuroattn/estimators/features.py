"""Run a torch backbone (yours, or one by name) on images and keep one layer's output as tokens.

This lives in ``estimators`` (not ``data``) because it runs a torch module: ``data``
knows nothing of torch modules. File and array handling (reading images, memory-mapped
caches, token layout) stays in :mod:`neuroattn.data.encoding`.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import itertools
import re
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._files import check_output_dir
from ..data.encoding import (
    FeatureTokens,
    as_feature_tokens,
    feature_cache_key,
    list_image_files,
    load_images,
    open_feature_cache,
)
from ._nets import resolve_device
from .backbones import load_backbone

__all__ = ["extract_features", "layer_names"]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class _StopForward(Exception):
    """Raised by the hook once the chosen layer has run: the rest is not computed."""


def layer_names(backbone: torch.nn.Module) -> list[str]:
    """Names of the backbone's sub-modules (as in ``named_modules``), usable as ``layer``."""
    return [name for name, _ in backbone.named_modules() if name]


def extract_features(images: Any, backbone: torch.nn.Module | str, layer: str, *,
                     pretrained: bool = True, weights: str | Path | None = None,
                     batch_size: int = 32, device: str = "auto",
                     normalize: str | tuple | None = None,
                     image_size: tuple[int, int] | None = None,
                     transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                     channels_last: bool = False, n_prefix_tokens: int | str = "auto",
                     cache_dir: str | Path | None = None, cache_key: str | None = None,
                     verbose: bool = False) -> FeatureTokens:
    """Tokens ``(n_images, n_tokens, dim)`` of one backbone layer, batched and cached.

    The backbone is any ``torch.nn.Module`` you built, or a name (``"resnet50"``,
    ``"timm:vit_small_patch16_224"``, ``"hf:facebook/dinov2-small"``) loaded by
    :func:`~neuroattn.estimators.backbones.load_backbone` with its pretrained weights
    (fetched on first use into the library's cache, offline afterwards) and its own
    resize/crop/normalisation transform. It is run in eval mode without gradients, on
    GPU when present; the forward pass stops at ``layer``.

    Parameters
    ----------
    images : array-like | str | Path | list of paths
        See :func:`neuroattn.data.encoding.load_images`; arrays ``(n, C, H, W)`` in
        [0, 1] (uint8 is scaled). Grey images are repeated to 3 colours when
        ``normalize="imagenet"``.
    backbone : torch.nn.Module | str
        The feature extractor, or a backbone name (see
        :func:`~neuroattn.estimators.backbones.load_backbone`). A name brings the
        transform its weights expect (images in [0, 1] are resized, centre-cropped and
        normalised), used unless ``transform`` is given; ``normalize`` must then be None.
    layer : str
        Name of the module whose output is kept (see :func:`layer_names` and
        :func:`~neuroattn.estimators.backbones.backbone_layers`). A 4-D
        output ``(b, C, H, W)`` gives ``H * W`` tokens; a 3-D ``(b, N, D)`` output (ViT
        blocks) gives ``N`` tokens, leading class/register tokens kept but without a
        grid position (``n_prefix_tokens``).
    pretrained : bool
        For a backbone name: the library's pretrained weights (True) or random ones.
    weights : str | Path | None
        For a backbone name: a local checkpoint (state-dict file, or a ``save_pretrained``
        folder for ``hf:`` names) loaded without network instead of ``pretrained``.
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
        Keep the tokens in ``<cache_dir>/<name>.npy`` (float32, memory-mapped) and read
        them from there next time instead of running the backbone. The folder is
        created (and checked writable) before any work. Each entry stores the content
        hash below and the SHA-256 of its file, both checked on every read: an entry
        made from other inputs, or whose bytes changed, is recomputed (with a warning
        naming the file), never returned.
    cache_key : str | None
        A label naming the entry (letters, digits, ``.``, ``_``, ``-``; needs
        ``cache_dir``). Whatever the name, the entry is keyed on a SHA-256 of the
        content: the images (array bytes, dtype and shape; or the files' bytes), the
        backbone's class, ``forward`` code, configuration and every tensor of its
        ``state_dict`` (names, shapes, dtypes, bytes), ``layer``, the identity of
        ``transform`` (a module's class, configuration and state; a function's
        qualified name, byte code, defaults, closure and the globals it reads) and the
        other arguments that shape the tokens. Reusing a label with another backbone
        state, layer, transform or images therefore recomputes the features and
        replaces the entry (with a warning), it never returns the stale ones. Without
        a label the entry is named by the hash.
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
        If ``layer`` is not a module of ``backbone`` (the message lists close names),
        the backbone name is unknown or its pretrained weights are missing offline
        (see :func:`~neuroattn.estimators.backbones.load_backbone`), ``normalize`` is
        given with a backbone name, or ``weights`` with a module; the backbone's
        tensors lie on several devices, the layer output is not 3- or 4-D or holds
        NaN/inf (the image is named), the images are malformed (NaN, wrong rank), or
        ``cache_key`` is not a plain name or is given without ``cache_dir``.
    FileNotFoundError
        If ``weights`` does not exist.
    ImportError
        If a backbone name's library (torchvision, timm, transformers) is missing.

    Warns
    -----
    UserWarning
        When a cache entry is ignored and recomputed (made from other inputs, or
        corrupted); the file is named.
    """
    label = type(backbone).__name__
    if isinstance(backbone, str):
        if normalize is not None:
            raise ValueError(f"normalize={normalize!r} with backbone {backbone!r}: a named "
                             "backbone normalises images itself; pass normalize=None (or your "
                             "own transform=...).")
        label = backbone
        backbone, default_transform = load_backbone(backbone, pretrained=pretrained,
                                                    weights=weights)
        transform = default_transform if transform is None else transform
    elif weights is not None:
        raise ValueError(f"weights={str(weights)!r} is only used with a backbone name; load "
                         "the checkpoint into your module yourself.")
    modules = dict(backbone.named_modules())
    if not isinstance(layer, str) or layer not in modules or not layer:
        names = layer_names(backbone)
        close = difflib.get_close_matches(str(layer), names, n=8, cutoff=0.5)
        shown = ", ".join(names[:40]) + (" ..." if len(names) > 40 else "")
        raise ValueError(f"Backbone {label} has no layer {layer!r}. Close names: "
                         f"{', '.join(close) or 'none'}. Layers: {shown}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if isinstance(images, (str, Path)) or (isinstance(images, (list, tuple)) and images
                                           and isinstance(images[0], (str, Path))):
        arr = list_image_files(images)  # read batch by batch: files may not fit in memory
    else:
        arr = load_images(images)
    key = content = None
    if cache_key is not None and cache_dir is None:
        raise ValueError(f"cache_key={cache_key!r} names a cache entry but cache_dir is None; "
                         "pass cache_dir too.")
    if cache_dir is not None:
        cache_dir = check_output_dir(cache_dir, parameter="cache_dir")
        content = feature_cache_key(
            "neuroattn.extract_features/2", [Path(p) for p in arr] if isinstance(arr, list)
            else arr, _module_digest(backbone), layer, _callable_identity(transform),
            _value_identity(normalize), _value_identity(image_size), channels_last,
            n_prefix_tokens)
        key = content[:32] if cache_key is None else cache_key
        cached = open_feature_cache(cache_dir, key, content_key=content)
        if cached is not None and cached.n_images == len(arr):
            cached.info["layer"] = layer
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
    done = False
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
            finite = np.isfinite(tok.tokens).reshape(len(tok.tokens), -1).all(axis=1)
            if not finite.all():
                raise ValueError(f"Layer {layer!r} output NaN or infinity for image "
                                 f"{start + int(np.flatnonzero(~finite)[0])}; check the "
                                 "backbone's weights and the images.")
            if writer is None:
                shape = (len(arr),) + tok.tokens.shape[1:]
                writer = _Writer(shape, tok, cache_dir, key, content)
            writer.write(start, tok.tokens)
        done = True
    finally:
        if writer is not None and not done:
            writer.discard()
        handle.remove()
        backbone.train(was_training)
        if homes:
            backbone.to(next(iter(homes)))  # back where the caller had it
    return writer.finish(layer)


class _Writer:
    """Fill an in-memory array or a memory-mapped cache entry batch by batch."""

    def __init__(self, shape, first: FeatureTokens, cache_dir, key, content) -> None:
        self.meta = first
        self.commit = None
        if key is None:
            self.arr = np.empty(shape, dtype=np.float32)
        else:
            self.arr, self.commit = open_feature_cache(
                cache_dir, key, shape, content_key=content, positions=first.positions,
                grid_shape=first.grid_shape, info=first.info)

    def write(self, start: int, tokens: np.ndarray) -> None:
        self.arr[start:start + len(tokens)] = tokens

    def discard(self) -> None:
        if self.commit is not None:
            self.arr = None
            self.commit.discard()

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


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _safe_repr(value: Any) -> str:
    """``repr`` without memory addresses (they differ between runs)."""
    return _ADDRESS.sub("", repr(value))


def _module_digest(module: torch.nn.Module) -> str:
    """SHA-256 of a module's class, ``forward`` code, configuration (its repr) and every
    ``state_dict`` entry (name, shape, dtype, bytes): any change of a weight, even one
    that keeps its sums, changes it."""
    cls = type(module)
    h = hashlib.sha256(f"{cls.__module__}.{cls.__qualname__}".encode())
    forward = getattr(cls.forward, "__code__", None)
    if forward is not None:
        h.update(_code_digest(forward).encode())
    h.update(_safe_repr(module).encode())
    for name, value in module.state_dict().items():
        h.update(f"|{len(name)}:{name}|".encode())
        if not isinstance(value, torch.Tensor):  # e.g. a module's extra state
            h.update(_value_identity(value).encode())
            continue
        h.update(_tensor_digest(value).encode())
    return h.hexdigest()


def _tensor_digest(value: torch.Tensor) -> str:
    t = value.detach()
    t = t.to_dense() if t.is_sparse else t
    t = t.dequantize() if t.is_quantized else t
    t = t.cpu().contiguous().reshape(-1)
    h = hashlib.sha256(f"{tuple(value.shape)}|{t.dtype}|".encode())
    h.update(t.view(torch.uint8).numpy())
    return h.hexdigest()


def _code_digest(code: Any) -> str:
    """SHA-256 of a function's byte code, constants and names (nested functions included)."""
    h = hashlib.sha256(code.co_code)
    for const in code.co_consts:
        h.update((_code_digest(const) if hasattr(const, "co_code") else repr(const)).encode())
    h.update(repr(code.co_names).encode())
    return h.hexdigest()


def _code_names(code: Any) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            names |= _code_names(const)
    return names


def _value_identity(value: Any, depth: int = 0) -> str:
    """A stable description of a value a transform depends on (no memory addresses):
    arrays and tensors by their bytes, modules by their digest, callables by their
    identity, containers recursively, other objects by class and attributes."""
    if depth > 4:
        return f"deep:{type(value).__qualname__}"
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return repr(value)
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        digest = hashlib.sha256(arr.view(np.uint8).ravel().data if arr.size else b"")
        return f"ndarray:{arr.dtype.str}:{arr.shape}:{digest.hexdigest()}"
    if isinstance(value, np.generic):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, torch.Tensor):
        return f"tensor:{_tensor_digest(value)}"
    if isinstance(value, (torch.dtype, torch.device)):
        return repr(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_value_identity(v, depth + 1) for v in value]
        items = sorted(items) if isinstance(value, (set, frozenset)) else items
        return f"{type(value).__name__}({', '.join(items)})"
    if isinstance(value, dict):
        items = sorted(f"{_value_identity(k, depth + 1)}: {_value_identity(v, depth + 1)}"
                       for k, v in value.items())
        return f"dict({', '.join(items)})"
    if isinstance(value, types.ModuleType):
        return f"pymodule:{value.__name__}"
    if isinstance(value, type):
        return f"class:{value.__module__}.{value.__qualname__}"
    if isinstance(value, torch.nn.Module) or callable(value):
        return _callable_identity(value, depth + 1)
    cls = type(value)
    if cls.__repr__ is not object.__repr__:
        return f"object:{cls.__module__}.{cls.__qualname__}:{_safe_repr(value)}"
    attrs = vars(value) if hasattr(value, "__dict__") else {}
    return (f"object:{cls.__module__}.{cls.__qualname__}:"
            f"{_value_identity(dict(attrs), depth + 1)}")


def _callable_identity(fn: Any, depth: int = 0) -> str:
    """What ``transform`` computes, stably across runs (never a repr with an address).

    A module is named by its class, configuration, state and public attributes; a
    function by its qualified name, its byte code, defaults, closure and the values of
    the globals it reads; a ``functools.partial`` by its function and arguments; any
    other callable by its class, ``__call__`` code and attributes.
    """
    if fn is None:
        return "None"
    if isinstance(fn, torch.nn.Module):
        attrs = {k: v for k, v in vars(fn).items() if not k.startswith("_") and k != "training"}
        return f"module:{_module_digest(fn)}:{_value_identity(attrs, depth + 1)}"
    if isinstance(fn, functools.partial):
        return (f"partial:{_callable_identity(fn.func, depth + 1)}:"
                f"{_value_identity(fn.args, depth + 1)}:"
                f"{_value_identity(fn.keywords, depth + 1)}")
    code = getattr(fn, "__code__", None)
    if code is not None:
        cells = [c.cell_contents for c in (getattr(fn, "__closure__", None) or ())]
        owner = getattr(fn, "__self__", None)
        scope = getattr(fn, "__globals__", {})
        used = {name: scope[name] for name in sorted(_code_names(code)) if name in scope}
        return (f"function:{fn.__module__}.{fn.__qualname__}:{_code_digest(code)}:"
                f"{_value_identity(getattr(fn, '__defaults__', None), depth + 1)}:"
                f"{_value_identity(getattr(fn, '__kwdefaults__', None), depth + 1)}:"
                f"{_value_identity(cells, depth + 1)}:{_value_identity(used, depth + 1)}:"
                f"{'' if owner is None else _value_identity(owner, depth + 1)}")
    if isinstance(fn, types.BuiltinFunctionType):  # torch.flip, math.sqrt...
        owner = getattr(fn, "__self__", None)
        bound = not (owner is None or isinstance(owner, (types.ModuleType, type)))
        return (f"builtin:{getattr(fn, '__module__', None)}.{fn.__qualname__}:"
                f"{_value_identity(owner, depth + 1) if bound else ''}")
    cls = type(fn)
    call = getattr(cls.__call__, "__code__", None)
    attrs = vars(fn) if hasattr(fn, "__dict__") else {}
    return (f"object:{cls.__module__}.{cls.__qualname__}:"
            f"{'' if call is None else _code_digest(call)}:"
            f"{_safe_repr(fn) if cls.__repr__ is not object.__repr__ else ''}:"
            f"{_value_identity(dict(attrs), depth + 1)}")


def _progress(iterable, verbose: bool):
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc="features", unit="batch")
