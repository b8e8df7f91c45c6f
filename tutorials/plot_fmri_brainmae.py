"""
BrainMAE on ABIDE: masked autoencoding of brain-region time series, leave-site-out
==================================================================================

BrainMAE learns from fMRI region-of-interest (ROI) time series without labels: every
region has a learnable embedding, regions attend to each other through a
*region-aware graph attention* (logits from embedding similarity plus the signal,
self-loops removed), and the model learns by reconstructing regions hidden from it in
short segments. Its embedding then feeds a linear probe, or the whole model is
fine-tuned.

**Data.** ABIDE I preprocessed by the Preprocessed Connectomes Project (card
``abide_pcp``: C-PAC, band-pass filtered, global signal regressed, CC200 atlas, 200 ROI
mean series per subject; autism vs typical controls; CC BY-NC-SA 3.0, cite Di Martino
et al. 2014 and Craddock et al. 2013). ``neuroattn.datasets.load_dataset("abide_pcp",
sites)`` fetches the missing files through nilearn's ``fetch_abide_pcp`` into nilearn's
``data_dir`` (``NILEARN_DATA``, else ``~/nilearn_data``) on first use, and returns a
``RoiTimeSeries``.

The comparison is **leave-site-out**: each acquisition site in turn is the test set,
and in every fold BrainMAE is pretrained on the training sites only, then read out by
a linear probe or fine-tuned; the peers fit nilearn's ``ConnectivityMeasure``
(correlation, tangent) + logistic regression in the same fold.

**Environment variables.** ``NEUROATTN_DATA``: a local copy root holding
``nilearn_data/ABIDE_pcp`` (only read: nothing is downloaded into it);
``NEUROATTN_QUICK=1``: two small sites (CALTECH, OHSU: 63 subjects) and short training;
``NEUROATTN_SIMULATE=1``: simulated ROI series with planted networks instead (offline);
``NEUROATTN_OUT``: the figures' folder (default ``./tutorial_output``). Without the
data (absent from the local copy, or not downloadable) the script says so in one line
and exits with status 1.

**Full run.** Without ``NEUROATTN_QUICK``, every site the card lists (20 sites, about
1,100 subjects; nilearn downloads the CC200 series, a few hundred MB) with
longer training: 20 folds, several hours on one CPU core. The CLI's ``fmri`` command
runs the same evaluation.
"""

# %%
import logging
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from neuroattn.benchmark.fmri import (
    DEFAULT_FINETUNE,
    DEFAULT_PRETRAINER,
    evaluate_fmri,
    save_fmri_results,
    summarize_fmri,
)
from neuroattn.estimators import BrainMAEPretrainer
from neuroattn.viz.fmri import plot_reconstruction, plot_region_attention

# The library logs per-fold progress when verbose; a script shows it.
logging.basicConfig(level=logging.INFO, format="%(message)s")

torch.set_num_threads(1)
OUT = Path(os.environ.get("NEUROATTN_OUT", "tutorial_output"))
OUT.mkdir(parents=True, exist_ok=True)
DATA = os.environ.get("NEUROATTN_DATA")
QUICK = os.environ.get("NEUROATTN_QUICK", "0") not in ("", "0")
SIMULATE = os.environ.get("NEUROATTN_SIMULATE", "0") not in ("", "0")
SITES = ["CALTECH", "OHSU"] if QUICK else None  # None: every site of the card

# %%
# ROI series
# ----------
# A ``RoiTimeSeries`` is a list of ``(n_timepoints, n_regions)`` arrays (nilearn's
# orientation), z-scored per region, plus a table of subjects (``label`` 1 autism /
# 0 control, ``site``, ``tr``, age, sex). About one ABIDE subject in twenty has an
# all-zero ROI (outside that subject's field of view): kept as zeros and reported.
if SIMULATE:
    from neuroattn.data.simulate import simulate_fmri_rois

    # 80 subjects, 12 regions in 3 networks, 120 volumes at TR = 2 s, 3 sites; group 1
    # has networks 0 and 1 coupled.
    data = simulate_fmri_rois(80, n_regions=12, n_networks=3, network_strength=0.7,
                              coupling=0.8, random_state=0)
else:
    from neuroattn.datasets import load_dataset

    path = Path(DATA) / "nilearn_data" if DATA else None
    try:
        # A local copy is only read (download=False); the standard cache is filled.
        data = load_dataset("abide_pcp", SITES, path, download=path is None, verbose=1)
    except ValueError as err:
        sys.exit(f"ABIDE PCP is not available: {err} (set NEUROATTN_DATA to a local copy, "
                 "or NEUROATTN_SIMULATE=1 for simulated series)")
print(data.summary())
print(data.meta.head())

# %%
# Pretraining without labels
# --------------------------
# Series are cut into 16 s segments (8 volumes at TR 2 s; other TRs are resampled);
# in each, half of the regions are masked and reconstructed from the others (loss
# 0.75 on masked, 0.25 on visible). This model, fitted on every subject without
# labels, is only for the pictures below; the scores come from the folds.
PRETRAIN = {**DEFAULT_PRETRAINER, "max_epochs": 3 if QUICK else 10,
            "max_segments_per_subject": 4 if QUICK else 8}
pre = BrainMAEPretrainer(random_state=0, **PRETRAIN).fit(data)
print(f"{pre.n_segments_fit_} segments of {pre.n_times_} samples; reconstruction loss "
      f"{pre.history_[0]['train_loss']:.3f} -> {pre.history_[-1]['train_loss']:.3f}")

# %%
# Region attention and a reconstruction
# -------------------------------------
seg = pre.segments(data)
attention = pre.module_.region_attention(torch.as_tensor(seg.X[:128])).mean(0).numpy()
networks = data.truth.get("networks") if data.truth else None
if networks is not None:  # simulated: the planted networks are known
    within = (networks[:, None] == networks[None]) & ~np.eye(len(networks), dtype=bool)
    print(f"mean attention within planted networks {attention[within].mean():.3f}, between "
          f"{attention[networks[:, None] != networks[None]].mean():.3f}")
fig = plot_region_attention(attention, networks=networks, region_names=data.region_names)
fig.savefig(OUT / "fmri_region_attention.png", dpi=110, bbox_inches="tight")
with torch.no_grad():
    rec, mask = pre.module_.eval().forward_masked(
        torch.as_tensor(seg.X[:1]), generator=torch.Generator().manual_seed(0))
fig = plot_reconstruction(seg.X[0], rec[0].numpy(), mask[0].numpy(), t_r=seg.t_r)
fig.savefig(OUT / "fmri_reconstruction.png", dpi=110, bbox_inches="tight")

# %%
# Leave-site-out: BrainMAE against connectivity + logistic regression
# -------------------------------------------------------------------
# Same folds for every method. ``brainmae_probe`` is a logistic regression on the
# pretrained embedding; ``brainmae_finetune`` a ``NeuroClassifier`` initialised from the
# pretrained encoder (segment predictions averaged per subject).
METHODS = ("brainmae_probe", "brainmae_finetune", "correlation_logreg", "tangent_logreg")
results = evaluate_fmri(
    data, cv="leave-site-out", methods=METHODS, pretrainer_params=PRETRAIN,
    finetune_params={**DEFAULT_FINETUNE, "max_epochs": 5 if QUICK else 15}, verbose=1)
summary = summarize_fmri(results)
source = "simulated" if SIMULATE else "ABIDE I PCP CC200"
print(f"\n{source}, leave-site-out over {results['split'].nunique()} sites "
      f"({len(data)} subjects; chance 0.5):")
print(summary[["accuracy_mean", "roc_auc_mean", "roc_auc_std", "n_splits",
               "fit_seconds_mean"]].round(3).to_string())
# The table and a figure of every split's scores (points) and their mean (bars):
paths = save_fmri_results(results, OUT, "fmri_leave_site_out")
print("saved:", *paths.values())

# %%
# Connectome transformers fed by BrainMAE, and a hybrid over the peer
# -------------------------------------------------------------------
# ``bnt_brainmae``: the Brain Network Transformer on Fisher-z correlation rows, each
# token widened by its region's embedding from a BrainMAE pretrained in the fold on the
# training subjects' series (frozen; ``connectome_transformer_pipeline(...,
# region_embedding=pretrainer)`` outside ``evaluate_fmri``). ``bnt_tangent_skip``: a
# small transformer over tangent-space rows learning a residual over the tangent +
# logistic regression solution of the training subjects (out-of-fold on them, so the
# residual learns what the linear model gets wrong on unseen subjects). Their recipes
# were chosen on NYU's inner folds (``benchmarks/bench_fmri_hybrids.py``); on the six
# ABIDE sites neither beats tangent + LR (README, "fMRI"). The quick run skips the
# BrainMAE-fed one (a second pretraining per fold).
HYBRIDS = ("bnt_tangent_skip", "tangent_logreg") if QUICK else (
    "bnt_brainmae", "bnt_tangent_skip", "tangent_logreg")
hybrid = evaluate_fmri(data, cv="leave-site-out", methods=HYBRIDS, pretrainer_params=PRETRAIN,
                       transformer_params={"max_epochs": 5} if QUICK else None, verbose=1)
print(summarize_fmri(hybrid)[["roc_auc_mean", "roc_auc_std", "fit_seconds_mean"]]
      .round(3).to_string())
print("saved:", *save_fmri_results(hybrid, OUT, "fmri_hybrids_leave_site_out").values())

plt.close("all")
