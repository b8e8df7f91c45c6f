import numpy as np
import pytest
import torch

from neuroattn import NeuroClassifier, create_model, list_attentions
from neuroattn.data.simulate import MI_CHANNELS, simulate_motor_imagery
from neuroattn.models._temporal import DepthwiseTemporalConv
from neuroattn.viz.topomap import class_average

BNCI = dict(n_chans=22, n_times=1000, n_outputs=4)


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_parameter_count_matches_paper_layout():
    # Wimpff et al. (2024): ~3,692 parameters without attention on 22 x 1000 x 4.
    assert _n_params(create_model("channel_attention_net", **BNCI)) == 3692
    assert _n_params(create_model("channel_attention_net", stem="paper", **BNCI)) == 3692


@pytest.mark.parametrize("attention", list_attentions(kind="channel"))
def test_every_channel_block_plugs_in(attention):
    model = create_model("channel_attention_net", n_chans=5, n_times=300, n_outputs=2,
                         attention=attention).eval()
    x = torch.randn(2, 5, 300)
    assert model(x).shape == (2, 2)
    weights = model.get_attention_weights(x)
    assert weights["attention"].shape[:2] == (2, 16)


def test_factorised_and_paper_stems_span_the_same_linear_map():
    """Spatial-then-temporal equals temporal-then-spatial for the same filters."""
    torch.manual_seed(0)
    fact = create_model("channel_attention_net", n_chans=4, n_times=200, n_outputs=2,
                        pool_length=30, pool_stride=10, head_pool=2).stem
    paper = create_model("channel_attention_net", n_chans=4, n_times=200, n_outputs=2,
                         pool_length=30, pool_stride=10, head_pool=2, stem="paper").stem
    x = torch.randn(3, 4, 200)
    with torch.no_grad():
        lin_f = fact.temporal(fact.spatial(x))
        paper.temporal.weight.copy_(fact.temporal.weight[:, :, None, :])  # (F, 1, 1, K)
        paper.spatial.weight.copy_(fact.spatial.weight[:, None])  # (F, 1, C, 1)
        lin_p = paper.spatial(paper.temporal(x.unsqueeze(1))).squeeze(2)
    torch.testing.assert_close(lin_f, lin_p, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("length, n_times", [(25, 1000), (8, 37), (63, 200), (3, 50)])
def test_fft_depthwise_conv_equals_conv1d(length, n_times):
    conv = DepthwiseTemporalConv(3, length)
    x = torch.randn(2, 3, n_times)
    ref = torch.nn.functional.conv1d(x, conv.weight, padding=length // 2, groups=3)
    torch.testing.assert_close(conv(x), ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_times=50), "shorter than pool_length"),
    (dict(n_times=100), "fewer than head_pool"),
    (dict(stem="fast"), "stem must be"),
    (dict(attention="multihead"), "is a 'self' block"),
    (dict(attention="sqeeze"), "Unknown attention"),
])
def test_bad_arguments(kwargs, match):
    args = dict(n_chans=4, n_times=400, n_outputs=2) | kwargs
    with pytest.raises(ValueError, match=match):
        create_model("channel_attention_net", **args)


def test_neuroclassifier_with_eca_by_name():
    X, y = simulate_motor_imagery(24, sfreq=100.0, trial_seconds=3.0, random_state=0,
                                  return_epochs=False)
    clf = NeuroClassifier(model="channel_attention_net", model__attention="eca",
                          max_epochs=2, random_state=0, device="cpu",
                          model__pool_length=30, model__pool_stride=6, model__head_pool=4)
    clf.fit(X, y)
    assert clf.predict(X[:3]).shape == (3,)
    assert clf.get_attention_weights(X[:3])["attention"].shape == (3, 16)


def test_learned_electrode_attention_concentrates_on_sensorimotor_channels():
    """Planted truth: imagery desynchronises C3 / C4. A per-electrode gate (zero-init,
    so flat before training) must learn class differences there, not elsewhere."""
    X, y = simulate_motor_imagery(120, sfreq=100.0, trial_seconds=3.0, erd_strength=0.5,
                                  random_state=0, return_epochs=False)
    clf = NeuroClassifier("channel_attention_net", max_epochs=30, lr=3e-3, batch_size=32,
                          random_state=0, device="cpu", model__input_attention="gated",
                          model__n_filters=16, model__filter_length=11,
                          model__pool_length=30, model__pool_stride=6, model__head_pool=4)
    clf.fit(X[:90], y[:90])
    assert clf.score(X[90:], y[90:]) > 0.7
    means = class_average(clf.get_attention_weights(X)["input_attention"], y)
    diff = np.abs(means["left_hand"] - means["right_hand"])
    core = [MI_CHANNELS.index(c) for c in ("FC3", "FC4", "C5", "C3", "C1", "C2", "C4", "C6",
                                           "CP3", "CP4")]
    # 10 of 22 electrodes: a flat or random map puts ~45% of the difference there.
    assert diff[core].sum() / diff.sum() > 0.6
    assert MI_CHANNELS[int(np.argmax(diff))] in {MI_CHANNELS[i] for i in core}
