"""Sample-quality metrics of a DCGAN trained on mnist5k, with real-vs-real and real-vs-noise rows.

Trains the builtin `gan` family (DCGAN, non-saturating loss, EMA generator) on
the 4,000-image train split of mnist5k with `gan run`, one thread, then scores
three candidate sets against the same real reference:

* reference: half A of mnist5k (all 5,000 images, fixed shuffle, first half);
* real vs real: half B, the other 2,500 real images;
* DCGAN: 2,500 samples of the trained run (its newest checkpoint, EMA weights);
* real vs noise: 2,500 images of uniform noise in [-1, 1].

FID, KID, inception score and precision/recall use the shipped `lenet-mnist`
features; SWD uses pixels (Laplacian-pyramid patches); MS-SSIM is over pairs of
candidate images. The table goes into benchmarks/RESULTS.md.

    python benchmarks/metrics_mnist5k.py [--steps 2000] [--samples 2500]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import child_env, update_section  # noqa: E402

WORK = HERE / "_work" / "metrics-mnist5k"
CONFIG = {
    "plugin": "gan",
    "algorithm": {
        "name": "gan",
        "latent_dim": 64,
        "generator": {"name": "dcgan-generator", "base_channels": 32},
        "discriminator": {"name": "dcgan-discriminator", "base_channels": 32},
        "loss": {"name": "non-saturating"},
    },
    "data": {"name": "mnist5k", "split": "train"},
    "train": {"batch_size": 64, "ema_decay": 0.999, "log_every": 100, "sample_every": 500, "checkpoint_every": 1000,
              "progress": False, "tensorboard": False},
}  # fmt: skip
REFERENCE = {"name": "mnist5k", "split": "all"}
COLUMNS = [
    ("FID", "fid/fid", "{:.2f}"),
    ("KID (± std)", "kid/kid", "{:.2f}"),
    ("SWD ×10³", "swd/avg", "{:.1f}"),
    ("precision", "precision-recall/precision", "{:.3f}"),
    ("recall", "precision-recall/recall", "{:.3f}"),
    ("density", "precision-recall/density", "{:.3f}"),
    ("coverage", "precision-recall/coverage", "{:.3f}"),
    ("IS", "inception-score/inception_score", "{:.2f}"),
    ("MS-SSIM", "ms-ssim/ms_ssim", "{:.3f}"),
]


def train(steps: int) -> float:
    config = WORK / "dcgan-mnist5k.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(CONFIG))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gancore.cli", "run", str(config), "--steps", str(steps), "--output", str(WORK / "run"), "--overwrite"],
        env=child_env(), check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    (WORK / "train.json").write_text(json.dumps({"steps": steps, "seconds": seconds}))
    return seconds


def metric_refs(n: int):
    from gancore.registry import MetricRef

    lenet = {"features": "lenet-mnist", "reference": REFERENCE, "num_samples": n, "num_real": n}
    return [
        MetricRef(name="fid", **lenet),
        MetricRef(name="kid", **lenet, subsets=100, subset_size=1000),
        MetricRef(name="swd", reference=REFERENCE, num_samples=n),
        MetricRef(name="precision-recall", **lenet),
        MetricRef(name="inception-score", features="lenet-mnist", num_samples=n),
        MetricRef(name="ms-ssim", reference=REFERENCE, num_samples=n),
    ]


def evaluate_all(n: int) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    import torch

    from gancore.metrics import EvalContext
    from scoring import dataset, load_run, score_run, score_samples

    torch.set_num_threads(1)
    seconds = {}

    # The candidates other than the GAN replay fixed tensors through EvalContext's sample(n, seed).
    everything = dataset(REFERENCE)
    ctx_seed = EvalContext(None, everything).seed
    order = torch.randperm(len(everything), generator=torch.Generator().manual_seed(ctx_seed))
    half_b = everything.tensors["x"][order[n : 2 * n]]  # the reference is order[:n], drawn by the metrics
    replay = lambda x: (lambda k, seed: x[seed - ctx_seed : seed - ctx_seed + k])  # noqa: E731
    noise = lambda k, seed: torch.rand(k, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1  # noqa: E731

    rows = {}
    for label, sample in [("real vs real (half B vs half A)", replay(half_b)), ("real vs noise (uniform in [-1, 1])", noise)]:
        start = time.perf_counter()
        rows[label] = score_samples(sample, everything, metric_refs(n), seed=ctx_seed)
        seconds[label] = time.perf_counter() - start
    start = time.perf_counter()
    run = load_run(WORK / "run")
    rows["DCGAN (EMA generator)"], step = score_run(run, metric_refs(n)), run.step
    seconds["DCGAN (EMA generator)"] = time.perf_counter() - start
    order_rows = ["real vs real (half B vs half A)", "DCGAN (EMA generator)", "real vs noise (uniform in [-1, 1])"]
    return {k: rows[k] for k in order_rows}, {**seconds, "step": step}


def table(rows: dict[str, dict[str, float]]) -> str:
    head = "| candidate vs half A | " + " | ".join(c for c, _, _ in COLUMNS) + " |"
    rule = "| --- |" + " --- |" * len(COLUMNS)
    lines = [head, rule]
    for label, values in rows.items():
        cells = []
        for _, key, fmt in COLUMNS:
            cell = fmt.format(values[key])
            cells.append(f"{cell} ± {values['kid/kid_std']:.2f}" if key == "kid/kid" else cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=2500, help="images per set (at most 2,500: two halves of 5,000)")
    parser.add_argument("--skip-training", action="store_true", help="score the run already in benchmarks/_work")
    args = parser.parse_args()
    if args.skip_training:
        trained = json.loads((WORK / "train.json").read_text())
        args.steps, train_seconds = trained["steps"], trained["seconds"]
    else:
        train_seconds = train(args.steps)
    rows, seconds = evaluate_all(args.samples)
    for label, values in rows.items():
        print(label, json.dumps(values), flush=True)
    real_ms_ssim = rows["DCGAN (EMA generator)"]["ms-ssim/real_ms_ssim"]
    trained = f"{args.steps} steps in {train_seconds / 60:.1f} min"
    n = args.samples
    body = f"""A DCGAN (builtin `gan` family: generator and discriminator with 32 base channels, latent 64,
non-saturating loss, Adam 2e-4 (0.5, 0.999), batch 64, EMA 0.999) trained with `gan run` on the 4,000-image
train split of mnist5k for {trained} (one thread). Every row compares {n:,} candidate images with the
same {n:,} real images, half A of a fixed shuffle of all 5,000 mnist5k digits; half B is the other {n:,}.
The DCGAN row is its newest checkpoint with EMA weights (step {seconds['step']}).

FID, KID, IS and precision/recall (k = 3; density and coverage k = 5) use the shipped `lenet-mnist` features
(test accuracy 99.1%, `gancore/metrics/weights/lenet-mnist.json`); KID is torchmetrics' cubic-kernel MMD, mean ± std
over 100 subsets of 1,000 (the LeNet features are large, hence its scale). SWD is the Progressive-GAN protocol (7×7 patches, 128 per image, 512 directions)
×10³; at 28×28 the pyramid has one level (the paper stops at 16). IS is over the LeNet's 10 classes (at most 10).
MS-SSIM is the mean over {n // 2:,} pairs of candidate images (lower is more diverse; real digits: {real_ms_ssim:.3f}).
Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.
Command: `python benchmarks/metrics_mnist5k.py --steps {args.steps} --samples {n}`.

{table(rows)}

Evaluation time: {", ".join(f"{k.split(' (')[0]} {v:.0f} s" for k, v in seconds.items() if k != "step")}."""
    update_section("Metrics: DCGAN on mnist5k", body)


if __name__ == "__main__":
    main()
