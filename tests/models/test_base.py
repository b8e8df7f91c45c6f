import pytest
import torch

from neuroattn import create_model


def test_signal_args_derived_from_chs_info_and_window():
    chs = [{"ch_name": n} for n in ("C3", "Cz", "C4")]
    model = create_model("eeg_transformer", chs_info=chs, sfreq=100.0,
                         input_window_seconds=2.0, n_outputs=2)
    assert model.n_chans == 3 and model.n_times == 200
    model = create_model("eeg_transformer", n_chans=3, n_times=150, sfreq=50.0, n_outputs=2)
    assert model.input_window_seconds == 3.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_chans=4, chs_info=[{"ch_name": "Cz"}]), "contradicts chs_info"),
    (dict(n_chans=1, n_times=100, sfreq=100.0, input_window_seconds=2.0),
     "contradicts input_window_seconds"),
    (dict(n_chans=2), "needs n_times"),
    (dict(n_chans=0, n_times=10), "positive integer"),
    (dict(n_chans=2, n_times=10, sfreq=-1.0), "sfreq must be positive"),
])
def test_contradictory_signal_args_raise(kwargs, match):
    kwargs.setdefault("n_outputs", 2)
    with pytest.raises(ValueError, match=match):
        create_model("eeg_transformer", **kwargs)


def test_forward_checks_input_shape():
    model = create_model("eeg_transformer", n_chans=3, n_times=60, n_outputs=2)
    with pytest.raises(ValueError, match="built for 3 channels, got 4"):
        model(torch.randn(2, 4, 60))
    with pytest.raises(ValueError, match="expects \\(batch, n_chans, n_times\\)"):
        model(torch.randn(3, 60))


def test_attention_weights_are_retrievable_without_hooks():
    model = create_model("eeg_transformer", n_chans=3, n_times=100, n_outputs=2,
                         patch_size=10, depth=2).train()
    weights = model.get_attention_weights(torch.randn(5, 3, 100))
    assert set(weights) == {"encoder.blocks.0.attn", "encoder.blocks.1.attn"}
    w = weights["encoder.blocks.0.attn"]
    assert w.shape == (5, 4, 10, 10)
    torch.testing.assert_close(w.sum(-1), torch.ones(5, 4, 10))
    assert model.training  # mode restored
    assert all(not m.record_attention for m in model.modules() if hasattr(m, "record_attention"))


def test_get_config_holds_hyperparameters():
    model = create_model("eeg_transformer", n_chans=3, n_times=60, n_outputs=2, depth=3)
    config = model.get_config()
    assert config["depth"] == 3 and config["n_chans"] == 3
    rebuilt = type(model).from_config(config)
    assert len(rebuilt.encoder.blocks) == 3
