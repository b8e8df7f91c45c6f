"""``neuroattn encoding``: fit the transformer brain encoder and ridge peers, save figures.

Offline by default on the simulator (digit mosaics with a planted routing). With
``--algonauts ROOT --features tokens.npy`` it runs on a local Algonauts 2023 subject
with features you computed beforehand (e.g. with
:func:`neuroattn.estimators.extract_features` and your own backbone), or with
``--algonauts ROOT --backbone NAME --layer NAME``: the images' features are extracted by
a backbone named as in :func:`neuroattn.estimators.backbones.load_backbone` (pretrained
weights fetched on first use into the library's cache, read offline afterwards).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import (
    Outputs,
    add_overwrite,
    add_training,
    add_verbosity,
    fraction,
    output_dir,
    positive_float,
    positive_int,
    require_existing,
    set_threads,
)

NAME = "encoding"
#: Deprecated spellings of the command, still accepted (hidden from the help).
DEPRECATED_NAMES = ("encode",)
HELP = ("Fit the transformer brain encoder vs ridge (simulator by default) and save "
        "r per region, routing maps and a glass brain.")
#: The files written into --out (the figures only when their data exist).
OUTPUTS = ("results.json", "r_by_region.csv", "r_by_region.png", "routing_maps.png",
           "glass_brain_r.png")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="encoding_output",
                        help="output folder (locked while the command runs): "
                             + ", ".join(OUTPUTS) + "; written when complete")
    add_overwrite(parser, "the results of a previous run in --out")
    parser.add_argument("--n-images", type=positive_int, default=240,
                        help="simulated images")
    parser.add_argument("--algonauts", help="root of a local Algonauts 2023 copy")
    require_existing(parser, "--algonauts", kind="folder")
    parser.add_argument("--subject", type=int, choices=range(1, 9), default=1,
                        metavar="{1..8}", help="Algonauts subject (1-8)")
    parser.add_argument("--features",
                        help=".npy features (n_images, n_tokens, dim) or "
                             "(n_images, C, H, W) of the Algonauts images")
    require_existing(parser, "--features")
    parser.add_argument("--backbone",
                        help="with --algonauts, instead of --features: an image backbone by "
                             "name ('resnet50', 'timm:vit_small_patch16_224', "
                             "'hf:facebook/dinov2-small'); its pretrained weights are fetched "
                             "on first use (pip install \"neuroattn[vision]\")")
    parser.add_argument("--layer", help="the --backbone layer whose output are the tokens "
                                        "(e.g. layer4, blocks.11, encoder.layer.11)")
    parser.add_argument("--test-fraction", type=fraction, default=0.25,
                        help="held-out fraction of the images, in (0, 1) (default 0.25)")
    parser.add_argument("--lr", type=positive_float, default=3e-3)
    parser.add_argument("--embed-dim", type=positive_int, default=64)
    parser.add_argument("--n-heads", type=positive_int, default=4)
    parser.add_argument("--depth", type=positive_int, default=1)
    add_training(parser, max_epochs=60)
    add_verbosity(parser, default=0)


def _load(args: argparse.Namespace):
    from ..data.encoding import as_feature_tokens, load_algonauts2023
    from ..data.simulate import simulate_encoding

    if args.algonauts:
        resp = load_algonauts2023(args.algonauts, args.subject)
        if args.backbone:
            from ..estimators.features import extract_features

            if not resp.image_paths:
                raise ValueError(f"--backbone needs the training images under "
                                 f"{args.algonauts}; none were found.")
            feats = extract_features(resp.image_paths, args.backbone, args.layer,
                                     device=args.device, verbose=args.verbose > 0)
        else:
            feats = as_feature_tokens(args.features)
        return dict(features=feats, Y=resp.Y, Y_test=None, regions=resp.regions,
                    hemispheres=resp.hemispheres, coords=None, images=None, routing=None,
                    group_names=None)
    sim = simulate_encoding(args.n_images, random_state=args.seed)
    return dict(features=as_feature_tokens(sim.features), Y=sim.Y, Y_test=sim.Y_repeats,
                regions=sim.regions, hemispheres=sim.hemispheres, coords=sim.coords,
                images=sim.images, routing=sim.routing, group_names=sim.group_names)


def run(args: argparse.Namespace) -> int:
    if args.algonauts and not (args.features or args.backbone):
        raise ValueError("--algonauts needs --features (image features precomputed with "
                         "your backbone) or --backbone NAME --layer NAME.")
    if args.features and args.backbone:
        raise ValueError("--features and --backbone are alternatives: pass one.")
    if (args.backbone is None) != (args.layer is None):
        raise ValueError("--backbone and --layer go together: pass both.")
    if (args.features or args.backbone) and not args.algonauts:
        raise ValueError("--features and --backbone are only used with --algonauts.")
    # The destination is checked (and locked) before the work; previous results are
    # kept unless --overwrite.
    with output_dir(args.out) as out:
        from .._files import check_output_file

        for name in OUTPUTS:
            check_output_file(out / name, overwrite=args.overwrite, parameter="--out")
        return _run(args, out)


def _run(args: argparse.Namespace, out: Path) -> int:
    from ..benchmark import save_figure, save_results
    from ..benchmark.encoding import evaluate_encoding
    from ..estimators.encoding import BrainEncoderRegressor
    from ..viz.encoding import plot_glass_brain_r, plot_region_r, plot_routing_maps

    set_threads(args.threads)
    d = _load(args)
    enc = BrainEncoderRegressor(max_epochs=args.max_epochs, lr=args.lr, device=args.device,
                                random_state=args.seed, verbose=args.verbose,
                                model__embed_dim=args.embed_dim, model__n_heads=args.n_heads,
                                model__depth=args.depth)
    res = evaluate_encoding(d["features"], d["Y"], Y_repeats=d["Y_test"], regions=d["regions"],
                            hemispheres=d["hemispheres"], encoder=enc,
                            test_fraction=args.test_fraction, random_state=args.seed,
                            routing=d["routing"], group_names=d["group_names"])
    summary = res["summary"]
    csv = {"float_format": "%.4f", "na_rep": "nan"}
    # Staged in a hidden folder inside --out and published together at the end: an
    # error or Ctrl-C leaves the previous results as they were.
    with Outputs(overwrite=args.overwrite) as outputs:
        stage = outputs.folder(out)
        for name in OUTPUTS:
            outputs.remove_stale(out / name)  # a previous run's figure not made this time
        if res["routing_maps"] is not None:
            first, names = res["test"][0], list(d["group_names"])
            # labelled groups come first in query_names_; learned queries have no truth
            shown = [g for g in enc.query_names_ if g in names]
            fig = plot_routing_maps(d["images"][first], res["routing_maps"][0][:len(shown)],
                                    d["features"].grid_shape, shown,
                                    true_maps=d["routing"][first][[names.index(g)
                                                                   for g in shown]])
            save_figure(fig, stage / "routing_maps.png", dpi=120)
        save_results(res["table"], stage, "r_by_region",
                     plot=plot_region_r(res["r"], res["labels"]), csv_kwargs=csv,
                     savefig_kwargs={"dpi": 120})
        if d["coords"] is not None:
            save_figure(plot_glass_brain_r(res["r"]["encoder"], d["coords"],
                                           title="brain encoder: r per voxel"),
                        stage / "glass_brain_r.png", dpi=120)
        save_results(None, stage, "results", extra_json=summary)
    print(res["table"].to_csv(**csv).rstrip())
    print("mean r: " + ", ".join(f"{k}={v:.3f}" for k, v in summary["mean_r"].items()))
    if "routing_correlation" in summary:
        print("routing map correlation with planted maps: " + ", ".join(
            f"{k}={v:.2f}" for k, v in summary["routing_correlation"].items()))
    print(f"wrote {out}/results.json, r_by_region.csv and figures")
    return 0
