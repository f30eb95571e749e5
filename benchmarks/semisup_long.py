"""fm-gan against supervised-only over a longer run than benchmarks/semisup_mnist5k.py can afford for three seeds: one
seed, the same example configs, test accuracy every 1,000 steps. Does fm-gan keep climbing after 1,000 steps, and is
the climb the unlabelled data's (fm-gan) or just more training (supervised-only)?

    python benchmarks/semisup_long.py [--seeds 1] [--steps 9000] [--only fm-gan supervised-only]

A run already in WORK continues from its newest checkpoint (a resumed run equals an uninterrupted one in gancore), so
the steps can be raised later without training the first ones again. CPU minutes are each child's own CPU time, summed
over its sittings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from results import read_metrics, run_children, update_section

EXAMPLES = ROOT / "plugins" / "gan-semisup" / "examples"
RUNS = {"fm-gan": EXAMPLES / "fm-gan-mnist5k-100.yaml", "supervised-only": EXAMPLES / "supervised-only-mnist5k-100.yaml"}
TITLE = "Semi-supervised: fm-gan against supervised-only over a longer run (mnist5k, 100 labels, one seed)"
KEY = "classifier-accuracy/accuracy"
SAMPLES = HERE / "semisup-fm-gan-samples-long.png"


def newest_checkpoint(run: Path) -> int:
    steps = [int(p.name.split("-")[1]) for p in (run / "checkpoints").glob("step-*")] if (run / "checkpoints").is_dir() else []
    return max(steps, default=0)


def command(run: Path, name: str, seed: int, steps: int) -> list[str]:
    sets = [f"train.seed={seed}", f"data.transform_seed={seed}", "train.progress=false", "train.tensorboard=false", "train.keep_checkpoints=1",
            "train.eval_every=1000", "train.checkpoint_every=1000", "train.sample_every=3000"]
    resume = ["--resume"] if newest_checkpoint(run) else ["--overwrite"]
    return [sys.executable, "-m", "gancore.cli", "run", str(RUNS[name]), f"--output={run}", f"--steps={steps}", *resume, *[f"--set={s}" for s in sets]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--steps", type=int, default=9000)
    parser.add_argument("--only", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--work", type=Path, default=HERE / "_work" / "semisup-long")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    cache_path = args.work / "results.json"
    cpu = json.loads(cache_path.read_text()) if cache_path.exists() else {}  # run folder name -> CPU seconds, all sittings

    children = {}
    for seed in args.seeds:
        for name in args.only:
            run = args.work / f"{name}-s{seed}"
            if newest_checkpoint(run) < args.steps:
                children[run.name] = (command(run, name, seed, args.steps), args.work / f"{run.name}.log")
    for key, timing in run_children(children, jobs=1, cwd=ROOT):
        cpu[key] = cpu.get(key, 0.0) + timing["cpu"]
        cache_path.write_text(json.dumps(cpu, indent=1))

    # Every finished run in WORK, whatever its seed and length (a run of another --steps or --seeds stays in the table).
    lines, curves, marks = [], [], (1000, 3000, 5000, 9000)
    for run in sorted(p for p in args.work.glob("*-s*") if p.is_dir() and (p / "metrics.jsonl").exists()):
        name, seed = run.name.rsplit("-s", 1)
        curve = [(r["step"], r[KEY]) for r in read_metrics(run) if KEY in r]
        if name not in RUNS or not curve:
            continue
        at = dict(curve)
        cpu_text = f"{cpu[run.name] / 60:.1f}" if run.name in cpu else "–"
        cells = " | ".join(f"{at[s]:.1f}" if s in at else "–" for s in marks)
        lines.append(f"| `{name}` | {seed} | {cells} | {curve[-1][0]:,}: {curve[-1][1]:.1f} | {cpu_text} |")
        curves.append(f"- `{name}`, seed {seed}: " + ", ".join(f"{s}: {a:.1f}" for s, a in curve))
    first = args.seeds[0]
    grid = args.work / f"fm-gan-s{first}" / "samples" / f"step-{args.steps:06d}.png"
    if grid.exists():  # the generator at the end of the long run, beside semisup-fm-gan-samples.png at 1,000 steps
        shutil.copyfile(grid, SAMPLES)
    body = f"""`plugins/gan-semisup/examples/{{fm-gan,supervised-only}}-mnist5k-100.yaml` (the configs of `benchmarks/semisup_mnist5k.py`,
same seeds and labels), trained longer: up to {args.steps:,} steps ({args.steps * 100 // 4000} passes over the 4,000 unlabelled images).
Test accuracy (%) of the averaged classifier on the held-out 1,000 test images. CPU min: the child's own CPU time, one
thread, all sittings of the run (a run continued from a checkpoint counts each sitting).

| algorithm | seed | 1,000 steps | 3,000 | 5,000 | 9,000 | last (step: %) | CPU min |
| --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(lines)}

During training (step: accuracy):
{chr(10).join(curves)}

![fm-gan samples at the end of the long run](semisup-fm-gan-samples-long.png)

`benchmarks/semisup-fm-gan-samples-long.png`: fm-gan's generator (averaged weights) after {args.steps:,} steps, seed {first};
compare `semisup-fm-gan-samples.png`, the same run after 1,000.

Command: `python benchmarks/semisup_long.py --seeds {' '.join(map(str, args.seeds))} --steps {args.steps}` (and any other runs in its work folder)."""
    print(body)
    update_section(TITLE, body)


if __name__ == "__main__":
    main()
