"""The one training core: every estimator trains through NeuroEstimatorMixin._train,
validates its parameters from one table, leaves the global RNG alone and loads through
the one ``load`` with the ``_rebuild_module`` hook."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroattn.data.simulate import simulate_encoding, simulate_fmri_rois
from neuroattn.estimators import (
    BrainEncoderRegressor,
    BrainMAEPretrainer,
    NeuroClassifier,
    NeuroRegressor,
    SeizureForecaster,
)
from neuroattn.estimators._base import NeuroEstimatorMixin

_SIGNAL = dict(max_epochs=1, batch_size=8, device="cpu", random_state=0,
               model__depth=1, model__embed_dim=8, model__n_heads=2)


def _cases():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 3, 64)).astype(np.float32)
    y = np.tile([0, 1], 8)
    sim = simulate_encoding(24, random_state=0)
    rois = simulate_fmri_rois(6, random_state=0)
    return [
        (NeuroClassifier("eeg_transformer", **_SIGNAL), (X, y)),
        (NeuroRegressor("eeg_transformer", **_SIGNAL), (X, y.astype(float))),
        (SeizureForecaster("stan", max_epochs=1, batch_size=8, device="cpu", random_state=0,
                           model__embed_dim=8, model__n_heads=2, model__depth=1,
                           model__patch_size=16), (X, y)),
        (BrainMAEPretrainer(max_epochs=1, device="cpu", random_state=0, model__embed_dim=4,
                            model__n_heads=1), (rois,)),
        (BrainEncoderRegressor(max_epochs=1, device="cpu", random_state=0,
                               model__embed_dim=8, model__ffn_dim=8, model__n_heads=2),
         (sim.features, sim.Y)),
    ]


@pytest.fixture(scope="module")
def cases():
    return _cases()


def test_every_estimator_trains_through_the_one_loop(cases, monkeypatch):
    calls = []
    original = NeuroEstimatorMixin._train

    def spy(self, X, y=None, *, seed):
        calls.append(type(self).__name__)
        return original(self, X, y, seed=seed)

    monkeypatch.setattr(NeuroEstimatorMixin, "_train", spy)
    for est, data in cases:
        est.fit(*data)
        assert not hasattr(est, "_fit_meta")
    assert calls == [type(est).__name__ for est, _ in cases]


def test_no_estimator_redefines_the_core():
    # No estimator redefines the loop, the net builder or the loader.
    for cls in (NeuroClassifier, NeuroRegressor, SeizureForecaster, BrainMAEPretrainer,
                BrainEncoderRegressor):
        for name in ("_train", "_make_net", "load", "_rebuild_module", "_build_module"):
            assert name not in vars(cls), f"{cls.__name__} redefines {name}"


def test_fit_leaves_the_global_torch_rng_alone(cases):
    for est, data in cases:
        before = torch.get_rng_state().clone()
        est.fit(*data)
        assert torch.equal(before, torch.get_rng_state()), type(est).__name__


def test_save_load_round_trip_through_rebuild_hook(cases, tmp_path):
    for est, data in cases:
        est.fit(*data)
        if isinstance(est, BrainMAEPretrainer):
            continue  # a transformer without save (its weights go to a classifier)
        loaded = type(est).load(est.save(tmp_path / type(est).__name__), device="cpu")
        X = data[0][:4]
        np.testing.assert_allclose(loaded.predict(X), est.predict(X), rtol=1e-5, atol=1e-6)
        for key, value in vars(est).items():
            if key.endswith("_") and not key.startswith("_") and key not in (
                    "net_", "module_", "history_"):
                assert type(getattr(loaded, key)) is type(value), key


@pytest.mark.parametrize(("est", "name"), [
    (NeuroClassifier(max_epochs=0), "max_epochs"),
    (NeuroClassifier(lr=-1.0), "lr"),
    (NeuroClassifier(batch_size=2.5), "batch_size"),
    (NeuroClassifier(lr_scheduler="step"), "lr_scheduler"),
    (NeuroClassifier(validation_fraction=1.0), "validation_fraction"),
    (NeuroClassifier(verbose=-1), "verbose"),
    (NeuroRegressor(weight_decay=-0.1), "weight_decay"),
    (SeizureForecaster(threshold=1.5), "threshold"),
    (SeizureForecaster(smoothing="median"), "smoothing"),
    (SeizureForecaster(critic_steps=0), "critic_steps"),
    (BrainMAEPretrainer(t_r="2"), "t_r"),
    (BrainMAEPretrainer(t_r=float("inf")), "t_r"),
    (BrainMAEPretrainer(level="voxel"), "level"),
    (BrainMAEPretrainer(max_segments_per_subject=0), "max_segments_per_subject"),
    (BrainEncoderRegressor(grad_clip=0.0), "grad_clip"),
    (BrainEncoderRegressor(normalize="zscore"), "normalize"),
])
def test_parameters_validated_from_one_table(est, name):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 2, 32)).astype(np.float32)
    with pytest.raises(ValueError, match=f"'{name}' parameter of {type(est).__name__}"):
        est.fit(X, np.tile([0, 1], 4))



def test_a_final_batch_of_one_sample_is_dropped(monkeypatch):
    """17 trials in batches of 8 would end each epoch on one sample: BatchNorm's batch
    statistics are then degenerate (and it raises where it sees one value per channel).
    That batch is dropped, every epoch."""
    from torch.nn.modules.batchnorm import _BatchNorm

    from neuroattn.estimators._nets import _drops_last

    rng = np.random.default_rng(0)
    X = rng.standard_normal((17, 3, 320)).astype(np.float32)
    y = np.r_[np.zeros(8), np.ones(9)].astype(int)
    seen = []
    orig = _BatchNorm.forward

    def spy(self, x):
        if self.training:
            seen.append(x.shape[0])
        return orig(self, x)

    monkeypatch.setattr(_BatchNorm, "forward", spy)
    clf = NeuroClassifier("channel_attention_net", max_epochs=2, batch_size=8, device="cpu",
                          random_state=0).fit(X, y)
    assert seen and min(seen) == 8
    assert np.isfinite(clf.history_[-1, "train_loss"])
    assert [_drops_last(n, 8) for n in (17, 16, 18, 1)] == [True, False, False, False]
