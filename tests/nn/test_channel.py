import inspect

import pytest
import torch

from neuroattn.nn import attention_registry, create_attention, list_attentions
from neuroattn.nn.channel import channel_weights

CHANNEL_BLOCKS = list_attentions(kind="channel")
PAPER_BLOCKS = {"se", "gsop", "fca", "encnet", "eca", "ge", "ge_theta", "ge_theta_plus", "gct",
                "se_l2", "srm", "srm_cross", "cbam", "cat", "catlite"}
EXTRA_BLOCKS = {"coordinate", "ela", "ulsam", "gated"}


def _block(name, in_channels=8, seq_len=40):
    cls = attention_registry.get(name)
    kwargs = {"in_channels": in_channels}
    if "seq_len" in inspect.signature(cls).parameters:
        kwargs["seq_len"] = seq_len
    return cls(**kwargs)


def test_zoo_is_complete():
    assert set(CHANNEL_BLOCKS) >= PAPER_BLOCKS | EXTRA_BLOCKS


@pytest.mark.parametrize("name", CHANNEL_BLOCKS)
def test_keeps_shape_and_records_weights(name):
    torch.manual_seed(0)
    block = _block(name)
    x = torch.randn(3, 8, 40, requires_grad=True)
    assert block(x).shape == x.shape
    assert block.last_attention is None  # recording is off by default
    block.record_attention = True
    out = block(x)
    w = block.last_attention
    assert w is not None and w.shape[:2] == (3, 8) and w.ndim in (2, 3)
    assert torch.isfinite(w).all()
    assert channel_weights(w).shape == (3, 8)
    out.square().mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # 4-D (batch, channels, 1, time) inputs from 2-D conv nets work too
    assert block(x.detach()[:, :, None]).shape == (3, 8, 1, 40)


@pytest.mark.parametrize("name", CHANNEL_BLOCKS)
def test_output_depends_on_weights(name):
    """The block really multiplies: weights times input reproduce the output."""
    block = _block(name).eval()
    block.record_attention = True
    x = torch.randn(2, 8, 40)
    out = block(x)
    w = block.last_attention
    expected = x * (w.unsqueeze(-1) if w.ndim == 2 else w)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("name", CHANNEL_BLOCKS)
def test_rejects_wrong_channel_count(name):
    with pytest.raises(ValueError, match="expects \\(batch, 8, time\\)"):
        _block(name)(torch.randn(2, 5, 40))


def test_gated_starts_flat_then_learns():
    block = create_attention("gated", in_channels=4)
    block.record_attention = True
    block(torch.randn(2, 4, 30))
    torch.testing.assert_close(block.last_attention, torch.full((2, 4), 0.5))


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="eca", in_channels=8, kernel_size=4), "odd"),
    (dict(name="ge_theta", in_channels=8), "seq_len"),
    (dict(name="ulsam", in_channels=6, n_groups=4), "multiple of n_groups"),
    (dict(name="se", in_channels=0), "positive integer"),
    (dict(name="se", in_channels=8, reduction=0), "reduction"),
])
def test_bad_arguments(kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        create_attention(name, **kwargs)


def test_ge_theta_checks_length():
    block = create_attention("ge_theta", in_channels=4, seq_len=20)
    with pytest.raises(ValueError, match="seq_len=20"):
        block(torch.randn(2, 4, 21))


def test_fca_index_zero_is_average_pooling():
    fca = create_attention("fca", in_channels=4, freq_indices=(0,))
    x = torch.randn(3, 4, 25)
    torch.testing.assert_close(fca.squeeze(x), x.mean(-1) * 25 ** 0.5)


def test_channel_weights_bad_rank():
    with pytest.raises(ValueError, match="batch, in_channels"):
        channel_weights(torch.ones(3))
