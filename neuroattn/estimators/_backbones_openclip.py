"""open_clip backbones by name (``"open_clip:<model>[:<pretrained tag>]"``): the vision
tower of an OpenCLIP model, with the transform of its preprocessing config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

__all__ = ["build_open_clip", "list_open_clip"]


def list_open_clip(import_: Any) -> list[str]:
    """``"open_clip:<model>"`` names of the installed open_clip."""
    return ["open_clip:" + m for m in import_("open_clip").list_models()]


def build_open_clip(model_id: str, *, pretrained: bool, path: Path | None, download: bool,
                    name: str, import_: Any, close: Any, missing: Any, load_state: Any,
                    transform_cls: Any, offline: bool) -> tuple[torch.nn.Module, Any]:
    """Vision tower of an open_clip model and its :class:`ImageTransform`.

    Raises
    ------
    ValueError
        If the model (or the pretrained tag) is unknown -- close names are listed --,
        or pretrained weights cannot be fetched (``download=False`` / offline).
    """
    open_clip = import_("open_clip")
    model, _, tag = model_id.partition(":")
    known = open_clip.list_models()
    if model not in known:
        raise ValueError(f"Unknown backbone {name!r}: not an open_clip model. Close names: "
                         f"{close(model, ['open_clip:' + m for m in known])}.")
    tags = list(open_clip.list_pretrained_tags_by_model(model))
    if tag and tag not in tags:
        raise ValueError(f"open_clip has no pretrained tag {tag!r} for {model!r}. Tags: "
                         f"{', '.join(tags) or 'none'}.")
    if pretrained:
        if not tags:
            raise ValueError(f"open_clip has no pretrained weights for {model!r}; use "
                             "pretrained=False.")
        tag = tag or tags[0]
        fetch = f"run load_backbone({name!r}) once with network"
        if not download or offline:
            raise missing(name, "the open_clip / Hugging Face cache", fetch,
                          "downloading is off (download=False or HF_HUB_OFFLINE)")
        try:
            full = open_clip.create_model(model, pretrained=tag)
        except Exception as err:  # no network, bad file
            raise missing(name, "the open_clip / Hugging Face cache", fetch,
                          f"fetching them failed ({type(err).__name__}: {err})") from err
    else:
        full = open_clip.create_model(model, pretrained=None)
    module = full.visual
    if path is not None and not pretrained:
        load_state(module, path, name)
    cfg = getattr(module, "preprocess_cfg", None) or {}
    size = cfg.get("size", getattr(module, "image_size", 224))
    size = tuple(size) if isinstance(size, (tuple, list)) else (int(size), int(size))
    mean = cfg.get("mean", getattr(module, "image_mean", (0.48145466, 0.4578275, 0.40821073)))
    std = cfg.get("std", getattr(module, "image_std", (0.26862954, 0.26130258, 0.27577711)))
    interp = cfg.get("interpolation", "bicubic")
    transform = transform_cls(min(size), size, tuple(mean), tuple(std),
                              interp if interp in ("bilinear", "bicubic", "nearest")
                              else "bicubic")
    return module, transform
