"""``neuroattn seizure`` subcommands from simulated files to alarms."""

from __future__ import annotations

import json

import numpy as np

from neuroattn.cli import main


def test_simulate_window_train_monitor(tmp_path, capsys):
    sim = tmp_path / "sim"
    assert main(["seizure", "simulate", str(sim), "--n-seizures", "2",
                 "--n-interictal-files", "1", "--sfreq", "64", "--interictal-minutes", "4",
                 "--seizure-minutes", "8", "--preictal", "210", "--gap-hours", "1",
                 "--margin", "60"]) == 0
    summary = sim / "chb01" / "chb01-summary.txt"
    assert summary.is_file()
    win = tmp_path / "win"
    assert main(["seizure", "window", str(summary), str(win), "--window", "4", "--sph", "30",
                 "--sop", "180", "--min-interictal", "1800", "--postictal", "120"]) == 0
    y = np.load(win / "labels.npz")["y"]
    assert set(y) == {0, 1} and np.load(win / "X.npy", mmap_mode="r").shape[0] == len(y)
    model = tmp_path / "m.safetensors"
    assert main(["seizure", "train", str(win), str(model), "--epochs", "1", "--embed-dim",
                 "8", "--depth", "1", "--heads", "2", "--patch-size", "64"]) == 0
    assert model.is_file()
    capsys.readouterr()
    assert main(["seizure", "monitor", str(model), str(summary), "--plot",
                 str(tmp_path / "png"), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "chb01_02.edf: alarms at" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report) == 3 and len(list((tmp_path / "png").glob("*.png"))) == 3


def test_errors_are_reported(tmp_path, capsys):
    assert main(["seizure", "train", str(tmp_path), str(tmp_path / "m")]) == 2
    assert "run 'neuroattn seizure window' first" in capsys.readouterr().err
    assert main(["seizure", "window", str(tmp_path / "none-summary.txt"), str(tmp_path)]) == 2
