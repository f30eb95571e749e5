"""Framework overhead: `gan run` DCGAN on digits against a plain PyTorch loop.

Both train the same networks (gancore's DCGAN generator and discriminator), on
the same in-memory digits, with the same batch size, Adam settings and
non-saturating loss. They run alternately, in fresh processes with one thread
each, and each reports steps/s after a warm-up. The ratio (gancore / plain)
goes into benchmarks/RESULTS.md.

    python benchmarks/overhead.py [--steps 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import child_env, read_metrics, update_section  # noqa: E402

WARMUP = 200
CONFIG = {
    "plugin": "gan",
    "algorithm": {
        "name": "gan",
        "latent_dim": 64,
        "generator": {"name": "dcgan-generator", "base_channels": 64},
        "discriminator": {"name": "dcgan-discriminator", "base_channels": 64},
        "loss": {"name": "non-saturating"},
        "lr_generator": 2e-4,
        "lr_discriminator": 2e-4,
        "betas": [0.5, 0.999],
    },
    "data": {"name": "digits"},
    "train": {"batch_size": 64, "log_every": 100, "sample_every": 1000, "checkpoint_every": 1000, "progress": False, "tensorboard": False},
}

PLAIN_LOOP = r'''
import sys, time, torch, torch.nn.functional as F
from sklearn.datasets import load_digits
from gancore.nn.dcgan import DCGANGenerator, DCGANGeneratorConfig, DCGANDiscriminator, DCGANDiscriminatorConfig
steps, warmup = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
x = torch.from_numpy(load_digits().images).float().div(16).mul(2).sub(1).unsqueeze(1)
G = DCGANGenerator(DCGANGeneratorConfig(base_channels=64), (1, 8, 8), 64)
D = DCGANDiscriminator(DCGANDiscriminatorConfig(base_channels=64), (1, 8, 8), 1)
opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
order, pos = torch.randperm(len(x)), 0
for step in range(steps):
    if step == warmup:
        start = time.perf_counter()
    if pos + 64 > len(x):
        order, pos = torch.randperm(len(x)), 0
    real = x[order[pos:pos + 64]]; pos += 64
    with torch.no_grad():
        fake = G(torch.randn(64, 64))
    loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
    opt_d.zero_grad(set_to_none=True); loss_d.backward(); opt_d.step()
    loss_g = F.softplus(-D(G(torch.randn(64, 64)))).mean()
    opt_g.zero_grad(set_to_none=True); loss_g.backward(); opt_g.step()
print((steps - warmup) / (time.perf_counter() - start))
'''


def run_plain(steps: int) -> float:
    out = subprocess.run([sys.executable, "-c", PLAIN_LOOP, str(steps), str(WARMUP)], env=child_env(), capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run_gancore(steps: int, work: Path) -> float:
    config = work / "overhead.yaml"
    config.write_text(json.dumps(CONFIG))
    run_dir = work / "run"
    subprocess.run(
        [sys.executable, "-m", "gancore.cli", "run", str(config), "--steps", str(steps), "--output", str(run_dir), "--overwrite"],
        env=child_env(), capture_output=True, text=True, check=True,
    )
    # steps/s over every logged interval after the warm-up (it includes sampling and checkpoints).
    records = [r for r in read_metrics(run_dir) if "steps_per_second" in r and r["step"] > WARMUP]
    intervals = [(r["step"] - prev["step"], r["steps_per_second"]) for prev, r in zip([{"step": WARMUP}] + records, records)]
    return sum(n for n, _ in intervals) / sum(n / sps for n, sps in intervals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    plain, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            plain.append(run_plain(args.steps))
            ours.append(run_gancore(args.steps, Path(tmp)))
            print(f"repeat {i}: plain {plain[-1]:.1f} steps/s, gancore {ours[-1]:.1f} steps/s", flush=True)
    # Each repeat ran the two side by side, so its ratio cancels the machine's load at that time.
    ratio = statistics.median(o / p for o, p in zip(ours, plain))
    rows = "\n".join(f"| {i} | {p:.1f} | {o:.1f} | {o / p:.3f} |" for i, (p, o) in enumerate(zip(plain, ours)))
    body = f"""DCGAN (base 64 channels, latent 64) on the 1,797 digits, batch 64, Adam 2e-4 (0.5, 0.999), non-saturating loss.
`gan run` (sampling every 1,000 steps, checkpoints every 1,000, logging every 100) against a plain PyTorch loop
with the same networks, optimizers and in-memory data; {args.steps} steps each, steps/s measured after a
{WARMUP}-step warm-up, one thread per process, run alternately. Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}.
Command: `python benchmarks/overhead.py --steps {args.steps} --repeats {args.repeats}`.

| repeat | plain loop steps/s | gancore steps/s | ratio |
| --- | --- | --- | --- |
{rows}
| **median** | **{statistics.median(plain):.1f}** | **{statistics.median(ours):.1f}** | **{ratio:.3f}** (median of the ratios) |

Target: ratio ≥ 0.90."""
    update_section("Framework overhead: gancore vs a plain loop", body)
    print(f"ratio {ratio:.3f}")


if __name__ == "__main__":
    main()
