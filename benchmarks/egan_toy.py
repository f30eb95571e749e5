"""E-GAN against the builtin ``gan`` with each single loss on the ring and the grid: mode coverage over seeds.

For each dataset (``ring``: 8 Gaussians, ``grid``: 25) and seed, one ``gan run`` child process per model,
one at a time, one thread each:

* ``E-GAN``: ``plugins/gan-evolutionary/examples/egan-<dataset>.yaml`` (μ = 1, mutations non-saturating,
  minimax and least-squares, γ = 0.05 as the reference, 256 samples per child for the fitness), with
  ``--diversity`` / ``--gamma`` overriding the example's sign of F_d and γ;
* ``E-GAN, γ = 0`` (with ``--ablation``): the same with quality fitness only;
* the builtin ``gan`` with ``minimax``, ``non-saturating`` and ``least-squares``: the example's networks,
  learning rates, betas, batch size, ``d_steps`` and EMA, no packing.

Every model makes the same number of generator updates (``--steps``; E-GAN: one selected child per
step). Mode coverage (VEEGAN/PacGAN protocol: 2,500 samples from the EMA generator, high quality within
3 std of the nearest mode, a mode captured when a high-quality sample is nearest to it) is read from
each run's metrics.jsonl; CPU seconds are the child's own (``os.wait4``). The mutation-share plot of
the first ring seed becomes ``benchmarks/egan-mutations.png``. The section "E-GAN vs single losses:
ring and grid (mode coverage)" of benchmarks/RESULTS.md is rewritten.

    python benchmarks/egan_toy.py --seeds 0 1 2 3 4 --steps 2000
    python benchmarks/egan_toy.py --seeds 0 --datasets ring --diversity negative-log --egan-only   # a pilot
    python benchmarks/egan_toy.py --seeds 5 6 7 8 9 --models "gan, non-saturating" --reuse     # extra seeds of a baseline
    python benchmarks/egan_toy.py --quick         # seed 0, 200 steps, the ring only, prints only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from statistics import fmean as mean

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = ROOT / "plugins" / "gan-evolutionary" / "examples"
sys.path.insert(0, str(HERE))
from results import RESULTS, read_metrics, run_children, saved_config_matches, section_file, update_section  # noqa: E402

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


def egan_settings(dataset: str, overrides: list[str]) -> dict:
    """The E-GAN example's algorithm options after ``overrides`` (``key=value`` under ``algorithm.``)."""
    settings = dict(yaml.safe_load((EXAMPLES / f"egan-{dataset}.yaml").read_text())["algorithm"])
    for item in overrides:
        key, value = item.split("=", 1)
        settings[key.removeprefix("algorithm.")] = yaml.safe_load(value)
    if "diversity" not in settings:  # the plugin's default when the example does not say
        from gan_evolutionary.config import EGANConfig

        settings["diversity"] = EGANConfig.model_fields["diversity"].default
    return settings


def models(dataset: str, ablation: bool, overrides: list[str] = (), only: list[str] | None = None) -> dict[str, tuple[Path | dict, list[str]]]:
    """The runs of one dataset and seed: E-GAN (with ``overrides``), its γ = 0 ablation, and the single losses;
    ``only`` keeps the models named in it."""
    example = EXAMPLES / f"egan-{dataset}.yaml"
    found = {"E-GAN": (example, list(overrides))}
    if ablation:
        found["E-GAN, γ = 0"] = (example, [*overrides, "algorithm.gamma=0.0"])
    for loss in SINGLE_LOSSES:
        found[f"gan, {loss}"] = (baseline_config(example, loss), [])
    return {name: run for name, run in found.items() if only is None or name in only}


def command(config: Path, run_dir: Path, seed: int, steps: int, extra: list[str]) -> list[str]:
    sets = [f"train.seed={seed}", f"train.steps={steps}", f"train.eval_every={steps // 2}", "train.checkpoint_every=0",
            "train.sample_every=0", "train.progress=false", "train.tensorboard=false", *extra]
    return [*gan_command(), "run", str(config), "--output", str(run_dir), "--overwrite"] + [x for s in sets for x in ("--set", s)]


def final_coverage(run_dir: Path) -> dict | None:
    """The last mode-coverage score of a run and its curve; None for a run that stopped before its first score."""
    records = [r for r in read_metrics(run_dir) if "mode-coverage/modes" in r]
    if not records:
        return None
    curve = [(r["step"], r["mode-coverage/modes"], r["mode-coverage/high_quality"]) for r in records]
    return {"modes": curve[-1][1], "quality": curve[-1][2], "curve": curve}


def other_overrides(overrides: list[str]) -> list[str]:
    """The overrides besides the F_d sign and γ (those two have their own columns and folder-name parts)."""
    return [o for o in overrides if o.split("=", 1)[0] not in ("algorithm.diversity", "algorithm.gamma")]


def variant_tag(egan: dict, overrides: list[str]) -> str:
    """The folder suffix of an E-GAN variant: its F_d sign and γ, and a short hash of any other override
    (``--set``), so that runs of different settings keep their own folders."""
    other = sorted(other_overrides(overrides))
    tag = f"-{egan['diversity']}-gamma{egan['gamma']}"
    return tag + (f"-{hashlib.sha1(repr(other).encode()).hexdigest()[:8]}" if other else "")


def cpu_cell(runs: list[dict], seeds: list[int]) -> str:
    """Mean CPU seconds of the runs whose own timing was kept. Runs reused before the timing files were
    named after the whole run folder shared one file per dataset (``gamma0.05`` cut by ``with_suffix``), so
    their CPU time was lost and results.json holds ``cpu: null`` for them."""
    kept = [(r["cpu"], seed) for r, seed in zip(runs, seeds) if r.get("cpu") is not None]
    if not kept:
        return "–"
    cell = f"{mean([cpu for cpu, _ in kept]):.0f}"
    return cell if len(kept) == len(runs) else cell + f" (seeds {', '.join(str(seed) for _, seed in kept)})"


def beside(run_dir: Path, suffix: str) -> Path:
    """A file next to a run folder, named after all of it (``with_suffix`` would cut a name like ``gamma0.05``)."""
    return run_dir.parent / f"{run_dir.name}{suffix}"


def finished_run(run_dir: Path, config: Path, cmd: list[str], steps: int) -> dict | None:
    """The result of an earlier run in ``run_dir`` that this command would repeat (its saved config equals
    the one the command resolves to, it reached ``steps``, and its timing was kept), else None."""
    timing_file = beside(run_dir, ".timing.json")
    if not (timing_file.exists() and (run_dir / "metrics.jsonl").exists()):
        return None
    sets = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--set"]
    if not saved_config_matches(run_dir, config, sets):
        return None
    coverage = final_coverage(run_dir)
    if coverage is None or coverage["curve"][-1][0] != steps:
        return None
    return {**coverage, **json.loads(timing_file.read_text()), "reused": True}


def run_all(datasets: list[str], seeds: list[int], steps: int, ablation: bool, overrides: list[str], only: list[str] | None,
            reuse: bool = False) -> dict:
    work = HERE / "_work" / "egan-toy"
    work.mkdir(parents=True, exist_ok=True)
    children, where, results = {}, {}, {}
    for dataset in datasets:
        variant = variant_tag(egan_settings(dataset, overrides), overrides)
        for seed in seeds:
            for model, (config, extra) in models(dataset, ablation, overrides, only).items():
                name = model.replace(', ', '-').replace(' ', '').replace('γ=0', 'gamma0')
                tag = f"{dataset}-{name}{variant if name.startswith('E-GAN') else ''}-{steps}steps-seed{seed}"
                if isinstance(config, dict):
                    path = work / f"{tag}.yaml"
                    path.write_text(yaml.safe_dump(config, sort_keys=False))
                    config = path
                run_dir = work / tag
                cmd = command(config, run_dir, seed, steps, extra)
                where[(dataset, model, seed)] = run_dir
                earlier = finished_run(run_dir, config, cmd, steps) if reuse else None
                if earlier is not None:
                    results[(dataset, model, seed)] = earlier
                    print(f"{dataset} {model} seed {seed}: reused {run_dir.name}", flush=True)
                else:
                    children[(dataset, model, seed)] = (cmd, beside(run_dir, ".log"))
    for key, timing in run_children(children, 1, cwd=ROOT):
        dataset, model, seed = key
        beside(where[key], ".timing.json").write_text(json.dumps(timing))
        coverage = final_coverage(where[key])
        if coverage is None:
            raise SystemExit(f"{where[key]}/metrics.jsonl holds no mode-coverage record")
        results[key] = {**coverage, **timing}
        r = results[key]
        print(f"{dataset} {model} seed {seed}: {r['modes']:.0f}/{NUM_MODES[dataset]} modes, {r['quality']:.1f}% HQ, {r['cpu']:.0f} s CPU", flush=True)
    return {"results": results, "where": where}


PILOTS = HERE / "_work" / "egan-toy" / "pilots.json"


def other_changes(overrides: list[str]) -> str:
    """The overrides besides the F_d sign and γ, as the variants table shows them."""
    return "; ".join(o.removeprefix("algorithm.") for o in other_overrides(overrides))


def record_pilots(results: dict, steps: int, overrides: list[str]) -> None:
    """Keep each run of a variant or of extra seeds (``--egan-only``, ``--models``) in pilots.json, for the
    variants table; a run with the same settings replaces the earlier one."""
    saved = json.loads(PILOTS.read_text()) if PILOTS.exists() else []
    for (dataset, model, seed), r in results.items():
        entry = {"model": model, "dataset": dataset, "seed": seed, "steps": steps, "modes": r["modes"], "quality": r["quality"], "cpu": r["cpu"]}
        if model.startswith("E-GAN"):
            settings = egan_settings(dataset, overrides + (["algorithm.gamma=0.0"] if model != "E-GAN" else []))
            entry.update(model="E-GAN", diversity=settings["diversity"], gamma=settings["gamma"], d_steps=settings["d_steps"],
                         eval_size=settings["eval_size"], changes=other_changes(overrides))
        key = {k: v for k, v in entry.items() if k not in ("modes", "quality", "cpu")}
        saved = [e for e in saved if _pilot_key(e) != key] + [entry]
    PILOTS.write_text(json.dumps(saved, indent=1))


def _pilot_key(entry: dict) -> dict:
    # Entries written before the table had a model and a changes column were E-GAN runs without other changes.
    full = {"model": "E-GAN", "changes": "", **entry} if "diversity" in entry else {"model": entry.get("model"), **entry}
    return {k: v for k, v in full.items() if k not in ("modes", "quality", "cpu")}


def pilot_lines() -> list[str]:
    if not PILOTS.exists():
        return []
    groups: dict[tuple, list[dict]] = {}
    for e in json.loads(PILOTS.read_text()):
        key = _pilot_key(e)
        variant = tuple((k, key.get(k)) for k in ("dataset", "model", "steps", "diversity", "gamma", "d_steps", "eval_size", "changes"))
        groups.setdefault(variant, []).append(e)
    lines = ["", "**Other runs with this protocol** (variants, pilots and extra seeds: `--egan-only` / `--models`, and E-GAN rows of "
             "earlier runs of this script; one row per setting, modes per seed in seed order; the sign of F_d does not matter at γ = 0; "
             "E-GAN settings not named are the example's):", "",
             "| dataset | model | steps | diversity (sign of F_d) | γ | d_steps | eval_size | other changes | seeds | modes per seed | **mean modes** | mean HQ % | CPU s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    order = lambda item: (dict(item[0])["dataset"] != "ring", dict(item[0])["model"] != "E-GAN", dict(item[0])["steps"], str(item[0]))  # noqa: E731
    for variant, entries in sorted(groups.items(), key=order):
        v = dict(variant)
        entries.sort(key=lambda e: e["seed"])
        egan = v["model"] == "E-GAN"
        settings = [v["diversity"] if v["gamma"] else "(none)", v["gamma"], v["d_steps"], v["eval_size"], f"`{v['changes']}`" if v["changes"] else "–"] if egan else ["–"] * 5
        seeds = ", ".join(str(e["seed"]) for e in entries)
        per_seed = ", ".join(f"{e['modes']:.0f}" for e in entries)
        lines.append(f"| {v['dataset']} | {v['model']} | {v['steps']:,} | " + " | ".join(map(str, settings)) + f" | {seeds} | {per_seed} "
                     f"| **{mean([e['modes'] for e in entries]):.1f}** | {mean([e['quality'] for e in entries]):.1f} | {mean([e['cpu'] for e in entries]):.0f} |")
    return lines


def section(datasets, seeds, steps, ablation, results, where, command_line, load, overrides=()) -> str:
    names = list(models(datasets[0], ablation))
    egan = egan_settings(datasets[0], list(overrides))
    scale = {True: "5 seeds (as the issue asks)", False: f"{len(seeds)} seeds (the issue asks for 5)"}[len(seeds) == 5]
    lines = [
        f"E-GAN (`plugins/gan-evolutionary/examples/egan-<dataset>.yaml`: diversity fitness **{egan['diversity']}** (the sign of",
        f"F_d), γ = {egan['gamma']}, μ = 1, eval_size {egan['eval_size']}) against the builtin `gan` with each single loss, on",
        f"`ring` (8 Gaussians, std 0.02) and `grid` (25 Gaussians, std 0.05): the same MLPs (3x128 generator and discriminator,",
        f"latent 8), Adam 2e-3 (0.5, 0.999), batch 256, one discriminator step per generator update, EMA 0.999, no packing, and",
        f"the same number of generator updates, **{steps:,}** (E-GAN: one selected child per iteration; its three children cost three",
        "generator updates each iteration, which the CPU column shows). Mode coverage as in VEEGAN/PacGAN on 2,500 samples from",
        "the EMA generator (high quality within 3 std of the nearest mode; a mode is captured when a high-quality sample is",
        f"nearest to it). **Scaled down** to fit the CPU budget: {scale} and {steps:,} steps (the builtin",
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
            lines.append(f"| {model} | {cells} | **{mean([r['modes'] for r in rs]):.1f}** | **{mean([r['quality'] for r in rs]):.1f}** | {cpu_cell(rs, seeds)} |")
        published = PACGAN_GAN[dataset]
        lines.append(f"| *PacGAN paper, GAN row (Lin et al. 2018; other networks and length)* | " + " | ".join("" for _ in seeds)
                     + f" | *{published[0]}* | *{published[1]}* | |")
        singles = {m: mean([results[(dataset, m, s)]["modes"] for s in seeds]) for m in names if m.startswith("gan, ")}
        covered = mean([results[(dataset, "E-GAN", s)]["modes"] for s in seeds])
        best, worst = max(singles.values()), min(singles.values())
        lines += ["", f"Target on {dataset}: E-GAN covers at least as many modes as the best single loss ({best:.1f}) and more than the "
                  f"worst ({worst:.1f}): E-GAN {covered:.1f}, **{'met' if covered >= best and covered > worst else 'not met'}**."]
    return "\n".join(lines + pilot_lines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=sorted(NUM_MODES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--ablation", action="store_true", help="add E-GAN with γ = 0 (quality fitness only)")
    parser.add_argument("--diversity", choices=["negative-log", "log"], help="E-GAN's sign of F_d (default: the example's)")
    parser.add_argument("--gamma", type=float, help="E-GAN's γ (default: the example's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="another E-GAN option for this run (YAML value), e.g. --set 'algorithm.parents=2'; repeatable")
    parser.add_argument("--egan-only", action="store_true", help="a pilot: E-GAN only, kept in _work/egan-toy/pilots.json and "
                        "listed under the section's variants table; the section's main tables are left as they are")
    parser.add_argument("--models", nargs="+", choices=["E-GAN", "E-GAN, γ = 0", *(f"gan, {loss}" for loss in SINGLE_LOSSES)],
                        help="a pilot of these models only (e.g. extra seeds of a baseline), kept like --egan-only")
    parser.add_argument("--reuse", action="store_true", help="keep a finished run whose saved config is the one this command "
                        "would run (options added since at their defaults) instead of training it again; new runs keep their timing for this")
    parser.add_argument("--quick", action="store_true", help="seed 0, 200 steps, the ring only; prints, writes nothing")
    parser.add_argument("--report-only", action="store_true", help="rewrite the section from _work/egan-toy/results.json without training")
    args = parser.parse_args()
    if args.report_only:
        saved = json.loads((HERE / "_work" / "egan-toy" / "results.json").read_text())
        legacy = "results" not in saved  # written before the file kept the command and the load
        runs = saved if legacy else saved["results"]
        results = {(d, m, int(s)): v for key, v in runs.items() for d, m, s in [key.split("|")]}
        # The tables show the runs the file holds, whatever this command's --seeds and --datasets say.
        datasets = [d for d in NUM_MODES if any(key[0] == d for key in results)]
        seeds = sorted({key[2] for key in results})
        ablation = any(key[1] == "E-GAN, γ = 0" for key in results)
        if legacy:  # such a file did not keep its step count either: --steps must give it
            text = section_file(TITLE).read_text()
            found = re.search(r"load average at the start: ([0-9., ]+)\.", text[text.find(f"## {TITLE}"):])
            saved = {"results": runs, "load": found.group(1) if found else "?",
                     "command": f"python benchmarks/egan_toy.py --seeds {' '.join(map(str, seeds))} --steps {args.steps}" + " --ablation" * ablation}
        steps = int(re.search(r"--steps (\d+)", saved["command"]).group(1))
        body = section(datasets, seeds, steps, ablation, results, {}, saved["command"], saved["load"], saved.get("overrides", []))
        print(body)
        update_section(TITLE, body, RESULTS)
        return
    overrides = [f"algorithm.{k}={v}" for k, v in (("diversity", args.diversity), ("gamma", args.gamma)) if v is not None]
    overrides += [item if item.startswith("algorithm.") else f"algorithm.{item}" for item in args.set]
    only = ["E-GAN"] if args.egan_only else args.models
    if args.ablation and only:
        only = [*only, "E-GAN, γ = 0"]
    if args.set and not only:
        parser.error("--set changes E-GAN away from its example: give --egan-only (a variant for the variants table)")
    if args.quick:
        args.datasets, args.seeds, args.steps = ["ring"], [0], 200
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    done = run_all(args.datasets, args.seeds, args.steps, args.ablation, overrides, only, args.reuse)
    results, where = done["results"], done["where"]
    if only:
        if not args.quick:
            record_pilots(results, args.steps, overrides)
        return
    command_line = (f"python benchmarks/egan_toy.py --seeds {' '.join(map(str, args.seeds))} --steps {args.steps}" + " --ablation" * args.ablation
                    + "".join(f" --{k} {v}" for k, v in (("diversity", args.diversity), ("gamma", args.gamma)) if v is not None))
    body = section(args.datasets, args.seeds, args.steps, args.ablation, results, where, command_line, load, overrides)
    print(f"\n## {TITLE}\n\n{body}")
    if args.quick:  # a smoke test: results.json keeps the last full run, which --report-only redraws
        return
    dump = {"command": command_line, "load": load, "overrides": overrides, "results": {"|".join(map(str, k)): v for k, v in results.items()}}
    (HERE / "_work" / "egan-toy" / "results.json").write_text(json.dumps(dump, indent=1))
    update_section(TITLE, body, RESULTS)
    first = where[(args.datasets[0], "E-GAN", args.seeds[0])]
    subprocess.run([*gan_command(), "egan", "plot", str(first), "--output", str(HERE / "egan-mutations.png"),
                    "--title", f"E-GAN on the {args.datasets[0]}, seed {args.seeds[0]}: share of wins per mutation"], check=True)


if __name__ == "__main__":
    main()
