"""
BrainMAE: masked autoencoding of brain-region time series
==========================================================

BrainMAE learns from fMRI region-of-interest (ROI) time series without labels: every
region has a learnable embedding, regions attend to each other through a
*region-aware graph attention* (logits from embedding similarity plus the signal,
self-loops removed), and the model learns by reconstructing regions hidden from it in
short segments. Its embedding then feeds a linear probe, or the whole model is
fine-tuned.

This tutorial runs offline on simulated series with a *planted* truth: regions form
networks, and one group of subjects has two networks coupled. We check that

1. the learned region attention recovers the planted networks,
2. the label-free embedding separates the groups (linear probe), and
3. how it compares, leave-site-out, with what one would use otherwise: nilearn's
   ``ConnectivityMeasure`` (correlation, tangent) + a linear model.

When the ABIDE files are present (``NEUROATTN_ABIDE_DIR``, nilearn's ``data_dir``) the
last cell loads two ABIDE sites too. Figures go to ``$NEUROATTN_OUT``
(default ``./tutorial_output``).
"""

# %%
import logging
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neuroattn.benchmark.fmri import evaluate_fmri, save_fmri_results, summarize_fmri
from neuroattn.data.simulate import simulate_fmri_rois
from neuroattn.estimators import BrainMAEPretrainer
from neuroattn.viz.fmri import plot_attention_connectome, plot_reconstruction, plot_region_attention

# The library logs per-fold progress when verbose; a script shows it.
logging.basicConfig(level=logging.INFO, format="%(message)s")

torch.set_num_threads(1)
OUT = Path(os.environ.get("NEUROATTN_OUT", "tutorial_output"))
OUT.mkdir(parents=True, exist_ok=True)

# %%
# Simulated ROI series
# --------------------
# 80 subjects, 12 regions in 3 networks, 120 volumes at TR = 2 s, 3 sites. Group 1
# has networks 0 and 1 coupled. Series come as a ``RoiTimeSeries``: a list of
# ``(n_timepoints, n_regions)`` arrays (nilearn's orientation) plus metadata.
data = simulate_fmri_rois(80, n_regions=12, n_networks=3, network_strength=0.7,
                          coupling=0.8, random_state=0)
print(data.summary())
print(data.meta.head())

# %%
# Pretraining without labels
# --------------------------
# Series are cut into 16 s segments (8 volumes); in each, half of the regions are
# masked and reconstructed from the others (loss 0.75 on masked, 0.25 on visible).
pre = BrainMAEPretrainer(max_epochs=10, batch_size=64, lr=3e-3, random_state=0,
                         model__embed_dim=16, model__n_heads=2).fit(data)
print(f"{pre.n_segments_fit_} segments of {pre.n_times_} samples; reconstruction loss "
      f"{pre.history_[0]['train_loss']:.3f} -> {pre.history_[-1]['train_loss']:.3f}")

# %%
# Region attention recovers the planted networks
# ----------------------------------------------
seg = pre.segments(data)
attention = pre.module_.region_attention(torch.as_tensor(seg.X[:128])).mean(0).numpy()
net = data.truth["networks"]
within = (net[:, None] == net[None]) & ~np.eye(len(net), dtype=bool)
print(f"mean attention within networks {attention[within].mean():.3f}, between "
      f"{attention[net[:, None] != net[None]].mean():.3f}")
fig = plot_region_attention(attention, networks=net, region_names=data.region_names)
fig.savefig(OUT / "fmri_region_attention.png", dpi=110, bbox_inches="tight")
fig = plot_attention_connectome(attention, data.region_coords, edge_threshold="80%")
fig.savefig(OUT / "fmri_attention_glass_brain.png", dpi=110, bbox_inches="tight")

# %%
# A masked segment and its reconstruction
# ---------------------------------------
model = pre.module_.eval()
x = torch.as_tensor(seg.X[:1])
with torch.no_grad():
    rec, mask = model.forward_masked(x, generator=torch.Generator().manual_seed(0))
fig = plot_reconstruction(x[0].numpy(), rec[0].numpy(), mask[0].numpy(), t_r=seg.t_r)
fig.savefig(OUT / "fmri_reconstruction.png", dpi=110, bbox_inches="tight")

# %%
# Linear probe: does the label-free embedding separate the groups?
# -----------------------------------------------------------------
# Pretraining never saw labels; the probe is cross-validated.
Z = pre.transform(data)
probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
auc = cross_val_score(probe, Z, data.labels, scoring="roc_auc",
                      cv=StratifiedKFold(5, shuffle=True, random_state=0))
print(f"linear probe ROC AUC {auc.mean():.2f} +/- {auc.std():.2f} (chance 0.5)")

# %%
# Leave-site-out against connectivity baselines
# ---------------------------------------------
# In every fold BrainMAE is pretrained on the training sites only, then probed and
# fine-tuned (``NeuroClassifier`` initialised from the pretrained encoder); the
# baselines fit ``ConnectivityMeasure`` + logistic regression / linear SVM in the fold.
results = evaluate_fmri(data, cv="leave-site-out", verbose=1)
print(summarize_fmri(results).round(3))
paths = save_fmri_results(results, OUT, "fmri_simulated_leave_site_out")
print(f"table: {paths['csv']}")

# %%
# Fine-tuning by hand
# -------------------
# ``to_classifier`` returns a ``NeuroClassifier`` whose BrainMAE starts from the
# pretrained weights; it trains on segments (labels repeated per segment) and subject
# predictions average the segments.
clf = pre.to_classifier(max_epochs=3, lr=5e-4)
clf.fit(seg.X, data.labels[seg.groups])
proba = np.bincount(seg.groups, clf.predict_proba(seg.X)[:, 1]) / np.bincount(seg.groups)
print(f"fine-tuned training accuracy {np.mean((proba > 0.5) == data.labels):.2f}")

# %%
# ABIDE (when the files are present)
# ----------------------------------
abide_dir = os.environ.get("NEUROATTN_ABIDE_DIR")
if abide_dir and (Path(abide_dir) / "ABIDE_pcp").is_dir():
    from neuroattn.data.fmri import fetch_abide_rois

    abide = fetch_abide_rois(abide_dir, sites=["CALTECH", "OHSU"])
    print(abide.summary())
    res = evaluate_fmri(abide, methods=("brainmae_probe", "correlation_logreg",
                                        "tangent_logreg"), verbose=1)
    print(summarize_fmri(res).round(3))
else:
    print("ABIDE files not found (set NEUROATTN_ABIDE_DIR): skipped.")
plt.close("all")
