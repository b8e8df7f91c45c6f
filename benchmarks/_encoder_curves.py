"""Learning curves of the brain encoder against its ridge peers on the planted truths.

For each planted truth (:data:`neuroattn.data.simulate.PLANTED_TRUTHS`) and number of
training images, every method is fitted on the same training images and scored on
the same held-out images (mean voxel r and noise-ceiling-normalised r, against the
repeats): the encoder with ROI labels, without them (``n_queries`` learned queries),
himalaya's banded ridge, himalaya's RidgeCV and scikit-learn's RidgeCV on flattened
features, and scikit-learn's RidgeCV on pooled features. Results are appended to the
JSON after every fit, so an interrupted run keeps what finished.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

METHODS = ("encoder_labelled", "encoder_unlabelled", "himalaya_banded",
           "himalaya_flatten", "sklearn_flatten", "sklearn_pooled")


def encoder_epochs(n_train: int, base: int = 40) -> int:
    """Epochs for ``n_train`` images: ``base`` up to 400 images, then about the same
    number of optimisation steps (at least 10 epochs)."""
    return int(max(10, min(base, round(base * 400 / n_train))))


def make_method(name: str, n_train: int, seed: int, **encoder_kw):
    from neuroattn.estimators import BrainEncoderRegressor
    from neuroattn.estimators.encoding import BandedRidgeEncoder, RidgeEncoder

    if name.startswith("encoder"):
        kw = {"max_epochs": encoder_epochs(n_train), "lr": 4e-3, "device": "cpu",
              "random_state": seed, **encoder_kw}
        return BrainEncoderRegressor(**kw)
    return {"himalaya_banded": lambda: BandedRidgeEncoder(),
            "himalaya_flatten": lambda: RidgeEncoder("flatten", solver="himalaya"),
            "sklearn_flatten": lambda: RidgeEncoder("flatten"),
            "sklearn_pooled": lambda: RidgeEncoder("mean")}[name]()


def fit_score(name: str, sim, train: np.ndarray, test: np.ndarray, seed: int,
              **encoder_kw) -> dict:
    """Fit one method on ``train`` images, score on ``test``; r, normalised r, seconds."""
    model = make_method(name, train.size, seed, **encoder_kw)
    labels = ({} if name in ("encoder_unlabelled",) else
              {"regions": sim.regions, "hemispheres": sim.hemispheres})
    t0 = time.perf_counter()
    model.fit(sim.features[train], sim.Y[train], **labels)
    seconds = time.perf_counter() - t0
    r = model.score_voxels(sim.features[test], sim.Y_repeats[test], normalize=False)
    rn = model.score_voxels(sim.features[test], sim.Y_repeats[test])
    out = {"mean_r": float(np.nanmean(r)), "mean_r_normalized": float(np.nanmean(rn)),
           "fit_seconds": seconds}
    groups = np.asarray(sim.group_names, dtype=object)[sim.group]
    out["r_by_group"] = {g: float(np.nanmean(r[groups == g])) for g in sim.group_names}
    if name.startswith("encoder"):
        out["epochs"] = int(len(model.history_))
    return out


def run_curves(out: Path, truths: list[str], sizes: list[int], n_test: int,
               noise_ceiling: float, seed: int, methods: tuple[str, ...] = METHODS,
               log=print) -> dict:
    from neuroattn.data.simulate import PLANTED_TRUTHS, simulate_encoding

    result = json.loads(out.read_text()) if out.exists() else {}
    result.setdefault("curves", {})
    result["config"] = {"n_test": n_test, "noise_ceiling": noise_ceiling, "seed": seed,
                        "encoder_epochs": {str(n): encoder_epochs(n) for n in sizes}}
    for n_train in sizes:  # small sizes of every truth first
        for truth in truths:
            sim = simulate_encoding(n_train + n_test, noise_ceiling=noise_ceiling,
                                    random_state=seed, **PLANTED_TRUTHS[truth])
            train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
            cell = result["curves"].setdefault(truth, {}).setdefault(str(n_train), {})
            for name in methods:
                if name in cell:
                    continue
                log(f"{truth} n_train={n_train} {name} ...")
                cell[name] = fit_score(name, sim, train, test, seed)
                log(f"   r={cell[name]['mean_r']:.3f} "
                    f"r/ceiling={cell[name]['mean_r_normalized']:.3f} "
                    f"({cell[name]['fit_seconds']:.1f} s)")
                out.write_text(json.dumps(result, indent=1))
    return result


ABLATION = {
    "learned_readout": {"readout": "learned"},
    "ridge_readout": {"readout": "ridge"},
    "ridge_readout+early_stopping": {"readout": "ridge", "validation_fraction": 0.2,
                                     "early_stopping": True, "patience": 5},
    "learned_readout+early_stopping": {"readout": "learned", "validation_fraction": 0.2,
                                       "early_stopping": True, "patience": 5},
    "ridge_readout,unlabelled,1_query": {"readout": "ridge", "n_queries": 1},
}


def run_ablation(out: Path, truths: list[str], n_train: int, n_test: int,
                 noise_ceiling: float, seed: int, log=print) -> dict:
    from neuroattn.data.simulate import PLANTED_TRUTHS, simulate_encoding

    result = json.loads(out.read_text()) if out.exists() else {}
    abl = result.setdefault("ablation", {})
    for truth in truths:
        sim = simulate_encoding(n_train + n_test, noise_ceiling=noise_ceiling,
                                random_state=seed, **PLANTED_TRUTHS[truth])
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
        cell = abl.setdefault(truth, {}).setdefault(str(n_train), {})
        for variant, kw in ABLATION.items():
            if variant in cell:
                continue
            name = "encoder_unlabelled" if "unlabelled" in variant else "encoder_labelled"
            log(f"ablation {truth} n_train={n_train} {variant} ...")
            cell[variant] = fit_score(name, sim, train, test, seed, **kw)
            log(f"   r={cell[variant]['mean_r']:.3f}")
            out.write_text(json.dumps(result, indent=1))
    return result


def plot_curves(result: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = result.get("curves", {})
    if not curves:
        return
    fig, axes = plt.subplots(2, len(curves), figsize=(3.2 * len(curves), 6), squeeze=False,
                             sharey="row")
    for j, (truth, by_n) in enumerate(curves.items()):
        sizes = sorted(by_n, key=int)
        for name in METHODS:
            xs = [int(n) for n in sizes if name in by_n[n]]
            for i, key in enumerate(("mean_r", "mean_r_normalized")):
                ys = [by_n[str(n)][name][key] for n in xs]
                axes[i, j].plot(xs, ys, "o-", label=name, lw=1.5, ms=4)
        axes[0, j].set_title(truth)
        for i in range(2):
            axes[i, j].set_xscale("log")
            axes[i, j].set_xlabel("training images")
    axes[0, 0].set_ylabel("mean held-out voxel r")
    axes[1, 0].set_ylabel("r / noise ceiling")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
