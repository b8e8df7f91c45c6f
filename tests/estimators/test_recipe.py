"""The small-data recipe in the training core: augmentation, mixup, label smoothing,
weight averaging; checked before training, reproducible, resumable."""

import numpy as np
import pytest
import torch

from neuroattn import NeuroClassifier, NeuroRegressor
from neuroattn.estimators._recipe import AugmentedStep, WeightAveraging, resolve_augmentations
from neuroattn.nn.augmentation import FTSurrogate, Mixup, SmoothTimeMask

SMALL = dict(model__depth=1, model__embed_dim=8, model__n_heads=2, batch_size=8,
             device="cpu")


def _data(n=32, n_chans=3, n_times=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_chans, n_times)).astype(np.float32)
    y = np.arange(n) % 2
    X[y == 1, 0] += 1.5
    return X, y


def test_resolve_builds_named_and_configured_augmentations():
    augs = resolve_augmentations(["ft_surrogate", {"name": "smooth_time_mask",
                                                   "mask_samples": 10}, "mixup"],
                                 n_chans=3, n_times=64, sfreq=128.0)
    assert [type(a) for a in augs] == [FTSurrogate, SmoothTimeMask, Mixup]
    assert augs[1].mask_samples == 10
    shift = resolve_augmentations(["frequency_shift"], n_chans=3, n_times=64, sfreq=128.0)
    assert shift[0].sfreq == 128.0


@pytest.mark.parametrize("spec, match", [
    ("ft_surrogate", "list of names or dicts"),
    (["nope"], "unknown"),
    ([{"mask_samples": 3}], "'name'"),
    ([{"name": "smooth_time_mask", "mask_samples": 64}], "not shorter than the window"),
    ([{"name": "frequency_shift", "max_shift_hz": 70.0}], "Nyquist"),
    ([{"name": "ft_surrogate", "bogus": 1}], "bogus"),
    (["mixup", "mixup"], "at most once"),
    ([{"name": "channels_shuffle", "groups": "hemispheres"}], "needs the channel names"),
    ([{"name": "channels_shuffle", "groups": "lobes"}], "'hemispheres'"),
])
def test_bad_augmentation_specs_are_refused(spec, match):
    with pytest.raises(ValueError, match=match):
        resolve_augmentations(spec, n_chans=3, n_times=64, sfreq=128.0)


@pytest.mark.parametrize("params, match", [
    (dict(augmentation=[{"name": "smooth_time_mask", "mask_samples": 500}]),
     "not shorter than the window"),
    (dict(augmentation=[{"name": "frequency_shift", "sfreq": 100.0, "max_shift_hz": 60.0}]),
     "Nyquist"),
    (dict(label_smoothing=1.0), "label_smoothing"),
    (dict(weight_averaging=-1), "weight_averaging"),
    (dict(weight_averaging=6, max_epochs=5), "weight_averaging"),
    (dict(weight_averaging=2, early_stopping=True, validation_fraction=0.25),
     "weight_averaging"),
])
def test_estimator_refuses_bad_recipe_before_training(params, match):
    X, y = _data()
    clf = NeuroClassifier(max_epochs=params.pop("max_epochs", 2), **SMALL, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_regressor_refuses_label_smoothing_and_mixup():
    X, _ = _data()
    y = X[:, 0].mean(-1)
    with pytest.raises(ValueError, match="label_smoothing"):
        NeuroRegressor(max_epochs=1, label_smoothing=0.1, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="mixup"):
        NeuroRegressor(max_epochs=1, augmentation=["mixup"], **SMALL).fit(X, y)


def test_augmented_fit_is_reproducible_and_differs_from_plain():
    X, y = _data()
    recipe = dict(augmentation=["ft_surrogate", "channels_dropout", "mixup"],
                  label_smoothing=0.1, weight_averaging=2)
    a = NeuroClassifier(max_epochs=3, random_state=0, **SMALL, **recipe).fit(X, y)
    b = NeuroClassifier(max_epochs=3, random_state=0, **SMALL, **recipe).fit(X, y)
    plain = NeuroClassifier(max_epochs=3, random_state=0, **SMALL).fit(X, y)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6)
    assert not np.allclose(a.predict_proba(X), plain.predict_proba(X))
    assert isinstance(a.net_.train_step_, AugmentedStep)


def test_weight_averaging_loads_the_mean_of_the_last_epochs():
    X, y = _data()
    clf = NeuroClassifier(max_epochs=4, random_state=0, weight_averaging=3, **SMALL)
    clf.fit(X, y)
    cb = dict(clf.net_.callbacks_)["weight_averaging"]
    assert isinstance(cb, WeightAveraging) and len(cb.states_) == 3
    params = dict(clf.module_.named_parameters())
    for key, value in params.items():
        expected = torch.stack([s[key] for s in cb.states_]).mean(0)
        torch.testing.assert_close(value.detach(), expected)
    # BatchNorm statistics are recomputed for the averaged weights (SWA's update_bn),
    # not averaged: one pass over the training data in training mode.
    import copy

    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.optim.swa_utils import update_bn

    norms = [n for n, m in clf.module_.named_modules() if isinstance(m, _BatchNorm)]
    assert norms, "the test needs a model with BatchNorm"
    fresh = copy.deepcopy(clf.module_)
    update_bn(torch.utils.data.DataLoader(torch.as_tensor(X), batch_size=8), fresh)
    modules = dict(clf.module_.named_modules())
    for name in norms:
        torch.testing.assert_close(modules[name].running_mean,
                                   dict(fresh.named_modules())[name].running_mean)
        averaged = torch.stack([s[f"{name}.running_mean"] for s in cb.states_]).mean(0)
        assert not torch.allclose(modules[name].running_mean, averaged)


def test_recipe_fit_resumes_from_a_checkpoint_like_an_uninterrupted_one(tmp_path):
    X, y = _data()
    recipe = dict(augmentation=["ft_surrogate", "mixup"], weight_averaging=2,
                  label_smoothing=0.1)
    whole = NeuroClassifier(max_epochs=4, random_state=0, **SMALL, **recipe).fit(X, y)

    from skorch.callbacks import Callback

    class StopAfter2(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt

    folder = tmp_path / "ckpt"
    first = NeuroClassifier(max_epochs=4, random_state=0, checkpoint_dir=folder,
                            callbacks=[StopAfter2()], **SMALL, **recipe)
    with pytest.raises(KeyboardInterrupt):
        first.fit(X, y)
    with pytest.warns(UserWarning, match="other callbacks"):
        resumed = NeuroClassifier(max_epochs=4, random_state=0, checkpoint_dir=folder,
                                  **SMALL, **recipe).fit(X, y)
    np.testing.assert_allclose(resumed.predict_proba(X), whole.predict_proba(X), rtol=1e-5)


def test_channels_shuffle_hemispheres_groups_from_channel_names():
    spec = [{"name": "channels_shuffle", "groups": "hemispheres"}]
    (aug,) = resolve_augmentations(spec, n_chans=5, n_times=64, sfreq=128.0,
                                   ch_names=["C3", "Cz", "C4", "FC5", "FC6"])
    assert aug.groups == [[0, 3], [2, 4], [1]]
    with pytest.raises(ValueError, match=r"hemispheres.*'EOG'"):
        resolve_augmentations(spec, n_chans=2, n_times=64, sfreq=128.0, ch_names=["C3", "EOG"])


def test_hemispheres_shuffle_fits_on_epochs_and_is_refused_on_arrays_before_training():
    mne = pytest.importorskip("mne")
    X, y = _data(n_chans=4)
    info = mne.create_info(["C3", "C4", "Cz", "FC5"], 128.0, "eeg")
    epochs = mne.EpochsArray(X * 1e-6, info, verbose="error")
    recipe = dict(augmentation=[{"name": "channels_shuffle", "groups": "hemispheres",
                                 "probability": 1.0}])
    clf = NeuroClassifier(max_epochs=1, random_state=0, **SMALL, **recipe).fit(epochs, y)
    assert clf.net_.train_step_._augmentations[0].groups == [[0, 3], [1], [2]]
    arrays = NeuroClassifier(max_epochs=1, **SMALL, **recipe)
    with pytest.raises(ValueError, match="needs the channel names"):
        arrays.fit(X, y)
    assert not hasattr(arrays, "net_")
