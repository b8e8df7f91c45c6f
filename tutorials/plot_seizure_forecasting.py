"""
Seizure forecasting from continuous EEG: files -> windows -> STAN -> alarms -> metrics
======================================================================================

Two parts. **Forecasting** runs on a simulated subject written exactly in CHB-MIT's
layout (EDF files ``chb01_NN.edf`` and ``chb01-summary.txt``, in the cache folder of the
``chbmit`` data card), with a preictal change planted 20 min before each seizure
(rising power and coupling of a 13-20 Hz rhythm over six left-hemisphere channels). It

1. loads the subject with ``neuroattn.datasets.load_dataset("chbmit", ["chb01"], path)``
   and streams labelled windows from the EDF files,
2. trains a :class:`~neuroattn.estimators.seizure.SeizureForecaster` (STAN with its
   Wasserstein critic) on all seizures but one,
3. monitors the held-out seizure's file and a held-out interictal file, raising
   alarms, and scores them with event metrics and a random-predictor test,
4. compares the window ROC AUC with a band-power + line-length baseline,
5. draws the alarm timeline and STAN's spatial and temporal attention.

**Detection on real recordings** then checks an attention classifier against the
classical peer (log band powers + line length, logistic regression) on two public
sets, loaded with ``load_dataset``: the canine intracranial clips ``Dog_1`` of the
UPenn-Mayo seizure detection challenge (card ``upenn_mayo``; 16 channels at 400 Hz,
ictal vs interictal 1-s clips, leave-one-seizure-out over its 5 seizures) and the Bonn
segments (card ``bonn``; one channel at 173.61 Hz, 23.6-s segments, stratified 5-fold).
Neither can be downloaded automatically (``neuroattn datasets info upenn_mayo`` /
``info bonn`` say where to get them): put them under ``$NEUROATTN_DATA`` as
``seizure_detection_ieeg/Dog_1/`` and ``bonn_epilepsy/{Z,O,N,F,S}/``.

**Environment variables.** ``NEUROATTN_DATA``: the local copy root holding those
folders (default: the standard MNE cache, ``MNE_DATA`` or ``~/mne_data``);
``NEUROATTN_QUICK=1``: quick mode (fewer epochs; Bonn sets F and S only);
``NEUROATTN_SIMULATE=1``: the simulated forecasting part only, no real data;
``NEUROATTN_OUT``: the figures' folder. Without the real data the script says so in one
line and exits with status 1 (before any training).

**Real CHB-MIT.** ``neuroattn datasets fetch chbmit --subjects chb01`` downloads one
patient (tens of one-hour EDF files, checked against PhysioNet's SHA256SUMS.txt) into
``MNE_DATA``; then ``load_dataset("chbmit", ["chb01"])`` returns its recordings and every
call below runs on them unchanged (the 18 bipolar channels are picked by name; CHB-MIT's
duplicate ``T8-P8`` is handled). Keep ``sfreq=None`` (256 Hz) or resample, use the
default STAN size (2.3 M parameters) and more epochs, and evaluate every fold with
:func:`~neuroattn.benchmark.seizure.evaluate_leave_one_seizure_out` (hours per patient
on a CPU; a few patients with several seizures, e.g. chb01, chb05, chb08). The figures
depend on SPH, SOP, the interictal distance and the alarm rule: report them with every
score (they are printed below).

Figures go to ``$NEUROATTN_OUT`` (default ``./tutorial_output``).
"""

# %%
import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from neuroattn import NeuroClassifier
from neuroattn.data.seizure import extract_windows, subject_seizures
from neuroattn.data.simulate import simulate_seizure_recordings
from neuroattn.data.splits import LeaveOneSeizureOut
from neuroattn.datasets import load_dataset
from neuroattn.estimators.seizure import SeizureForecaster, band_power_baseline
from neuroattn.metrics.seizure import event_metrics, window_auc
from neuroattn.viz.seizure import plot_alarm_timeline, plot_attention_maps

torch.set_num_threads(1)
OUT = Path(os.environ.get("NEUROATTN_OUT", "tutorial_output"))
OUT.mkdir(parents=True, exist_ok=True)
DATA = os.environ.get("NEUROATTN_DATA")
QUICK = os.environ.get("NEUROATTN_QUICK", "0") not in ("", "0")
SIMULATE = os.environ.get("NEUROATTN_SIMULATE", "0") not in ("", "0")
tmp = Path(tempfile.mkdtemp())

# %%
# 0. The real recordings of the detection check are loaded first, so that a missing
# folder stops the script at once. ``load_dataset`` returns ``IEEGClips``: ``X``
# ``(n_clips, n_chans, n_times)`` in microvolts, ``y`` (1 ictal), ``group`` (Dog_1: the
# seizure of each ictal clip, -1 interictal; Bonn: the set letter) and ``sfreq``.
BONN_SETS = ["F", "S"] if QUICK else ["Z", "O", "N", "F", "S"]
if not SIMULATE:
    try:
        dog = load_dataset("upenn_mayo", ["Dog_1"], DATA)["Dog_1"]
        bonn = load_dataset("bonn", BONN_SETS, DATA)
    except ValueError as err:
        sys.exit(f"Seizure detection data not available: {err} (set NEUROATTN_DATA to the "
                 "folder holding them, or NEUROATTN_SIMULATE=1 for the simulated part only)")
    print(f"Dog_1: {dog.X.shape} at {dog.sfreq:.2f} Hz, {dog.y.sum()} ictal clips from "
          f"{dog.group.max() + 1} seizures; Bonn sets {BONN_SETS}: {bonn.X.shape}")

# %%
# 1. A simulated subject in CHB-MIT's layout, written where the ``chbmit`` card's cache
# puts a downloaded patient (``<root>/MNE-chbmit-data/files/chbmit/1.0.0/chb01/``), and
# loaded with the call that reads the real one (``download=False``: the files are here).
# Labelling (explicit, the defaults): 5-s windows; preictal = [onset - SPH - SOP,
# onset - SPH] with SPH 5 min and SOP 15 min; interictal >= 4 h from any seizure;
# ictal, postictal (30 min) and the grey zone are left out.
sim = simulate_seizure_recordings(tmp / "MNE-chbmit-data" / "files" / "chbmit" / "1.0.0",
                                  random_state=0)
print(sim.summary_path.read_text()[:400])
recordings = load_dataset("chbmit", ["chb01"], tmp, download=False)
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
    # the subject's seizures, a seizure cut by a file boundary counted once
    seizures += [s for s in subject_seizures(windows.recordings) if rec.start <= s[0] < rec.start
                 + rec.duration]
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

# %%
# 5. Detection on real recordings: an attention classifier vs band power + logistic
# regression, on the same folds. The classifier is ``eeg_transformer`` (a temporal
# convolution summarised per patch by its mean and log power, then self-attention over
# the patches), trained from scratch in each fold; the peer is
# ``band_power_baseline`` (log power in 1-4, 4-8, 8-13, 13-30, 30-45 Hz and line length
# per channel, standardised, class-balanced logistic regression). Scores are on
# held-out clips: ROC AUC and balanced accuracy (threshold 0.5).
MAX_EPOCHS = 8 if QUICK else 30


def detection_scores(X, y, folds, sfreq, patch_size):
    """Per-fold ROC AUC and balanced accuracy of both methods."""
    out = {"attention (eeg_transformer)": [], "band power + LR": []}
    for train, test in folds:
        models = {
            "attention (eeg_transformer)": NeuroClassifier(
                "eeg_transformer", max_epochs=MAX_EPOCHS, lr=1e-3, batch_size=32,
                random_state=0, device="cpu", model__embed_dim=16, model__n_heads=2,
                model__depth=1, model__patch_size=patch_size, model__filter_length=25),
            "band power + LR": band_power_baseline(sfreq, random_state=0)}
        for name, model in models.items():
            proba = model.fit(X[train], y[train]).predict_proba(X[test])[:, 1]
            out[name].append((roc_auc_score(y[test], proba),
                              balanced_accuracy_score(y[test], proba > 0.5)))
    return {name: np.array(v) for name, v in out.items()}


def detection_check():
    """Both sets, both methods: print the scores and save the figure."""
    # Dog_1, leave one seizure out: fold k tests on seizure k's ictal clips and the k-th
    # block of interictal clips (in clip-number order), and trains on the rest.
    clips = SimpleNamespace(y=dog.y, seizure=dog.group,
                            start=np.arange(len(dog.y), dtype=float))
    dog_folds = list(LeaveOneSeizureOut().split(clips))
    # Bonn: set S (ictal) against the others loaded, stratified 5-fold.
    bonn_folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(bonn.X, bonn.y))
    results = {
        f"Dog_1 (iEEG, leave-one-seizure-out, {len(dog_folds)} folds)":
            detection_scores(dog.X, dog.y, dog_folds, dog.sfreq, patch_size=40),
        f"Bonn {'+'.join(BONN_SETS)} (S = ictal, stratified 5-fold)":
            detection_scores(bonn.X, bonn.y, bonn_folds, bonn.sfreq, patch_size=128)}
    for data_name, per_method in results.items():
        print(data_name)
        for name, s in per_method.items():
            print(f"  {name:>28}: ROC AUC {s[:, 0].mean():.3f} +/- {s[:, 0].std():.3f}, "
                  f"balanced accuracy {s[:, 1].mean():.3f}")

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, (data_name, per_method) in zip(axes, results.items()):
        for k, (name, s) in enumerate(per_method.items()):
            ax.plot(np.arange(len(s)) + 0.1 * (2 * k - 1), s[:, 0], "o", label=name)
        ax.set(title=data_name.split(" (")[0], xlabel="fold", xticks=range(len(s)))
    axes[0].set_ylabel("held-out ROC AUC")
    axes[0].legend(fontsize=8)
    fig.suptitle("seizure detection: attention classifier vs band power + LR")
    fig.tight_layout()
    fig.savefig(OUT / "seizure_detection_real.png", dpi=110)


if SIMULATE:
    print("NEUROATTN_SIMULATE=1: the detection check on Dog_1 and Bonn is skipped.")
else:
    detection_check()
plt.close("all")
