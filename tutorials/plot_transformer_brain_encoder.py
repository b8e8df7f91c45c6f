"""
Transformer brain encoders: region queries that route image features to voxels
==============================================================================

A linear encoding model maps *all* features of a vision backbone to every voxel. A
transformer brain encoder (Adeli, Sun & Kriegeskorte) instead gives each brain region
a learned query that cross-attends to the backbone's feature-map tokens: the region
decides, image by image, *where* to read, and each voxel reads its region's token
through its own linear weights. The attention maps ("routing maps") tell us which image
locations drive each region.

**Data: simulated.** No public image/fMRI pair is wired into this tutorial yet, so it
runs on simulated responses to real images; the script prints so when it starts. The
real-data paths are two data cards (``neuroattn datasets info miyawaki2008`` /
``neuroattn datasets info nsd_algonauts2023``): Miyawaki et al. 2008 (card
``miyawaki2008``, open; ``neuroattn.datasets.load_dataset("miyawaki2008")`` downloads it
through nilearn's ``fetch_miyawaki2008`` and returns nilearn's ``Bunch`` of 10 x 10
patch stimuli and V1-V3 responses; nilearn's own Miyawaki encoding example, ridge per
voxel, is the peer) and NSD through the Algonauts 2023 challenge (card
``nsd_algonauts2023``, terms-gated: ``load_dataset("nsd_algonauts2023", [1], path)``
reads a copy you obtained, see below). ``NEUROATTN_QUICK=1`` shortens training (CI);
figures go to ``$NEUROATTN_OUT`` (default ``./tutorial_output``).

It runs offline in about a minute on a CPU:

1. simulate voxel responses to real images (scikit-learn's handwritten digits) with a
   *planted* routing: some regions read a fixed spot of the visual field, others read
   wherever the features match a content detector;
2. fit :class:`~neuroattn.estimators.BrainEncoderRegressor` and, in the same run, the
   usual peer: ridge regression with a cross-validated alpha per voxel, on pooled and on
   flattened features;
3. compare per-voxel Pearson r (raw and noise-ceiling-normalised) and check that the
   learned routing maps recover the planted ones;
4. show how to extract features with your own torch backbone (cached on disk).

Running on Algonauts 2023
-------------------------
Apply for NSD access and download the challenge data yourself (the card
``nsd_algonauts2023`` says where; neuroattn never downloads it), then::

    from neuroattn.datasets import load_dataset
    from neuroattn.estimators import BrainEncoderRegressor, extract_features

    resp = load_dataset("nsd_algonauts2023", [1], "/path/to/algonauts_2023")[1]
    # any backbone you built with the weights you chose, e.g. DINOv2 ViT-B/14 via timm
    # or torch.hub; "blocks.11" is the last transformer block of a timm ViT.
    feats = extract_features(resp.image_paths, backbone, "blocks.11",
                             image_size=(224, 224), normalize="imagenet",
                             cache_dir="feature_cache")          # computed once
    enc = BrainEncoderRegressor(model__embed_dim=768, model__n_heads=16,
                                model__ffn_dim=1024, model__depth=1)  # reference config
    enc.fit(feats, resp.Y, regions=resp.regions, hemispheres=resp.hemispheres)

or from the command line, with features saved as ``.npy``::

    neuroattn encoding --algonauts /path/to/algonauts_2023 --subject 1 \\
        --features feats.npy --embed-dim 768 --n-heads 16 --lr 5e-4 --max-epochs 50

NSD-style beta volumes go through nilearn with
:func:`neuroattn.data.encoding.responses_from_volumes` (ROI masks, repeats and the
noise ceiling included).
"""

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from neuroattn.benchmark.encoding import compare_encoders  # noqa: E402
from neuroattn.data.encoding import FeatureTokens  # noqa: E402
from neuroattn.data.simulate import simulate_encoding  # noqa: E402
from neuroattn.estimators import (  # noqa: E402
    BrainEncoderRegressor,
    extract_features,
)
from neuroattn.metrics.encoding import summarize_by_region  # noqa: E402
from neuroattn.viz.encoding import (  # noqa: E402
    plot_glass_brain_r,
    plot_region_r,
    plot_routing_maps,
)

out_dir = Path(os.environ.get("NEUROATTN_OUT", "tutorial_output"))
out_dir.mkdir(parents=True, exist_ok=True)
QUICK = os.environ.get("NEUROATTN_QUICK", "0") not in ("", "0")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
print("Simulated fMRI responses (no public image/fMRI set is wired in yet); real-data "
      "path: data cards 'miyawaki2008' and 'nsd_algonauts2023' (neuroattn datasets info "
      "NAME).")

# %%
# Simulated responses with a planted routing
# ------------------------------------------
# 240 images of four digits each; a random-init conv backbone (numpy) gives an 8 x 8
# grid of 16-dimensional tokens. Each region (in both hemispheres) reads its routed
# feature vector; voxels add their own linear weights, and three noisy repeats per
# image put the noise ceiling at r = 0.8.
sim = simulate_encoding(240, noise_ceiling=0.8, n_repeats=3, random_state=0)
print("tokens", sim.features.shape, "responses", sim.Y.shape)
print("query groups:", sim.group_names)

train, test = np.arange(180), np.arange(180, 240)
feats_train = FeatureTokens(sim.features[train], sim.positions, sim.grid_shape)
feats_test = FeatureTokens(sim.features[test], sim.positions, sim.grid_shape)

# %%
# Encoder and ridge peers in one run
# ----------------------------------
# Small data, so a higher learning rate than the reference 5e-4 and a small width
# (the reference configuration is shown above for Algonauts).
encoder = BrainEncoderRegressor(max_epochs=20 if QUICK else 40, lr=4e-3, random_state=0)
res = compare_encoders(feats_train, sim.Y[train], feats_test, sim.Y_repeats[test],
                       regions=sim.regions, hemispheres=sim.hemispheres, encoder=encoder,
                       himalaya=True)
labels = np.array(encoder.region_names_, dtype=object)[encoder.voxel_groups_]
for name, r in res["r"].items():
    by_region = summarize_by_region(r, labels)
    print(f"{name:>16}: mean r {np.nanmean(r):.3f}  normalised "
          f"{np.nanmean(res['r_normalized'][name]):.3f}  fit {res['fit_seconds'][name]:.1f} s")
    print("                 " + ", ".join(f"{k} {v:.2f}" for k, v in by_region.items()))

# %%
# Without ROI labels
# ------------------
# Without ``regions`` the encoder learns ``n_queries`` queries and a soft assignment
# of voxels to them (initialised by clustering voxels on where their responses are
# predictable); after training every voxel's readout is refitted in closed form
# (ridge, alpha per voxel by leave-one-out) on two bands, each with its own shrinkage:
# its query's attention-pooled tokens and the mean token (global features), so that
# ridge on pooled features is a special case of the encoder.
free = BrainEncoderRegressor(max_epochs=20 if QUICK else 40, lr=4e-3, n_queries=8,
                             random_state=0).fit(feats_train, sim.Y[train])
r_free = free.score_voxels(feats_test, sim.Y_repeats[test], normalize=False)
print(f"no labels: mean r {np.nanmean(r_free):.3f} (labelled "
      f"{np.nanmean(res['r']['encoder']):.3f}); voxels per learned query:",
      np.bincount(free.voxel_queries_, minlength=len(free.query_names_)))
# which planted group the voxels of each learned query come from
for q in np.unique(free.voxel_queries_):
    groups, counts = np.unique(labels[free.voxel_queries_ == q], return_counts=True)
    print(f"  {free.query_names_[q]}: " + ", ".join(f"{g} x{c}" for g, c in
                                                    zip(groups, counts)))

fig = plot_region_r(res["r"], labels, ceiling=sim.noise_ceiling)
fig.savefig(out_dir / "brain_encoder_r_by_region.png", dpi=120)

# %%
# Ridge on pooled features cannot tell where in the image a feature was, so it only
# does well on the unlabelled voxels (which the simulator makes read the mean token).
# Ridge on flattened features can represent a fixed spot: on the location regions it
# is close to the encoder, and with the few training images of this quick run (under
# 400) banded ridge can be ahead of it there (quick run: encoder 0.51 vs banded ridge
# 0.56 over all voxels). It cannot follow content that moves from image to image:
# there the encoder, whose content regions attend to matching tokens wherever they
# are, wins by a wide margin (benchmarks/results/bench_brain_encoder_curves.json has
# the curves against the number of images).

# %%
# Routing maps: learned vs planted
# --------------------------------
# Rows of the maps are ``query_names_``: the labelled groups first (as in
# ``region_names_``), then the learned queries of the unlabelled voxels.
maps = encoder.routing_maps(feats_test)  # (n_images, n_queries, n_tokens)
shown = [g for g in encoder.query_names_ if g in sim.routed_groups]
planted = sim.routing[test][:, [sim.group_names.index(g) for g in shown]]
for j, g in enumerate(shown):
    corr = np.corrcoef(maps[:, j].ravel(), planted[:, j].ravel())[0, 1]
    print(f"routing map correlation {g:>10}: {corr:.2f}")
fig = plot_routing_maps(sim.images[test[0]], maps[0][:len(shown)], sim.grid_shape,
                        shown, true_maps=planted[0])
fig.savefig(out_dir / "brain_encoder_routing_maps.png", dpi=120)

# %%
# r per voxel on a glass brain (the simulator gives MNI-like voxel positions)
fig = plot_glass_brain_r(res["r"]["encoder"], sim.coords, title="encoder r per voxel")
fig.savefig(out_dir / "brain_encoder_glass_brain.png", dpi=120)

# %%
# Features from your own torch backbone
# -------------------------------------
# Any ``torch.nn.Module`` works (torchvision, timm, your own); give the name of the
# layer whose output you want (``neuroattn.estimators.features.layer_names`` lists
# them; a wrong name raises an error that lists them too). The forward pass stops at
# that layer; features are cached memory-mapped, so a second call is a file read.
torch.manual_seed(0)
backbone = torch.nn.Sequential(
    torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.ReLU(), torch.nn.AvgPool2d(4),
    torch.nn.Conv2d(16, 32, 1), torch.nn.ReLU())
tokens = extract_features(sim.images, backbone, "4", batch_size=64,
                          cache_dir=out_dir / "feature_cache")
print("backbone tokens", tokens.tokens.shape, "grid", tokens.grid_shape)
plt.close("all")
