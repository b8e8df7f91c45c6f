"""Devices everywhere (issue 13, item 4): the shipped YAML pipelines say ``device: auto``,
every command that trains or predicts passes ``--device`` through, a device this machine
does not have is refused before any work, and a saved model loads onto any device.

No GPU here: a file written on a CUDA machine is simulated by saving an estimator whose
``device`` parameter is ``"cuda:0"`` (the weights are always written from CPU copies);
the round trip through a real GPU is the ``gpu``-marked test.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml

from neuroattn.benchmark import PIPELINE_DIR, load_pipelines
from neuroattn.cli import build_parser, main
from neuroattn.estimators import NeuroClassifier

#: Estimator steps of the YAML pipelines that train a torch model.
TORCH_STEPS = {"NeuroClassifier", "SSVEPClassifier", "braindecode_classifier"}


def _yaml_files() -> list[Path]:
    return sorted(PIPELINE_DIR.rglob("*.yml"))


def test_every_shipped_torch_pipeline_says_device_auto():
    torch_steps = []
    for path in _yaml_files():
        for step in yaml.safe_load(path.read_text())["pipeline"]:
            if step["name"] in TORCH_STEPS:
                torch_steps.append((path.name, step["parameters"].get("device")))
    assert len(torch_steps) >= 14, torch_steps  # CAN x 9, EA-CAN, DBConformer, SSVEP, bd
    assert {device for _, device in torch_steps} == {"auto"}, torch_steps


def test_the_top_level_pipelines_folder_is_the_shipped_one():
    top = Path(__file__).parents[2] / "pipelines"
    if not top.exists():
        pytest.skip("no top-level pipelines/ in this checkout (installed package)")
    assert top.resolve() == PIPELINE_DIR.resolve()


def test_loaded_pipelines_resolve_auto_on_this_machine():
    pipes = load_pipelines(names=["CAN-SE", "BD-EEGNet"])
    assert pipes["CAN-SE"].steps[-1][1].device == "auto"  # resolved at fit
    inner = pipes["BD-EEGNet"].steps[-1][1].estimator  # skorch: resolved at load
    assert inner.device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_benchmark_device_reaches_wrapped_braindecode_nets(monkeypatch):
    """``--device`` reaches the EEGClassifier inside TorchSeeded, not only neuroattn's
    estimators (a device name that resolves to itself here stands in for a GPU)."""
    import neuroattn.estimators as estimators
    from neuroattn.commands.benchmark import _pipelines

    monkeypatch.setattr(estimators, "resolve_device",
                        lambda device: "cpu" if device == "auto" else device)
    args = build_parser().parse_args(["benchmark", "--pipelines", "BD-EEGNet", "CAN-SE",
                                      "CSP+LDA", "--device", "cpu"])
    args.device = "cuda:3"
    pipes = _pipelines(args)
    assert pipes["BD-EEGNet"].steps[-1][1].estimator.device == "cuda:3"
    assert pipes["CAN-SE"].steps[-1][1].device == "cuda:3"
    assert not [k for k in pipes["CSP+LDA"].get_params() if k.endswith("device")]


class _Reached(Exception):
    """Raised by a patched fit/load once it has recorded the device it was given."""


def _capture(monkeypatch, target: str, seen: list, attribute: bool = True):
    """Replace ``target`` (a fit or a load) by one recording the device and stopping."""
    def fake(self_or_cls, *args, **kwargs):
        seen.append(self_or_cls.device if attribute else kwargs.get("device"))
        raise _Reached

    monkeypatch.setattr(target, fake)


def _windows_stub(monkeypatch):
    monkeypatch.setattr("neuroattn.data.seizure.load_windows",
                        lambda path: SimpleNamespace(sop_seconds=180.0))


@pytest.mark.parametrize("command, target", [
    (["demo", "--n-trials", "20"], "neuroattn.estimators.NeuroClassifier.fit"),
    (["fmri", "--n-subjects", "12"], "neuroattn.estimators.BrainMAEPretrainer.fit"),
    (["encoding", "--n-images", "24"], "neuroattn.estimators.BrainEncoderRegressor.fit"),
    (["seizure", "train", "{tmp}", "--out", "{tmp}/m"],
     "neuroattn.estimators.SeizureForecaster.fit"),
])
@pytest.mark.parametrize("device", [None, "cpu"])
def test_training_commands_pass_device_through(command, target, device, tmp_path,
                                               monkeypatch, capsys):
    if command[0] == "seizure":
        _windows_stub(monkeypatch)
    if command[0] in ("fmri", "encoding"):
        command = [*command, "--out", str(tmp_path / "out")]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command]
    seen: list = []
    _capture(monkeypatch, target, seen)
    main(argv + ([] if device is None else ["--device", device]))
    capsys.readouterr()
    assert seen == [device or "auto"]


@pytest.mark.parametrize("device", [None, "cpu"])
def test_monitor_loads_the_model_onto_the_device(device, tmp_path, monkeypatch, capsys):
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"x" * 16)
    summary = tmp_path / "chb01-summary.txt"
    summary.write_text("Data Sampling Rate: 256 Hz\n")
    seen: list = []
    _capture(monkeypatch, "neuroattn.estimators.SeizureForecaster.load", seen,
             attribute=False)
    main(["seizure", "monitor", str(model), str(summary)]
         + ([] if device is None else ["--device", device]))
    capsys.readouterr()
    assert seen == [device or "auto"]


# --- bad devices: refused before any work -------------------------------------------

BAD_DEVICES = {
    "not a device": ("bogus", "expected auto, cpu, cuda or cuda:N"),
    "meta": ("meta", "not a device neuroattn trains on"),
    "cpu index": ("cpu:1", "not a device neuroattn trains on"),
    "absent cuda": ("cuda:7", "no such CUDA device"),
    "absent mps": ("mps", "MPS is not available"),
}


@pytest.mark.parametrize("command", [["demo"], ["fmri"], ["encoding"], ["benchmark"],
                                     ["seizure", "train", "x", "--out", "m"],
                                     ["seizure", "monitor", "m", "s"]])
@pytest.mark.parametrize("case", list(BAD_DEVICES))
def test_bad_input_device_refused_at_parse_time(command, case, capsys):
    device, message = BAD_DEVICES[case]
    if case == "absent cuda" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    if case == "absent mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*command, "--device", device])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--device" in err and message in err, err


@pytest.mark.parametrize("device, message", [("bogus", "device='bogus'"),
                                             ("cuda:7", "device='cuda:7'")])
def test_bad_input_device_of_load_refused_before_reading(device, message, tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not read: the device is checked first")
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    with pytest.raises(ValueError, match=message):
        NeuroClassifier.load(junk, device=device)


# --- saved models load onto any device ----------------------------------------------

@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.randn(24, 4, 64).astype("float32")
    y = np.repeat([0, 1], 12)
    clf = NeuroClassifier("eeg_transformer", max_epochs=1, batch_size=8, device="cpu",
                          random_state=0, model__embed_dim=8, model__depth=1,
                          model__n_heads=2)
    return clf.fit(X, y), X


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_a_model_saved_on_cuda_loads_on_this_machine(fitted, device, tmp_path):
    clf, X = fitted
    expected = clf.predict_proba(X)
    clf.set_params(device="cuda:0")  # as written by a fit on a GPU machine
    try:
        path = clf.save(tmp_path / "gpu_model")
    finally:
        clf.set_params(device="cpu")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:  # the parameters say cuda:0 ...
        assert '"device": "cuda:0"' in fh.metadata()["neuroattn"]
    loaded = NeuroClassifier.load(path, device=device)  # ... the map_location is ours
    target = "cuda" if device == "auto" and torch.cuda.is_available() else "cpu"
    assert loaded.device == device
    assert {p.device.type for p in loaded.module_.parameters()} == {target}
    np.testing.assert_allclose(loaded.predict_proba(X), expected, rtol=1e-5, atol=1e-6)


def test_weights_are_read_onto_the_requested_device(fitted, tmp_path):
    """safetensors keeps no device in the file: reading with ``device=`` is torch.load's
    ``map_location``; every tensor of a saved model comes back where it is asked."""
    from safetensors.torch import load_file

    clf, _ = fitted
    path = clf.save(tmp_path / "m")
    state = load_file(str(path), device="cpu")
    reference = {k: v.cpu() for k, v in clf.module_.state_dict().items()}
    assert state.keys() == reference.keys()
    assert all(torch.equal(state[k], reference[k]) for k in state)
    assert {t.device.type for t in state.values()} == {"cpu"}


@pytest.mark.gpu
def test_a_model_trained_on_cuda_loads_on_cpu(fitted, tmp_path):
    clf, X = fitted
    gpu = NeuroClassifier(**{**clf.get_params(), "device": "cuda"}).fit(
        X, np.repeat([0, 1], 12))
    path = gpu.save(tmp_path / "gpu")
    cpu = NeuroClassifier.load(path, device="cpu")
    assert {p.device.type for p in cpu.module_.parameters()} == {"cpu"}
    np.testing.assert_allclose(cpu.predict_proba(X), gpu.predict_proba(X), atol=1e-4)


def test_device_type_accepts_what_resolve_device_accepts():
    from neuroattn.commands._common import device

    assert device("auto") == "auto" and device("cpu") == "cpu"
    with pytest.raises(argparse.ArgumentTypeError, match="not a device neuroattn trains"):
        device("xla")


def test_benchmark_max_epochs_reaches_wrapped_braindecode_nets():
    """``--max-epochs`` reaches the EEGClassifier inside TorchSeeded and its cosine
    schedule's period, as it reaches neuroattn's own estimators."""
    from neuroattn.commands.benchmark import _pipelines

    args = build_parser().parse_args(["benchmark", "--pipelines", "BD-EEGNet", "CAN-SE",
                                      "--max-epochs", "3"])
    pipes = _pipelines(args)
    inner = pipes["BD-EEGNet"].steps[-1][1].estimator
    assert inner.max_epochs == 3
    assert dict(inner.callbacks)["lr_scheduler"].kwargs["T_max"] == 3
    assert pipes["CAN-SE"].steps[-1][1].max_epochs == 3


@pytest.mark.parametrize("callbacks", ["pair", "bare", "with_name"])
def test_max_epochs_reaches_any_cosine_scheduler_form(callbacks, monkeypatch):
    """skorch takes (name, callback) pairs or bare callbacks, braindecode also names
    ("accuracy"): none of them breaks ``--max-epochs``, and the period follows."""
    from sklearn.pipeline import make_pipeline
    from skorch import NeuralNetClassifier
    from skorch.callbacks import LRScheduler

    import neuroattn.benchmark as benchmark
    from neuroattn.benchmark._pipelines import TorchSeeded
    from neuroattn.commands.benchmark import _pipelines

    cosine = LRScheduler(torch.optim.lr_scheduler.CosineAnnealingLR, T_max=9)
    listed = {"pair": [("lr_scheduler", cosine)], "bare": [cosine],
              "with_name": ["accuracy", ("sched", cosine)]}[callbacks]
    net = NeuralNetClassifier(torch.nn.Linear(2, 2), max_epochs=9, callbacks=listed)
    monkeypatch.setattr(benchmark, "load_pipelines",
                        lambda *a, **k: {"mine": make_pipeline(TorchSeeded(net))})
    args = build_parser().parse_args(["benchmark", "--pipelines", "mine",
                                      "--max-epochs", "3"])
    pipes = _pipelines(args)
    assert pipes["mine"].steps[-1][1].estimator.max_epochs == 3
    assert cosine.kwargs["T_max"] == 3
