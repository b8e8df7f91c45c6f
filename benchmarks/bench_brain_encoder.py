"""Transformer brain encoder vs ridge: cost at scale and accuracy on the simulator, one run.

1. Scale (CPU): 10,000+ voxels in 20 regions x 2 hemispheres, 256+ tokens (16 x 16
   grid). Training throughput of the encoder (images/s over full epochs, AdamW, MSE,
   gradient clipping) and its peak memory, against the fit time and peak memory of
   ridge (RidgeCV, alpha per voxel) on pooled and on flattened features. Each
   measurement runs in a fresh process so that peak RSS belongs to it alone.
2. Accuracy: per-voxel r of encoder vs ridge on the simulator (planted routing),
   on routed regions, plus the correlation of learned and planted routing maps.

3. ``--curves``: learning curves (mean held-out voxel r and r / noise ceiling against
   training images) of the encoder with and without ROI labels, himalaya banded
   ridge, himalaya and scikit-learn RidgeCV on flattened features and pooled ridge,
   for every planted truth (``benchmarks/_encoder_curves.py``), plus ``--ablation``
   of the sample-efficiency measures; written to
   ``benchmarks/results/bench_brain_encoder_curves.json`` and ``.png``.

Writes ``benchmarks/results/bench_brain_encoder.json``. Usage::

    python benchmarks/bench_brain_encoder.py [--n-voxels 10000] [--n-tokens 256]
        [--dim 64] [--n-images 512] [--epochs 2] [--reference]
    python benchmarks/bench_brain_encoder.py --curves [--sizes 200 400 1000 5000]
        [--truths linear_local ...] [--seeds 0 1 2] [--seeds-5000 0]
        [--methods-5000 encoder_labelled ...] [--ablation]
    python benchmarks/bench_brain_encoder.py --curves --ablation-only [--seeds 0 1 2]
        [--ablation-truths linear_local mixture linear_global]

``--reference`` uses the reference width (768-dim tokens, width 768, 16 heads,
feed-forward 1024); slow on a CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from _common import peak_rss_mb, run_in_fresh_process

RESULTS = Path(__file__).resolve().parent / "results" / "bench_brain_encoder.json"


def _scale_data(n_images: int, n_tokens: int, dim: int, n_voxels: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    tokens = np.maximum(rng.normal(size=(n_images, n_tokens, dim)), 0).astype(np.float32)
    n_regions = 20
    regions = np.array([f"R{i % n_regions}" for i in range(n_voxels)], dtype=object)
    hemis = np.where(np.arange(n_voxels) < n_voxels // 2, "lh", "rh").astype(object)
    spots = rng.integers(0, n_tokens, size=n_regions)
    w = rng.normal(size=(n_voxels, dim)).astype(np.float32)
    Y = rng.normal(size=(n_images, n_voxels)).astype(np.float32)
    for r in range(n_regions):  # region r reads one token (a fixed spot)
        idx = np.arange(r, n_voxels, n_regions)
        Y[:, idx] += tokens[:, spots[r]] @ w[idx].T
    return tokens, Y, regions, hemis


def _worker(kind: str, cfg: dict, queue) -> None:
    import torch

    torch.set_num_threads(cfg["threads"])
    from neuroattn.data.encoding import FeatureTokens, grid_positions
    from neuroattn.estimators import BrainEncoderRegressor, RidgeEncoder

    tokens, Y, regions, hemis = _scale_data(cfg["n_images"], cfg["n_tokens"], cfg["dim"],
                                            cfg["n_voxels"])
    side = int(round(np.sqrt(cfg["n_tokens"])))
    grid = grid_positions(side, side)
    base = peak_rss_mb()  # libraries and data loaded: what follows is the method's own

    t0 = time.perf_counter()
    if kind == "encoder":
        model_kw = ({"model__embed_dim": 768, "model__n_heads": 16, "model__ffn_dim": 1024}
                    if cfg["reference"] else {})
        est = BrainEncoderRegressor(max_epochs=cfg["epochs"], batch_size=32, device="cpu",
                                    random_state=0, **model_kw)
        est.fit(tokens, Y, regions=regions, hemispheres=hemis)
        seconds = time.perf_counter() - t0
        n_params = sum(p.numel() for p in est.module_.parameters())
        epoch_s = [float(est.history_[i, "dur"]) for i in range(len(est.history_))]
        out = {"fit_seconds": seconds, "epoch_seconds": epoch_s,
               "images_per_second": cfg["n_images"] / float(np.median(epoch_s)),
               "n_parameters": int(n_params), "n_query_groups": len(est.region_names_)}
    elif kind == "himalaya_banded":
        from neuroattn.estimators.encoding import BandedRidgeEncoder

        est = BandedRidgeEncoder().fit(FeatureTokens(tokens, grid, (side, side)), Y)
        out = {"fit_seconds": time.perf_counter() - t0,
               "n_features": int(est.mean_.shape[0])}
    else:
        solver, pooling = kind.split("_", 1)
        solver = "sklearn" if solver == "ridge" else solver
        est = RidgeEncoder(pooling=pooling, solver=solver).fit(tokens, Y)
        out = {"fit_seconds": time.perf_counter() - t0,
               "n_features": int(est.mean_.shape[0])}
    out["peak_rss_mb"] = peak_rss_mb()
    out["peak_rss_above_data_mb"] = peak_rss_mb() - base
    queue.put(out)


def _accuracy(epochs: int) -> dict:
    from neuroattn.benchmark.encoding import compare_encoders
    from neuroattn.data.simulate import simulate_encoding
    from neuroattn.estimators import BrainEncoderRegressor

    sim = simulate_encoding(240, random_state=0)
    tr, te = slice(0, 180), slice(180, None)
    enc = BrainEncoderRegressor(max_epochs=epochs, lr=4e-3, device="cpu", random_state=0)
    res = compare_encoders(sim.features[tr], sim.Y[tr], sim.features[te], sim.Y_repeats[te],
                           regions=sim.regions, hemispheres=sim.hemispheres, encoder=enc)
    groups = np.asarray(sim.group_names, dtype=object)[sim.group]
    routed = np.isin(groups, sim.routed_groups)
    maps = enc.routing_maps(sim.features[te])
    corr = {g: float(np.corrcoef(maps[:, enc.region_names_.index(g)].ravel(),
                                 sim.routing[te][:, i].ravel())[0, 1])
            for i, g in enumerate(sim.group_names) if g in sim.routed_groups}
    mean_r = {k: float(np.nanmean(v[routed])) for k, v in res["r"].items()}
    mean_rn = {k: float(np.nanmean(v[routed])) for k, v in res["r_normalized"].items()}
    by_group = {k: {g: float(np.nanmean(v[groups == g])) for g in sim.group_names}
                for k, v in res["r"].items()}
    return {"n_train": 180, "n_test": 60, "n_voxels": int(sim.Y.shape[1]),
            "noise_ceiling_r": 0.8, "mean_r_routed": mean_r,
            "mean_r_normalized_routed": mean_rn, "r_by_group": by_group,
            "routing_map_correlation": corr,
            "fit_seconds": res["fit_seconds"],
            "ratio_encoder_over_best_ridge_r": mean_r["encoder"] / max(
                v for k, v in mean_r.items() if k != "encoder")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-voxels", type=int, default=10_000)
    p.add_argument("--n-tokens", type=int, default=256)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--n-images", type=int, default=512)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--sim-epochs", type=int, default=40)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reference", action="store_true")
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--curves", action="store_true", help="learning curves only")
    p.add_argument("--ablation", action="store_true", help="with --curves: the ablation")
    p.add_argument("--ablation-only", action="store_true",
                   help="with --curves: the ablation without the curves")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                   help="--curves / --ablation: seeds (data and models)")
    p.add_argument("--seeds-5000", type=int, nargs="+", default=None,
                   help="--curves: seeds at 5000 images (default: --seeds)")
    p.add_argument("--methods-5000", nargs="+", default=None,
                   help="--curves: methods at 5000 images (default: all)")
    p.add_argument("--merge-from", default=None,
                   help="--curves: add the cells of another curves JSON to --out, replot")
    p.add_argument("--ablation-truths", nargs="+",
                   default=["linear_local", "mixture", "linear_global"])
    p.add_argument("--sizes", type=int, nargs="+", default=[200, 400, 1000, 5000])
    p.add_argument("--truths", nargs="+", default=None)
    p.add_argument("--n-test", type=int, default=500)
    p.add_argument("--noise-ceiling", type=float, default=0.8)
    p.add_argument("--ablation-size", type=int, default=400)
    p.add_argument("--kinds", nargs="+", default=None, help="scale: methods to time")
    args = p.parse_args(argv)
    if args.curves:
        return _curves(args)
    dim = 768 if args.reference else args.dim
    cfg = {"n_images": args.n_images, "n_tokens": args.n_tokens, "dim": dim,
           "n_voxels": args.n_voxels, "epochs": args.epochs, "threads": args.threads,
           "reference": args.reference}
    scale = {}
    kinds = args.kinds or ("encoder", "ridge_mean", "ridge_flatten", "himalaya_flatten",
                           "himalaya_banded")
    for kind in kinds:
        print(f"scale: {kind} ...", flush=True)
        scale[kind] = run_in_fresh_process(_worker, kind, cfg)
        print(f"  {scale[kind]}", flush=True)
    enc_epoch = float(np.median(scale["encoder"]["epoch_seconds"]))
    peers = [k for k in kinds if k != "encoder"]
    ratios = {f"encoder_epoch_over_{k}_fit": enc_epoch / scale[k]["fit_seconds"]
              for k in peers}
    # A full training run is many epochs: compare its estimate too (sim-epochs epochs).
    ratios.update({f"encoder_{args.sim_epochs}_epochs_over_{k}_fit":
                   args.sim_epochs * enc_epoch / scale[k]["fit_seconds"] for k in peers})
    ratios.update({f"encoder_fit_over_{k}_fit": scale["encoder"]["fit_seconds"]
                   / scale[k]["fit_seconds"] for k in peers})
    ratios.update({f"encoder_peak_rss_over_{k}": scale["encoder"]["peak_rss_above_data_mb"]
                   / max(scale[k]["peak_rss_above_data_mb"], 1.0) for k in peers})
    acc = None
    if args.sim_epochs:  # --sim-epochs 0: the scale part only
        print("accuracy on the simulator ...", flush=True)
        acc = _accuracy(args.sim_epochs)
    import sklearn
    import torch

    result = {
        "benchmark": "bench_brain_encoder", "config": cfg, "scale": scale,
        "scale_ratios": ratios, "simulator": acc,
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0],
                    "cpu_count": os.cpu_count(), "processor": platform.processor()},
        "versions": {"torch": torch.__version__, "sklearn": sklearn.__version__,
                     "numpy": np.__version__},
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    from neuroattn.benchmark import save_results

    out = Path(args.out)
    out = save_results(None, out.parent, out.stem, extra_json=result)["json"]
    print(json.dumps({"scale_ratios": ratios,
                      "encoder_images_per_second": scale["encoder"]["images_per_second"],
                      "simulator_mean_r_routed": acc and acc["mean_r_routed"],
                      "routing_map_correlation": acc and acc["routing_map_correlation"]},
                     indent=2))
    print(f"wrote {out}")
    return 0


def _curves(args) -> int:
    from _encoder_curves import plot_ablation, plot_curves, run_ablation, run_curves

    from neuroattn.data.simulate import PLANTED_TRUTHS

    truths = args.truths or list(PLANTED_TRUTHS)
    out = Path(args.out)
    if out == RESULTS:
        out = RESULTS.with_name("bench_brain_encoder_curves.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    command = "cd benchmarks && python " + " ".join([Path(sys.argv[0]).name] + sys.argv[1:])

    def log(msg):
        print(msg, flush=True)

    if args.merge_from:
        from _encoder_curves import merge_runs

        result = merge_runs(out, Path(args.merge_from))
        plot_curves(result, out.with_suffix(".png"))
        print(f"wrote {out} and {out.with_suffix('.png')}")
        return 0
    if not args.ablation_only:
        by_size = {5000: args.seeds_5000} if args.seeds_5000 else None
        methods = {5000: tuple(args.methods_5000)} if args.methods_5000 else None
        result = run_curves(out, truths, args.sizes, args.n_test, args.noise_ceiling,
                            args.seeds, seeds_by_size=by_size, methods_by_size=methods,
                            command=command, log=log)
        plot_curves(result, out.with_suffix(".png"))
        print(f"wrote {out} and {out.with_suffix('.png')}")
    if args.ablation or args.ablation_only:
        abl = out.with_name(out.stem.replace("_curves", "") + "_ablation.json")
        result = run_ablation(abl, args.ablation_truths, args.ablation_size, args.n_test,
                              args.noise_ceiling, args.seeds, command=command, log=log)
        plot_ablation(result, abl.with_suffix(".png"))
        print(f"wrote {abl} and {abl.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
