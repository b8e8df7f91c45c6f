"""Model files (``save`` / ``load``) under bad input: damaged, forged, foreign or
unwritable files give a clear error naming the file; nothing foreign is imported;
a failed save leaves the previous file whole."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from neuroattn.estimators import BrainMAEPretrainer, NeuroClassifier, NeuroRegressor, _io
from neuroattn.models import model_registry
from neuroattn.nn import attention_registry

TINY = dict(max_epochs=1, batch_size=8, device="cpu", random_state=0, model__depth=1,
            model__embed_dim=8, model__n_heads=2)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((18, 3, 32)).astype(np.float32)
    return X, np.repeat(["left", "rest", "right"], 6)


@pytest.fixture(scope="module")
def fitted(data):
    return NeuroClassifier("eeg_transformer", model__activation=torch.nn.GELU,
                           **TINY).fit(*data)


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("model") / "clf")


@pytest.fixture
def model(saved, tmp_path):
    """A fresh copy of a good model file, to damage."""
    return Path(shutil.copy(saved, tmp_path / saved.name))


def _read(path):
    with safe_open(str(path), framework="pt") as fh:
        metadata = dict(fh.metadata())
    return load_file(str(path)), metadata


def _forge(path, edit=None, *, rehash=True, state_edit=None):
    """Rewrite ``path`` as an adversary would: edit the metadata (and tensors), then
    recompute the checksum so that only the content checks can catch it."""
    state, metadata = _read(path)
    meta = json.loads(metadata["neuroattn"])
    if edit is not None:
        edit(meta)
    if state_edit is not None:
        state_edit(state)
    metadata["neuroattn"] = json.dumps(meta)
    if rehash:
        metadata["neuroattn_sha256"] = _io._digest(state, metadata["neuroattn"])
    else:
        metadata.pop("neuroattn_sha256", None)
    save_file(state, str(path), metadata=metadata)
    return path


def _old_file(meta):
    """A file as written before checksums and format versions existed."""
    meta.pop("format_version", None)


def _load(path, **kwargs):
    return NeuroClassifier.load(path, device="cpu", **kwargs)


# ------------------------------------------------------------------ 1. integrity
def test_round_trip_still_works(fitted, saved, data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a good file of this version loads quietly
        again = _load(saved)
    np.testing.assert_allclose(again.predict_proba(data[0]), fitted.predict_proba(data[0]),
                               rtol=1e-5, atol=1e-6)
    assert again.classes_.tolist() == ["left", "rest", "right"]
    assert again.get_params()["model__activation"] is torch.nn.GELU


def test_flipped_weight_byte_is_refused(model):
    raw = bytearray(model.read_bytes())
    raw[-7] ^= 0x10  # inside the last tensor's bytes
    model.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=rf"{model.name}.*corrupted or modified"):
        _load(model)


@pytest.mark.parametrize("edit", [
    lambda m: m["fitted"]["classes_"]["__ndarray__"].reverse(),
    lambda m: m["fitted"]["classes_"]["__ndarray__"].append("extra"),
    lambda m: m["params"].__setitem__("lr", 0.5),
    lambda m: m.__setitem__("neuroattn_version", "0.1.0"),
], ids=["classes-swapped", "classes-extra", "param", "version"])
def test_edited_metadata_is_refused_by_the_checksum(model, edit):
    state, metadata = _read(model)
    meta = json.loads(metadata["neuroattn"])
    edit(meta)
    metadata["neuroattn"] = json.dumps(meta)
    save_file(state, str(model), metadata=metadata)  # checksum left as it was
    with pytest.raises(ValueError, match=rf"{model.name}.*corrupted or modified"):
        _load(model)


def test_stripped_checksum_is_refused(model):
    _forge(model, rehash=False)
    with pytest.raises(ValueError, match=rf"{model.name}.*no checksum"):
        _load(model)


def test_old_file_without_checksum_loads_with_a_warning(model, fitted, data):
    _forge(model, _old_file, rehash=False)
    with pytest.warns(UserWarning, match=rf"{model.name}.*no checksum"):
        again = _load(model)
    np.testing.assert_array_equal(again.predict(data[0]), fitted.predict(data[0]))


def _classes(values):
    def edit(meta):
        meta["fitted"]["classes_"]["__ndarray__"] = values
    return edit


@pytest.mark.parametrize(("edit", "what"), [
    (_classes(["right", "rest", "left"]), "sorted"),
    (_classes(["left", "rest", "right", "up"]), "4 classes.*3 outputs"),
    (_classes(["left", "left", "right"]), "unique"),
    (_classes([["left"], ["rest"], ["right"]]), "1-D"),
    (lambda m: m["fitted"].pop("classes_"), "classes_"),
    (lambda m: m["fitted"].__setitem__("n_outputs_", "3"), "n_outputs_"),
], ids=["swapped", "more-labels", "duplicates", "2d", "missing", "n-outputs-str"])
@pytest.mark.parametrize("rehash", [True, False], ids=["rehashed", "old-file"])
def test_inconsistent_classes_are_refused_even_with_a_valid_checksum(model, edit, what,
                                                                     rehash):
    def both(meta):
        edit(meta)
        if not rehash:
            _old_file(meta)

    _forge(model, both, rehash=rehash)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the no-checksum warning
        with pytest.raises(ValueError, match=rf"{model.name}.*{what}"):
            _load(model)


@pytest.mark.parametrize(("edit", "what"), [
    (lambda m: m["params"].__setitem__("n_layers", 3), "unknown parameter.*n_layers"),
    (lambda m: m["params"].__setitem__("lr", "fast"), "lr"),
    (lambda m: m["fitted"].__setitem__("predict", 1), "predict.*not a fitted attribute"),
    (lambda m: m["fitted"].__setitem__("net_", 1), "net_.*not a fitted attribute"),
], ids=["unknown-param", "bad-param", "method-name", "net"])
def test_forged_parameters_are_refused(model, edit, what):
    _forge(model, edit)
    with pytest.raises(ValueError, match=rf"{model.name}.*{what}"):
        _load(model)


@pytest.mark.parametrize("state_edit", [
    lambda s: s.pop(sorted(s)[0]),
    lambda s: s.__setitem__("extra.weight", torch.zeros(2)),
    lambda s: s.__setitem__(sorted(s)[-1], torch.zeros(5, 5)),
], ids=["missing-tensor", "extra-tensor", "wrong-shape"])
def test_weights_not_matching_the_model_are_refused(model, state_edit):
    _forge(model, state_edit=state_edit)
    with pytest.raises(ValueError, match=rf"{model.name}.*weights"):
        _load(model)


# ------------------------------------------------------------------ 2. unsafe decoding
class _Imported(Exception):
    pass


@pytest.mark.parametrize("target", [
    "torch.utils.collect_env.main", "os.system", "builtins.eval", "torch.load",
    "neuroattn.estimators._io.save_estimator", "torch.nn.modules.linear.Linear",
    "subprocess.Popen",
])
@pytest.mark.parametrize("where", ["params", "fitted", "nested"])
def test_foreign_classes_are_refused_before_any_import(model, monkeypatch, target, where):
    tag = {"__class__": target}

    def edit(meta):
        if where == "params":
            meta["params"]["model__activation"] = tag
        elif where == "fitted":
            meta["fitted"]["sfreq_"] = tag
        else:
            meta["fitted"]["chs_info_"] = [{"ch_name": "C3", "loc": tag}]

    _forge(model, edit)
    imported = []

    def fake_import(name, *args, **kwargs):
        imported.append(name)
        raise _Imported(name)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(ValueError, match=rf"{model.name}.*refus.*{target}"):
        _load(model)
    assert imported == []


def test_allowed_classes_round_trip(data, tmp_path):
    est = NeuroClassifier(model_registry.get("channel_attention_net"),
                          model__attention=attention_registry.get("se"),
                          model__activation=torch.nn.ELU, max_epochs=1, batch_size=8,
                          device="cpu", random_state=0, model__n_filters=4,
                          model__pool_length=4, model__pool_stride=2).fit(*data)
    again = NeuroClassifier.load(est.save(tmp_path / "can"), device="cpu")
    params = again.get_params()
    assert params["model"] is model_registry.get("channel_attention_net")
    assert params["model__attention"] is attention_registry.get("se")
    assert params["model__activation"] is torch.nn.ELU
    np.testing.assert_allclose(again.decision_function(data[0]),
                               est.decision_function(data[0]), rtol=1e-5, atol=1e-6)


class _MyActivation(torch.nn.Module):
    def forward(self, x):
        return x


def test_saving_a_class_that_load_would_refuse_fails_at_save(fitted, tmp_path):
    est = fitted.set_params(model__activation=_MyActivation)
    try:
        with pytest.raises(ValueError, match="model__activation.*_MyActivation.*register"):
            est.save(tmp_path / "custom")
    finally:
        est.set_params(model__activation=torch.nn.GELU)
    assert not (tmp_path / "custom.safetensors").exists()


def test_path_parameters_round_trip(tmp_path):
    from neuroattn.data.simulate import simulate_fmri_rois

    est = BrainMAEPretrainer(max_epochs=1, device="cpu", random_state=0, model__embed_dim=4,
                             model__n_heads=1).fit(simulate_fmri_rois(6, random_state=0))
    est.set_params(checkpoint_dir=tmp_path / "ckpt")
    again = BrainMAEPretrainer.load(est.save(tmp_path / "mae"), device="cpu")
    assert again.checkpoint_dir == tmp_path / "ckpt"
    assert isinstance(again.checkpoint_dir, Path)


def test_generator_random_state_is_dropped_with_a_warning(fitted, tmp_path):
    est = fitted.set_params(random_state=np.random.RandomState(0), device=torch.device("cpu"))
    try:
        with pytest.warns(UserWarning, match="random_state"):
            path = est.save(tmp_path / "rng")
    finally:
        est.set_params(random_state=0, device="cpu")
    assert _load(path).random_state is None


# ------------------------------------------------------------------ 3. versions
def _version(value):
    def edit(meta):
        meta["neuroattn_version"] = value
    return edit


@pytest.mark.parametrize("other", ["0.0.5", "1.1.0", "0.2.0"])
def test_other_minor_version_warns_naming_both(model, other, monkeypatch):
    monkeypatch.setattr(_io, "_version", lambda: "0.1.3")
    _forge(model, _version(other))
    with pytest.warns(UserWarning, match=rf"{model.name}.*{other}.*0\.1\.3"):
        _load(model)


def test_same_minor_version_loads_quietly(model, monkeypatch):
    monkeypatch.setattr(_io, "_version", lambda: "0.1.3")
    _forge(model, _version("0.1.0.dev0"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _load(model)


@pytest.mark.parametrize(("value", "what"), [
    (10**6, "newer"), ("1", "format_version"), (-1, "format_version"),
])
def test_unknown_format_version_is_refused(model, value, what):
    _forge(model, lambda m: m.__setitem__("format_version", value))
    with pytest.raises(ValueError, match=rf"{model.name}.*{what}"):
        _load(model)


# ------------------------------------------------------------------ 4. clear errors
def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _truncate_header(path):
    path.write_bytes(path.read_bytes()[:5])


def _empty(path):
    path.write_bytes(b"")


def _pickle(path):
    torch.save({"w": torch.zeros(3)}, path)


def _text(path):
    path.write_text("model: eeg_transformer\nweights: none\n")


def _metadata(value):
    def write(path):
        state, metadata = _read(path)
        metadata["neuroattn"] = value
        metadata.pop("neuroattn_sha256")
        save_file(state, str(path), metadata=metadata)
    return write


def _drop_key(key):
    def write(path):
        _forge(path, lambda m: m.pop(key))
    return write


def _no_metadata(path):
    save_file({"w": torch.zeros(3)}, str(path))


@pytest.mark.parametrize(("damage", "what"), [
    (_truncate, "truncated|not a valid safetensors"),
    (_truncate_header, "truncated"),
    (_empty, "empty"),
    (_pickle, "not a safetensors.*pickle"),
    (_text, "not a safetensors"),
    (_metadata("{not json"), "metadata.*not valid JSON"),
    (_metadata("[1, 2]"), "metadata.*JSON object"),
    (_drop_key("class"), "missing.*'class'"),
    (_drop_key("params"), "missing.*'params'"),
    (_drop_key("fitted"), "missing.*'fitted'"),
    (lambda p: _forge(p, lambda m: m.__setitem__("params", [1])), "'params'.*object"),
    (_no_metadata, "not written by a neuroattn estimator"),
    (lambda p: _forge(p, lambda m: m.__setitem__("class", "NeuroRegressor")),
     "holds a NeuroRegressor"),
], ids=["truncated", "truncated-header", "empty", "pickle", "text", "bad-json",
        "json-list", "no-class", "no-params", "no-fitted", "params-list", "no-metadata",
        "other-class"])
def test_damaged_files_give_clear_errors(model, damage, what):
    damage(model)
    with pytest.raises(ValueError, match=rf"{model.name}.*({what})"):
        _load(model)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.safetensors"):
        _load(tmp_path / "nowhere.safetensors")


def test_load_finds_the_suffix_save_added(saved):
    again = _load(saved.with_suffix(""))
    assert again.classes_.tolist() == ["left", "rest", "right"]


def test_folder_given_as_path(tmp_path, fitted):
    folder = tmp_path / "models.safetensors"
    folder.mkdir()
    with pytest.raises(ValueError, match=rf"{folder.name}.*folder"):
        _load(folder)
    with pytest.raises(ValueError, match=rf"{folder.name}.*folder"):
        fitted.save(folder)


def test_save_creates_missing_parent_folders(fitted, tmp_path):
    path = fitted.save(tmp_path / "new" / "deeper" / "clf")
    assert path == tmp_path / "new" / "deeper" / "clf.safetensors" and path.is_file()


def test_save_unfitted_names_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"clf\.safetensors.*not fitted.*fit"):
        NeuroRegressor().save(tmp_path / "clf")
    assert not (tmp_path / "clf.safetensors").exists()


# ------------------------------------------------------------------ 5. atomic writes
def test_failing_save_leaves_the_previous_file_whole(fitted, model, monkeypatch):
    import safetensors.torch as st

    before = model.read_bytes()

    def dies_midway(tensors, filename=None, metadata=None):
        if filename is not None:  # writing in place: half a file, then the disk is full
            Path(filename).write_bytes(b"\0" * 100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(st, "save_file", dies_midway)
    monkeypatch.setattr(st, "save", lambda tensors, metadata=None: dies_midway(tensors))
    with pytest.raises(OSError, match="No space"):
        fitted.save(model)
    assert model.read_bytes() == before
    assert [p.name for p in model.parent.iterdir()] == [model.name]  # no temp left


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077, 0o002])
def test_saved_file_respects_the_umask(fitted, tmp_path, umask):
    old = os.umask(umask)
    try:
        path = fitted.save(tmp_path / "clf")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ------------------------------------------------------------------ 6. device
def test_bad_device_is_named(saved):
    with pytest.raises(ValueError, match="device"):
        NeuroClassifier.load(saved, device="not-a-device")


# ------------------------------------------------------------------ 7. issue 11, round 2
@pytest.mark.parametrize("names", [["n_chans_"], ["n_times_", "sfreq_"], ["n_outputs_"],
                                   ["classes_"], ["input_amplitude_"]])
def test_missing_fitted_attributes_are_named(model, names):
    # A deleted attribute with the checksum recomputed: the checksum detects damage,
    # not an edit by someone who recomputes it; the content check names what is missing.
    def drop(meta):
        for name in names:
            meta["fitted"].pop(name)

    _forge(model, drop)
    if names == ["input_amplitude_"]:  # optional: a file from before it existed
        assert getattr(_load(model), "input_amplitude_", None) is None
        return
    with pytest.raises(ValueError, match=rf"{model.name}.*missing the fitted "
                                         rf"attribute\(s\) {', '.join(names)} that"):
        _load(model)


def test_regressor_needs_its_target_scale(data, tmp_path):
    X, y = data
    path = NeuroRegressor("eeg_transformer", **TINY).fit(X, np.arange(len(y), dtype=float)
                                                          ).save(tmp_path / "reg")
    _forge(path, lambda meta: meta["fitted"].pop("y_scale_"))
    with pytest.raises(ValueError, match=r"reg.safetensors.*missing .*y_scale_"):
        NeuroRegressor.load(path, device="cpu")


def test_save_refuses_a_folder_fifo_or_device(fitted, tmp_path):
    (tmp_path / "io").mkdir()
    with pytest.raises(ValueError, match=r"io is a folder"):
        fitted.save(tmp_path / "io")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ValueError, match=r"pipe is a named pipe"):
        fitted.save(tmp_path / "pipe")
    with pytest.raises(ValueError, match=r"/dev/null is a character device"):
        fitted.save("/dev/null")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["io", "pipe"]
    assert not os.path.exists("/dev/null.safetensors")


def test_input_amplitude_survives_save_and_load(fitted, saved):
    assert _load(saved).input_amplitude_ == pytest.approx(fitted.input_amplitude_)
