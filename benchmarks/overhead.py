"""Framework overhead: `gan run` DCGAN on digits against a plain PyTorch loop.

Both train the same networks (gancore's DCGAN generator and discriminator), on
the same in-memory digits, with the same batch size, Adam settings and
non-saturating loss, at the thread count `auto` chose for the run. They run
interleaved in one process: `gan run` trains, and a hook runs a block of the
plain loop's steps after every block of its own, so that both sides see the
same process, threads and machine load at the same minute (separate processes
of one setting differ here by up to 30% in speed, which swamped a 3% effect).
Blocks during which auto was still trying thread counts are not counted. Each
repeat is a fresh process; the ratio (gancore / plain) goes into
benchmarks/RESULTS.md.

    python benchmarks/overhead.py [--steps 3000] [--repeats 3]
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
from results import update_section  # noqa: E402

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

BLOCK = 100  # steps per block of each side

# `gan run` in this process, with a hook that times its blocks of BLOCK steps and runs, after each, BLOCK steps
# of a plain PyTorch loop training its own copy of the networks. Prints one JSON line of totals at the end.
INTERLEAVED_CHILD = r"""
import json, sys, time, torch, torch.nn.functional as F
from sklearn.datasets import load_digits
from gancore import hookimpl, plugins
from gancore.nn.dcgan import DCGANGenerator, DCGANGeneratorConfig, DCGANDiscriminator, DCGANDiscriminatorConfig
warmup, block = int(sys.argv[1]), int(sys.argv[2])

class Plain:
    def __init__(self):
        self.rng = torch.Generator().manual_seed(0)  # its own stream: the run's RNG is left as it would be alone
        self.x = torch.from_numpy(load_digits().images).float().div(16).mul(2).sub(1).unsqueeze(1)
        with torch.random.fork_rng():  # the initial weights' draws too
            torch.manual_seed(0)
            self.G = DCGANGenerator(DCGANGeneratorConfig(base_channels=64), (1, 8, 8), 64)
            self.D = DCGANDiscriminator(DCGANDiscriminatorConfig(base_channels=64), (1, 8, 8), 1)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.order, self.pos = torch.randperm(len(self.x), generator=self.rng), 0

    def step(self):
        if self.pos + 64 > len(self.x):
            self.order, self.pos = torch.randperm(len(self.x), generator=self.rng), 0
        real = self.x[self.order[self.pos:self.pos + 64]]; self.pos += 64
        with torch.no_grad():
            fake = self.G(torch.randn(64, 64, generator=self.rng))
        loss_d = F.softplus(-self.D(real)).mean() + F.softplus(self.D(fake)).mean()
        self.opt_d.zero_grad(set_to_none=True); loss_d.backward(); self.opt_d.step()
        loss_g = F.softplus(-self.D(self.G(torch.randn(64, 64, generator=self.rng)))).mean()
        self.opt_g.zero_grad(set_to_none=True); loss_g.backward(); self.opt_g.step()

class Interleave:
    plain, since, threads_at_start = None, None, None
    totals = {"gancore_steps": 0, "gancore_seconds": 0.0, "plain_steps": 0, "plain_seconds": 0.0, "blocks": [], "skipped_blocks": 0}

    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        if step < warmup or step % block:
            return
        now_threads = torch.get_num_threads()
        if run.threads is None or now_threads != run.threads.threads or now_threads != self.threads_at_start:
            # auto is still (or again) trying thread counts: the block behind is not one setting; start afresh
            self.threads_at_start, self.since = now_threads, time.perf_counter()
            self.totals["skipped_blocks"] += 1
            return
        if self.plain is None:  # the plain side's first block is its warm-up
            self.plain = Plain()
            for _ in range(block):
                self.plain.step()
        elif self.since is not None:
            ours = time.perf_counter() - self.since
            began = time.perf_counter()
            for _ in range(block):
                self.plain.step()
            plain = time.perf_counter() - began
            for side, seconds in (("gancore", ours), ("plain", plain)):
                self.totals[f"{side}_steps"] += block
                self.totals[f"{side}_seconds"] += seconds
            self.totals["blocks"].append(plain / ours)
        self.threads_at_start, self.since = torch.get_num_threads(), time.perf_counter()

    @hookimpl
    def gan_train_end(self, run, step, status):
        print("INTERLEAVED", json.dumps({**self.totals, "threads": torch.get_num_threads()}), flush=True)

plugins.get_host().register_plugin(Interleave(), "interleave")
from gancore.cli import main
sys.argv = ["gan", *sys.argv[3:]]
main()
"""


def auto_env() -> dict[str, str]:
    """The environment with no thread variables: train.threads auto decides, on both sides."""
    return {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def run_interleaved(steps: int, work: Path) -> dict:
    """One process: `gan run` and the plain loop in alternating blocks; each side's totals and auto's choice."""
    config = work / "overhead.yaml"
    config.write_text(json.dumps(CONFIG))
    out = subprocess.run([sys.executable, "-c", INTERLEAVED_CHILD, str(WARMUP), str(BLOCK), "run", str(config), "--steps", str(steps),
                          "--output", str(work / "run"), "--overwrite"], env=auto_env(), capture_output=True, text=True, check=True)
    totals = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("INTERLEAVED "))[len("INTERLEAVED "):])
    found = re.search(r"auto chose (\d+)", out.stderr)
    totals["chose"] = found.group(1) if found else "1, too short for a trial"
    return totals


# `gan run` in this process with `gancore.trainer.fit` (the loop: the thread choice, the steps and what ends a run)
# under cProfile, and the run's final checkpoint and sample grid switched off (Run.save_checkpoint, Run.write_samples).
PROFILE_CHILD = r'''
import cProfile, sys
from gancore import trainer
from gancore.run import Run
profiler, out = cProfile.Profile(), sys.argv[1]
fit = trainer.fit
def profiled(run):
    profiler.enable()
    try:
        return fit(run)
    finally:
        profiler.disable()
        profiler.dump_stats(out)
trainer.fit = profiled  # the CLI imports fit from gancore.trainer when it runs
# Only the steps: the run's final checkpoint and sample grid are left out.
Run.save_checkpoint = lambda self: None
Run.write_samples = lambda self: None
from gancore.cli import main
sys.argv = ["gan", *sys.argv[2:]]
main()
'''

# Where the loop's own time goes, by the file of each function (torch's C functions have none: "~").
GROUPS = (("importlib, inspect (Accelerate's per-call checks)", ("importlib", "inspect.py", "<frozen")),
          ("accelerate", ("/accelerate/",)), ("pluggy", ("/pluggy/",)), ("tqdm", ("/tqdm/",)),
          ("gancore: trainer, data, algorithm contract", ("/gancore/trainer", "/gancore/run.py", "/gancore/train_context.py", "/gancore/accelerate_adapter.py",
                                                          "/gancore/data", "/gancore/algorithm.py", "/gancore/plugins.py", "/gancore/threads.py", "/gancore/builtin/threads.py")),
          ("gancore: networks, losses (the family's work)", ("/gancore/",)),
          ("torch (Python: modules, optimizers, autograd)", ("/torch/",)))


def profile(steps: int, work: Path, gancore_path: str | None = None) -> tuple[float, dict[str, float], dict[str, tuple[float, float]]]:
    """cProfile of the loop of `gan run` for ``steps`` steps (one thread): seconds per step in all, per group of
    ``GROUPS``, and (calls, cumulative seconds) per step of the framework's functions. ``gancore_path``: a
    folder holding another gancore (e.g. an older commit's, from git archive) to profile instead; it must have
    ``gancore.trainer.fit(run)`` (plugin API 3 or later: commit 103df93 and after)."""
    import pstats

    config = work / "profile.yaml"
    config.write_text(json.dumps({**CONFIG, "train": {**CONFIG["train"], "threads": 1, "sample_every": 0, "checkpoint_every": 0}}))
    out = work / "profile.prof"
    out.unlink(missing_ok=True)
    env = {**auto_env(), **({"PYTHONPATH": gancore_path} if gancore_path else {})}
    if gancore_path and not (Path(gancore_path) / "gancore" / "run.py").is_file():
        raise SystemExit(f"--baseline {gancore_path}: profiling needs a gancore with gancore.trainer.fit(run) (commit 103df93 or later); "
                         "profile an older one with the overhead.py of its own commit")
    subprocess.run([sys.executable, "-c", PROFILE_CHILD, str(out), "run", str(config), "--steps", str(steps),
                    "--output", str(work / "profile-run"), "--overwrite"], env=env, capture_output=True, text=True, check=True, cwd=work)
    stats = pstats.Stats(str(out)).stats  # (file, line, name) -> (calls, primitive calls, tottime, cumtime, callers)
    total = sum(v[2] for v in stats.values())
    per_group: dict[str, float] = {}
    for (path, _, name), (_, _, tottime, _, _) in stats.items():
        group = next((g for g, needles in GROUPS if any(n in path for n in needles)), "torch C operators and other built-ins")
        per_group[group] = per_group.get(group, 0.0) + tottime / steps
    framework = ("/accelerate/", "/gancore/trainer", "/gancore/run.py", "/gancore/train_context.py", "/gancore/accelerate_adapter.py", "/gancore/algorithm.py",
                 "/pluggy/", "/gancore/plugins.py", "inspect.py", "importlib")
    whole_loop = {("trainer.py", "fit"), ("trainer.py", "steps")}  # the loop itself, every step inside it
    functions = {f"{path.rsplit('/', 1)[-1]}:{name}": (v[0] / steps, v[3] / steps) for (path, _, name), v in stats.items()
                 if any(n in path for n in framework) and name != "<module>" and (path.rsplit("/", 1)[-1], name) not in whole_loop}
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
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile --steps steps of the loop instead (cProfile)")
    parser.add_argument("--baseline", help="with --profile: a folder with an older gancore to profile beside this one")
    args = parser.parse_args()
    if args.profile:
        work = HERE / "_work" / "cpu" / "profile"
        work.mkdir(parents=True, exist_ok=True)
        table = profile_section(args.steps, work, args.baseline)
        body = f"""cProfile of `gan run`'s loop (`gancore.trainer.fit`, without the run's final checkpoint and grid) for {args.steps} steps
of the overhead benchmark's DCGAN at one thread; own time of every function, grouped by where it lives. The
profiler inflates each Python call, so the Python rows read large next to the real step; they are what the
trainer adds. **before** (with `--baseline BASE`) is the gancore in BASE (`git archive COMMIT gancore | tar -x -C BASE`, a
commit with `gancore.trainer.fit`; the findings below compared commit 11985f6, profiled through its own loop method by that
commit's overhead.py), **now** is this tree. Command: `python benchmarks/overhead.py --profile --steps {args.steps}{' --baseline BASE' if args.baseline else ''}`.

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
    if args.steps < WARMUP + 3 * BLOCK:
        parser.error(f"--steps must be at least {WARMUP + 3 * BLOCK}: {WARMUP} warm-up steps, then a warm-up block and timed blocks of {BLOCK}")
    repeats = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            load = os.getloadavg()[0]
            totals = run_interleaved(args.steps, Path(tmp))
            plain = totals["plain_steps"] / totals["plain_seconds"]
            ours = totals["gancore_steps"] / totals["gancore_seconds"]
            repeats.append({**totals, "plain": plain, "ours": ours, "ratio": ours / plain, "load": load,
                            "block_median": statistics.median(totals["blocks"])})
            print(f"repeat {i}: plain {plain:.1f} steps/s, gancore {ours:.1f} steps/s, ratio {ours / plain:.3f} "
                  f"(median over blocks {repeats[-1]['block_median']:.3f}), {totals['threads']} threads", flush=True)
    ratio = statistics.median(r["ratio"] for r in repeats)
    rows = "\n".join(f"| {i} | {r['threads']} ({r['chose']}) | {r['plain']:.1f} | {r['ours']:.1f} | {r['ratio']:.3f} | "
                     f"{r['block_median']:.3f} ({min(r['blocks']):.2f}–{max(r['blocks']):.2f}) | {len(r['blocks'])} ({r['skipped_blocks']}) | {r['load']:.1f} |" for i, r in enumerate(repeats))
    body = f"""DCGAN (base 64 channels, latent 64) on the 1,797 digits, batch 64, Adam 2e-4 (0.5, 0.999), non-saturating loss.
`gan run` (sampling every 1,000 steps, checkpoints every 1,000, logging every 100, no EMA) against a plain PyTorch loop
with the same networks, optimizers and in-memory data, **interleaved in one process**: after a {WARMUP}-step warm-up,
every block of {BLOCK} `gan run` steps is followed by {BLOCK} steps of the plain loop (run by a `gan_train_step_end`
hook; its first block is its own warm-up), at the thread count `auto` chose for the run (in brackets what it
said); a block during which auto was still trying thread counts is not counted. Both sides thus share the process, the threads and the minute's load: separate processes of the same setting
differ here by up to 30% in speed, which is what made the earlier protocol (one process per side) read anywhere
from 0.71 to 1.28. A repeat is a fresh process of {args.steps} `gan run` steps; its ratio is gancore's steps/s over
the plain loop's, from the totals of its blocks (the periodic samples and checkpoints fall in gancore's blocks), and
the median ratio over its blocks with their range is beside it. Machine: {platform.machine()}, {os.cpu_count()} cores,
Python {platform.python_version()}; the 1-minute load average at the start of each repeat is shown.
Command: `python benchmarks/overhead.py --steps {args.steps} --repeats {args.repeats}`.

| repeat | threads | plain loop steps/s | gancore steps/s | ratio | median over blocks (range) | timed blocks (not counted) | load |
| --- | --- | --- | --- | --- | --- | --- | --- |
{rows}
| **median** | | **{statistics.median(r['plain'] for r in repeats):.1f}** | **{statistics.median(r['ours'] for r in repeats):.1f}** | **{ratio:.3f}** (median of the repeats' ratios) | | | |

Target: ratio ≥ 0.97."""
    update_section("Framework overhead: gancore vs a plain loop", body)
    print(f"ratio {ratio:.3f}")

if __name__ == "__main__":
    main()
