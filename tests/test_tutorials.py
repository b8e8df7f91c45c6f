"""Every tutorial runs end to end in quick mode: on the real recordings of ../shared/data
(``realdata``, through the same ``load_dataset`` calls a user makes) and offline on the
simulators; a missing dataset stops a tutorial with one clear line. About 4 minutes in
all on one core."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
ALL = sorted(p.stem for p in TUTORIALS.glob("plot_*.py"))
MI = "plot_motor_imagery_channel_attention"
SEIZURE = "plot_seizure_forecasting"
FMRI = "plot_fmri_brainmae"
ENCODING = "plot_transformer_brain_encoder"
SSVEP = "plot_ssvep_dnn"


def run_tutorial(name, tmp_path, check=True, **env):
    """Run ``tutorials/<name>.py`` in quick mode in a fresh folder; the finished process."""
    home = tmp_path / "home"
    (home / "mne_data").mkdir(parents=True, exist_ok=True)  # an empty standard cache
    full_env = {**os.environ, "NEUROATTN_OUT": str(tmp_path / "out"), "MPLBACKEND": "Agg",
                "NEUROATTN_QUICK": "1", "HOME": str(home), "MNE_DATA": str(home / "mne_data"),
                "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                **env}
    for key in ("NEUROATTN_DATA", "NEUROATTN_SIMULATE"):
        if key not in env:
            full_env.pop(key, None)
    proc = subprocess.run([sys.executable, str(TUTORIALS / f"{name}.py")], cwd=tmp_path,
                          env=full_env, capture_output=True, text=True, timeout=900)
    if check and proc.returncode:
        pytest.fail(f"{name} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-3000:]}")
    return proc


def figures(tmp_path):
    return sorted(p.name for p in (tmp_path / "out").glob("*.png"))


def test_the_tutorials_are_the_five_tracks():
    assert sorted([MI, SEIZURE, FMRI, ENCODING, SSVEP]) == ALL


# --- real recordings (../shared/data), quick mode -----------------------------------------


@pytest.mark.realdata
def test_motor_imagery_on_physionetmi(shared_data, tmp_path):
    out = run_tutorial(MI, tmp_path, NEUROATTN_DATA=str(shared_data)).stdout
    assert "PhysionetMI (EEGMMIDB) subject 1: 45 trials x 64 channels" in out
    for method in ("CAN-ECA+gated", "CSP+LDA", "TS+LR"):  # the same 5 folds for each
        assert re.search(rf"{re.escape(method)}: 0\.\d+ \+/- 0\.\d+", out), method
    assert figures(tmp_path) == ["mi_accuracy.png", "mi_attention_topomap.png",
                                 "mi_spatial_patterns.png"]


@pytest.mark.realdata
def test_seizure_detection_on_dog_1_and_bonn(shared_data, tmp_path):
    out = run_tutorial(SEIZURE, tmp_path, NEUROATTN_DATA=str(shared_data)).stdout
    assert "178 ictal clips from 5 seizures" in out
    assert "Dog_1 (iEEG, leave-one-seizure-out, 5 folds)" in out and "Bonn F+S" in out
    scores = re.findall(r"(attention \(eeg_transformer\)|band power \+ LR): ROC AUC "
                        r"(0\.\d+|1\.000)", out)
    assert len(scores) == 4, out
    assert "held-out window ROC AUC: STAN" in out  # the simulated forecasting part
    assert "seizure_detection_real.png" in figures(tmp_path)


@pytest.mark.realdata
def test_fmri_on_abide_two_sites(shared_data, tmp_path):
    out = run_tutorial(FMRI, tmp_path, NEUROATTN_DATA=str(shared_data)).stdout
    assert "63 subjects x 200 regions" in out
    assert "ABIDE I PCP CC200, leave-site-out over 2 sites" in out
    for method in ("brainmae_probe", "brainmae_finetune", "correlation_logreg",
                   "tangent_logreg"):
        assert re.search(rf"^{method}\s+0\.\d+\s+0\.\d+", out, re.M), method
    assert (tmp_path / "out" / "fmri_leave_site_out.csv").is_file()
    assert "fmri_region_attention.png" in figures(tmp_path)
    assert re.search(r"^bnt_tangent_skip\s+0\.\d+\s+0\.\d+", out, re.M)
    assert (tmp_path / "out" / "fmri_hybrids_leave_site_out.csv").is_file()


@pytest.mark.realdata
def test_ssvep_dnn_on_kalunga2016(shared_data, tmp_path):
    out = run_tutorial(SSVEP, tmp_path, NEUROATTN_DATA=str(shared_data)).stdout
    for s in (1, 3):
        assert f"Kalunga2016 subject {s}: 48 trials x 8 channels, runs ['0', '1']" in out
    for method in ("CCA", "FB-TS+LR", "DNN subject", "DNN two-stage"):  # same trials
        for window in ("1.0", "2.0"):
            assert re.search(rf"^\s*{re.escape(method)}\s+{window}\s+(0\.\d+|1\.000)\s+"
                             r"\d+\.\d", out, re.M), (method, window)
    assert "on the same trials 0.25 s later" in out
    assert "sub-band weights" in out and "mean |spatial weight| per electrode" in out
    table = (tmp_path / "out" / "ssvep_window_table.csv").read_text().splitlines()
    assert table[0] == "method,window_s,accuracy,itr_bits_per_min" and len(table) == 9
    assert figures(tmp_path) == ["ssvep_accuracy_itr.png", "ssvep_learned_weights.png"]


# --- offline, simulated ---------------------------------------------------------------------


@pytest.mark.parametrize("name", [MI, SEIZURE, FMRI, SSVEP])
def test_simulated_path_when_asked(name, tmp_path):
    out = run_tutorial(name, tmp_path, NEUROATTN_SIMULATE="1").stdout
    assert figures(tmp_path), "the tutorial saved no figure"
    if name == SEIZURE:
        assert "detection check on Dog_1 and Bonn is skipped" in out
    else:
        assert "simulated" in out


def test_encoding_runs_on_the_simulator_and_says_so(tmp_path):
    out = run_tutorial(ENCODING, tmp_path).stdout
    assert "real-data path: data cards 'miyawaki2008' and 'nsd_algonauts2023'" in out
    assert re.search(r"encoder: mean r 0\.\d+", out) and "ridge_flatten" in out
    assert "brain_encoder_routing_maps.png" in figures(tmp_path)


def test_missing_data_stops_with_one_clear_line(tmp_path):
    """Dog_1 and Bonn are never downloaded (manual cards), so no network is involved."""
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_tutorial(SEIZURE, tmp_path, check=False, NEUROATTN_DATA=str(empty))
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert str(empty / "seizure_detection_ieeg" / "Dog_1") in lines[0]
    assert "NEUROATTN_SIMULATE=1" in lines[0] and "kaggle.com" in lines[0]
    assert not figures(tmp_path)  # stopped before any work
