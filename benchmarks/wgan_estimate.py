"""WGAN's Wasserstein estimate falls as its samples improve: the plot of Arjovsky et al.'s figure 3.

Trains ``plugins/gan-wgan/examples/wgan-clip-digits.yaml`` (weight clipping,
RMSProp 5e-5, the reference critic schedule, DCGAN networks, the 8x8 digits)
and, every ``--eval-every`` steps, measures how far the samples are from the
real digits with FID on the features of the LeNet digit classifier that ships
with gancore (``features: lenet-digits``; 2,000 generated digits against the
1,797 real ones; lower is better). The estimate the critic logs at every
step (mean critic score on real digits minus on generated ones) is plotted
above it, and both go into benchmarks/RESULTS.md.

    python benchmarks/wgan_estimate.py [--steps 5000] [--eval-every 250]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "plugins" / "gan-wgan" / "examples" / "wgan-clip-digits.yaml"
PLOT = HERE / "wgan-estimate.png"
RUN = HERE / "_work" / "wgan-estimate"
sys.path.insert(0, str(HERE))
from results import child_env, read_metrics, update_section  # noqa: E402

TITLE = "WGAN (weight clipping): the Wasserstein estimate against sample quality"
SAMPLES = 2000


# ------------------------------------------------------- the training process


def train(steps: int, eval_every: int) -> None:
    metric = f"{{name: fid, features: lenet-digits, num_samples: {SAMPLES}}}"
    sets = [f"train.steps={steps}", f"train.eval_every={eval_every}", f"eval.metrics=[{metric}]",
            "train.progress=false", "train.tensorboard=false"]
    cmd = [sys.executable, "-m", "gancore.cli", "run", str(EXAMPLE), "--output", str(RUN), "--overwrite", *[x for s in sets for x in ("--set", s)]]
    subprocess.run(cmd, env=child_env(), check=True)


# ------------------------------------------------------------- plot and table


def read_run() -> tuple[list[dict], list[dict]]:
    records = read_metrics(RUN)
    losses = [r for r in records if "wasserstein" in r]
    quality = [r for r in records if "fid/fid" in r]
    return losses, quality


def window_mean(losses: list[dict], start: int, stop: int) -> float:
    """Mean logged estimate over steps (start, stop]: what the critic said around an evaluation."""
    values = [r["wasserstein"] for r in losses if start < r["step"] <= stop]
    return sum(values) / len(values)


def spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def plot(losses: list[dict], quality: list[dict], eval_every: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    grids = sorted((RUN / "samples").glob("step-*.png"))
    picks = [grids[0], grids[len(grids) // 2], grids[-1]] if len(grids) >= 3 else grids
    fig = plt.figure(figsize=(10, 8.2), dpi=110)
    spec = fig.add_gridspec(3, 3, height_ratios=[1.2, 1.0, 1.1])
    top = fig.add_subplot(spec[0, :])
    steps = [r["step"] for r in losses]
    raw = [r["wasserstein"] for r in losses]
    smooth = [window_mean(losses, s - eval_every, s) for s in steps]
    top.plot(steps, raw, color="tab:blue", alpha=0.3, lw=0.8, label="logged every 50 steps")
    top.plot(steps, smooth, color="tab:blue", lw=2, label=f"mean over {eval_every} steps")
    top.set_yscale("log")
    top.set_ylabel("Wasserstein estimate\nE[D(x)] − E[D(G(z))] (log scale)")
    top.set_title("WGAN (weight clipping) on the 8x8 digits: the critic's estimate and sample quality")
    top.legend(loc="upper right", fontsize=8)
    middle = fig.add_subplot(spec[1, :], sharex=top)
    middle.plot([r["step"] for r in quality], [r["fid/fid"] for r in quality], "o-", color="tab:red", ms=3)
    middle.set_yscale("log")
    middle.set_ylabel("FID to real digits\n(LeNet features; lower is better)")
    middle.set_xlabel("generator step")
    for i, path in enumerate(picks):
        ax = fig.add_subplot(spec[2, i])
        tile = 33  # the trainer's grids: 8x8 digits shown 4x, 1 px apart; show the first 4x4 of them
        ax.imshow(Image.open(path).crop((0, 0, 4 * tile + 1, 4 * tile + 1)), cmap="gray", interpolation="nearest")
        ax.set_title(f"samples at step {int(path.stem.split('-')[1])}", fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(PLOT)
    plt.close(fig)


def report(losses: list[dict], quality: list[dict], eval_every: int, steps: int) -> str:
    rows, estimates, fids = [], [], []
    for r in quality:
        estimate = window_mean(losses, r["step"] - eval_every, r["step"])
        estimates.append(estimate)
        fids.append(r["fid/fid"])
    shown = [i for i, r in enumerate(quality) if r["step"] % max(eval_every, steps // 10) == 0]
    for i in shown:
        rows.append(f"| {quality[i]['step']} | {estimates[i]:.4f} | {fids[i]:.2f} |")
    rho = spearman(estimates, fids)
    return "\n".join([
        f"`{EXAMPLE.relative_to(ROOT)}` for {steps} generator steps (one seed, one thread). Every {eval_every} steps,",
        f"FID between {SAMPLES} generated digits and the 1,797 real ones on the features of gancore's LeNet digit",
        "classifier (`features: lenet-digits`; lower is better), next to the Wasserstein estimate the critic logs (mean critic score on real",
        f"minus on generated digits), averaged over the {eval_every} steps before each evaluation.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores. Command: `python benchmarks/wgan_estimate.py --steps {steps} --eval-every {eval_every}`.",
        "",
        "| step | Wasserstein estimate | FID (lenet-digits) |",
        "| --- | --- | --- |",
        *rows,
        "",
        f"Spearman rank correlation between the estimate and FID over all {len(quality)} evaluations: **{rho:.2f}**",
        "(1 would mean they fall together exactly). Plot: `benchmarks/wgan-estimate.png`.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--no-train", action="store_true", help="plot and tabulate the existing run again")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    if not args.no_train:
        train(args.steps, args.eval_every)
    losses, quality = read_run()
    plot(losses, quality, args.eval_every)
    body = report(losses, quality, args.eval_every, args.steps)
    print(body)
    if not args.no_write:
        update_section(TITLE, body)


if __name__ == "__main__":
    main()
