"""Common tests, parametrised over the model registry and over the estimators.

A model registered anywhere in ``neuroattn.models`` is picked up here automatically.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import load, save
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from neuroattn import NeuroClassifier, NeuroRegressor, create_model, list_models
from neuroattn.models import model_registry

MODELS = list_models()


def _build(name: str, seed: int = 0):
    torch.manual_seed(seed)
    cls = model_registry.get(name)
    return create_model(name, **cls.example_signal_args)


@pytest.mark.parametrize("name", MODELS)
def test_output_shape_and_finite(name):
    model = _build(name).eval()
    x = model.example_input(3, generator=torch.Generator().manual_seed(0))
    out = model(x)
    assert out.shape == (3, model.n_outputs)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", MODELS)
def test_gradient_reaches_every_parameter(name):
    model = _build(name).train()
    x = model.example_input(4, generator=torch.Generator().manual_seed(1))
    model.example_loss(x).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient reaches {missing}"
    bad = [n for n, p in model.named_parameters()
           if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert not bad, f"non-finite gradients in {bad}"
    assert any(p.grad.abs().sum() > 0 for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", MODELS)
def test_same_seed_same_output(name):
    a, b = _build(name, seed=3).eval(), _build(name, seed=3).eval()
    x = a.example_input(2, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(a(x), b(x))
    c = _build(name, seed=4).eval()
    assert not torch.allclose(a(x), c(x)), "the seed has no effect on initialisation"


@pytest.mark.parametrize("name", MODELS)
def test_config_and_state_dict_round_trip(name):
    model = _build(name).eval()
    clone_ = type(model).from_config(model.get_config()).eval()
    buffer = save({k: v.contiguous() for k, v in model.state_dict().items()})
    clone_.load_state_dict(load(buffer))
    x = model.example_input(2, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(model(x), clone_(x))
    assert clone_.get_config().keys() == model.get_config().keys()


@pytest.mark.parametrize("name", MODELS)
def test_has_final_layer_and_forward_api(name):
    model = _build(name).eval()
    assert isinstance(model.final_layer, torch.nn.Module)
    x = model.example_input(2)
    torch.testing.assert_close(model.forward_head(model.forward_features(x)), model(x))


def test_every_model_file_registers_a_model():
    """Completeness: each module in neuroattn/models defines a registered model."""
    import pkgutil

    import neuroattn.models as pkg

    registered_modules = {e.obj.__module__ for e in model_registry.entries()}
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            assert f"neuroattn.models.{info.name}" in registered_modules, info.name


# --------------------------------------------------------------------- estimators
# Small, fast settings: the checks fit dozens of times on tiny 2-D data.
_FAST = dict(max_epochs=30, batch_size=32, lr=5e-3, random_state=0,
             model__embed_dim=16, model__depth=1, model__n_heads=2)

# Expected failures, each with why. None at present: the neural estimators pass every
# check (float32 outputs are batch-size invariant at the checks' tolerance here).
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


@parametrize_with_checks([NeuroClassifier(**_FAST), NeuroRegressor(**_FAST)],
                         expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def mi_data():
    from neuroattn.data.simulate import simulate_motor_imagery

    return simulate_motor_imagery(60, sfreq=100.0, trial_seconds=2.0, random_state=0,
                                  return_epochs=False)


@pytest.mark.parametrize("Est", [NeuroClassifier, NeuroRegressor])
def test_clone_then_refit_on_other_channel_count(Est, mi_data):
    X, y = mi_data
    y = y if Est is NeuroClassifier else (y == "left_hand").astype(float)
    est = Est(max_epochs=2, random_state=0).fit(X, y)
    other = clone(est).fit(X[:, :5, :150], y)
    assert other.n_chans_ == 5 and other.n_times_ == 150
    assert est.n_chans_ == X.shape[1]
    assert other.predict(X[:3, :5, :150]).shape[0] == 3


@pytest.mark.parametrize("Est", [NeuroClassifier, NeuroRegressor])
def test_fit_leaves_params_unchanged(Est, mi_data):
    X, y = mi_data
    y = y if Est is NeuroClassifier else (y == "left_hand").astype(float)
    est = Est(max_epochs=1, model__depth=1)
    before = est.get_params()
    est.fit(X, y)
    after = est.get_params()
    assert before.keys() == after.keys()
    for key in before:
        assert before[key] is after[key] or before[key] == after[key], key


def test_cpu_pickle_round_trip(mi_data):
    X, y = mi_data
    est = NeuroClassifier(max_epochs=2, random_state=0, device="cpu").fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(est.predict_proba(X), again.predict_proba(X), rtol=1e-5)


def test_save_load_safetensors(mi_data, tmp_path):
    X, y = mi_data
    est = NeuroClassifier(max_epochs=2, random_state=0, model__depth=1).fit(X, y)
    path = est.save(tmp_path / "clf")
    again = NeuroClassifier.load(path, device="cpu")
    np.testing.assert_allclose(est.predict_proba(X), again.predict_proba(X), rtol=1e-5)
    assert list(again.classes_) == list(est.classes_)
    assert again.get_params()["model__depth"] == 1
    with pytest.raises(ValueError, match="NeuroClassifier"):
        NeuroRegressor.load(path)


def test_save_drops_callbacks_and_refuses_unsavable_params(mi_data, tmp_path):
    from skorch.callbacks import PrintLog

    X, y = mi_data
    est = NeuroClassifier(max_epochs=1, random_state=0, callbacks=[("log", PrintLog())],
                          model__depth=1).fit(X, y)
    with pytest.warns(UserWarning, match="does not store the training callbacks"):
        path = est.save(tmp_path / "with_callbacks")
    assert NeuroClassifier.load(path).callbacks is None
    est.set_params(model__activation=lambda: torch.nn.ReLU())
    with pytest.raises(ValueError, match="Cannot save NeuroClassifier"):
        est.save(tmp_path / "lambda")


