"""What an E-GAN iteration costs: children scored one by one or in one vmapped pass, and a whole
E-GAN iteration against one step of the builtin ``gan`` with the same networks, side by side.

For each case (``egan-ring.yaml``: MLPs on points; ``egan-mnist5k.yaml``: DCGAN networks on
28x28 images; ``authors-toy``: ``egan-grid.yaml`` at the sizes of the authors' toy script, below) three
runs are set up in this one process (one thread), nothing trained (``fresh_run`` of benchmarks/scoring.py):

* ``egan`` with ``scoring: loop`` and with ``scoring: vmap``;
* the builtin ``gan`` (non-saturating loss) with the same networks, optimizers, batch size and
  ``d_steps``.

After a warm-up, ``--repeats`` rounds each time ``--steps`` consecutive steps of every run in
turn (so the machine's load hits all alike); CPU seconds of this process (``time.process_time``)
per step, medians over rounds. The scoring alone is timed the same way, on the same children.
For ``authors-toy`` the report also projects the CPU hours of the authors' toy protocol (100,000
iterations per run) for the mode-coverage comparison of the issue (E-GAN and three single losses, five
seeds, ring and grid). The section "E-GAN: cost per iteration" of benchmarks/RESULTS.md is rewritten.

    python benchmarks/egan_cost.py                      # all three cases, writes RESULTS.md
    python benchmarks/egan_cost.py --quick --no-write   # a smoke test
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = ROOT / "plugins" / "gan-evolutionary" / "examples"
sys.path.insert(0, str(HERE))
from results import RESULTS, update_section  # noqa: E402

TITLE = "E-GAN: cost per iteration"
# The sizes of the authors' toy scripts (Theano, toys/train_toy_8G.py and train_toy_25G.py): 3 hidden layers of
# 512 units in both networks, a 2-d latent, batch 64, Adam 1e-4; 256 samples per child for the fitness (ntf) as
# the examples; 100,000 iterations (N_up) per run. Their discriminator's batch norm and uniform latent cost
# next to nothing and are left out.
AUTHORS_TOY = ["algorithm.generator.hidden_dim=512", "algorithm.discriminator.hidden_dim=512", "algorithm.latent_dim=2",
               "train.batch_size=64", "algorithm.lr_generator=1e-4", "algorithm.lr_discriminator=1e-4"]
AUTHORS_TOY_ITERATIONS = 100_000
CASES = {"egan-ring.yaml": ("egan-ring.yaml", []), "egan-mnist5k.yaml": ("egan-mnist5k.yaml", []),
         "authors-toy": ("egan-grid.yaml", AUTHORS_TOY)}
QUIET = ["train.progress=false", "train.tensorboard=false", "train.sample_every=0", "train.checkpoint_every=0", "train.eval_every=0"]


def run_for(example: Path, overrides: list[str], run_dir: Path, baseline: bool = False):
    """The example's run (or, with ``baseline``, the builtin gan with its networks) with ``overrides``, nothing trained."""
    import yaml

    from scoring import fresh_run

    raw = yaml.safe_load(example.read_text())
    if baseline:
        raw = {**raw, **baseline_of(raw)}
    return fresh_run(raw, run_dir, [*QUIET, *overrides])


def baseline_of(raw: dict) -> dict:
    """The builtin gan with the example's networks, learning rates, betas and d_steps."""
    algorithm = raw["algorithm"]
    keep = {k: algorithm[k] for k in ("latent_dim", "generator", "discriminator", "lr_generator", "lr_discriminator", "betas", "d_steps") if k in algorithm}
    return {"plugin": "gan", "algorithm": {"name": "gan", "loss": {"name": "non-saturating"}, **keep}}


class Timed:
    """One run, stepped by hand, and the CPU seconds of each round of steps."""

    def __init__(self, run) -> None:
        self.gan_run, self.step, self.rounds, self.scoring_rounds = run, 0, [], []

    def run(self, steps: int) -> None:
        start = time.process_time()
        for _ in range(steps):
            self.step += 1
            self.gan_run.algorithm.train_step(self.gan_run.next_batch(), self.step)
        self.rounds.append((time.process_time() - start) / steps)

    def time_scoring(self, children, z, real, steps: int) -> None:
        start = time.process_time()
        for _ in range(steps):
            self.score(children, z, real)
        self.scoring_rounds.append((time.process_time() - start) / steps)

    def score(self, children, z, real):
        """The run's scorer on given children, latents and real batch."""
        algorithm = self.gan_run.algorithm
        unwrap = algorithm.ctx.unwrap
        states = [c.generator for c in children]
        return algorithm.scorer(unwrap(algorithm.generator), unwrap(algorithm.discriminator), states, z, real, algorithm.discriminator_objective)


def children_of(algorithm) -> list:
    """One generation of children, made from the current parents (the state is put back after)."""
    cfg = algorithm.config
    z = algorithm.noise(algorithm.ctx.train.batch_size, cfg.latent_dim)
    children = [algorithm.make_child(p, m, z) for p in range(cfg.parents) for m in range(len(algorithm.mutations))]
    algorithm.ctx.restore(algorithm.generator, algorithm.parents[0]["generator"])
    algorithm.ctx.restore(algorithm.opt_g, algorithm.parents[0]["optimizer"])
    return children


def measure(example: Path, steps: int, repeats: int, warmup: int, overrides: list[str]) -> dict:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        timed = {
            "loop": Timed(run_for(example, ["algorithm.scoring=loop", *overrides], Path(tmp) / "loop")),
            "vmap": Timed(run_for(example, ["algorithm.scoring=vmap", *overrides], Path(tmp) / "vmap")),
            "gan": Timed(run_for(example, overrides, Path(tmp) / "gan", baseline=True)),
        }
        for t in timed.values():
            t.run(warmup)
            t.rounds.clear()
        algorithm = timed["loop"].gan_run.algorithm
        children = children_of(algorithm)
        z = algorithm.noise(algorithm.config.eval_size, algorithm.config.latent_dim)
        real = algorithm.ctx.next_batch(size=algorithm.config.eval_size)["x"]
        for _ in range(repeats):
            for t in timed.values():
                t.run(steps)
            for name in ("loop", "vmap"):
                timed[name].time_scoring(children, z, real, steps)
        # The same children, latents and real batch scored both ways (with the loop run's
        # discriminator) give the same fitness, up to float rounding.
        timed["vmap"].gan_run.algorithm.discriminator = algorithm.discriminator
        loop_scores = torch.stack(timed["loop"].score(children, z, real))
        vmap_scores = torch.stack(timed["vmap"].score(children, z, real))
        config = timed["loop"].gan_run.config
    med = {name: statistics.median(t.rounds) for name, t in timed.items()}
    scoring = {name: statistics.median(timed[name].scoring_rounds) for name in ("loop", "vmap")}
    return {
        "step": med, "scoring": scoring, "children": len(children), "batch": config.train.batch_size,
        "eval_size": config.algorithm.eval_size, "d_steps": config.algorithm.d_steps,
        "agree": float((loop_scores - vmap_scores).abs().max()),
    }


def report(results: dict[str, dict], command: str, steps: int, repeats: int) -> str:
    import platform

    lines = [
        "One E-GAN iteration (d_steps discriminator updates, one child per mutation, their fitness, selection) against one",
        "step of the builtin `gan` (d_steps discriminator updates and one generator update) with the same networks, optimizers,",
        f"batch size and d_steps; and the scoring of one generation of children alone, child by child (`loop`) or in one",
        f"`torch.func.vmap` pass over their stacked parameters (`vmap`). CPU seconds of one process with one thread;",
        f"{repeats} rounds of {steps} steps of each run in turn, medians. Machine: {platform.machine()}, {os.cpu_count()} cores,",
        f"Python {platform.python_version()}, torch {torch.__version__}; load average at the end: "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + ".",
        f"Command: `{command}`.",
        "",
        "| example | children | batch / eval | d_steps | scoring loop ms | scoring vmap ms | vmap speed-up | E-GAN iteration ms (loop) | (vmap) | `gan` step ms | E-GAN / `gan` |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        s, c = r["step"], r["scoring"]
        best = min(s["loop"], s["vmap"])
        lines.append(
            f"| `{name}` | {r['children']} | {r['batch']} / {r['eval_size']} | {r['d_steps']} | {1e3 * c['loop']:.1f} | {1e3 * c['vmap']:.1f} | "
            f"{c['loop'] / c['vmap']:.2f}x | {1e3 * s['loop']:.1f} | {1e3 * s['vmap']:.1f} | {1e3 * s['gan']:.1f} | **{best / s['gan']:.2f}** |"
        )
    lines += [
        "",
        "E-GAN / `gan` uses the faster scoring. Largest difference between the two scorings' F_q or F_d on the same children: "
        + ", ".join(f"`{name}` {r['agree']:.1e}" for name, r in results.items()) + ".",
        "`scoring: loop` is the default; `scoring: vmap` is the option (the config chooses; nothing picks one by the kind of data).",
    ]
    if "authors-toy" in results:
        s = results["authors-toy"]["step"]
        egan_hours = AUTHORS_TOY_ITERATIONS * min(s["loop"], s["vmap"]) / 3600
        gan_hours = AUTHORS_TOY_ITERATIONS * s["gan"] / 3600
        total = 5 * 2 * (egan_hours + 3 * gan_hours)
        cores = os.cpu_count() or 1
        lines += [
            "",
            "`authors-toy` is `egan-grid.yaml` at the sizes of the authors' toy scripts (Theano, `toys/train_toy_25G.py`): 3 hidden",
            "layers of 512 units in both networks, a 2-d latent, batch 64, Adam 1e-4 (" + ", ".join(f"`{o}`" for o in AUTHORS_TOY) + ").",
            f"Those scripts run {AUTHORS_TOY_ITERATIONS:,} iterations: at these rates the training of one E-GAN run takes **{egan_hours:.1f} CPU",
            f"hours** and of one single-loss run {gan_hours:.1f} (evaluation and the EMA not counted), so the issue's comparison at that",
            f"length (E-GAN and three single losses, 5 seeds, ring and grid) would take **{total:.0f} CPU hours**, {total / cores:.0f} hours of",
            f"this {cores}-core machine.",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", nargs="+", default=list(CASES), help=f"cases ({', '.join(CASES)}) or other example files to measure")
    parser.add_argument("--steps", type=int, default=10, help="steps per round")
    parser.add_argument("--repeats", type=int, default=5, help="rounds")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 steps, the ring only")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.repeats, args.warmup, args.examples = 2, 2, 1, ["egan-ring.yaml"]
    unknown = [name for name in args.examples if name not in CASES and not (EXAMPLES / name).is_file()]
    if unknown:
        parser.error(f"unknown case or example {', '.join(unknown)}: give a case ({', '.join(CASES)}) or a file in {EXAMPLES}")
    results = {}
    for name in args.examples:
        example, case_overrides = CASES.get(name, (name, []))
        results[name] = measure(EXAMPLES / example, args.steps, args.repeats, args.warmup, [*case_overrides, *args.overrides])
        print(name, results[name], flush=True)
    command = "python benchmarks/egan_cost.py" + (" --quick" if args.quick else f" --steps {args.steps} --repeats {args.repeats}")
    if args.examples != list(CASES) and not args.quick:
        command += " --examples " + " ".join(args.examples)
    command += "".join(f" --set {item}" for item in args.overrides)
    body = report(results, command, args.steps, args.repeats)
    print(f"\n## {TITLE}\n\n{body}")
    if not args.no_write and not args.quick:
        update_section(TITLE, body, RESULTS)


if __name__ == "__main__":
    main()
