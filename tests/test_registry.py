import pytest
import torch

import neuroattn
from neuroattn._registry import Registry
from neuroattn.models import NeuroModel, model_table, register_model


def test_create_and_list_models():
    assert "eeg_transformer" in neuroattn.list_models()
    assert "eeg_transformer" in neuroattn.list_models(task="classification", modality="eeg")
    assert neuroattn.list_models(task="no-such-task") == []
    model = neuroattn.create_model("eeg_transformer", n_chans=3, n_times=50, n_outputs=2)
    assert model(torch.randn(2, 3, 50)).shape == (2, 2)


def test_unknown_model_lists_close_names():
    with pytest.raises(ValueError, match="Did you mean 'eeg_transformer'"):
        neuroattn.create_model("eeg_transfomer", n_chans=3, n_times=50, n_outputs=2)


def test_unknown_attention_lists_close_names():
    with pytest.raises(ValueError, match="Unknown attention 'multihed'.*'multihead'"):
        neuroattn.create_attention("multihed", embed_dim=8)


def test_attention_listing_by_kind():
    assert {"multihead", "gated_multihead"} <= set(neuroattn.list_attentions(kind="self"))
    assert {"cross", "gated_cross"} <= set(neuroattn.list_attentions(kind="cross"))
    assert "cross" not in neuroattn.list_attentions(kind="self")


def test_registry_rejects_a_second_owner_of_a_name():
    reg = Registry("thing")

    @reg.register("a", kind="x")
    class A:
        """First."""

    with pytest.raises(ValueError, match="already registered"):
        @reg.register("a", kind="x")
        class B:
            pass

    assert reg.get("A") is A and reg.entry("a").summary == "First."
    assert reg.get(A) is A  # a class passes through


def test_register_model_needs_neuromodel():
    with pytest.raises(ValueError, match="subclass NeuroModel"):
        register_model("not_a_model", task="classification", modality="eeg")(object)


def test_model_needs_no_kwargs():
    with pytest.raises(TypeError, match="must not take \\*\\*kwargs"):
        class Sloppy(NeuroModel):
            def __init__(self, n_chans=None, **kwargs):
                super().__init__(n_chans)


def test_model_table_lists_every_model():
    table = model_table()
    for name in neuroattn.list_models():
        assert f"`{name}`" in table
    assert "eeg_transformer" in model_table("text")
