"""The builtin ``gan`` on the 8-Gaussian ring: modes captured and % high-quality samples, over seeds.

The mode-coverage protocol of VEEGAN and PacGAN: 2,500 samples; a sample is
high quality when it lies within 3 std (std 0.02) of its nearest mode; a mode
is captured when at least one high-quality sample is nearest to it. Each seed
is one ``gan run examples/gan-ring.yaml --set train.seed=S`` child process with
OMP_NUM_THREADS=1, at most ``--jobs`` (2) at once; runs go to
``benchmarks/_work/ring-seed<S>``. Each child is timed by wall clock and by its
own CPU time (on a shared machine the CPU time is what the run costs one core).
The final mode coverage is read from ``RUN/metrics.jsonl``, and the section
"Ring: mode coverage (builtin gan)" of ``benchmarks/RESULTS.md`` is rewritten
(other sections are left as they are).

    python benchmarks/ring.py                  # seeds 0..4, writes benchmarks/RESULTS.md
    python benchmarks/ring.py --quick          # smoke test: seed 0, 300 steps, prints only
    python benchmarks/ring.py --seeds 0 1 --set algorithm.pack=4 --no-write
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
EXAMPLE = ROOT / "examples" / "gan-ring.yaml"
sys.path.insert(0, str(HERE))
from results import RESULTS, read_metrics, run_children, update_section  # noqa: E402

TITLE = "Ring: mode coverage (builtin gan)"
PACGAN_GAN = (6.3, 98.2)  # PacGAN paper (Lin et al. 2018), table 2, GAN row: modes of 8, % high quality
GOAL_MODES, GOAL_QUALITY, GOAL_SECONDS = 8, 90.0, 300.0
QUICK = ["train.steps=300", "train.eval_every=0", "train.sample_every=0", "train.checkpoint_every=0"]


def gan_command() -> list[str]:
    """The ``gan`` entry point of this interpreter's environment (``python -m gancore.cli`` if absent)."""
    exe = Path(sys.executable).parent / "gan"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "gancore.cli"]


def seed_command(seed: int, run_dir: Path, overrides: list[str]) -> list[str]:
    sets = [f"train.seed={seed}", "train.progress=false", "train.tensorboard=false", *overrides]
    cmd = [*gan_command(), "run", str(EXAMPLE), "--output", str(run_dir), "--overwrite"]
    return cmd + [item for o in sets for item in ("--set", o)]


def read_run(run_dir: Path) -> dict:
    """The last mode-coverage record of a finished run, and every earlier one (the curve)."""
    records = read_metrics(run_dir)
    curve = [
        {"step": r["step"], "modes": r["mode-coverage/modes"], "quality": r["mode-coverage/high_quality"]}
        for r in records
        if "mode-coverage/modes" in r
    ]
    if not curve:
        raise SystemExit(f"{run_dir}/metrics.jsonl holds no mode-coverage record")
    return {"final": curve[-1], "curve": curve}


def run_all(seeds: list[int], jobs: int, overrides: list[str], tag: str) -> dict[int, dict]:
    work = HERE / "_work"
    work.mkdir(exist_ok=True)
    runs = {seed: work / f"{tag}-seed{seed}" for seed in seeds}
    children = {seed: (seed_command(seed, run_dir, overrides), run_dir.with_suffix(".log")) for seed, run_dir in runs.items()}
    results = {}
    for seed, timing in run_children(children, jobs, cwd=ROOT):
        results[seed] = {**read_run(runs[seed]), **timing}
        final = results[seed]["final"]
        print(f"seed {seed}: {final['modes']:.0f}/8 modes, {final['quality']:.1f}% high quality, "
              f"{results[seed]['wall']:.0f} s wall, {results[seed]['cpu']:.0f} s CPU", flush=True)
    return results


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (f"{cpu} ({platform.machine()}), {os.cpu_count()} cores, {platform.system()}, "
            f"Python {platform.python_version()}, torch {torch.__version__}, CPU only")


def report(results: dict[int, dict], overrides: list[str], command: str, load: str, load_end: str = "?") -> str:
    seeds = sorted(results)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    finals = {s: results[s]["final"] for s in seeds}
    m_modes, m_quality = mean([f["modes"] for f in finals.values()]), mean([f["quality"] for f in finals.values()])
    m_wall, m_cpu = mean([results[s]["wall"] for s in seeds]), mean([results[s]["cpu"] for s in seeds])
    quality_met = all(finals[s]["modes"] >= GOAL_MODES and finals[s]["quality"] >= GOAL_QUALITY for s in seeds)
    wall_met = all(results[s]["wall"] < GOAL_SECONDS for s in seeds)
    cpu_met = all(results[s]["cpu"] < GOAL_SECONDS for s in seeds)
    slowest_wall, slowest_cpu = max(results[s]["wall"] for s in seeds), max(results[s]["cpu"] for s in seeds)
    extra = f", with {' '.join(f'`--set {o}`' for o in overrides)}" if overrides else ""
    lines = [
        f"`examples/gan-ring.yaml`{extra}: the builtin `gan` (non-saturating loss) on `ring` (8 Gaussians, radius 2.0,",
        "std 0.02), scored by `mode-coverage` on 2,500 samples from the (EMA) generator: a sample is high quality within",
        "3 std of its nearest mode, a mode is captured when one high-quality sample is nearest to it. Each seed is one",
        "`gan run` child process with `OMP_NUM_THREADS=1`, two at a time. **Wall s** is the child's wall-clock time",
        "(the two children share the 2 cores, on a machine that other jobs may be using too); **CPU s** is the",
        "child's own CPU time, what the run costs one core.",
        f"Machine: {machine()}; load average at the start: {load}.",
        f"Command: `{command}`.",
        "",
        "| seed | modes (of 8) | high quality (%) | wall s | CPU s |",
        "| --- | --- | --- | --- | --- |",
        *[
            f"| {s} | {finals[s]['modes']:.0f} | {finals[s]['quality']:.1f} | {results[s]['wall']:.0f} | {results[s]['cpu']:.0f} |"
            for s in seeds
        ],
        f"| **mean** | **{m_modes:.1f}** | **{m_quality:.1f}** | **{m_wall:.0f}** | **{m_cpu:.0f}** |",
        f"| PacGAN paper, GAN row (Lin et al. 2018) | {PACGAN_GAN[0]} | {PACGAN_GAN[1]} | | |",
        "",
        f"Goal: all {GOAL_MODES} modes with ≥ {GOAL_QUALITY:.0f}% high quality, in under {GOAL_SECONDS / 60:.0f} minutes per seed.",
        f"Quality: **{'met' if quality_met else 'not met'}** by every seed. "
        f"Time: CPU time **{'met' if cpu_met else 'not met'}** (slowest seed {slowest_cpu:.0f} s); "
        f"wall time **{'met' if wall_met else 'not met'}** here (slowest seed {slowest_wall:.0f} s"
        + (f"; load average at the end {load_end}, on 2 cores)." if not wall_met else ")."),
    ]
    steps = [p["step"] for p in results[seeds[0]]["curve"]]
    if len(steps) > 1:
        lines += ["", "Mean over seeds at each evaluation:", "", "| step | modes | high quality (%) |", "| --- | --- | --- |"]
        for i, step in enumerate(steps):
            points = [results[s]["curve"][i] for s in seeds if i < len(results[s]["curve"])]
            lines.append(f"| {step} | {mean([p['modes'] for p in points]):.1f} | {mean([p['quality'] for p in points]):.1f} |")
    lines += ["", "Config (`examples/gan-ring.yaml`):", "", "```yaml", EXAMPLE.read_text().strip(), "```"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds to run (default 0 1 2 3 4; 0 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 300 steps, evaluated once at the end; prints, does not write RESULTS.md unless --results is given")
    parser.add_argument("--jobs", type=int, default=2, help="child processes at once, one thread each (default 2)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="extra override for every seed")
    parser.add_argument("--results", type=Path, default=None, help=f"file whose section to write (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--no-write", action="store_true", help="print the section, write no file")
    args = parser.parse_args()

    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2, 3, 4])
    overrides = (QUICK if args.quick else []) + args.overrides
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    tag = "ring-quick" if args.quick else "ring"
    results = run_all(seeds, args.jobs, overrides, tag)
    load_end = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    (HERE / "_work" / f"{tag}-results.json").write_text(json.dumps({"load": load, "load_end": load_end, "results": results}, indent=1))

    command = "python benchmarks/ring.py"
    if args.seeds is not None:
        command += " --seeds " + " ".join(map(str, seeds))
    command += " --quick" * args.quick + "".join(f" --set {o}" for o in args.overrides)
    body = report(results, overrides, command, load, load_end)
    print(f"\n## {TITLE}\n\n{body}")
    target = args.results if args.results is not None else (None if args.quick else RESULTS)
    if target is not None and not args.no_write:
        update_section(TITLE, body, target)
        print(f"\nwrote the section '{TITLE}' of {target}")


if __name__ == "__main__":
    main()
