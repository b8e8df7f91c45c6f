"""The resize / centre-crop / normalise transform of a named backbone (see ``backbones``)."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["ImageTransform"]


class ImageTransform(torch.nn.Module):
    """Resize, centre-crop and normalise a float image batch, as a backbone expects.

    Parameters
    ----------
    resize : int | (int, int) | None
        An int resizes the shorter side to that many pixels (aspect kept, as
        torchvision's ``Resize(int)``); a pair resizes to ``(height, width)``; None
        keeps the size.
    crop : (int, int) | None
        Centre crop ``(height, width)`` after resizing; None keeps the whole image.
    mean, std : sequence of 3 float
        Per-colour normalisation ``(x - mean) / std`` of the [0, 1] values.
    interpolation : {"bilinear", "bicubic", "nearest"}
        Resampling (antialiased, as torchvision on tensors).

    Notes
    -----
    Input: float ``(b, C, H, W)`` in [0, 1], ``C`` in {1, 3} (grey is repeated to 3
    colours). Output: float ``(b, 3, crop_h, crop_w)`` in normalised units.
    """

    def __init__(self, resize: int | tuple[int, int] | None, crop: tuple[int, int] | None,
                 mean: Any, std: Any, interpolation: str = "bilinear") -> None:
        super().__init__()
        if interpolation not in ("bilinear", "bicubic", "nearest"):
            raise ValueError(f"interpolation must be 'bilinear', 'bicubic' or 'nearest', "
                             f"got {interpolation!r}.")
        self.resize = resize if resize is None or isinstance(resize, int) else tuple(resize)
        self.crop = None if crop is None else tuple(int(v) for v in crop)
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.interpolation = interpolation

    def extra_repr(self) -> str:
        return (f"resize={self.resize}, crop={self.crop}, mean={self.mean}, std={self.std}, "
                f"interpolation={self.interpolation!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"ImageTransform expects images (b, 1 or 3, H, W) in [0, 1], got "
                             f"shape {tuple(x.shape)}.")
        x = x.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        h, w = x.shape[-2:]
        if isinstance(self.resize, int):
            short, long = (h, w) if h <= w else (w, h)
            new_long = int(self.resize * long / short)
            size = (self.resize, new_long) if h <= w else (new_long, self.resize)
        else:
            size = self.resize
        if size is not None and tuple(size) != (h, w):
            smooth = self.interpolation != "nearest"
            x = torch.nn.functional.interpolate(
                x, size=tuple(size), mode=self.interpolation,
                align_corners=False if smooth else None, antialias=smooth)
        if self.crop is not None:
            (h, w), (ch, cw) = x.shape[-2:], self.crop
            if ch > h or cw > w:
                raise ValueError(f"Images of {h} x {w} pixels after resizing are smaller than "
                                 f"the crop {ch} x {cw}.")
            top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
            x = x[..., top:top + ch, left:left + cw]
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std
