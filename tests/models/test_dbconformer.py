import pytest
import torch

from neuroattn import create_model


def test_parameter_count_on_bnci2014_001_settings():
    model = create_model("dbconformer", n_chans=22, n_times=1000, n_outputs=4)
    n = sum(p.numel() for p in model.parameters())
    assert 85_000 < n < 100_000  # the paper reports about 92k


def test_channel_pooling_weights_are_per_electrode_and_sum_to_one():
    model = create_model("dbconformer", n_chans=7, n_times=250, n_outputs=2)
    x = torch.randn(3, 7, 250)
    weights = model.get_attention_weights(x)
    pool = weights["channel_pool"]
    assert pool.shape == (3, 7)
    torch.testing.assert_close(pool.sum(-1), torch.ones(3))
    assert weights["spatial_encoder.blocks.0.attn"].shape == (3, 4, 7, 7)
    assert weights["temporal_encoder.blocks.0.attn"].shape == (3, 4, 10, 10)


def test_short_input_is_refused():
    with pytest.raises(ValueError, match="shorter than patch_size"):
        create_model("dbconformer", n_chans=4, n_times=10, n_outputs=2)
