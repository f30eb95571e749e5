"""Image quality per CPU minute: DCGAN, DiffAugment, R1 and WGAN-GP on mnist5k; lfw-subset faces.

Every run is one `gan run` child (one thread; ``--jobs`` children at a time) with a small hook that reads the
child's own CPU clock (``time.process_time``, from ``gan_train_start``, less the time it spends
evaluating and saving) and, at each CPU mark (e.g. 5, 10 and 20 minutes), writes a checkpoint,
scores the EMA generator and appends a line to ``RUN/marks.jsonl``; after the last mark it stops.

* ``mnist``: FID and KID on ``lenet-mnist`` features, 2,000 samples against the 1,000-digit
  test split of mnist5k (training on the 4,000-digit train split), for each recipe of ``RECIPES``;
* ``tune``: one short run of a recipe with ``--set`` overrides (the same score), to choose a recipe;
* ``lfw``: ``examples/gan-lfw-faces.yaml`` on the 100 faces of lfw-subset at 32x32, with and without
  augmentation, for the same CPU minutes; SWD (x1e3, mean over pyramid levels) of 50 samples against
  50 real faces, beside the SWD of those 50 real faces against the other 50; the grid
  ``benchmarks/lfw-faces.png`` (rows: real faces | without augmentation | with augmentation);
* ``families``: the WGAN-GP and BGAN examples with and without ``augment``, for the same CPU minutes.

Results are kept as JSON under ``benchmarks/_work/iq*/`` and the section "Image quality per CPU
minute" of benchmarks/RESULTS.md is rebuilt from all of them by ``report`` (each command runs it).

    python benchmarks/image_quality.py mnist --marks 5 10 20 --seeds 0
    python benchmarks/image_quality.py tune --recipe dcgan --minutes 2.5 --set algorithm.lr_generator=5e-4
    python benchmarks/image_quality.py lfw --marks 1 2
    python benchmarks/image_quality.py families --marks 1 2 --only wgan-gp/augment
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"
sys.path.insert(0, str(HERE))
from results import DCGAN_MNIST5K, RESULTS, run_children, update_section  # noqa: E402

TITLE = "Image quality per CPU minute"
SAMPLES = 2000
TEST = "{name: mnist5k, split: test}"
MNIST_METRICS = (
    f"[{{name: fid, features: lenet-mnist, num_samples: {SAMPLES}, reference: {TEST}}},"
    f" {{name: kid, features: lenet-mnist, num_samples: {SAMPLES}, reference: {TEST}}}]"
)
FAST = ROOT / "examples" / "dcgan-mnist5k-fast.yaml"
FACES = ROOT / "examples" / "gan-lfw-faces.yaml"
WGAN_GP = ROOT / "plugins" / "gan-wgan" / "examples" / "wgan-gp-mnist5k.yaml"
BGAN = ROOT / "plugins" / "gan-bgan" / "examples" / "bgan-binary-mnist5k.yaml"
# The builtin DCGAN as benchmarks/wgan_mnist5k.py runs it ("as it is today").
DCGAN = {**DCGAN_MNIST5K, "data": {"name": "mnist5k"}, "train": {"batch_size": 64, "ema_decay": 0.999}}
DIFFAUGMENT = "algorithm.augment={policy: [translation, cutout]}"
# name -> (config, --set overrides, what it is)
RECIPES = {
    "dcgan": (None, [], "builtin DCGAN as today (32 channels, batch-norm D, Adam 2e-4, batch 64, EMA 0.999)"),
    "dcgan-diffaugment": (None, [DIFFAUGMENT], "the same + DiffAugment translation, cutout"),
    "fast": (FAST, [], f"`{FAST.relative_to(ROOT)}`, the best recipe found: the same DCGAN with Adam 5e-4 for both networks"),
    "wgan-gp": (WGAN_GP, [], f"WGAN-GP, `{WGAN_GP.relative_to(ROOT)}`"),
}


# ------------------------------------------------------------------ the child


def child_main(config: str, run_dir: str, marks: list[float], sets: list[str], swd_faces: bool) -> None:
    """`gan run CONFIG` in this process; at each CPU mark (seconds of training), checkpoint and score."""
    from gancore import hookimpl, plugins

    class CPUMarks:
        start, excluded = 0.0, 0.0

        @hookimpl
        def gan_train_start(self, run):
            self.start, self.pending = time.process_time(), sorted(marks)

        @hookimpl
        def gan_train_step_end(self, run, step, logs):
            used = time.process_time() - self.start - self.excluded
            if not self.pending or used < self.pending[0]:
                return
            mark = self.pending.pop(0)
            began = time.process_time()
            run.save_checkpoint()
            run.write_samples()
            record = {"mark_minutes": mark / 60, "train_cpu_minutes": used / 60, "step": step, **evaluate_now(run, step)}
            if swd_faces:
                record.update(faces_swd(run))
            with open(Path(run.run_dir) / "marks.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
            print(json.dumps(record), flush=True)
            self.excluded += time.process_time() - began  # scoring and saving are not training
            if not self.pending:
                run.should_stop = True

    plugins.get_host().register_plugin(CPUMarks(), "cpu-marks")
    from gancore.cli import cli

    sets = [*sets, "train.steps=10000000", "train.sample_every=0", "train.checkpoint_every=0", "train.eval_every=0",
            "train.keep_checkpoints=10", "train.log_every=100", "train.progress=false", "train.tensorboard=false"]
    Path(run_dir, "marks.jsonl").unlink(missing_ok=True)
    cli(["run", config, "--output", run_dir, "--overwrite", *[x for s in sets for x in ("--set", s)]], standalone_mode=False)


def evaluate_now(run, step: int) -> dict[str, float]:
    """The run's eval.metrics at this step, as an evaluation of the loop is: scored (``score_run``), kept as
    ``run.results``, logged to metrics.jsonl and handed to the ``gan_eval_end`` hooks."""
    from scoring import score_run

    results = score_run(run)
    if results:
        run.results = results
        run.log({"step": step, **results})
        run.host.eval_end(run, step, results)
    return results


def faces_swd(run, n: int = 50) -> dict:
    """SWD of n EMA samples against n real faces, and of those real faces against the other n; samples saved."""
    import torch

    from gancore.metrics.swd import swd
    from gancore.run import EVAL_SEED
    from scoring import sample_run

    real = run.data.tensors["x"].cpu().float()
    fake = sample_run(run, 2 * n, seed=EVAL_SEED).float()
    torch.save(fake, Path(run.run_dir) / f"faces-{run.step:06d}.pt")
    options = {"min_resolution": 16}
    return {"swd_fake": swd(real[:n], fake[:n], **options)["avg"], "swd_real_halves": swd(real[:n], real[n : 2 * n], **options)["avg"]}


# ------------------------------------------------------------------ runs


def run(runs: dict[str, tuple[Path, list[str], Path]], marks: list[float], swd_faces: bool = False, jobs: int = 1) -> dict[str, dict]:
    """``{key: (config, sets, run_dir)}``, ``jobs`` at a time; ``{key: {marks, cpu}}`` as they end. Each child is
    single-threaded and counts only its own CPU clock, so two children on two cores take about the CPU time one
    would alone; not exactly, since they share cache and memory bandwidth (the steps at each mark show it)."""
    children = {}
    for key, (config, sets, run_dir) in runs.items():
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, __file__, "child", str(config), str(run_dir), "--marks", *[str(m) for m in marks],
                   *[x for s in sets for x in ("--set", s)], *(["--faces"] if swd_faces else [])]
        children[key] = (command, run_dir.with_suffix(".log"))
    out = {}
    for key, timing in run_children(children, jobs, cwd=ROOT):
        run_dir = runs[key][2]
        records = [json.loads(line) for line in (run_dir / "marks.jsonl").read_text().splitlines() if line.strip()]
        result = {"marks": records, "child_cpu_minutes": timing["cpu"] / 60, "sets": runs[key][1], "config": str(runs[key][0])}
        (run_dir.parent / f"{run_dir.name}.json").write_text(json.dumps(result, indent=1))
        print(key, json.dumps(records[-1]), flush=True)
        out[key] = result
    return out


def recipe_config(name: str, folder: Path) -> tuple[Path, list[str]]:
    config, sets, _ = RECIPES[name]
    if config is None:
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "dcgan-mnist5k.yaml"
        config.write_text(json.dumps(DCGAN))
    return config, list(sets)


def cmd_mnist(args) -> None:
    folder = WORK / "iq-mnist"
    runs = {}
    for seed in args.seeds:  # seed-major: every recipe has a first seed before any has a second
        for name in args.recipes:
            config, sets = recipe_config(name, folder)
            runs[f"{name}/{seed}"] = (config, [*sets, f"train.seed={seed}", f"eval.metrics={MNIST_METRICS}"], folder / f"{name}-s{seed}")
    run(runs, [60 * m for m in args.marks], jobs=args.jobs)


def cmd_tune(args) -> None:
    folder = WORK / "iq-tune"
    config, sets = recipe_config(args.recipe, folder)
    label = args.label or "-".join([args.recipe, *[s.replace("algorithm.", "").replace("train.", "") for s in args.set]])
    label = "".join(c if c.isalnum() or c in "-_.=" else "_" for c in label)[:120]
    run({label: (config, [*sets, *args.set, f"eval.metrics={MNIST_METRICS}"], folder / label)}, [60 * m for m in args.minutes])


def cmd_lfw(args) -> None:
    folder = WORK / "iq-lfw"
    runs = {
        "with augmentation": (FACES, [], folder / "augment"),
        "without augmentation": (FACES, ["algorithm.augment.policy=[]", "algorithm.consistency_real=0", "algorithm.consistency_fake=0"], folder / "plain"),
    }
    run(runs, [60 * m for m in args.marks], swd_faces=True)
    faces_grid(folder)


def faces_grid(folder: Path, per_row: int = 12, rows: int = 3) -> None:
    import torch

    from gancore.visual import save_rows
    from scoring import dataset

    real = dataset({"name": "lfw-subset", "subset": "faces", "image_size": 32}).tensors["x"]
    grid = [real[i * per_row : (i + 1) * per_row] for i in range(rows)]
    for name in ("plain", "augment"):
        latest = sorted((folder / name).glob("faces-*.pt"))[-1]
        fake = torch.load(latest, weights_only=True)  # tensors only: unpickling runs no code
        grid += [fake[i * per_row : (i + 1) * per_row] for i in range(rows)]
    save_rows(grid, HERE / "lfw-faces.png")


def cmd_families(args) -> None:
    folder = WORK / "iq-families"
    augment = "algorithm.augment={policy: [translation, cutout]}"
    runs = {
        "wgan-gp/plain": (WGAN_GP, [f"eval.metrics={MNIST_METRICS}"], folder / "wgan-gp-plain"),
        "wgan-gp/augment": (WGAN_GP, [augment, f"eval.metrics={MNIST_METRICS}"], folder / "wgan-gp-augment"),
        "bgan/plain": (BGAN, [], folder / "bgan-plain"),
        "bgan/augment": (BGAN, [augment], folder / "bgan-augment"),
    }
    binary_test = "{name: mnist5k, split: test, transforms: [{name: binarize, threshold: 0.5}]}"  # gan-bgan's binarize transform
    bgan_metrics = (f"eval.metrics=[{{name: fid, features: lenet-mnist, num_samples: {SAMPLES}, reference: {binary_test}}},"
                    f" {{name: kid, features: lenet-mnist, num_samples: {SAMPLES}, reference: {binary_test}}}]")
    for key in ("bgan/plain", "bgan/augment"):
        runs[key][1].append(bgan_metrics)
    run({k: v for k, v in runs.items() if not args.only or k in args.only}, [60 * m for m in args.marks])


# ------------------------------------------------------------------ report


def load(folder: str) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((WORK / folder).glob("*.json"))}


def seed_summary(mnist: dict[str, dict], mark: float) -> list[str]:
    """Mean ± std (over seeds) of FID and KID at the CPU mark ``mark``, per recipe, and the gap to FID 20."""
    import statistics

    by_recipe: dict[str, list[dict]] = {}
    for key, result in mnist.items():
        at = [m for m in result["marks"] if m["mark_minutes"] == mark]
        if at:
            by_recipe.setdefault(key.rpartition("-s")[0], []).append(at[0])
    rows = [f"**At {mark:g} CPU minutes, over seeds** (mean ± sample std):", "",
            "| recipe | seeds | FID | KID | steps | gap to FID 20 |", "| --- | --- | --- | --- | --- | --- |"]
    for name, records in sorted(by_recipe.items(), key=lambda kv: statistics.mean(r["fid/fid"] for r in kv[1])):
        fid, kid = [r["fid/fid"] for r in records], [r["kid/kid"] for r in records]
        spread = (lambda v: f" ± {statistics.stdev(v):.1f}" if len(v) > 1 else "")
        rows.append(f"| {name} | {len(records)} | {statistics.mean(fid):.1f}{spread(fid)} | {statistics.mean(kid):.1f}{spread(kid)} | "
                    f"{statistics.mean(r['step'] for r in records):,.0f} | {statistics.mean(fid) - 20:+.1f} |")
    return rows


def cmd_report(args=None) -> str:
    lines = [
        "Each run is one `gan run` child with one thread; a hook reads the child's CPU clock (`time.process_time`, training only:",
        "scoring and checkpointing are not counted) and at each CPU mark writes a checkpoint and scores the EMA generator.",
        f"mnist5k: trained on the 4,000-digit train split; FID and KID on `lenet-mnist` features, {SAMPLES:,} samples against",
        "the 1,000-digit test split (real vs real: 3.9). Lower is better.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work. Script: `benchmarks/image_quality.py`.",
        "",
    ]
    mnist = load("iq-mnist")
    if mnist:
        marks = sorted({m["mark_minutes"] for r in mnist.values() for m in r["marks"]})
        lines += ["### mnist5k: FID (KID) against CPU minutes of training", "",
                  "| recipe | seed | " + " | ".join(f"{m:g} CPU min" for m in marks) + " | steps at the last mark | gap to FID 20 at the last mark |",
                  "| --- | --- | " + " | ".join("---" for _ in marks) + " | --- | --- |"]
        for key, result in mnist.items():
            name, _, seed = key.rpartition("-s")
            at = {m["mark_minutes"]: m for m in result["marks"]}
            cells = [f"{at[m]['fid/fid']:.1f} ({at[m]['kid/kid']:.1f})" if m in at else "not run" for m in marks]
            last = result["marks"][-1]
            lines.append(f"| {name} | {seed} | " + " | ".join(cells) + f" | {last['step']:,} | {last['fid/fid'] - 20:+.1f} |")
        lines += ["", "Recipes: " + "; ".join(f"**{n}**: {d}" for n, (_, _, d) in RECIPES.items()) + "."]
        lines += ["", *seed_summary(mnist, marks[-1]), ""]
    tune = load("iq-tune")
    if tune:
        lines += ["### Tuning runs (short, one seed; FID at the CPU mark)", "", "| run | overrides | CPU min | steps | FID | KID |", "| --- | --- | --- | --- | --- | --- |"]
        for key, result in tune.items():
            m = result["marks"][-1]
            sets = ", ".join(f"`{s}`" for s in result["sets"] if not s.startswith("eval.metrics")) or "none"
            lines.append(f"| {key} | {sets} | {m['mark_minutes']:g} | {m['step']:,} | {m['fid/fid']:.1f} | {m['kid/kid']:.1f} |")
        lines.append("")
    lfw = load("iq-lfw")
    if lfw:
        lines += ["### lfw-subset faces (100 images, 32x32)", "",
                  f"`{FACES.relative_to(ROOT)}`, with and without its augmentation, the same CPU minutes. SWD (x1e3, mean over pyramid",
                  "levels 32 and 16) of 50 EMA samples against 50 real faces; the real row is those 50 real faces against the other 50.",
                  "Grid `benchmarks/lfw-faces.png`: 3 rows of real faces, 3 rows without augmentation, 3 rows with.", "",
                  "| run | CPU min | steps | SWD vs 50 real faces | real half vs real half |", "| --- | --- | --- | --- | --- |"]
        for key, result in lfw.items():
            for m in result["marks"]:
                lines.append(f"| {'with' if key == 'augment' else 'without'} augmentation | {m['mark_minutes']:g} | {m['step']:,} | {m['swd_fake']:.1f} | {m['swd_real_halves']:.1f} |")
        lines.append("")
    families = load("iq-families")
    if families:
        lines += ["### WGAN-GP and BGAN with and without DiffAugment (translation, cutout), mnist5k", "",
                  "BGAN (`bgan-binary-mnist5k.yaml`) is scored against the binarized test digits; WGAN-GP (`wgan-gp-mnist5k.yaml`)",
                  "against the test digits. Seed 0; `wgan-gp/plain` is the `wgan-gp` recipe (seed 0) from an earlier curve at 1 and 2 CPU minutes.", "",
                  "| run | FID (KID) at each CPU mark | steps at the last mark |", "| --- | --- | --- |"]
        for key, result in families.items():
            cells = "; ".join(f"{m['mark_minutes']:g} min: {m['fid/fid']:.1f} ({m['kid/kid']:.1f})" for m in result["marks"])
            lines.append(f"| {key} | {cells} | {result['marks'][-1]['step']:,} |")
        lines.append("")
    notes = WORK / "iq-notes.md"
    if notes.exists():
        lines += [notes.read_text().strip()]
    body = "\n".join(lines)
    update_section(TITLE, body, RESULTS)
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("child", help=argparse.SUPPRESS)
    p.add_argument("config")
    p.add_argument("run_dir")
    p.add_argument("--marks", type=float, nargs="+", required=True, help="CPU seconds")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--faces", action="store_true")
    p = sub.add_parser("mnist")
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--marks", type=float, nargs="+", default=[5, 10, 20], help="CPU minutes")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--jobs", type=int, default=1, help="children at a time (one per core at most)")
    p = sub.add_parser("tune")
    p.add_argument("--recipe", default="fast", choices=list(RECIPES))
    p.add_argument("--minutes", type=float, nargs="+", default=[2.0], help="CPU marks")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--label")
    p = sub.add_parser("lfw")
    p.add_argument("--marks", type=float, nargs="+", default=[3.0], help="CPU minutes")
    p = sub.add_parser("families")
    p.add_argument("--marks", type=float, nargs="+", default=[2.0], help="CPU minutes")
    p.add_argument("--only", nargs="*", choices=["wgan-gp/plain", "wgan-gp/augment", "bgan/plain", "bgan/augment"],
                   help="these runs only (the plain WGAN-GP curve is also the mnist recipe wgan-gp)")
    sub.add_parser("report")
    args = parser.parse_args()
    if args.command == "child":
        child_main(args.config, args.run_dir, args.marks, args.set, args.faces)  # marks in CPU seconds
        return
    {"mnist": cmd_mnist, "tune": cmd_tune, "lfw": cmd_lfw, "families": cmd_families, "report": lambda a: None}[args.command](args)
    print(cmd_report())


if __name__ == "__main__":
    main()
