"""E-GAN against the builtin ``gan`` with each single loss on the ring and the grid: mode coverage over seeds.

For each dataset (``ring``: 8 Gaussians, ``grid``: 25) and seed, one ``gan run`` child process per model,
one at a time, one thread each:

* ``E-GAN``: ``plugins/gan-evolutionary/examples/egan-<dataset>.yaml`` (μ = 1, mutations non-saturating,
  minimax and least-squares, γ = 0.05 as the reference, 256 samples per child for the fitness);
* ``E-GAN, γ = 0`` (with ``--ablation``): the same with quality fitness only;
* the builtin ``gan`` with ``minimax``, ``non-saturating`` and ``least-squares``: the example's networks,
  learning rates, betas, batch size, ``d_steps`` and EMA, no packing.

Every model makes the same number of generator updates (``--steps``; E-GAN: one selected child per
step). Mode coverage (VEEGAN/PacGAN protocol: 2,500 samples from the EMA generator, high quality within
3 std of the nearest mode, a mode captured when a high-quality sample is nearest to it) is read from
each run's metrics.jsonl; CPU seconds are the child's own (``os.wait4``). The mutation-share plot of
the first ring seed becomes ``benchmarks/egan-mutations.png``. The section "E-GAN vs single losses:
ring and grid (mode coverage)" of benchmarks/RESULTS.md is rewritten.

    python benchmarks/egan_toy.py --seeds 0 1 2 --steps 2000 --ablation
    python benchmarks/egan_toy.py --quick         # seed 0, 200 steps, the ring only, prints only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = ROOT / "plugins" / "gan-evolutionary" / "examples"
sys.path.insert(0, str(HERE))
from results import RESULTS, read_metrics, run_children, update_section  # noqa: E402

TITLE = "E-GAN vs single losses: ring and grid (mode coverage)"
NUM_MODES = {"ring": 8, "grid": 25}
# Published numbers with this protocol (their networks and training lengths, not ours): PacGAN (Lin et al. 2018),
# tables 2 and 3, the GAN row. The E-GAN paper shows these toys as density plots only (no numbers found).
PACGAN_GAN = {"ring": (6.3, 98.2), "grid": (17.3, 94.8)}
SINGLE_LOSSES = ("minimax", "non-saturating", "least-squares")


def gan_command() -> list[str]:
    exe = Path(sys.executable).parent / "gan"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "gancore.cli"]


def baseline_config(example: Path, loss: str) -> dict:
    """The builtin gan with one loss and everything else as the E-GAN example."""
    raw = yaml.safe_load(example.read_text())
    a = raw["algorithm"]
    keep = {k: a[k] for k in ("latent_dim", "generator", "discriminator", "lr_generator", "lr_discriminator", "betas", "d_steps")}
    return {**raw, "plugin": "gan", "algorithm": {"name": "gan", "loss": {"name": loss}, "pack": 1, **keep}}


def models(dataset: str, ablation: bool) -> dict[str, tuple[Path | dict, list[str]]]:
    example = EXAMPLES / f"egan-{dataset}.yaml"
    found = {"E-GAN": (example, [])}
    if ablation:
        found["E-GAN, γ = 0"] = (example, ["algorithm.gamma=0.0"])
    for loss in SINGLE_LOSSES:
        found[f"gan, {loss}"] = (baseline_config(example, loss), [])
    return found


def command(config: Path, run_dir: Path, seed: int, steps: int, extra: list[str]) -> list[str]:
    sets = [f"train.seed={seed}", f"train.steps={steps}", f"train.eval_every={steps // 2}", "train.checkpoint_every=0",
            "train.sample_every=0", "train.progress=false", "train.tensorboard=false", *extra]
    return [*gan_command(), "run", str(config), "--output", str(run_dir), "--overwrite"] + [x for s in sets for x in ("--set", s)]


def final_coverage(run_dir: Path) -> dict:
    records = [r for r in read_metrics(run_dir) if "mode-coverage/modes" in r]
    if not records:
        raise SystemExit(f"{run_dir}/metrics.jsonl holds no mode-coverage record")
    curve = [(r["step"], r["mode-coverage/modes"], r["mode-coverage/high_quality"]) for r in records]
    return {"modes": curve[-1][1], "quality": curve[-1][2], "curve": curve}


def run_all(datasets: list[str], seeds: list[int], steps: int, ablation: bool) -> dict:
    work = HERE / "_work" / "egan-toy"
    work.mkdir(parents=True, exist_ok=True)
    children, where = {}, {}
    for dataset in datasets:
        for seed in seeds:
            for model, (config, extra) in models(dataset, ablation).items():
                tag = f"{dataset}-{model.replace(', ', '-').replace(' ', '').replace('γ=0', 'gamma0')}-seed{seed}"
                if isinstance(config, dict):
                    path = work / f"{tag}.yaml"
                    path.write_text(yaml.safe_dump(config, sort_keys=False))
                    config = path
                run_dir = work / tag
                children[(dataset, model, seed)] = (command(config, run_dir, seed, steps, extra), run_dir.with_suffix(".log"))
                where[(dataset, model, seed)] = run_dir
    results = {}
    for key, timing in run_children(children, 1, cwd=ROOT):
        dataset, model, seed = key
        results[key] = {**final_coverage(where[key]), **timing}
        r = results[key]
        print(f"{dataset} {model} seed {seed}: {r['modes']:.0f}/{NUM_MODES[dataset]} modes, {r['quality']:.1f}% HQ, {r['cpu']:.0f} s CPU", flush=True)
    return {"results": results, "where": where}


def section(datasets, seeds, steps, ablation, results, where, command_line, load) -> str:
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    names = list(models(datasets[0], ablation))
    lines = [
        f"E-GAN (`plugins/gan-evolutionary/examples/egan-<dataset>.yaml`) against the builtin `gan` with each single loss, on",
        f"`ring` (8 Gaussians, std 0.02) and `grid` (25 Gaussians, std 0.05): the same MLPs (3x128 generator and discriminator,",
        f"latent 8), Adam 2e-3 (0.5, 0.999), batch 256, one discriminator step per generator update, EMA 0.999, no packing, and",
        f"the same number of generator updates, **{steps:,}** (E-GAN: one selected child per iteration; its three children cost three",
        "generator updates each iteration, which the CPU column shows). Mode coverage as in VEEGAN/PacGAN on 2,500 samples from",
        "the EMA generator (high quality within 3 std of the nearest mode; a mode is captured when a high-quality sample is",
        f"nearest to it). **Scaled down** to fit the CPU budget: {len(seeds)} seeds (not 5) and {steps:,} steps (the builtin",
        "ring example trains 15,000). One `gan run` child at a time, one thread; CPU s is the child's own CPU time.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; load average at the start: {load}.",
        f"Command: `{command_line}`.",
    ]
    for dataset in datasets:
        k = NUM_MODES[dataset]
        lines += ["", f"**{dataset}** (modes of {k} / high quality %, per seed and mean; CPU s per run, mean):", "",
                  "| model | " + " | ".join(f"seed {s}" for s in seeds) + " | **mean modes** | **mean HQ %** | CPU s |",
                  "| --- | " + " | ".join("---" for _ in seeds) + " | --- | --- | --- |"]
        for model in names:
            rs = [results[(dataset, model, s)] for s in seeds]
            cells = " | ".join(f"{r['modes']:.0f} / {r['quality']:.1f}" for r in rs)
            lines.append(f"| {model} | {cells} | **{mean([r['modes'] for r in rs]):.1f}** | **{mean([r['quality'] for r in rs]):.1f}** | {mean([r['cpu'] for r in rs]):.0f} |")
        published = PACGAN_GAN[dataset]
        lines.append(f"| *PacGAN paper, GAN row (Lin et al. 2018; other networks and length)* | " + " | ".join("" for _ in seeds)
                     + f" | *{published[0]}* | *{published[1]}* | |")
        singles = {m: mean([results[(dataset, m, s)]["modes"] for s in seeds]) for m in names if m.startswith("gan, ")}
        egan = mean([results[(dataset, "E-GAN", s)]["modes"] for s in seeds])
        best, worst = max(singles.values()), min(singles.values())
        lines += ["", f"Target on {dataset}: E-GAN covers at least as many modes as the best single loss ({best:.1f}) and more than the "
                  f"worst ({worst:.1f}): E-GAN {egan:.1f}, **{'met' if egan >= best and egan > worst else 'not met'}**."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=sorted(NUM_MODES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--ablation", action="store_true", help="add E-GAN with γ = 0 (quality fitness only)")
    parser.add_argument("--quick", action="store_true", help="seed 0, 200 steps, the ring only; prints, writes nothing")
    parser.add_argument("--report-only", action="store_true", help="rewrite the section from _work/egan-toy/results.json without training")
    args = parser.parse_args()
    if args.report_only:
        saved = json.loads((HERE / "_work" / "egan-toy" / "results.json").read_text())
        if "results" not in saved:  # written before the file kept the command and the load
            import re

            text = RESULTS.read_text()
            found = re.search(r"load average at the start: ([0-9., ]+)\.", text[text.find(f"## {TITLE}"):])
            saved = {"results": saved, "load": found.group(1) if found else "?",
                     "command": f"python benchmarks/egan_toy.py --seeds {' '.join(map(str, args.seeds))} --steps {args.steps}" + " --ablation" * args.ablation}
        results = {(d, m, int(s)): v for key, v in saved["results"].items() for d, m, s in [key.split("|")]}
        body = section(args.datasets, args.seeds, args.steps, args.ablation, results, {}, saved["command"], saved["load"])
        print(body)
        update_section(TITLE, body, RESULTS)
        return
    if args.quick:
        args.datasets, args.seeds, args.steps = ["ring"], [0], 200
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    done = run_all(args.datasets, args.seeds, args.steps, args.ablation)
    results, where = done["results"], done["where"]
    command_line = f"python benchmarks/egan_toy.py --seeds {' '.join(map(str, args.seeds))} --steps {args.steps}" + " --ablation" * args.ablation
    body = section(args.datasets, args.seeds, args.steps, args.ablation, results, where, command_line, load)
    print(f"\n## {TITLE}\n\n{body}")
    dump = {"command": command_line, "load": load, "results": {"|".join(map(str, k)): v for k, v in results.items()}}
    (HERE / "_work" / "egan-toy" / "results.json").write_text(json.dumps(dump, indent=1))
    if args.quick:
        return
    update_section(TITLE, body, RESULTS)
    first = where[(args.datasets[0], "E-GAN", args.seeds[0])]
    subprocess.run([*gan_command(), "egan", "plot", str(first), "--output", str(HERE / "egan-mutations.png"),
                    "--title", f"E-GAN on the {args.datasets[0]}, seed {args.seeds[0]}: share of wins per mutation"], check=True)


if __name__ == "__main__":
    main()
