"""Data-parallel training under ``accelerate launch`` with two CPU processes (gloo):
NeuroClassifier, SeizureForecaster and BrainMAEPretrainer fits through ``neuroattn
train``; one vs two processes; saved weights load in one process; processes with
different data sizes fail instead of hanging (issue 13). Slow: each launch starts two
Python processes that import torch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

# accelerate 1.x: `--cpu --num_processes 2` starts ONE process unless an MPI hostfile
# is given; `--multi_gpu` on a machine without GPUs starts two torch.distributed
# processes, which train on CPU over gloo (the estimators ask for cpu=True).
_LAUNCH = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
           "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no"]
_MI = dict(model="eeg_transformer", max_epochs=6, batch_size=16, lr=0.003, random_state=0,
           device="cpu", model__depth=1, model__embed_dim=16, model__n_heads=2,
           model__drop_prob=0.0)


def _port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _launch(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = [*_LAUNCH, "--main_process_port", _port(), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env())


def _train(config: Path, out_json: Path, processes: int) -> dict:
    args = ["-m", "neuroattn.cli", "train", "--config", str(config), "--json", str(out_json)]
    if processes == 1:
        proc = subprocess.run([sys.executable, *args], capture_output=True, text=True,
                              timeout=600, env=_env())
    else:
        proc = _launch(args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out_json.read_text())


def _config(tmp_path: Path, name: str, estimator: str, params: dict, data: dict,
            test_fraction: float | None = None) -> Path:
    import yaml

    cfg = {"estimator": estimator, "params": params, "data": data, "out": f"{name}.safetensors"}
    if test_fraction:
        cfg["test_fraction"] = test_fraction
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_two_processes_train_to_the_accuracy_of_one(tmp_path):
    # 151 trials: 113 to train, so the last batch (1 sample) does not split evenly
    # across the processes (even_batches pads it): the run must still finish.
    data = {"simulate": "motor_imagery",
            "options": {"n_trials": 151, "sfreq": 100.0, "trial_seconds": 2.0,
                        "erd_strength": 0.3, "random_state": 0}}
    one = _train(_config(tmp_path, "one", "NeuroClassifier", _MI, data, 0.25),
                 tmp_path / "one.json", 1)
    two = _train(_config(tmp_path, "two", "NeuroClassifier", _MI, data, 0.25),
                 tmp_path / "two.json", 2)
    print("one process:", one, "\ntwo processes:", two)
    assert (one["n_processes"], two["n_processes"]) == (1, 2)
    assert one["n_train"] == two["n_train"] == 113
    assert one["score_test"] > 0.7
    assert abs(one["score_test"] - two["score_test"]) <= 0.1
    # the main process's weights load in a single process and score what it reported
    from sklearn.model_selection import train_test_split

    from neuroattn.data.simulate import simulate_motor_imagery
    from neuroattn.estimators import NeuroClassifier

    X, y = simulate_motor_imagery(return_epochs=False, **data["options"])
    _, X_test, _, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    model = NeuroClassifier.load(tmp_path / "two.safetensors", device="cpu")
    assert model.score(X_test, y_test) == pytest.approx(two["score_test"])
    ref = NeuroClassifier.load(tmp_path / "one.safetensors", device="cpu")
    agree = (model.predict(X_test) == ref.predict(X_test)).mean()
    assert agree >= 0.8


def test_seizure_forecaster_trains_in_two_processes(tmp_path):
    from neuroattn.data.seizure import extract_windows, read_chbmit_summary, save_windows
    from neuroattn.data.simulate import simulate_seizure_recordings
    from neuroattn.estimators import SeizureForecaster

    sim = simulate_seizure_recordings(
        tmp_path / "sim", n_seizures=2, n_interictal_files=1, interictal_file_minutes=5,
        seizure_file_minutes=8, preictal_seconds=210, seizure_seconds=(20, 30),
        interictal_gap_hours=1.0, margin_seconds=60, sfreq=64, random_state=1)
    win = extract_windows(read_chbmit_summary(sim.summary_path), window_seconds=4.0,
                          sph_seconds=30.0, sop_seconds=180.0,
                          min_interictal_seconds=1800.0, postictal_seconds=120.0)
    save_windows(win, tmp_path / "windows")
    params = dict(model="stan", max_epochs=2, batch_size=16, lr=3e-3, device="cpu",
                  random_state=0, lr_scheduler="cosine", sop_seconds=180.0,
                  model__embed_dim=16, model__n_heads=2, model__depth=1,
                  model__patch_size=64)
    report = _train(_config(tmp_path, "stan", "SeizureForecaster", params,
                            {"windows": "windows"}), tmp_path / "stan.json", 2)
    assert report["n_processes"] == 2
    model = SeizureForecaster.load(tmp_path / "stan.safetensors", device="cpu")
    proba = model.predict_proba(win.X)
    assert proba.shape == (len(win.y), 2) and np.isfinite(proba).all()


def test_brain_mae_pretrains_in_two_processes(tmp_path):
    from neuroattn.estimators import BrainMAEPretrainer

    params = dict(t_r=2.0, segment_seconds=32.0, max_epochs=2, batch_size=8, device="cpu",
                  random_state=0, model__embed_dim=8, model__n_heads=1,
                  model__patch_size=4)
    data = {"simulate": "fmri", "options": {"n_subjects": 12, "n_regions": 8,
                                            "n_timepoints": 64, "random_state": 0}}
    report = _train(_config(tmp_path, "mae", "BrainMAEPretrainer", params, data),
                    tmp_path / "mae.json", 2)
    assert report["n_processes"] == 2
    model = BrainMAEPretrainer.load(tmp_path / "mae.safetensors", device="cpu")
    from neuroattn.data.simulate import simulate_fmri_rois

    emb = model.transform(simulate_fmri_rois(**data["options"]))
    assert emb.shape[0] == 12 and np.isfinite(emb).all()


def test_processes_with_different_data_sizes_fail_instead_of_hanging(tmp_path):
    script = tmp_path / "uneven.py"
    script.write_text(textwrap.dedent("""
        import os
        import numpy as np
        from neuroattn.estimators import NeuroClassifier

        n = 40 if os.environ["RANK"] == "0" else 24
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, 3, 16)).astype(np.float32)
        y = np.tile([0, 1], n // 2)
        try:
            NeuroClassifier("eeg_transformer", max_epochs=1, batch_size=8, device="cpu",
                            random_state=0, model__depth=1, model__embed_dim=8,
                            model__n_heads=2).fit(X, y)
        except ValueError as exc:
            print("REFUSED", exc)
            raise SystemExit(3)
    """))
    proc = _launch([str(script)], timeout=300)
    assert proc.returncode != 0
    assert proc.stdout.count("REFUSED") == 2, proc.stdout + proc.stderr[-2000:]
    assert "different numbers of samples ([40, 24]" in proc.stdout


def test_batch_size_not_a_multiple_of_the_processes_is_refused(tmp_path):
    script = tmp_path / "odd.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from neuroattn.estimators import NeuroClassifier

        X = np.random.default_rng(0).standard_normal((24, 3, 16)).astype(np.float32)
        try:
            NeuroClassifier("eeg_transformer", max_epochs=1, batch_size=7, device="cpu",
                            model__depth=1, model__embed_dim=8,
                            model__n_heads=2).fit(X, np.tile([0, 1], 12))
        except ValueError as exc:
            print("REFUSED", exc)
    """))
    proc = _launch([str(script)], timeout=300)
    assert proc.stdout.count("REFUSED batch_size=7") == 2, proc.stdout + proc.stderr[-2000:]
