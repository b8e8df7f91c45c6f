"""benchmarks/gpu.py on a CPU: the smoke version runs and writes its JSON (issue 13,
item 7). The full GPU run cannot run here; its measurements are the same function
(:func:`measure`) at other sizes and precisions."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import neuroattn

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.py"


@pytest.fixture(scope="module")
def gpu():
    if not SCRIPT.exists():
        pytest.skip("benchmarks/ is not part of an installed package")
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SMOKE = dict(smoke=True, device="cpu", debug=False, n_train=16, n_val=8, n_infer=16,
             max_epochs=1, batch_size=8, target=0.9, target_r2=0.3)


def test_smoke_writes_json_of_the_chosen_models(gpu, tmp_path, capsys):
    out = tmp_path / "gpu.json"
    assert gpu.main(["--smoke", "--models", "eeg_transformer", "--no-braindecode",
                     "--out", str(out)]) == 0
    capsys.readouterr()
    result = json.loads(out.read_text())
    assert result["device"] == "cpu" and result["n_gpus"] == 0 and not result["errors"]
    (row,) = result["results"]
    assert (row["model"], row["precision"], row["track"]) == ("eeg_transformer", "no",
                                                              "example")
    assert row["train_windows_per_s"] > 0 and row["infer_windows_per_s"] > 0
    assert len(row["score_per_epoch"]) == 1 and 0 <= row["score_per_epoch"][0] <= 1
    assert row["peak_gpu_mb_train"] is None  # no GPU: no figure, not a made-up one


@pytest.mark.slow  # braindecode's import and first fit: ~6 s here
def test_braindecode_model_through_accelerate(gpu):
    row = gpu.measure("braindecode", "EEGNet", "no", SMOKE)
    assert "error" not in row, row
    assert row["input_shape"] == [4, 256] and row["train_windows_per_s"] > 0


def test_bf16_is_passed_to_the_estimator(gpu):
    row = gpu.measure("neuroattn", "eeg_transformer", "bf16", SMOKE)
    assert "error" not in row, row
    assert row["precision"] == "bf16"


def test_standard_sizes_of_the_tracks(gpu):
    track, args = gpu._signal_args("stan", smoke=False)
    assert track == "seizure" and (args["n_chans"], args["n_times"]) == (18, 1024)
    track, args = gpu._signal_args("brain_encoder", smoke=False)
    assert (args["n_chans"], args["n_times"], args["n_outputs"]) == (196, 384, 1000)
    assert len(args["voxel_regions"]) == 1000 and max(args["voxel_regions"]) == 9
    assert set(gpu.STANDARD) >= {"channel_attention_net", "stan", "ssvep_dnn", "brain_mae",
                                 "brain_encoder"}


def test_a_failing_model_is_recorded_not_fatal(gpu, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(gpu, "_neuroattn_estimator", broken)
    row = gpu.measure("neuroattn", "eeg_transformer", "no", SMOKE)
    assert row["error"] == "RuntimeError: out of memory"


@pytest.mark.slow
def test_smoke_run_measures_every_model(tmp_path):
    out = tmp_path / "gpu.json"
    subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(out)], check=True,
                   capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    result = json.loads(out.read_text())
    measured = {(r["source"], r["model"]) for r in result["results"]}
    expected = {("neuroattn", m) for m in neuroattn.list_models()}
    expected |= {("braindecode", m) for m in ("AttentionBaseNet", "EEGNet", "EEGConformer")}
    assert measured | {tuple(s.split(":")[:2]) for s in result["skipped_for_time"]} \
        == expected
    assert not result["errors"], result["errors"]
