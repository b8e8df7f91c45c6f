"""``LinearSkipTransformer`` shows the network's parameters as its own (scikit-learn's
get_params/set_params), so ``neuroattn benchmark --device/--max-epochs`` reach it like
any NeuroClassifier step, and ``neuroattn fmri --device`` reaches its network."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from neuroattn.benchmark._connectome_skip import LinearSkipTransformer
from neuroattn.cli import build_parser
from neuroattn.estimators import NeuroClassifier

FAST = dict(max_epochs=1, batch_size=8, model__embed_dim=8, model__n_heads=2,
            model__n_clusters=2, model__hidden_dims=(8,))

_YAML = """name: Cov+LinearSkip
paradigms:
  - LeftRightImagery
pipeline:
  - name: Covariances
    from: pyriemann.estimation
    parameters:
      estimator: oas
  - name: LinearSkipTransformer
    from: neuroattn.benchmark._connectome_skip
    parameters:
      max_epochs: 30
      model__embed_dim: 8
"""


def _spd(n=16, n_chans=4, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n_chans, 3 * n_chans))
    return (A @ A.transpose(0, 2, 1) / (3 * n_chans)), np.tile([0, 1], n // 2)


def test_benchmark_device_and_max_epochs_reach_the_skip_network(tmp_path, monkeypatch):
    import neuroattn.estimators as estimators
    from neuroattn.commands.benchmark import _pipelines

    path = tmp_path / "skip.yml"
    path.write_text(_YAML)
    # a device name that resolves to itself stands in for a GPU (none here)
    monkeypatch.setattr(estimators, "resolve_device",
                        lambda device: "cpu" if device == "auto" else device)
    args = build_parser().parse_args(["benchmark", "--pipelines", str(path),
                                      "--max-epochs", "2"])
    args.device = "cuda:3"
    step = _pipelines(args)["Cov+LinearSkip"].steps[-1][1]
    assert isinstance(step, LinearSkipTransformer)
    params = step.get_params()
    assert params["device"] == "cuda:3" and params["max_epochs"] == 2
    assert params["model__embed_dim"] == 8


def test_skip_network_is_built_from_the_shown_parameters():
    X, y = _spd()
    skip = LinearSkipTransformer(random_state=0, **FAST)
    assert set(NeuroClassifier("brain_network_transformer").get_params()) - {"model"} \
        <= set(skip.get_params())
    skip.set_params(device="cpu", max_epochs=2, lr=3e-4)
    twin = clone(skip)
    assert twin.get_params() == skip.get_params()
    twin.fit(X, y)
    net = twin.classifier_
    assert (net.device, net.max_epochs, net.lr) == ("cpu", 2, 3e-4)
    assert len(net.history_) == 2 and net.get_params()["model__diagonal_offset"] is True


@pytest.mark.parametrize("params, match", [
    (dict(devcie="cpu"), "devcie"),
    (dict(model="eeg_transformer"), "model"),
], ids=["misspelt", "model-fixed"])
def test_skip_refuses_parameters_it_cannot_pass_on(params, match):
    with pytest.raises(ValueError, match=match):
        LinearSkipTransformer().set_params(**params)


def test_fmri_device_reaches_the_skip_network(monkeypatch):
    """``neuroattn fmri --device`` (``transformer_params``) reaches bnt_tangent_skip."""
    from neuroattn.benchmark._connectome import run_transformer_methods
    from neuroattn.data.simulate import simulate_fmri_rois

    seen = []
    fit = LinearSkipTransformer.fit

    def spy(self, X, y):
        out = fit(self, X, y)
        seen.append(self.classifier_.device)
        return out

    monkeypatch.setattr(LinearSkipTransformer, "fit", spy)
    sim = simulate_fmri_rois(16, n_regions=6, n_networks=2, n_timepoints=40, n_sites=2,
                             random_state=0)
    train, test = sim.subset(np.arange(12)), sim.subset(np.arange(12, 16))
    run_transformer_methods(train, test, ["bnt_tangent_skip"],
                            {**FAST, "device": "cpu", "model__n_heads": 2}, {}, 0)
    assert seen == ["cpu"]


def test_a_refused_set_params_changes_nothing():
    skip = LinearSkipTransformer(C=1.0)
    before = skip.get_params()
    with pytest.raises(ValueError):
        skip.set_params(C=7.0, bogus=1)
    assert skip.get_params() == before
