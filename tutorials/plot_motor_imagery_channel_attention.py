"""
Motor imagery with channel attention
====================================

Train a lightweight convolutional network with a pluggable channel-attention block
(Wimpff et al., J. Neural Eng. 2024) on motor-imagery EEG, compare attention blocks
with MOABB, and look at what the attention learned as scalp topomaps.

Everything runs offline in a couple of minutes on simulated EEG: 22 electrodes of
BCI Competition IV 2a, a mu/beta rhythm over C3 and C4 that desynchronises over the
motor cortex opposite to the imagined hand. Because the truth is planted, we can check
that the model's attention lands where it should.

To run the same comparison on real data (downloads BNCI2014_001 from the internet)::

    neuroattn benchmark --datasets BNCI2014_001 --paradigm motor_imagery \\
        --pipelines CSP+LDA TS+LR CAN CAN-SE CAN-ECA DBConformer

Figures are written to ``$NEUROATTN_OUT`` (default ``./tutorial_output``).
"""

# %%
# Setup
# -----
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import torch

from neuroattn import NeuroClassifier, create_model, list_attentions
from neuroattn.data.simulate import MI_CHANNELS, simulate_motor_imagery
from neuroattn.viz.topomap import class_average, plot_channel_weights, plot_spatial_filters

torch.set_num_threads(1)
OUT = Path(os.environ.get("NEUROATTN_OUT", "tutorial_output"))
OUT.mkdir(parents=True, exist_ok=True)

# %%
# Simulated motor imagery
# -----------------------
# ``simulate_motor_imagery`` returns an ``mne.EpochsArray`` (montage set, classes
# named); neuroattn estimators take it directly and read it in microvolts. We use
# 100 Hz and 3-s trials to keep the tutorial quick.
epochs = simulate_motor_imagery(160, sfreq=100.0, trial_seconds=3.0, erd_strength=0.5,
                                random_state=0)
y = np.array(list(epochs.event_id))[epochs.events[:, 2] - 1]
train, test = np.arange(120), np.arange(120, 160)
print(epochs)

# %%
# The channel-attention zoo
# -------------------------
# Every block maps ``(batch, channels, time)`` to the same shape and is reachable by
# name. ``ChannelAttentionNet`` takes any of them through ``attention=``.
print(list_attentions(kind="channel"))
net = create_model("channel_attention_net", n_chans=22, n_times=1000, n_outputs=4)
print("parameters without attention (22 x 1000, 4 classes):",
      sum(p.numel() for p in net.parameters()))

# %%
# Fit and predict
# ---------------
# The network's hyperparameters are in samples, tuned for 250 Hz; at 100 Hz we shrink
# the filters and pools accordingly. ``model__input_attention="gated"`` adds a
# channel-attention block on the electrodes themselves (its gate starts flat at 0.5),
# so its weights can be drawn on the scalp.
at_100hz = dict(model__n_filters=16, model__filter_length=11, model__pool_length=30,
                model__pool_stride=6, model__head_pool=4)
clf = NeuroClassifier("channel_attention_net", model__attention="eca",
                      model__input_attention="gated", max_epochs=30, lr=3e-3, batch_size=32,
                      random_state=0, device="cpu", **at_100hz)
clf.fit(epochs[train], y[train])
print(f"held-out accuracy: {clf.score(epochs[test], y[test]):.3f}")

# %%
# Where did the attention go?
# ---------------------------
# Per-trial electrode weights, averaged per class. The planted desynchronisation is at
# C4 for left-hand and C3 for right-hand imagery, so the class difference should sit
# over the sensorimotor cortex.
weights = clf.get_attention_weights(epochs)["input_attention"]
means = class_average(weights, y)
diff = means["left_hand"] - means["right_hand"]
top = [MI_CHANNELS[i] for i in np.argsort(-np.abs(diff))[:4]]
print("electrodes with the largest class difference in attention:", top)
plot_channel_weights(weights, y, list(MI_CHANNELS), path=OUT / "mi_attention_topomap.png",
                     title="electrode attention, averaged per class")

# %%
# The spatial filters of the stem, shown as patterns (Haufe et al. 2014): where on
# the scalp the signal each filter extracts comes from.
X = epochs.get_data(units="uV")
plot_spatial_filters(clf.module_.spatial_filters().numpy(), list(MI_CHANNELS), X=X,
                     n_show=5, path=OUT / "mi_spatial_patterns.png")

# %%
# Compare attention blocks with MOABB
# -----------------------------------
# The simulated recordings are also a MOABB dataset, so MOABB's evaluations run on
# them offline. ``neuroattn.benchmark.run`` evaluates YAML pipelines (shipped in
# ``pipelines/``) or your own, prints a mean +/- std table and draws every pipeline
# against a baseline, subject by subject.
from sklearn.pipeline import make_pipeline

from neuroattn.benchmark import load_pipelines, run
from neuroattn.data.moabb import SimulatedMotorImagery

pipelines = load_pipelines(names=["CSP+LDA", "TS+LR"])
for block in ("se", "gct"):
    pipelines[f"CAN-{block}"] = make_pipeline(NeuroClassifier(
        "channel_attention_net", model__attention=block, max_epochs=20, lr=5e-3,
        batch_size=16, random_state=0, device="cpu", model__pool_length=38,
        model__pool_stride=8, model__filter_length=13))
# 125 Hz keeps the tutorial quick; the shipped YAML pipelines assume 250 Hz.
dataset = SimulatedMotorImagery(n_subjects=2, n_sessions=1, trials_per_run=40, sfreq=125.0)
result = run(pipelines, [dataset], baseline="CSP+LDA", output_dir=OUT / "mi_benchmark")
print(result.table)
print("paired plot:", result.plot_path)
