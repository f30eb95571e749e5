"""Tuning fm-gan on mnist5k with 100 labels: one seed, one change at a time from the reference settings
(plugins/gan-semisup/examples/fm-gan-mnist5k-100.yaml), held-out test accuracy. Complements
benchmarks/semisup_mnist5k.py, whose seed-1 fm-gan run is the "reference settings" row.

    python benchmarks/semisup_tuning.py [--seed 1] [--steps 1000]

Runs one child at a time (one thread); finished runs are kept in WORK and not trained again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from results import read_metrics, run_children, update_section  # noqa: E402

EXAMPLES = ROOT / "plugins" / "gan-semisup" / "examples"
EXAMPLE = EXAMPLES / "fm-gan-mnist5k-100.yaml"
TITLE = "Semi-supervised: fm-gan tuning on mnist5k with 100 labels (one seed)"
SHIFT_2PX = "algorithm.augment={policy: [translation], translation: 0.08}"
# name -> (what changes, --set overrides[, example]); "steps" overrides the run length; the example is fm-gan's unless named
VARIANTS = {
    "noisy-init": ("data-dependent init with the noise layers on, as the reference (`noisy_init: true`)", ["algorithm.discriminator.noisy_init=true"]),
    "minibatch": ("minibatch discrimination in D (100 kernels of 5), against the generator's collapse", ["algorithm.discriminator.minibatch_kernels=100"]),
    "unlabeled-1": ("unlabeled_weight 1.0 (twice the reference's weight on the real/fake loss)", ["algorithm.unlabeled_weight=1.0"]),
    "slow-d": ("lr_discriminator 0.001 (G keeps 0.003): a slower discriminator", ["algorithm.lr_discriminator=0.001"]),
    "long": ("3,000 steps instead of 1,000", ["steps=3000"]),
    "shift": ("3,000 steps, every classifier input (labelled, unlabelled, generated) shifted by up to 2 pixels", ["steps=3000", SHIFT_2PX]),
    "shift-supervised": ("**supervised-only**, 3,000 steps, its labelled inputs shifted alike (the baseline for the row above)",
                         ["steps=3000", SHIFT_2PX], "supervised-only-mnist5k-100.yaml"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--only", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--work", type=Path, default=HERE / "_work" / "semisup-tuning")
    parser.add_argument("--reference", type=Path, default=HERE / "_work" / "semisup-mnist5k" / "results.json",
                        help="semisup_mnist5k.py's results, for the reference row (same seed and steps)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    cache_path = args.work / "results.json"
    rows = json.loads(cache_path.read_text()) if cache_path.exists() else {}

    children = {}
    for name in args.only:
        sets = [s for s in VARIANTS[name][1] if not s.startswith("steps=")]
        steps = next((int(s.split("=")[1]) for s in VARIANTS[name][1] if s.startswith("steps=")), args.steps)
        if name in rows and rows[name]["steps"] == steps:
            continue
        out = args.work / f"{name}-s{args.seed}"
        sets += [f"train.seed={args.seed}", f"data.transform_seed={args.seed}", "train.progress=false", "train.tensorboard=false", "train.keep_checkpoints=1"]
        example = EXAMPLES / VARIANTS[name][2] if len(VARIANTS[name]) > 2 else EXAMPLE
        command = [sys.executable, "-m", "gancore.cli", "run", str(example), f"--output={out}", f"--steps={steps}", "--overwrite", *[f"--set={s}" for s in sets]]
        children[name] = (command, args.work / f"{name}.log")
    for name, timing in run_children(children, jobs=1, cwd=ROOT):
        steps = next((int(s.split("=")[1]) for s in VARIANTS[name][1] if s.startswith("steps=")), args.steps)
        records = read_metrics(args.work / f"{name}-s{args.seed}")
        curve = [(r["step"], r["classifier-accuracy/accuracy"]) for r in records if "classifier-accuracy/accuracy" in r]
        rows[name] = {"accuracy": curve[-1][1], "curve": curve, "cpu": timing["cpu"], "steps": steps}
        cache_path.write_text(json.dumps(rows, indent=1))
        print(name, rows[name], flush=True)

    lines = []
    if args.reference.exists():
        reference = json.loads(args.reference.read_text())
        for name, label in (("fm-gan", "reference settings (Adam 0.003, unlabeled_weight 0.5, no minibatch discrimination)"), ("supervised-only", "supervised-only, same settings (baseline)")):
            row = reference.get(name, {}).get(str(args.seed))
            if row:
                curve = ", ".join(f"{s}: {a:.1f}" for s, a in row["curve"])
                lines.append(f"| {label} | {row['steps']:,} | {row['accuracy']:.1f} | {curve} | {row['cpu'] / 60:.1f} |")
    for name in VARIANTS:
        if name in rows:
            row = rows[name]
            curve = ", ".join(f"{s}: {a:.1f}" for s, a in row["curve"])
            lines.append(f"| {VARIANTS[name][0]} | {row['steps']:,} | {row['accuracy']:.1f} | {curve} | {row['cpu'] / 60:.1f} |")
    body = f"""`fm-gan` on mnist5k (4,000 unlabelled train images, 100 labels chosen by `data.transform_seed` = {args.seed}), seed {args.seed},
each row one change from `plugins/gan-semisup/examples/fm-gan-mnist5k-100.yaml` (rows in bold: from the
`supervised-only` example, same labels and classifier). The shift is `{SHIFT_2PX.removeprefix("algorithm.")}`. Test accuracy (%) on the held-out
1,000 test images, with the averaged classifier (EMA 0.999). One seed only: differences of a point or two are within
the seed-to-seed spread of `benchmarks/semisup_mnist5k.py`. CPU min: the child's own CPU time, one thread.
Command: `python benchmarks/semisup_tuning.py --seed {args.seed} --steps {args.steps}`.

| change | steps | test accuracy % | during training (step: accuracy) | CPU min |
| --- | --- | --- | --- | --- |
{chr(10).join(lines)}"""
    print(body)
    update_section(TITLE, body)


if __name__ == "__main__":
    main()
