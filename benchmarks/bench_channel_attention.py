"""ChannelAttentionNet vs braindecode's AttentionBaseNet: training speed, latency, accuracy.

Same shapes as BNCI2014_001 (22 electrodes x 1000 samples, 4 classes), batch 64, same
attention mode, measured in one run on CPU:

* training throughput (trials/s) of a full AdamW step (forward, backward, update);
* latency of a 1-trial forward pass in eval mode (median, ms);
* parameter counts side by side;
* accuracy with the same seeds and the same training loop on simulated 3-class
  imagery (22 x 1000 at 250 Hz), for neuroattn's factorised stem, neuroattn's
  paper-order stem and braindecode's model, to show that the faster stem does not
  cost accuracy.

Writes benchmarks/results/bench_channel_attention.json.

    python benchmarks/bench_channel_attention.py [--attention se] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import latency_ms

ROOT = Path(__file__).resolve().parents[1]
SHAPE = dict(n_chans=22, n_times=1000, n_outputs=4)


def _models(attention: str | None, n_outputs: int = 4) -> dict[str, torch.nn.Module]:
    from braindecode.models import AttentionBaseNet

    from neuroattn import create_model

    shape = SHAPE | {"n_outputs": n_outputs}
    return {
        "neuroattn ChannelAttentionNet (factorised)":
            create_model("channel_attention_net", attention=attention, **shape),
        "neuroattn ChannelAttentionNet (paper stem)":
            create_model("channel_attention_net", attention=attention, stem="paper", **shape),
        "braindecode AttentionBaseNet": AttentionBaseNet(attention_mode=attention, **shape),
    }


def _throughput(model: torch.nn.Module, n_steps: int, batch: int = 64) -> float:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, SHAPE["n_chans"], SHAPE["n_times"], generator=gen)
    y = torch.randint(0, SHAPE["n_outputs"], (batch,), generator=gen)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(n_steps):
        step()
    return batch * n_steps / (time.perf_counter() - start)


def _accuracy(attention: str | None, seeds: list[int], epochs: int, n_train: int,
              n_test: int) -> dict[str, list[float]]:
    from neuroattn.data.simulate import simulate_motor_imagery

    X, y = simulate_motor_imagery(n_train + n_test, n_classes=3, random_state=123,
                                  return_epochs=False)
    labels = np.unique(y, return_inverse=True)[1]
    Xt, yt = torch.from_numpy(X[:, :, :1000]), torch.from_numpy(labels)
    scores: dict[str, list[float]] = {}
    for seed in seeds:
        for name in _models(attention):
            torch.manual_seed(seed)
            model = _models(attention, n_outputs=3)[name]
            opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
            order = torch.Generator().manual_seed(seed)
            for _ in range(epochs):
                model.train()
                perm = torch.randperm(n_train, generator=order)
                for i in range(0, n_train, 32):
                    idx = perm[i:i + 32]
                    opt.zero_grad(set_to_none=True)
                    torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx]).backward()
                    opt.step()
            model.eval()
            with torch.no_grad():
                pred = model(Xt[n_train:]).argmax(1)
            scores.setdefault(name, []).append(float((pred == yt[n_train:]).float().mean()))
            print(f"  seed {seed} {name}: accuracy {scores[name][-1]:.3f}", flush=True)
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attention", default="se", help="attention mode of both models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10, help="timed training steps")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--n-train", type=int, default=150)
    parser.add_argument("--n-test", type=int, default=150)
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    attention = None if args.attention in ("none", "None") else args.attention
    import braindecode

    import neuroattn

    rows = {}
    for name, model in _models(attention).items():
        rows[name] = {"parameters": sum(p.numel() for p in model.parameters()),
                      "train_trials_per_s": round(_throughput(model, args.steps), 1),
                      "latency_1_trial_ms": round(latency_ms(model, torch.randn(
                          1, SHAPE["n_chans"], SHAPE["n_times"])), 3)}
        print(name, rows[name], flush=True)
    bd = rows["braindecode AttentionBaseNet"]
    fast = rows["neuroattn ChannelAttentionNet (factorised)"]
    out = {
        "benchmark": "training throughput (AdamW step, batch 64) and 1-trial latency, "
                     "22 x 1000 samples, 4 classes, CPU",
        "attention": args.attention,
        "models": rows,
        "throughput_ratio_vs_braindecode": round(fast["train_trials_per_s"]
                                                 / bd["train_trials_per_s"], 2),
        "latency_ratio_braindecode_over_neuroattn": round(bd["latency_1_trial_ms"]
                                                          / fast["latency_1_trial_ms"], 2),
    }
    if not args.skip_accuracy:
        acc = _accuracy(attention, args.seeds, args.epochs, args.n_train, args.n_test)
        out["accuracy_same_seeds"] = {
            "data": f"simulated 3-class imagery, 22 x 1000 at 250 Hz, {args.n_train} train / "
                    f"{args.n_test} test trials, {args.epochs} epochs, AdamW 3e-3, batch 32",
            "seeds": args.seeds,
            "per_model": {k: {"mean": round(float(np.mean(v)), 4),
                              "per_seed": [round(s, 4) for s in v]} for k, v in acc.items()},
        }
    out["versions"] = {"neuroattn": neuroattn.__version__, "braindecode": braindecode.__version__,
                       "torch": torch.__version__, "python": platform.python_version()}
    out["machine"] = {"platform": platform.platform(), "processor": platform.processor(),
                      "cpus": os.cpu_count(), "torch_threads": args.threads,
                      "load_average_1min": round(os.getloadavg()[0], 2)}
    from neuroattn.benchmark import save_results

    path = save_results(None, ROOT / "benchmarks" / "results", "bench_channel_attention",
                        extra_json=out)["json"]
    print(json.dumps({k: out[k] for k in ("throughput_ratio_vs_braindecode",
                                          "latency_ratio_braindecode_over_neuroattn")}))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
