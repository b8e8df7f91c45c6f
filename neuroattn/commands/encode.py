"""``neuroattn encode``: fit the transformer brain encoder and ridge peers, save figures.

Offline by default on the simulator (digit mosaics with a planted routing). With
``--algonauts ROOT --features tokens.npy`` it runs on a local Algonauts 2023 subject
with features you computed beforehand (e.g. with
:func:`neuroattn.estimators.extract_features` and your own backbone).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

NAME = "encode"
HELP = ("Fit the transformer brain encoder vs ridge (simulator by default) and save "
        "r per region, routing maps and a glass brain.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="encode_output", help="output folder")
    parser.add_argument("--n-images", type=int, default=240, help="simulated images")
    parser.add_argument("--algonauts", help="root of a local Algonauts 2023 copy")
    parser.add_argument("--subject", type=int, default=1, help="Algonauts subject (1-8)")
    parser.add_argument("--features", help=".npy features (n_images, n_tokens, dim) or "
                                           "(n_images, C, H, W) of the Algonauts images")
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--embed-dim", type=int, default=64)
    parser.add_argument("--n-heads", type=int, default=4)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")


def _load(args: argparse.Namespace):
    from ..data.encoding import as_feature_tokens, load_algonauts2023
    from ..data.simulate import simulate_encoding

    if args.algonauts:
        if not args.features:
            raise ValueError("--algonauts needs --features: precompute the image features "
                             "with your backbone (no weights are downloaded by neuroattn).")
        resp = load_algonauts2023(args.algonauts, args.subject)
        feats = as_feature_tokens(args.features)
        return dict(features=feats, Y=resp.Y, Y_test=None, regions=resp.regions,
                    hemispheres=resp.hemispheres, coords=None, images=None, routing=None,
                    group_names=None)
    if args.features:
        raise ValueError("--features is only used with --algonauts.")
    sim = simulate_encoding(args.n_images, random_state=args.seed)
    return dict(features=as_feature_tokens(sim.features), Y=sim.Y, Y_test=sim.Y_repeats,
                regions=sim.regions, hemispheres=sim.hemispheres, coords=sim.coords,
                images=sim.images, routing=sim.routing, group_names=sim.group_names)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..data.encoding import FeatureTokens
    from ..estimators.encoding import BrainEncoderRegressor, compare_encoders
    from ..metrics.encoding import summarize_by_region
    from ..viz.encoding import plot_glass_brain_r, plot_region_r, plot_routing_maps

    if not 0 < args.test_fraction < 1:
        raise ValueError(f"--test-fraction must be in (0, 1), got {args.test_fraction}.")
    d = _load(args)
    feats = d["features"]
    n = feats.n_images
    rng = np.random.RandomState(args.seed)
    order = rng.permutation(n)
    n_test = max(2, int(round(args.test_fraction * n)))
    te, tr = np.sort(order[:n_test]), np.sort(order[n_test:])

    def part(idx):
        return FeatureTokens(feats.tokens[idx], feats.positions, feats.grid_shape)

    y_test = d["Y_test"][te] if d["Y_test"] is not None else d["Y"][te]
    enc = BrainEncoderRegressor(max_epochs=args.epochs, lr=args.lr, device=args.device,
                                random_state=args.seed, verbose=int(args.verbose),
                                model__embed_dim=args.embed_dim, model__n_heads=args.n_heads,
                                model__depth=args.depth)
    res = compare_encoders(part(tr), d["Y"][tr], part(te), y_test, regions=d["regions"],
                           hemispheres=d["hemispheres"], encoder=enc)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    labels = np.array(enc.region_names_, dtype=object)[enc.voxel_groups_]
    table = {name: summarize_by_region(r, labels) for name, r in res["r"].items()}
    summary = {"n_train": int(tr.size), "n_test": int(te.size), "n_voxels": int(labels.size),
               "mean_r": {k: float(np.nanmean(v)) for k, v in res["r"].items()},
               "mean_r_normalized": ({k: float(np.nanmean(v)) for k, v in
                                      res["r_normalized"].items()}
                                     if res["r_normalized"] else None),
               "fit_seconds": res["fit_seconds"], "r_by_region": table}
    if d["routing"] is not None:
        maps = enc.routing_maps(part(te))
        corr = {g: float(np.corrcoef(maps[:, enc.region_names_.index(g)].ravel(),
                                     d["routing"][te][:, i].ravel())[0, 1])
                for i, g in enumerate(d["group_names"]) if g != "other"}
        summary["routing_correlation"] = corr
        fig = plot_routing_maps(d["images"][te[0]], maps[0], feats.grid_shape,
                                enc.region_names_,
                                true_maps=d["routing"][te[0]][[d["group_names"].index(g)
                                                               for g in enc.region_names_]])
        fig.savefig(out / "routing_maps.png", dpi=120)
    plot_region_r(res["r"], labels).savefig(out / "r_by_region.png", dpi=120)
    if d["coords"] is not None:
        plot_glass_brain_r(res["r"]["encoder"], d["coords"],
                           title="brain encoder: r per voxel").savefig(
            out / "glass_brain_r.png", dpi=120)
    with open(out / "results.json", "w") as fh:
        json.dump(summary, fh, indent=2)
    lines = ["group," + ",".join(table)]
    for g in next(iter(table.values())):
        lines.append(g + "," + ",".join(f"{table[m][g]:.4f}" for m in table))
    (out / "r_by_region.csv").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("mean r: " + ", ".join(f"{k}={v:.3f}" for k, v in summary["mean_r"].items()))
    if "routing_correlation" in summary:
        print("routing map correlation with planted maps: " + ", ".join(
            f"{k}={v:.2f}" for k, v in summary["routing_correlation"].items()))
    print(f"wrote {out}/results.json, r_by_region.csv and figures")
    return 0
