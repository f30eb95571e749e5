"""Framework overhead: `gan run` DCGAN on digits against a plain PyTorch loop.

Both train the same networks (gancore's DCGAN generator and discriminator), on
the same in-memory digits, with the same batch size, Adam settings and
non-saturating loss. They run alternately, in fresh processes, each with `auto`
threads (the plain loop runs gancore.threads' same trial on its first steps),
and each reports steps/s after a warm-up. The ratio (gancore / plain) goes into
benchmarks/RESULTS.md.

    python benchmarks/overhead.py [--steps 2000] [--repeats 3]
    python benchmarks/overhead.py --profile [--steps 500]    # cProfile of `gan run`'s steps, by module
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import read_metrics, update_section  # noqa: E402

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
    # No EMA: the gan family's defaults keep one (an update of every generator weight per step); the plain loop has none.
    "train": {"batch_size": 64, "log_every": 100, "sample_every": 1000, "checkpoint_every": 1000, "progress": False, "tensorboard": False,
              "ema_decay": None},
}

PLAIN_LOOP = r'''
import sys, time, torch, torch.nn.functional as F
from sklearn.datasets import load_digits
from gancore.nn.dcgan import DCGANGenerator, DCGANGeneratorConfig, DCGANDiscriminator, DCGANDiscriminatorConfig
from gancore.threads import ThreadTrial, available_cores
steps, warmup = int(sys.argv[1]), int(sys.argv[2])
trial = ThreadTrial() if available_cores() > 1 else None  # auto threads, as gan run's default
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
    if trial is not None:
        trial.next_threads(); began = time.perf_counter()
    if pos + 64 > len(x):
        order, pos = torch.randperm(len(x)), 0
    real = x[order[pos:pos + 64]]; pos += 64
    with torch.no_grad():
        fake = G(torch.randn(64, 64))
    loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
    opt_d.zero_grad(set_to_none=True); loss_d.backward(); opt_d.step()
    loss_g = F.softplus(-D(G(torch.randn(64, 64)))).mean()
    opt_g.zero_grad(set_to_none=True); loss_g.backward(); opt_g.step()
    if trial is not None and trial.record(time.perf_counter() - began):
        print(trial.result.message(), file=sys.stderr)
        trial = trial if not trial.finished else None
print((steps - warmup) / (time.perf_counter() - start))
'''


def auto_env() -> dict[str, str]:
    """The environment with no thread variables: train.threads auto decides, on both sides."""
    return {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def chosen(stderr: str) -> str:
    found = re.search(r"auto chose (\d+)", stderr)
    return found.group(1) if found else "1, too short for a trial"


def run_plain(steps: int) -> tuple[float, str]:
    out = subprocess.run([sys.executable, "-c", PLAIN_LOOP, str(steps), str(WARMUP)], env=auto_env(), capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1]), chosen(out.stderr)


def run_gancore(steps: int, work: Path) -> tuple[float, str]:
    config = work / "overhead.yaml"
    config.write_text(json.dumps(CONFIG))
    run_dir = work / "run"
    out = subprocess.run(
        [sys.executable, "-m", "gancore.cli", "run", str(config), "--steps", str(steps), "--output", str(run_dir), "--overwrite"],
        env=auto_env(), capture_output=True, text=True, check=True,
    )
    # steps/s over every logged interval after the warm-up (it includes sampling and checkpoints).
    records = [r for r in read_metrics(run_dir) if "steps_per_second" in r and r["step"] > WARMUP]
    intervals = [(r["step"] - prev["step"], r["steps_per_second"]) for prev, r in zip([{"step": WARMUP}] + records, records)]
    return sum(n for n, _ in intervals) / sum(n / sps for n, sps in intervals), chosen(out.stderr)


PROFILE_CHILD = r'''
import cProfile, sys
from gancore import trainer
profiler, out = cProfile.Profile(), sys.argv[1]
loop = trainer.Trainer._loop
def profiled(self):
    profiler.enable()
    try:
        return loop(self)
    finally:
        profiler.disable()
        profiler.dump_stats(out)
trainer.Trainer._loop = profiled
# Only the steps: the run's final checkpoint and sample grid are left out.
trainer.Trainer.save_checkpoint = lambda self: None
trainer.Trainer.write_samples = lambda self: None
from gancore.cli import main
sys.argv = ["gan", *sys.argv[2:]]
main()
'''

# Where the loop's own time goes, by the file of each function (torch's C functions have none: "~").
GROUPS = (("importlib, inspect (Accelerate's per-call checks)", ("importlib", "inspect.py", "<frozen")),
          ("accelerate", ("/accelerate/",)), ("pluggy", ("/pluggy/",)), ("tqdm", ("/tqdm/",)),
          ("gancore: trainer, data, algorithm contract", ("/gancore/trainer.py", "/gancore/data", "/gancore/algorithm.py", "/gancore/plugins.py", "/gancore/threads.py")),
          ("gancore: networks, losses (the family's work)", ("/gancore/",)),
          ("torch (Python: modules, optimizers, autograd)", ("/torch/",)))


def profile(steps: int, work: Path, gancore_path: str | None = None) -> tuple[float, dict[str, float], dict[str, tuple[float, float]]]:
    """cProfile of the loop of `gan run` for ``steps`` steps (one thread): seconds per step in all, per group of
    ``GROUPS``, and (calls, cumulative seconds) per step of the framework's functions. ``gancore_path``: a
    folder holding another gancore (e.g. an older commit's, from git archive) to profile instead."""
    import pstats

    config = work / "profile.yaml"
    config.write_text(json.dumps({**CONFIG, "train": {**CONFIG["train"], "threads": 1, "sample_every": 0, "checkpoint_every": 0}}))
    out = work / "profile.prof"
    out.unlink(missing_ok=True)
    env = {**auto_env(), **({"PYTHONPATH": gancore_path} if gancore_path else {})}
    subprocess.run([sys.executable, "-c", PROFILE_CHILD, str(out), "run", str(config), "--steps", str(steps),
                    "--output", str(work / "profile-run"), "--overwrite"], env=env, capture_output=True, text=True, check=True, cwd=work)
    stats = pstats.Stats(str(out)).stats  # (file, line, name) -> (calls, primitive calls, tottime, cumtime, callers)
    total = sum(v[2] for v in stats.values())
    per_group: dict[str, float] = {}
    for (path, _, name), (_, _, tottime, _, _) in stats.items():
        group = next((g for g, needles in GROUPS if any(n in path for n in needles)), "torch C operators and other built-ins")
        per_group[group] = per_group.get(group, 0.0) + tottime / steps
    framework = ("/accelerate/", "/gancore/trainer.py", "/gancore/algorithm.py", "/pluggy/", "/gancore/plugins.py", "inspect.py", "importlib")
    functions = {f"{path.rsplit('/', 1)[-1]}:{name}": (v[0] / steps, v[3] / steps) for (path, _, name), v in stats.items()
                 if any(n in path for n in framework) and name not in ("_loop", "<module>")}
    return total / steps, per_group, functions


def profile_section(steps: int, work: Path, baseline: str | None) -> str:
    runs = {"now": profile(steps, work)}
    if baseline:
        runs = {"before": profile(steps, work, baseline), **runs}
    names = list(runs)
    groups = sorted({g for _, per_group, _ in runs.values() for g in per_group}, key=lambda g: -runs["now"][1].get(g, 0.0))
    lines = ["| where the loop's own time goes (ms per step) | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    lines += [f"| {g} | " + " | ".join(f"{1000 * runs[n][1].get(g, 0.0):.3f}" for n in names) + " |" for g in groups]
    lines += ["| **all of the loop** | " + " | ".join(f"**{1000 * runs[n][0]:.2f}**" for n in names) + " |"]
    heaviest = sorted({f for _, _, functions in runs.values() for f in functions},
                      key=lambda f: -max(runs[n][2].get(f, (0, 0))[1] for n in names))[:12]
    lines += ["", "| framework function | " + " | ".join(f"{n}: calls, cumulative ms per step" for n in names) + " |", "| --- |" + " --- |" * len(names)]
    for f in heaviest:
        cells = [runs[n][2].get(f) for n in names]
        lines.append(f"| `{f}` | " + " | ".join("not called" if c is None else f"{c[0]:.1f}, {1000 * c[1]:.3f}" for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile --steps steps of the loop instead (cProfile)")
    parser.add_argument("--baseline", help="with --profile: a folder with an older gancore to profile beside this one")
    args = parser.parse_args()
    if args.profile:
        work = HERE / "_work" / "cpu" / "profile"
        work.mkdir(parents=True, exist_ok=True)
        table = profile_section(args.steps, work, args.baseline)
        body = f"""cProfile of `gan run`'s loop (`Trainer._loop`, without the run's final checkpoint and grid) for {args.steps} steps
of the overhead benchmark's DCGAN at one thread; own time of every function, grouped by where it lives. The
profiler inflates each Python call, so the Python rows read large next to the real step; they are what the
trainer adds. **before** is gancore at commit 11985f6 (`git archive 11985f6 gancore | tar -x -C BASE`), **now**
is this tree. Command: `python benchmarks/overhead.py --profile --steps {args.steps}{' --baseline BASE' if args.baseline else ''}`.

{table}

What it showed: Accelerate's optimizer wrapper looked for an optional package (`is_lomo_available`, an
`importlib.util.find_spec` over sys.path) twice per `step`, and its `zero_grad` ran `inspect.signature` per
call; `Accelerator.backward` divided each loss by 1 (one more autograd node). `ctx.update` now calls the torch
optimizer and `loss.backward()` itself when the wrapper would add nothing (no fp16 scaler, DeepSpeed, Megatron,
XLA or accumulation). The trainer's own per-step work (summing logged values as tensors at every step, a lifecycle
hook call that no plugin implemented, the channels-last and cadence checks) was small next to that; it now keeps
the logged tensors in a list and sums them once per record, and skips hooks with no implementation."""
        update_section("Framework overhead: where the loop's time goes (cProfile)", body)
        print(body)
        return
    plain, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            load = os.getloadavg()[0]
            # Odd repeats run gancore first: a load that rises or falls through the run favours neither side.
            if i % 2:
                ours.append(run_gancore(args.steps, Path(tmp)))
                plain.append((*run_plain(args.steps), load))
            else:
                plain.append((*run_plain(args.steps), load))
                ours.append(run_gancore(args.steps, Path(tmp)))
            print(f"repeat {i}: plain {plain[-1][0]:.1f} steps/s ({plain[-1][1]} threads), gancore {ours[-1][0]:.1f} steps/s ({ours[-1][1]})", flush=True)
    # Each repeat ran the two side by side, so its ratio cancels the machine's load at that time.
    ratio = statistics.median(o[0] / p[0] for o, p in zip(ours, plain))
    rows = "\n".join(f"| {i} | {p[0]:.1f} ({p[1]}) | {o[0]:.1f} ({o[1]}) | {o[0] / p[0]:.3f} | {p[2]:.1f} |" for i, (p, o) in enumerate(zip(plain, ours)))
    body = f"""DCGAN (base 64 channels, latent 64) on the 1,797 digits, batch 64, Adam 2e-4 (0.5, 0.999), non-saturating loss.
`gan run` (sampling every 1,000 steps, checkpoints every 1,000, logging every 100, no EMA) against a plain PyTorch loop
with the same networks, optimizers and in-memory data; {args.steps} steps each, steps/s measured after a
{WARMUP}-step warm-up, `auto` threads on both sides (the plain loop runs `gancore.threads`' trial too; the thread
count each chose is in brackets), run one after the other, plain first in even repeats and gancore first in odd ones. Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()};
the machine is shared, so the 1-minute load average at each repeat is shown.
Command: `python benchmarks/overhead.py --steps {args.steps} --repeats {args.repeats}`.

| repeat | plain loop steps/s (threads) | gancore steps/s (threads) | ratio | load |
| --- | --- | --- | --- | --- |
{rows}
| **median** | **{statistics.median(p[0] for p in plain):.1f}** | **{statistics.median(o[0] for o in ours):.1f}** | **{ratio:.3f}** (median of the ratios) | |

Target: ratio ≥ 0.97."""
    update_section("Framework overhead: gancore vs a plain loop", body)
    print(f"ratio {ratio:.3f}")


if __name__ == "__main__":
    main()
