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


def _no_mean_band_class():
    from neuroattn.estimators import BrainEncoderRegressor

    class NoMeanBandEncoder(BrainEncoderRegressor):
        """The ridge readout without the mean-token band (the readout before it)."""

        _readout_mean_band = False

    return NoMeanBandEncoder


def _NoMeanBand(**kw):
    return _no_mean_band_class()(**kw)


def make_method(name: str, n_train: int, seed: int, **encoder_kw):
    from neuroattn.estimators import BrainEncoderRegressor
    from neuroattn.estimators.encoding import BandedRidgeEncoder, RidgeEncoder

    if name.startswith("encoder"):
        kw = {"max_epochs": encoder_epochs(n_train), "lr": 4e-3, "device": "cpu",
              "random_state": seed, **encoder_kw}
        if not kw.pop("mean_band", True):
            return _NoMeanBand(**kw)
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


def _stats(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def summarize(runs: dict) -> dict:
    """``runs[seed][truth][n][method]`` -> ``[truth][n][method]`` mean and sd over seeds
    of ``mean_r``, ``mean_r_normalized`` and ``fit_seconds`` (``n_seeds`` of them)."""
    cells: dict = {}
    for by_truth in runs.values():
        for truth, by_n in by_truth.items():
            for n, by_method in by_n.items():
                for method, res in by_method.items():
                    cells.setdefault(truth, {}).setdefault(n, {}).setdefault(
                        method, []).append(res)
    out: dict = {}
    for truth, by_n in cells.items():
        for n in sorted(by_n, key=int):
            for method, results in by_n[n].items():
                entry = {"n_seeds": len(results)}
                for key in ("mean_r", "mean_r_normalized", "fit_seconds"):
                    entry[key], entry[f"sd_{key}"] = _stats([r[key] for r in results])
                out.setdefault(truth, {}).setdefault(n, {})[method] = entry
    return out


def _load(out: Path) -> dict:
    """The JSON so far; a file without per-seed ``runs`` (an older layout, made with an
    older encoder) is started afresh."""
    result = json.loads(out.read_text()) if out.exists() else {}
    return result if "runs" in result else {}


def _sim(truth: str, n_train: int, n_test: int, noise_ceiling: float, seed: int):
    from neuroattn.data.simulate import PLANTED_TRUTHS, simulate_encoding

    sim = simulate_encoding(n_train + n_test, noise_ceiling=noise_ceiling,
                            random_state=seed, **PLANTED_TRUTHS[truth])
    return sim, np.arange(n_train), np.arange(n_train, n_train + n_test)


def run_curves(out: Path, truths: list[str], sizes: list[int], n_test: int,
               noise_ceiling: float, seeds: list[int], methods: tuple[str, ...] = METHODS,
               seeds_by_size: dict[int, list[int]] | None = None,
               methods_by_size: dict[int, tuple[str, ...]] | None = None, command: str = "",
               log=print) -> dict:
    """Fit and score every method per seed, truth and size (same simulated images,
    same train / test split for all methods of a cell); resumes from ``out``.

    ``seeds_by_size`` and ``methods_by_size`` override ``seeds`` and ``methods`` for
    some sizes (e.g. one seed and no banded ridge at 5000)."""
    result = _load(out)
    runs = result.setdefault("runs", {})
    seeds_by_size, methods_by_size = seeds_by_size or {}, methods_by_size or {}
    config = result.get("config", {})
    config.update({"n_test": n_test, "noise_ceiling": noise_ceiling})
    for key, by, default in (("seeds", seeds_by_size, seeds),
                             ("methods", methods_by_size, methods)):
        config.setdefault(key, {}).update({str(n): list(by.get(n, default)) for n in sizes})
    config.setdefault("encoder_epochs", {}).update({str(n): encoder_epochs(n) for n in sizes})
    result["config"] = config
    result.setdefault("commands", [])
    old = result.pop("command", None)  # a single command (older runs)
    if old and old not in result["commands"]:
        result["commands"].append(old)
    if command and command not in result["commands"]:
        result["commands"].append(command)
    for n_train in sizes:  # small sizes of every truth first
        for seed in seeds_by_size.get(n_train, seeds):
            for truth in truths:
                cell = runs.setdefault(str(seed), {}).setdefault(truth, {}).setdefault(
                    str(n_train), {})
                todo = [m for m in methods_by_size.get(n_train, methods) if m not in cell]
                if not todo:
                    continue
                sim, train, test = _sim(truth, n_train, n_test, noise_ceiling, seed)
                for name in todo:
                    log(f"seed {seed} {truth} n_train={n_train} {name} ...")
                    cell[name] = fit_score(name, sim, train, test, seed)
                    log(f"   r={cell[name]['mean_r']:.3f} "
                        f"r/ceiling={cell[name]['mean_r_normalized']:.3f} "
                        f"({cell[name]['fit_seconds']:.1f} s)")
                    result["curves"] = summarize(runs)
                    out.write_text(json.dumps(result, indent=1))
    result["curves"] = summarize(runs)
    out.write_text(json.dumps(result, indent=1))
    return result


def merge_runs(out: Path, other: Path) -> dict:
    """Add the per-seed cells of ``other`` (a run with another ``--out``, e.g. the
    5000-image cells run beside the others) to ``out``; cells already in ``out`` stay."""
    result, extra = _load(out), _load(other)
    runs = result.setdefault("runs", {})
    for seed, by_truth in extra.get("runs", {}).items():
        for truth, by_n in by_truth.items():
            for n, cells in by_n.items():
                cell = runs.setdefault(seed, {}).setdefault(truth, {}).setdefault(n, {})
                for method, res in cells.items():
                    cell.setdefault(method, res)
    config, extra_config = result.setdefault("config", {}), extra.get("config", {})
    config.setdefault("encoder_epochs", {}).update(extra_config.get("encoder_epochs", {}))
    for key in ("seeds", "methods"):  # what the cells now hold, per size
        mine = config.setdefault(key, {})
        for n, values in extra_config.get(key, {}).items():
            mine[n] = mine.get(n, []) + [v for v in values if v not in mine.get(n, [])]
    config["seeds"] = {n: sorted(v) for n, v in config["seeds"].items()}
    commands = result.setdefault("commands", [])
    commands.extend(c for c in extra.get("commands", []) if c not in commands)
    commands.append(f"merged from {other.name}")
    result["curves"] = summarize(runs)
    out.write_text(json.dumps(result, indent=1))
    return result


#: Ablation of the sample-efficiency measures (labelled encoder unless "unlabelled";
#: "ridge_readout" is the default encoder).
ABLATION = {
    "learned_readout": {"readout": "learned"},
    "learned_readout+weight_averaging": {"readout": "learned", "weight_averaging": 10},
    "ridge_readout": {"readout": "ridge"},
    "ridge_readout,no_mean_band": {"readout": "ridge", "mean_band": False},
    "ridge_readout+early_stopping": {"readout": "ridge", "validation_fraction": 0.2,
                                     "early_stopping": True, "patience": 5},
    "ridge_readout+low_rank_8": {"readout": "ridge", "readout_rank": 8},
    "ridge_readout+weight_averaging": {"readout": "ridge", "weight_averaging": 10},
    "ridge_readout,unlabelled,1_query": {"readout": "ridge", "n_queries": 1},
}


def run_ablation(out: Path, truths: list[str], n_train: int, n_test: int,
                 noise_ceiling: float, seeds: list[int], command: str = "",
                 log=print) -> dict:
    """Every :data:`ABLATION` variant per seed and truth at ``n_train`` images;
    resumes from ``out``."""
    result = _load(out)
    runs = result.setdefault("runs", {})
    result["config"] = {"n_train": n_train, "n_test": n_test, "noise_ceiling": noise_ceiling,
                        "seeds": seeds, "encoder_epochs": encoder_epochs(n_train),
                        "variants": {k: {a: b for a, b in v.items()}
                                     for k, v in ABLATION.items()}}
    result["command"] = command
    for seed in seeds:
        for truth in truths:
            cell = runs.setdefault(str(seed), {}).setdefault(truth, {}).setdefault(
                str(n_train), {})
            todo = [v for v in ABLATION if v not in cell]
            if not todo:
                continue
            sim, train, test = _sim(truth, n_train, n_test, noise_ceiling, seed)
            for variant in todo:
                kw = dict(ABLATION[variant])
                name = "encoder_unlabelled" if "unlabelled" in variant else "encoder_labelled"
                log(f"ablation seed {seed} {truth} n_train={n_train} {variant} ...")
                cell[variant] = fit_score(name, sim, train, test, seed, **kw)
                log(f"   r={cell[variant]['mean_r']:.3f}")
                result["ablation"] = summarize(runs)
                out.write_text(json.dumps(result, indent=1))
    result["ablation"] = summarize(runs)
    out.write_text(json.dumps(result, indent=1))
    return result


def plot_curves(result: dict, png: Path) -> None:
    """Mean held-out voxel r (top) and r / noise ceiling (bottom) against training
    images, one column per truth; error bars: sd over seeds."""
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
                sd = [by_n[str(n)][name][f"sd_{key}"] for n in xs]
                axes[i, j].errorbar(xs, ys, yerr=sd, fmt="o-", label=name, lw=1.5, ms=4,
                                    capsize=2)
        axes[0, j].set_title(truth)
        for i in range(2):
            axes[i, j].set_xscale("log")
            axes[i, j].set_xticks([int(n) for n in sizes], sizes)
            axes[i, j].minorticks_off()
            axes[i, j].set_xlabel("training images")
    axes[0, 0].set_ylabel("mean held-out voxel r")
    axes[1, 0].set_ylabel("r / noise ceiling")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def plot_ablation(result: dict, png: Path) -> None:
    """Mean held-out voxel r of each ablation variant per truth (bars: mean, whiskers:
    sd over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    abl = result.get("ablation", {})
    if not abl:
        return
    truths = list(abl)
    fig, ax = plt.subplots(figsize=(2.2 + 2.6 * len(truths), 4.2))
    width = 0.8 / len(ABLATION)
    for k, variant in enumerate(ABLATION):
        xs, ys, sd = [], [], []
        for j, truth in enumerate(truths):
            cell = next(iter(abl[truth].values()))
            if variant in cell:
                xs.append(j + (k - len(ABLATION) / 2 + 0.5) * width)
                ys.append(cell[variant]["mean_r"])
                sd.append(cell[variant]["sd_mean_r"])
        ax.bar(xs, ys, width, yerr=sd, label=variant, capsize=2)
    ax.set_xticks(range(len(truths)), truths)
    ax.set_ylabel("mean held-out voxel r")
    lo = min(c["mean_r"] for t in truths for c in next(iter(abl[t].values())).values())
    ax.set_ylim(max(0.0, lo - 0.05), None)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
