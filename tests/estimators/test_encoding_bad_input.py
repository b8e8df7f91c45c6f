"""Bad inputs of the brain encoder (issue 17): each is a ValueError raised before any
feature is extracted (a counting backbone proves that nothing ran)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroattn.estimators import BrainEncoderRegressor

_ENC = dict(max_epochs=1, device="cpu", random_state=0, model__embed_dim=8,
            model__ffn_dim=8, model__n_heads=2)


class _Counting(torch.nn.Module):
    """A tiny conv backbone that counts its forward passes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.pool = torch.nn.AvgPool2d(4)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.pool(self.conv(x))


_RNG = np.random.default_rng(0)
_IMAGES = _RNG.random((12, 1, 16, 16)).astype(np.float32)
_Y = _RNG.standard_normal((12, 6)).astype(np.float32)
_LABELS = np.array(["A", "A", "B", "B", "other", "other"], dtype=object)


@pytest.mark.parametrize("params, fit_kw, match", [
    ({"n_queries": 0}, {}, r"n_queries must be between 1 and the number of unlabelled "
                           r"voxels \(6 of 6\), got 0"),
    ({"n_queries": 7}, {}, r"n_queries must be between 1 and the number of unlabelled "
                           r"voxels \(6 of 6\), got 7"),
    ({"n_queries": 3}, {"regions": _LABELS},
     r"n_queries must be between 1 and the number of unlabelled voxels \(2 of 6\), got 3"),
    ({}, {"regions": _LABELS[:5]}, r"regions has 5 entries but y has 6 voxels"),
    ({}, {"regions": np.append(_LABELS, "A")}, r"regions has 7 entries but y has 6 voxels"),
    ({"n_queries": -2}, {}, r"n_queries.*got -2"),
    ({"readout": "learned", "readout_rank": 2}, {},
     r"readout_rank=2 reduces the rank of the ridge readout; readout='learned' has none"),
    ({"readout_rank": 0}, {}, r"readout_rank.*range \[1, inf\).*Got 0"),
], ids=["n_queries=0", "n_queries>voxels", "n_queries>unlabelled", "regions_short",
        "regions_long", "n_queries<0", "readout_rank_without_ridge", "readout_rank=0"])
def test_bad_queries_or_regions_raise_before_extraction(params, fit_kw, match):
    backbone = _Counting()
    est = BrainEncoderRegressor(backbone=backbone, layer="pool", **params, **_ENC)
    with pytest.raises(ValueError, match=match):
        est.fit(_IMAGES, _Y, **fit_kw)
    assert backbone.calls == 0  # nothing was extracted


@pytest.mark.parametrize("backbone, layer, match", [
    # open_clip takes ~10-30 s to import on a busy machine: those cases are slow.
    pytest.param("open_clip:RN5", "layer3", r"Unknown backbone 'open_clip:RN5'.*Close "
                 r"names: open_clip:RN50", marks=pytest.mark.slow),
    pytest.param("open_clip:RN50:nope", "layer3", r"no pretrained tag 'nope'.*Tags: openai",
                 marks=pytest.mark.slow),
    ("resnet18", "layer9", r"layer='layer9': backbone 'resnet18' has no such layer\. "
                           r"Close names: layer[1-4].*Top-level layers: conv1, bn1"),
    ("resnt18", "layer3", r"Unknown backbone 'resnt18': not a torchvision classification "
                          r"model\. Close names: resnet18"),
    ("timm:resnet1", "layer3", r"Unknown backbone 'timm:resnet1': not a timm model\. "
                               r"Close names: timm:resnet18"),
    ("timm:resnet18", "layer9", r"layer='layer9': backbone 'timm:resnet18' has no such "
                                r"layer.*Top-level layers: conv1, bn1, act1"),
    pytest.param("open_clip:RN50", "layer9", r"layer='layer9': backbone 'open_clip:RN50' "
                 r"has no such layer.*Top-level layers: conv1", marks=pytest.mark.slow),
], ids=["unknown_open_clip", "unknown_tag", "torchvision_layer", "unknown_torchvision",
        "unknown_timm", "timm_layer", "open_clip_layer"])
def test_bad_backbone_name_or_layer_raises_before_weights_or_features(backbone, layer, match,
                                                                      monkeypatch):
    # No weights may be fetched: a pretrained load would need the network.
    import neuroattn.estimators._encoding_common as common

    def no_extraction(*args, **kwargs):
        raise AssertionError("features were extracted before the bad input was reported")

    monkeypatch.setattr(common, "extract_features", no_extraction)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    est = BrainEncoderRegressor(backbone=backbone, layer=layer, **_ENC)
    with pytest.raises(ValueError, match=match):
        est.fit(np.zeros((4, 3, 32, 32), np.float32), _Y[:4])
