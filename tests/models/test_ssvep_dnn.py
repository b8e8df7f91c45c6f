"""ssvep_dnn: layers of Guney et al. (2021), 4-D input, parameter count."""

from __future__ import annotations

import pytest
import torch

from neuroattn import create_model


def test_parameter_count_and_layers():
    model = create_model("ssvep_dnn", n_chans=9, n_times=100, n_outputs=40)
    # sub-band 3 + spatial 120*9+120 + stride-2 120*120*2+120 + temporal 120*120*10+120
    # + head 120*50*40+40
    assert sum(p.numel() for p in model.parameters()) == 414_283
    torch.testing.assert_close(model.subband_combination.weight, torch.ones(1, 3, 1, 1))
    assert model.subband_combination.bias is None
    assert [m.p for m in (model.spatial_drop, model.downsample_drop, model.feature_drop)] == \
        [0.1, 0.1, 0.95]
    assert model.final_layer.in_features == 120 * 50


def test_feature_shape_and_subband_sum_at_init():
    model = create_model("ssvep_dnn", n_chans=4, n_times=33, n_outputs=3, n_subbands=2,
                         n_filters=5, kernel_size=4).eval()
    x = torch.randn(2, 2, 4, 33)
    assert model.forward_features(x).shape == (2, 5 * 16)
    # the first layer starts as the plain sum of the sub-bands
    summed = torch.cat([x.sum(1, keepdim=True), torch.zeros_like(x[:, :1])], dim=1)
    torch.testing.assert_close(model(x), model(summed))


def test_set_dropout():
    model = create_model("ssvep_dnn", n_chans=2, n_times=20, n_outputs=2)
    model.set_dropout((0.6, 0.6, 0.9))
    assert model.spatial_drop.p == 0.6 and model.feature_drop.p == 0.9
    with pytest.raises(ValueError, match="drop_probs"):
        model.set_dropout((0.6, 1.0, 0.9))


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_times=1), "at least 2 samples"),
    (dict(n_subbands=0), "n_subbands"),
    (dict(kernel_size=0), "kernel_size"),
    (dict(drop_probs=(0.1, 0.1)), "drop_probs"),
    (dict(head="mean"), "head must be 'flatten'"),
    (dict(head="power", power_norm="yes"), "power_norm must be True or False"),
])
def test_bad_arguments(kwargs, match):
    args = dict(n_chans=2, n_times=20, n_outputs=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        create_model("ssvep_dnn", **args)


def test_wrong_input_shape_is_refused():
    model = create_model("ssvep_dnn", n_chans=2, n_times=20, n_outputs=2)
    with pytest.raises(ValueError, match="n_subbands, n_chans, n_times"):
        model(torch.randn(2, 2, 20))
    with pytest.raises(ValueError, match="n_subbands, n_chans, n_times"):
        model(torch.randn(2, 3, 3, 20))


def test_power_head_features_and_size():
    model = create_model("ssvep_dnn", n_chans=4, n_times=64, n_outputs=3, n_filters=6,
                         head="power").eval()
    assert model.forward_features(torch.randn(2, 3, 4, 64)).shape == (2, 6)
    assert model.final_layer.in_features == 6
    assert create_model("ssvep_dnn", n_chans=4, n_times=64, n_outputs=3).head == "flatten"


@pytest.mark.parametrize("kwargs, normalised", [
    (dict(head="power"), True), (dict(head="power", power_norm=False), False),
    (dict(head="flatten"), False)])
def test_power_head_standardises_its_log_powers(kwargs, normalised):
    torch.manual_seed(0)
    model = create_model("ssvep_dnn", n_chans=4, n_times=64, n_outputs=3, n_filters=6,
                         **kwargs).train()
    features = model.forward_features(100.0 * torch.randn(32, 3, 4, 64))
    assert isinstance(model.feature_norm, torch.nn.BatchNorm1d) == normalised
    if kwargs["head"] == "power":  # in training, each log power is standardised per batch
        mean = features.mean(0).abs().max().item()
        assert (mean < 1e-4) if normalised else (mean > 1.0), mean


def _sines(phase):
    t = torch.arange(512) / 256.0
    wave = torch.sin(2 * torch.pi * 13.0 * t + phase)
    return wave.expand(1, 3, 4, 512).clone()


@pytest.mark.parametrize("head, invariant", [("power", True), ("flatten", False)])
def test_power_head_is_blind_to_the_phase_the_papers_head_is_not(head, invariant):
    torch.manual_seed(0)
    model = create_model("ssvep_dnn", n_chans=4, n_times=512, n_outputs=3, n_filters=8,
                         kernel_size=16, head=head).eval()
    with torch.no_grad():
        a, b = model.forward_features(_sines(0.0)), model.forward_features(_sines(1.3))
    change = ((a - b).norm() / a.norm()).item()
    assert (change < 0.02) if invariant else (change > 0.3), change
