"""``neuroattn seizure`` subcommands from simulated files to alarms."""

from __future__ import annotations

import json
import os

import pytest

from neuroattn.cli import main
from neuroattn.data.seizure import load_windows
from neuroattn.estimators import SeizureForecaster


@pytest.fixture
def umask_027():
    """Run with umask 027: written files must be 0640 (not mkstemp's 0600, not 0644)."""
    old = os.umask(0o027)
    yield
    os.umask(old)


def _modes(*paths) -> set[int]:
    return {p.stat().st_mode & 0o777 for p in paths}


def test_simulate_window_train_monitor(tmp_path, capsys, umask_027, monkeypatch):
    sim = tmp_path / "sim"
    assert main(["seizure", "simulate", "--out", str(sim), "--n-seizures", "2",
                 "--n-interictal-files", "1", "--sfreq", "64", "--interictal-minutes", "4",
                 "--seizure-minutes", "8", "--preictal", "210", "--gap-hours", "1",
                 "--margin", "60"]) == 0
    summary = sim / "chb01" / "chb01-summary.txt"
    assert summary.is_file()
    win = tmp_path / "win"
    window = ["seizure", "window", str(summary), "--out", str(win), "--window", "4",
              "--sph", "30", "--sop", "180", "--min-interictal", "1800", "--postictal",
              "120", "--l-freq", "0.5", "--h-freq", "25"]
    afile = tmp_path / "a-file"
    afile.write_text("keep")
    assert main([*window[:4], str(afile), *window[5:]]) == 2  # --out is a file
    assert "is a file" in capsys.readouterr().err and afile.read_text() == "keep"
    assert main(window) == 0
    windows = load_windows(win)
    assert set(windows.y) == {0, 1} and windows.X.shape[0] == len(windows.y)
    assert _modes(*win.iterdir(), *summary.parent.iterdir()) == {0o640}
    assert (windows.l_freq, windows.h_freq, windows.sph_seconds, windows.sop_seconds,
            windows.postictal_seconds) == (0.5, 25.0, 30.0, 180.0, 120.0)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers
    capsys.readouterr()
    assert main(window) == 2  # an existing folder is kept unless --overwrite
    assert "pass --overwrite" in capsys.readouterr().err
    assert main([*window, "--overwrite", "--quiet"]) == 0
    capsys.readouterr()
    # A destination that cannot take the model is refused before any training.
    assert main(["seizure", "train", str(win), "--out", str(tmp_path)]) == 2
    assert "is a folder, expected a model file" in capsys.readouterr().err
    model = tmp_path / "m.safetensors"
    assert main(["seizure", "train", str(win), "--out", str(model), "--max-epochs", "1",
                 "--embed-dim", "8", "--depth", "1", "--n-heads", "2", "--patch-size", "64",
                 "--device", "cpu", "--threads", "1"]) == 0
    assert model.is_file() and _modes(model) == {0o640}
    # The band-pass, channels and rate of the windows travel with the model.
    est = SeizureForecaster.load(model, device="cpu")
    assert est.bandpass_ == (0.5, 25.0)
    assert est.ch_names_ == windows.ch_names and est.sfreq_ == windows.sfreq
    capsys.readouterr()
    assert main(["seizure", "monitor", str(model), str(summary), "--plot",
                 str(tmp_path / "png"), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "chb01_02.edf: alarms at" in out
    report = json.loads((tmp_path / "r.json").read_text())
    pngs = list((tmp_path / "png").glob("*.png"))
    assert len(report) == 3 and len(pngs) == 3
    assert _modes(tmp_path / "r.json", *pngs) == {0o640}
    assert sorted(p.name for p in (tmp_path / "png").iterdir() if p.suffix != ".png") == [
        ".neuroattn.lock"]  # no staged leftovers
    # A second monitor run keeps the first report unless told to replace it.
    monitor = ["seizure", "monitor", str(model), str(summary), "--json",
               str(tmp_path / "r.json"), "--quiet"]
    assert main(monitor) == 2
    assert "r.json exists; pass --overwrite" in capsys.readouterr().err
    assert main([*monitor, "--overwrite"]) == 0

    # Ctrl-C after the first of two epochs with --checkpoint: no model, the checkpoint
    # is named, and the same command resumes and saves the model.
    from neuroattn.estimators._checkpoint import TrainingCheckpoint

    end_epoch = TrainingCheckpoint.on_epoch_end

    def interrupt_after_epoch(self, net, **kwargs):
        end_epoch(self, net, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(TrainingCheckpoint, "on_epoch_end", interrupt_after_epoch)
    resumed = tmp_path / "resumed.safetensors"
    train = ["seizure", "train", str(win), "--out", str(resumed), "--max-epochs", "2",
             "--embed-dim", "8", "--depth", "1", "--n-heads", "2", "--patch-size", "64",
             "--device", "cpu", "--checkpoint", str(tmp_path / "ck")]
    capsys.readouterr()
    assert main(train) == 130
    err = capsys.readouterr().err.strip()
    assert err == (f"neuroattn seizure train: interrupted; no model saved to {resumed}; "
                   f"partial checkpoint kept in {tmp_path / 'ck'} (epoch 1 of 2): run the "
                   "same command to resume")
    assert not resumed.exists()
    monkeypatch.setattr(TrainingCheckpoint, "on_epoch_end", end_epoch)
    assert main(train) == 0 and resumed.is_file()
    from neuroattn.estimators._checkpoint import read_checkpoint

    done = read_checkpoint(tmp_path / "ck")
    assert (done["status"], done["epoch"]) == ("complete", 2)


def test_errors_are_reported(tmp_path, capsys):
    assert main(["seizure", "train", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    assert "Run 'neuroattn seizure window' first" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["seizure", "window", str(tmp_path / "none-summary.txt"), "--out",
              str(tmp_path / "w")])
    assert exc.value.code == 2
    assert "argument summary: " in capsys.readouterr().err


def test_monitor_takes_no_band_pass(tmp_path, capsys):
    """The model carries the training band-pass; monitor has no option to contradict it."""
    for name in ("m.safetensors", "s.txt"):
        (tmp_path / name).write_text("x")
    with pytest.raises(SystemExit):
        main(["seizure", "monitor", str(tmp_path / "m.safetensors"), str(tmp_path / "s.txt"),
              "--l-freq", "1"])
    assert "unrecognized arguments: --l-freq" in capsys.readouterr().err
