"""
Motor imagery with channel attention, on PhysioNet EEGMMIDB
===========================================================

Train a lightweight convolutional network with a pluggable channel-attention block
(Wimpff et al., J. Neural Eng. 2024) on real motor-imagery EEG, score it against the
two classical peers (CSP + LDA, tangent space + logistic regression) on the same
cross-validation folds, and draw what its electrode attention learned as a topomap.

**Data.** The PhysioNet EEG Motor Movement/Imagery dataset (MOABB ``PhysionetMI``,
card ``physionetmi``: 64 electrodes, 160 Hz, ODC-By 1.0), imagined left vs right fist
(runs 4, 8, 12: 45 trials a subject). It is loaded with
``neuroattn.datasets.load_dataset("physionetmi", subjects)``, which downloads the
missing files on first use (about 30 MB a subject, with a progress bar) into the
standard MNE cache (``MNE_DATA``, else ``~/mne_data``); files already there are never
fetched again. ``neuroattn datasets info physionetmi`` prints the card.

**Environment variables.**

- ``NEUROATTN_DATA``: a local copy root holding ``mne_data/`` (e.g. a lab share);
  passed to ``load_dataset(path=...)`` instead of the standard cache, and only read:
  nothing is downloaded into it.
- ``NEUROATTN_QUICK=1``: quick mode (subject 1, fewer epochs), for CI.
- ``NEUROATTN_SIMULATE=1``: simulated EEG instead (offline, planted truth).
- ``NEUROATTN_OUT``: output folder of the figures (default ``./tutorial_output``).

Without the data (absent from the local copy, or not downloadable) the script says so
in one line and exits with status 1.

**Full run.** Without ``NEUROATTN_QUICK`` the tutorial evaluates subjects 1-10 of
PhysionetMI with longer training (about 10 minutes on one CPU core once downloaded).
The larger comparison on BCI Competition IV 2a (card ``bnci2014_001``, 22 electrodes,
250 Hz, downloaded by MOABB) runs from the command line::

    neuroattn benchmark --datasets BNCI2014_001 --paradigm left_right \\
        --pipelines CSP+LDA TS+LR CAN-Gated CAN-SE CAN-ECA DBConformer
"""

# %%
# Setup
# -----
import os
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold

from neuroattn import NeuroClassifier, list_attentions
from neuroattn.benchmark import load_pipelines
from neuroattn.viz.topomap import plot_channel_weights, plot_spatial_filters

torch.set_num_threads(1)
OUT = Path(os.environ.get("NEUROATTN_OUT", "tutorial_output"))
OUT.mkdir(parents=True, exist_ok=True)
DATA = os.environ.get("NEUROATTN_DATA")
QUICK = os.environ.get("NEUROATTN_QUICK", "0") not in ("", "0")
SIMULATE = os.environ.get("NEUROATTN_SIMULATE", "0") not in ("", "0")
SUBJECTS = [1] if QUICK else list(range(1, 11))
MAX_EPOCHS = 40 if QUICK else 80
SFREQ = 80.0  # every trial is resampled to 80 Hz (8-32 Hz band-pass): a quick network

def load_trials():
    """``{subject: (X in microvolts, y, ch_names)}``, from PhysionetMI or the simulator."""
    if SIMULATE:
        from neuroattn.data.simulate import simulate_motor_imagery

        out = {}
        for s in SUBJECTS:
            epochs = simulate_motor_imagery(90, sfreq=SFREQ, trial_seconds=3.0,
                                            erd_strength=0.5, random_state=s)
            y = np.array(list(epochs.event_id))[epochs.events[:, 2] - 1]
            out[s] = (epochs.get_data(units="uV"), y, epochs.ch_names)
        return out
    from moabb.paradigms import LeftRightImagery

    from neuroattn.datasets import load_dataset

    path = Path(DATA) / "mne_data" if DATA else None
    try:
        # A local copy is only read (download=False); the standard cache is filled.
        dataset = load_dataset("physionetmi", SUBJECTS, path, download=path is None,
                               verbose=1)
    except ValueError as err:
        sys.exit(f"PhysionetMI is not available: {err} (set NEUROATTN_DATA to a local "
                 "copy, or NEUROATTN_SIMULATE=1 for simulated EEG)")
    paradigm = LeftRightImagery(fmin=8.0, fmax=32.0, resample=SFREQ)
    out = {}
    for s in SUBJECTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # MNE's montage notes
            epochs, y, _ = paradigm.get_data(dataset, subjects=[s], return_epochs=True)
        out[s] = (epochs.get_data(units="uV"), np.asarray(y), epochs.ch_names)
    return out


trials = load_trials()
source = "simulated EEG" if SIMULATE else "PhysionetMI (EEGMMIDB)"
for s, (X, y, _) in trials.items():
    counts = {str(c): int(n) for c, n in zip(*np.unique(y, return_counts=True))}
    print(f"{source} subject {s}: {X.shape[0]} trials x {X.shape[1]} channels x "
          f"{X.shape[2]} samples at {SFREQ:g} Hz; classes {counts}")

# %%
# The network and its peers
# -------------------------
# Every channel-attention block maps ``(batch, channels, time)`` to the same shape and
# is reachable by name (``list_attentions``). ``model__input_attention="gated"`` adds a
# block on the electrodes themselves (its gate starts flat at 0.5), so its weights can
# be drawn on the scalp; ``model__attention="eca"`` recalibrates the filter maps. The
# network's sizes are in samples, set here for 80 Hz. The peers are the shipped MOABB
# pipelines ``CSP+LDA`` and ``TS+LR`` (``pipelines/*.yml``).
print("channel-attention blocks:", list_attentions(kind="channel"))


def attention_net():
    return NeuroClassifier("channel_attention_net", model__attention="eca",
                           model__input_attention="gated", max_epochs=MAX_EPOCHS, lr=3e-3,
                           batch_size=16, random_state=0, device="cpu", model__n_filters=16,
                           model__filter_length=9, model__pool_length=24,
                           model__pool_stride=5, model__head_pool=4)


peers = load_pipelines(names=["CSP+LDA", "TS+LR"])

# %%
# Same folds for every method
# ---------------------------
# Five stratified folds per subject, drawn once and given to every method. The
# attention weights of each fold's model are read on that fold's held-out trials, so
# the topomap below shows attention on trials the model never trained on.
scores = {name: {} for name in ("CAN-ECA+gated", *peers)}
held_out_weights, held_out_y = [], []
for s, (X, y, _) in trials.items():
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    for name in scores:
        scores[name][s] = []
    for train, test in folds:
        clf = attention_net().fit(X[train], y[train])
        scores["CAN-ECA+gated"][s].append(clf.score(X[test], y[test]))
        if s == SUBJECTS[0]:
            held_out_weights.append(clf.get_attention_weights(X[test])["input_attention"])
            held_out_y.append(y[test])
            first_clf = clf
        for name, pipe in peers.items():
            scores[name][s].append(pipe.fit(X[train], y[train]).score(X[test], y[test]))
    print(f"subject {s}: " + ", ".join(f"{name} {np.mean(scores[name][s]):.3f}"
                                      for name in scores))

print(f"\naccuracy, left vs right imagery, {source}, {len(SUBJECTS)} subject(s) x 5 folds "
      "(chance 0.5):")
for name, per_subject in scores.items():
    values = np.concatenate(list(per_subject.values()))
    print(f"  {name:>14}: {values.mean():.3f} +/- {values.std():.3f}")

# %%
# Accuracy per subject and method
# -------------------------------
fig, ax = plt.subplots(figsize=(6, 3.5))
for k, (name, per_subject) in enumerate(scores.items()):
    means = [np.mean(per_subject[s]) for s in SUBJECTS]
    ax.plot(np.arange(len(SUBJECTS)) + (k - 1) * 0.15, means, "o", label=name)
ax.axhline(0.5, color="grey", lw=0.8, ls="--")
ax.set(xticks=range(len(SUBJECTS)), xticklabels=SUBJECTS, xlabel="subject",
       ylabel="5-fold accuracy", ylim=(0.3, 1.02), title=f"left vs right imagery, {source}")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "mi_accuracy.png", dpi=110)

# %%
# Where did the attention go?
# ---------------------------
# Per-trial electrode weights on held-out trials, averaged per class, and the
# difference between the classes. Imagined hand movement desynchronises the mu/beta
# rhythm over the opposite sensorimotor cortex (around C3 and C4).
X, y, ch_names = trials[SUBJECTS[0]]
weights, labels = np.concatenate(held_out_weights), np.concatenate(held_out_y)
classes = np.unique(labels)
diff = weights[labels == classes[0]].mean(0) - weights[labels == classes[1]].mean(0)
top = [ch_names[i] for i in np.argsort(-np.abs(diff))[:6]]
print(f"electrodes with the largest class difference in attention ({classes[0]} - "
      f"{classes[1]}):", top)
plot_channel_weights(weights, labels, list(ch_names), path=OUT / "mi_attention_topomap.png",
                     title=f"electrode attention on held-out trials, subject {SUBJECTS[0]}")

# %%
# The spatial filters of subject 1's last-fold stem, shown as patterns (Haufe et al. 2014):
# where on the scalp the signal each filter extracts comes from.
plot_spatial_filters(first_clf.module_.spatial_filters().numpy(), list(ch_names), X=X, n_show=5,
                     path=OUT / "mi_spatial_patterns.png")
plt.close("all")
