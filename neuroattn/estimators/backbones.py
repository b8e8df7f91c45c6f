"""Image backbones by name: torchvision, timm and Hugging Face ``transformers`` models.

A name picks the library and the model:

- ``"resnet50"`` or ``"torchvision:resnet50"``: a torchvision classification model;
- ``"timm:vit_small_patch16_224"``: a timm model (a pretrained tag may follow a dot);
- ``"open_clip:ViT-B-32"`` or ``"open_clip:ViT-B-32:openai"``: an open_clip model's
  vision tower (the pretrained tag after a second colon; its first tag by default);
- ``"hf:facebook/dinov2-small"``, ``"hf:openai/clip-vit-base-patch16"`` or
  ``"hf:/path/to/folder"``: a Hugging Face vision model (for CLIP-like models with a
  text tower, only the vision model is built).

Pretrained weights are fetched on first use by the library's own mechanism into its
standard cache (torchvision and timm URL weights: ``$TORCH_HOME/hub/checkpoints``; the
Hugging Face hub, also used by most timm weights: ``$HF_HOME/hub`` or
``$HF_HUB_CACHE``), offline first: weights already in the cache are loaded without any
network call. ``download=False``, or ``HF_HUB_OFFLINE=1`` / ``TRANSFORMERS_OFFLINE=1``
for the hub, refuses to download and raises a ``ValueError`` naming the model, the
cache path expected and how to fetch it. The libraries are optional
(``pip install "neuroattn[vision]"``).

Each backbone comes with the transform its weights were trained with
(:class:`ImageTransform`: resize, centre crop, per-colour normalisation), taken from
torchvision's weights ``transforms()``, timm's data config or the Hugging Face image
processor. It takes float images ``(b, C, H, W)`` in [0, 1] (the units of
:func:`~neuroattn.estimators.extract_features`; grey images are repeated to 3 colours).
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch

from ._image_transform import ImageTransform
from ._nets import resolve_device

__all__ = ["ImageTransform", "backbone_layers", "list_backbones", "load_backbone"]

_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_LIBRARIES = {"torchvision": "torchvision", "timm": "timm", "hf": "transformers",
              "open_clip": "open_clip"}
_PIL_RESAMPLE = {0: "nearest", 1: "bicubic", 2: "bilinear", 3: "bicubic", 4: "bilinear",
                 5: "bilinear"}  # PIL's NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING
_CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")


def _import(package: str) -> Any:
    try:
        return __import__(package)
    except ImportError as err:
        raise ImportError(f"Backbones from {package} need the package {package!r}: "
                          f"pip install {package}  (or pip install \"neuroattn[vision]\").") \
            from err


def _parse(name: str) -> tuple[str, str]:
    """``(library, model_id)`` of a backbone name."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"A backbone name must be a non-empty string, got {name!r}.")
    prefix, sep, rest = name.partition(":")
    if sep and prefix in _LIBRARIES:
        if not rest:
            raise ValueError(f"Backbone name {name!r} names no model after {prefix + ':'!r}.")
        return prefix, rest
    return "torchvision", name


def _close(word: str, names: list[str], n: int = 8) -> str:
    close = difflib.get_close_matches(word, names, n=n, cutoff=0.5)
    if not close:
        close = [m for m in names if word.lower() in m.lower()][:n]
    return ", ".join(close) if close else "none"


def _offline_env() -> bool:
    return any(os.environ.get(var, "").strip().upper() in ("1", "ON", "YES", "TRUE")
               for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _hf_cache_dir() -> Path:
    """The hub cache as the environment says now (``HF_HUB_CACHE``, ``HF_HOME``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def _missing(model: str, where: Path | str, fetch: str, why: str,
             what: str = "Pretrained weights") -> ValueError:
    return ValueError(f"{what} of backbone {model!r} are not in the cache "
                      f"(expected under {where}) and {why}. To fetch them: {fetch}; or pass "
                      "pretrained=False (random weights) or weights=<local checkpoint>.")


def list_backbones(library: str = "torchvision", pattern: str | None = None) -> list[str]:
    """Backbone names one library offers (Hugging Face models are not listed: name any
    vision model of the hub, e.g. ``"hf:facebook/dinov2-small"``).

    Parameters
    ----------
    library : {"torchvision", "timm", "open_clip"}
        Torchvision's classification models, timm's models (prefixed ``"timm:"``) or
        open_clip's (prefixed ``"open_clip:"``).
    pattern : str | None
        Keep the names containing this text (case-insensitive).

    Returns
    -------
    list of str
        Names accepted by :func:`load_backbone`.

    Raises
    ------
    ValueError
        If ``library`` is not ``"torchvision"``, ``"timm"`` or ``"open_clip"``.
    ImportError
        If the library is not installed.
    """
    if library == "torchvision":
        tv = _import("torchvision")
        names = list(tv.models.list_models(module=tv.models))
    elif library == "timm":
        names = ["timm:" + m for m in _import("timm").list_models()]
    elif library == "open_clip":
        from ._backbones_openclip import list_open_clip

        names = list_open_clip(_import)
    else:
        raise ValueError(f"library must be 'torchvision', 'timm' or 'open_clip', got {library!r} "
                         "(Hugging Face models are named 'hf:<repo id or folder>').")
    if pattern is not None:
        names = [m for m in names if pattern.lower() in m.lower()]
    return sorted(names)


def load_backbone(name: str, *, pretrained: bool = True, weights: str | Path | None = None,
                  download: bool = True,
                  device: str = "cpu") -> tuple[torch.nn.Module, ImageTransform]:
    """A vision backbone by name, with its weights and the transform it expects.

    Parameters
    ----------
    name : str
        ``"resnet50"`` / ``"torchvision:resnet50"`` (torchvision),
        ``"timm:vit_small_patch16_224"`` (timm), ``"hf:facebook/dinov2-small"`` or
        ``"hf:<local folder>"`` (Hugging Face ``transformers``; CLIP-like models give
        their vision model). See :func:`list_backbones`.
    pretrained : bool
        Load the library's default pretrained weights (fetched on first use into its
        standard cache, then read from there without network). False: random
        initialisation (no network, except a Hugging Face hub name whose
        ``config.json`` is not cached yet).
    weights : str | Path | None
        A local checkpoint, loaded without network instead of ``pretrained``: a
        ``.safetensors`` / ``.pt`` / ``.pth`` / ``.bin`` state dict of exactly this
        model, or (``hf:`` names) a folder written by ``save_pretrained``.
    download : bool
        False: never download; weights missing from the cache raise ``ValueError``.
        ``HF_HUB_OFFLINE=1`` or ``TRANSFORMERS_OFFLINE=1`` do the same for the hub.
    device : str
        ``"cpu"``, ``"cuda"``, ``"auto"``: where the module is put.

    Returns
    -------
    module : torch.nn.Module
        The backbone in eval mode; its layer names are :func:`backbone_layers`.
    transform : ImageTransform
        Float images ``(b, C, H, W)`` in [0, 1] -> the resized, cropped, normalised
        batch the weights expect.

    Raises
    ------
    ValueError
        If the name is unknown (close names are listed), pretrained weights are not
        cached and downloading is off or fails (the model, the cache path and how to
        fetch them are named), or a checkpoint does not match the model.
    FileNotFoundError
        If ``weights`` does not exist.
    ImportError
        If the backbone's library (torchvision, timm or transformers) is not installed.
    """
    library, model_id = _parse(name)
    path = None
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"weights file {path} does not exist (a local checkpoint "
                                    f"of backbone {name!r}).")
    build = {"torchvision": _torchvision, "timm": _timm, "hf": _hf,
             "open_clip": _open_clip}[library]
    module, transform = build(model_id, pretrained=pretrained and path is None, path=path,
                              download=download, name=name)
    return module.eval().to(resolve_device(device)), transform


def backbone_layers(name: str, *, download: bool = True) -> list[str]:
    """Layer names of a named backbone, usable as ``layer`` in ``extract_features``.

    The model is built with random weights (no weights are fetched).

    Parameters
    ----------
    name : str
        See :func:`load_backbone`.
    download : bool
        For ``hf:`` hub names whose ``config.json`` is not cached: allow fetching it.

    Returns
    -------
    list of str
        Sub-module names, in ``named_modules`` order.

    Raises
    ------
    ValueError
        If the name is unknown (close names are listed).
    ImportError
        If the backbone's library is not installed.
    """
    module, _ = load_backbone(name, pretrained=False, download=download)
    return [n for n, _ in module.named_modules() if n]


def _read_state_dict(path: Path, name: str) -> dict[str, torch.Tensor]:
    if path.is_dir() or path.suffix not in _CHECKPOINT_SUFFIXES:
        raise ValueError(f"weights={str(path)!r} for backbone {name!r} must be a state-dict "
                         f"file ({', '.join(_CHECKPOINT_SUFFIXES)}); a folder is only read for "
                         "'hf:' backbones.")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt or foreign file: name it
        raise ValueError(f"Could not read weights file {path} for backbone {name!r}: "
                         f"{err}") from err
    for key in ("state_dict", "model"):  # common training-checkpoint wrappers
        if isinstance(state, dict) and set(state) == {key} and isinstance(state[key], dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise ValueError(f"weights file {path} is not a state dict of tensors.")
    return state


def _load_state(module: torch.nn.Module, path: Path, name: str) -> None:
    state = _read_state_dict(path, name)
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or shapes:
        raise ValueError(f"weights file {path} does not match backbone {name!r}: "
                         f"{len(missing)} missing keys {missing[:5]}, {len(unexpected)} "
                         f"unexpected keys {unexpected[:5]}, shape mismatch {shapes[:5]}.")
    module.load_state_dict(state, strict=True)


def _torchvision(model_id: str, *, pretrained: bool, path: Path | None, download: bool,
                 name: str) -> tuple[torch.nn.Module, ImageTransform]:
    tv = _import("torchvision")
    known = list(tv.models.list_models(module=tv.models))
    if model_id not in known:
        timm_names = []
        with contextlib.suppress(ImportError):
            timm_names = ["timm:" + m for m in __import__("timm").list_models()]
        raise ValueError(f"Unknown backbone {name!r}: not a torchvision classification model. "
                         f"Close names: {_close(model_id, known + timm_names)}. Prefix timm "
                         "models with 'timm:' and Hugging Face models with 'hf:'.")
    enum = tv.models.get_model_weights(model_id)
    default = enum.DEFAULT
    if pretrained:
        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(default.url).path).name
        if not cached.is_file() and not download:
            raise _missing(name, cached, f"run load_backbone({name!r}) once with network "
                           f"(download=True), or save {default.url} as {cached}",
                           "download=False")
        try:
            module = tv.models.get_model(model_id, weights=default)  # torch hub cache
        except Exception as err:  # no network, bad file
            raise _missing(name, cached, f"download {default.url} to {cached}",
                           f"fetching it failed ({type(err).__name__}: {err})") from err
    else:
        module = tv.models.get_model(model_id, weights=None)
        if path is not None:
            _load_state(module, path, name)
    t = default.transforms()
    resize = [int(v) for v in getattr(t, "resize_size", [])]
    crop = [int(v) for v in getattr(t, "crop_size", [])]
    interp = getattr(getattr(t, "interpolation", None), "value", "bilinear")
    transform = ImageTransform(resize[0] if len(resize) == 1 else (tuple(resize) or None),
                               (crop[0], crop[0]) if len(crop) == 1 else (tuple(crop) or None),
                               getattr(t, "mean", _IMAGENET[0]), getattr(t, "std", _IMAGENET[1]),
                               interp if interp in ("bilinear", "bicubic", "nearest")
                               else "bilinear")
    return module, transform


def _open_clip(model_id: str, *, pretrained: bool, path: Path | None, download: bool,
               name: str) -> tuple[torch.nn.Module, ImageTransform]:
    from ._backbones_openclip import build_open_clip

    return build_open_clip(model_id, pretrained=pretrained, path=path, download=download,
                           name=name, import_=_import, close=_close, missing=_missing,
                           load_state=_load_state, transform_cls=ImageTransform,
                           offline=_offline_env())


def _timm(model_id: str, *, pretrained: bool, path: Path | None, download: bool,
          name: str) -> tuple[torch.nn.Module, ImageTransform]:
    timm = _import("timm")
    if not timm.is_model(model_id.split(".")[0]):
        raise ValueError(f"Unknown backbone {name!r}: not a timm model. Close names: "
                         f"{_close(model_id, ['timm:' + m for m in timm.list_models()])}.")
    if pretrained:
        module = _timm_pretrained(timm, model_id, download=download, name=name)
    else:
        module = timm.create_model(model_id, pretrained=False)
        if path is not None:
            _load_state(module, path, name)
    cfg = timm.data.resolve_data_config({}, model=module)
    height, width = cfg["input_size"][-2:]
    crop_pct = float(cfg.get("crop_pct") or 1.0)
    if cfg.get("crop_mode", "center") == "squash":
        resize, crop = (int(height / crop_pct), int(width / crop_pct)), (height, width)
    else:
        resize, crop = int(min(height, width) / crop_pct), (height, width)
    interp = cfg.get("interpolation", "bilinear")
    return module, ImageTransform(resize, crop, cfg["mean"], cfg["std"],
                                  interp if interp in ("bicubic", "nearest") else "bilinear")


def _timm_pretrained(timm: Any, model_id: str, *, download: bool, name: str) -> torch.nn.Module:
    try:
        cfg = timm.models.get_pretrained_cfg(model_id)
    except Exception:  # an unknown tag
        cfg = None
    if cfg is None or not (cfg.hf_hub_id or cfg.url):
        tags = [m for m in timm.list_pretrained() if m.split(".")[0] == model_id.split(".")[0]]
        raise ValueError(f"timm has no pretrained weights for {name!r}. Pretrained tags: "
                         f"{', '.join('timm:' + t for t in tags[:10]) or 'none'}.")
    offline, hub = not download or _offline_env(), _hf_cache_dir()
    if cfg.hf_hub_id:
        from huggingface_hub import try_to_load_from_cache

        repo = cfg.hf_hub_id
        files = [cfg.hf_hub_filename] if getattr(cfg, "hf_hub_filename", None) else \
            ["model.safetensors", "pytorch_model.bin"]
        for file in files:
            found = try_to_load_from_cache(repo, file, cache_dir=hub)
            if isinstance(found, str):  # cached: loaded from the file, no network call
                return timm.create_model(model_id, pretrained=True, pretrained_cfg_overlay={
                    "file": found, "source": "", "custom_load": False})
        where, fetch = hub / f"models--{repo.replace('/', '--')}", \
            f"run load_backbone({name!r}) once with network, or `hf download {repo}`"
    else:
        where = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(cfg.url).path).name
        if where.is_file():
            return timm.create_model(model_id, pretrained=True)  # torch hub: no network
        fetch = f"run load_backbone({name!r}) once with network, or save {cfg.url} as {where}"
    if offline:
        raise _missing(name, where, fetch, "downloading is off (download=False or "
                       "HF_HUB_OFFLINE)")
    extra = {"cache_dir": hub} if cfg.hf_hub_id and "cache_dir" in inspect.signature(
        timm.create_model).parameters else {}  # the hub cache the environment names now
    try:
        return timm.create_model(model_id, pretrained=True, **extra)
    except Exception as err:
        raise _missing(name, where, fetch,
                       f"fetching them failed ({type(err).__name__}: {err})") from err


def _hf(model_id: str, *, pretrained: bool, path: Path | None, download: bool,
        name: str) -> tuple[torch.nn.Module, ImageTransform]:
    transformers = _import("transformers")
    source, file = model_id, None
    if path is not None and path.is_dir():
        source = str(path)  # a save_pretrained folder replaces the hub
    elif path is not None:
        file = path
    local = Path(source).expanduser().is_dir()
    if not local and source.startswith((".", "/", "~")):
        raise FileNotFoundError(f"Backbone {name!r}: folder {source} does not exist.")
    hub = _hf_cache_dir()
    offline = local or not download or _offline_env()
    config = _hf_call(transformers.AutoConfig.from_pretrained, source, name, offline, hub,
                      "The configuration files (config.json)")
    vision = getattr(config, "vision_config", None)  # CLIP, SigLIP...: the vision tower
    auto = transformers.AutoModel
    if pretrained or (file is None and path is not None):
        kwargs = {} if vision is None else {"config": vision}
        module = _hf_call(auto.from_pretrained, source, name, offline, hub,
                          "Pretrained weights", **kwargs)
    else:
        module = auto.from_config(vision if vision is not None else config)
        if file is not None:
            _load_state(module, file, name)
    return module, _hf_transform(transformers, source, config, vision, hub, offline)


def _hf_snapshot(source: str, hub: Path, file: str = "config.json") -> Path | None:
    """The local folder of a model: the folder itself, or its cached hub snapshot (found on
    disk only: no network call)."""
    if Path(source).expanduser().is_dir():
        return Path(source).expanduser()
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(source, file, cache_dir=hub)
    except ValueError:  # not a repo id
        return None
    return Path(found).parent if isinstance(found, str) else None


def _hf_call(fn: Any, source: str, name: str, offline: bool, hub: Path, what: str,
             **kwargs: Any) -> Any:
    """Offline first: a local folder or the cached snapshot (read as a folder, so the hub
    client makes no request), then the hub unless offline."""
    snapshot = _hf_snapshot(source, hub)
    if snapshot is not None:
        try:
            return fn(str(snapshot), local_files_only=True, **kwargs)
        except OSError as err:  # a folder without the model, or a partial snapshot
            if Path(source).expanduser().is_dir():
                raise ValueError(f"Backbone {name!r}: folder {source} is not a Hugging Face "
                                 f"model saved with save_pretrained ({err}).") from err
    where = hub / f"models--{source.replace('/', '--')}"
    fetch = (f"run load_backbone({name!r}) once with network, or `hf download {source}` "
             "(a gated model needs `hf auth login` first)")
    if offline:
        raise _missing(name, where, fetch, "downloading is off (download=False or "
                       "HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)", what)
    try:
        return fn(source, cache_dir=hub, **kwargs)
    except OSError as err:
        raise ValueError(f"Unknown or unreachable Hugging Face backbone {name!r}: "
                         f"{err}") from err


def _size(size: Any, key: str) -> Any:
    if size is None:
        return None
    if isinstance(size, int):
        return size if key == "shortest_edge" else None
    return size.get(key) if isinstance(size, dict) else getattr(size, key, None)


def _hf_transform(transformers: Any, source: str, config: Any, vision: Any, hub: Path,
                  offline: bool) -> ImageTransform:
    proc, snapshot = None, _hf_snapshot(source, hub, "preprocessor_config.json")
    with contextlib.suppress(OSError, ValueError):
        if snapshot is not None:
            proc = transformers.AutoImageProcessor.from_pretrained(str(snapshot),
                                                                   local_files_only=True)
        elif not offline:
            proc = transformers.AutoImageProcessor.from_pretrained(source, cache_dir=hub)
    if proc is None:  # no preprocessor_config.json: the config's input size, ImageNet stats
        side = int(getattr(vision if vision is not None else config, "image_size", 224))
        return ImageTransform((side, side), None, *_IMAGENET)
    size, crop = getattr(proc, "size", None), getattr(proc, "crop_size", None)
    resize = None
    if getattr(proc, "do_resize", True):
        short = _size(size, "shortest_edge")
        h, w = _size(size, "height"), _size(size, "width")
        resize = int(short) if short else ((int(h), int(w)) if h and w else None)
    box = None
    if getattr(proc, "do_center_crop", False) and _size(crop, "height"):
        box = (int(_size(crop, "height")), int(_size(crop, "width")))
    mean, std = _IMAGENET
    if getattr(proc, "do_normalize", True):
        mean, std = getattr(proc, "image_mean", mean), getattr(proc, "image_std", std)
        mean = [mean] * 3 if isinstance(mean, (int, float)) else mean
        std = [std] * 3 if isinstance(std, (int, float)) else std
    else:
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    resample = getattr(proc, "resample", 2)
    try:
        interp = _PIL_RESAMPLE.get(int(resample), "bilinear")
    except (TypeError, ValueError):
        interp = str(getattr(resample, "value", resample)).lower()
        interp = interp if interp in ("bicubic", "nearest") else "bilinear"
    return ImageTransform(resize, box, mean, std, interp)
