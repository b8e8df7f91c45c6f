"""
Seizure forecasting from continuous EEG: files -> windows -> STAN -> alarms -> metrics
======================================================================================

This tutorial runs offline on a simulated subject written exactly in CHB-MIT's layout
(EDF files ``chb01_NN.edf`` and ``chb01-summary.txt``), with a preictal change planted
20 min before each seizure (rising power and coupling of a 13-20 Hz rhythm over six
left-hemisphere channels). It

1. reads the summary and streams labelled windows from the EDF files,
2. trains a :class:`~neuroattn.estimators.seizure.SeizureForecaster` (STAN with its
   Wasserstein critic) on all seizures but one,
3. monitors the held-out seizure's file and a held-out interictal file, raising
   alarms, and scores them with event metrics and a random-predictor test,
4. compares the window ROC AUC with a band-power + line-length baseline,
5. draws the alarm timeline and STAN's spatial and temporal attention.

**Real CHB-MIT.** Download the CHB-MIT Scalp EEG Database (PhysioNet) yourself and point
``SUMMARY`` at e.g. ``.../chb-mit-scalp-eeg-database-1.0.0/chb01/chb01-summary.txt``:
the same calls read it (the 18 bipolar channels are picked by name; CHB-MIT's
duplicate ``T8-P8`` is handled). Keep ``sfreq=None`` (256 Hz) or resample, use the
default STAN size (2.3 M parameters) and more epochs, and evaluate every fold with
:func:`~neuroattn.benchmark.seizure.evaluate_leave_one_seizure_out`. The figures
depend on SPH, SOP, the interictal distance and the alarm rule: report them with every
score (they are printed below).

Figures go to ``$NEUROATTN_OUT`` (default ``./tutorial_output``).
"""

# %%
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import torch

from neuroattn.data.seizure import extract_windows, read_chbmit_summary
from neuroattn.data.simulate import simulate_seizure_recordings
from neuroattn.data.splits import LeaveOneSeizureOut
from neuroattn.estimators.seizure import SeizureForecaster, band_power_baseline
from neuroattn.metrics.seizure import event_metrics, window_auc
from neuroattn.viz.seizure import plot_alarm_timeline, plot_attention_maps

torch.set_num_threads(1)
OUT = Path(os.environ.get("NEUROATTN_OUT", "tutorial_output"))
OUT.mkdir(parents=True, exist_ok=True)
tmp = Path(tempfile.mkdtemp())

# %%
# 1. A simulated subject in CHB-MIT's layout, then labelled windows streamed from disk.
# Labelling (explicit, the defaults): 5-s windows; preictal = [onset - SPH - SOP,
# onset - SPH] with SPH 5 min and SOP 15 min; interictal >= 4 h from any seizure;
# ictal, postictal (30 min) and the grey zone are left out.
sim = simulate_seizure_recordings(tmp, random_state=0)
SUMMARY = sim.summary_path
print(SUMMARY.read_text()[:400])
recordings = read_chbmit_summary(SUMMARY)
LABELS = dict(sph_seconds=300.0, sop_seconds=900.0, min_interictal_seconds=4 * 3600.0,
              postictal_seconds=1800.0)
windows = extract_windows(recordings, window_seconds=5.0, **LABELS)
print(f"{len(windows.y)} windows: {np.sum(windows.y == 1)} preictal, "
      f"{np.sum(windows.y == 0)} interictal, {windows.X.shape[1]} channels at "
      f"{windows.sfreq:g} Hz")

# %%
# 2. Leave the first seizure out; train STAN with the critic. For a CPU in a couple of
# minutes, STAN is shrunk to one spatial-temporal block of width 16 (the default,
# ``SeizureForecaster()``, is three blocks of width 216: 2.3 M parameters, about ten
# minutes per fold here on one CPU thread; benchmarks/seizure_forecasting.py runs it
# on every fold). Its tokens carry each 1-s patch's log
# power spectrum and its phase coherence with the other channels, per frequency bin:
# the planted coupling is invisible to power alone.
train, test = next(LeaveOneSeizureOut().split(windows))
forecaster = SeizureForecaster(
    max_epochs=15, lr=3e-3, batch_size=32, device="cpu", random_state=0,
    model__embed_dim=16, model__n_heads=2, model__depth=1, model__patch_size=128,
    model__spectral_smoothing=9,
    smoothing="k_of_n", smoothing_seconds=300.0, min_fraction=0.7, threshold=0.5,
    sop_seconds=900.0)
forecaster.fit(windows.X[train], windows.y[train])
baseline = band_power_baseline(windows.sfreq, random_state=0).fit(
    windows.X[train], windows.y[train])
auc = window_auc(windows.y[test], forecaster.preictal_proba(windows.X[test]))
auc_base = window_auc(windows.y[test], baseline.predict_proba(windows.X[test])[:, 1])
print(f"held-out window ROC AUC: STAN {auc:.3f}, band power + line length {auc_base:.3f}")

# %%
# 3. Monitor the held-out files continuously and score the alarms.
held_out = [windows.recordings[r] for r in np.unique(windows.recording[test])]
seizure_rec = next(r for r in held_out if r.seizures)
alarms, monitored, seizures = [], [], []
for rec in held_out:
    result = forecaster.monitor(rec)
    alarms += (rec.start + result.alarms).tolist()
    monitored.append((rec.start, rec.start + rec.duration))
    seizures += rec.absolute_seizures
    if rec is seizure_rec:
        fig = plot_alarm_timeline(result.times, result.probability, score=result.score,
                                  threshold=result.threshold, alarms=result.alarms,
                                  seizures=rec.seizures, title=f"{rec.path.name} (held out)")
        fig.savefig(OUT / "seizure_alarm_timeline.png", dpi=110)
metrics = event_metrics(alarms, seizures, monitored, **{
    k: LABELS[k] for k in ("sph_seconds", "sop_seconds", "postictal_seconds")})
print(f"sensitivity {metrics.sensitivity:.2f}, false alarms/h "
      f"{metrics.false_alarms_per_hour:.2f} over {metrics.interictal_hours:.2f} h, time in "
      f"warning {metrics.time_in_warning:.3f}, warning times {metrics.warning_times} s, "
      f"p(random predictor) = {metrics.p_value:.3g}")
print("alarm rule:", {k: forecaster.get_params()[k] for k in (
    "smoothing", "smoothing_seconds", "min_fraction", "threshold", "refractory_seconds",
    "sop_seconds")})

# %%
# 4. Where does STAN look? Spatial attention (channel x channel) and temporal attention
# (1-s patches) averaged over the held-out preictal windows.
pre = windows.X[test][windows.y[test] == 1][:32]
X_in = torch.as_tensor(np.asarray(pre) / forecaster.input_scale_, dtype=torch.float32)
maps = forecaster.module_.attention_maps(X_in)
fig = plot_attention_maps(maps["spatial"].mean(0).numpy(), maps["temporal"].mean(0).numpy(),
                          windows.ch_names, token_seconds=128 / windows.sfreq,
                          title="STAN attention, held-out preictal windows")
fig.savefig(OUT / "seizure_attention_maps.png", dpi=110)
print("planted focus:", sim.focus_channels)
