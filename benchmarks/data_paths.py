"""In-memory tensor batches against a DataLoader, on mnist5k.

Two measurements, side by side in one run, one thread per process:
1. data only: batches of 64 per second from each path (the DataLoader with 0 and 2 workers);
2. training: `gan run` DCGAN on mnist5k with `in_memory: true` and `in_memory: false`, steps/s.
The ratios go into benchmarks/RESULTS.md.

    python benchmarks/data_paths.py [--batches 2000] [--steps 600]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import child_env, read_metrics, update_section  # noqa: E402


def data_only(batches: int) -> dict[str, float]:
    import torch

    from gancore.data import Batches, LoaderBatches, LoaderData, TensorItems
    from scoring import dataset

    torch.set_num_threads(1)
    data = dataset({"name": "mnist5k"})
    rates = {}
    streams = {
        "in memory (index_select)": lambda: Batches(data, 64, seed=0),
        "DataLoader, 0 workers": lambda: LoaderBatches(LoaderData(TensorItems(data), "image", data.sample_shape, num_workers=0), 64, seed=0),
        "DataLoader, 2 workers": lambda: LoaderBatches(LoaderData(TensorItems(data), "image", data.sample_shape, num_workers=2), 64, seed=0),
    }
    for name, make in streams.items():
        stream = make()
        for _ in range(20):  # warm-up (and worker start)
            next(stream)
        start = time.perf_counter()
        for _ in range(batches):
            next(stream)
        rates[name] = batches / (time.perf_counter() - start)
    return rates


def training(steps: int, in_memory: bool, work: Path) -> float:
    config = {
        "plugin": "gan",
        "algorithm": {"name": "gan", "generator": {"name": "dcgan-generator", "base_channels": 32}, "discriminator": {"name": "dcgan-discriminator", "base_channels": 32}},
        "data": {"name": "mnist5k", "in_memory": in_memory, "num_workers": 2},
        "train": {"steps": steps, "batch_size": 64, "log_every": 50, "sample_every": 0, "checkpoint_every": 0, "progress": False, "tensorboard": False},
    }
    path = work / f"config-{in_memory}.json"
    path.write_text(json.dumps(config))
    run = work / f"run-{in_memory}"
    subprocess.run([sys.executable, "-m", "gancore.cli", "run", str(path), "--output", str(run), "--overwrite"], env=child_env(), check=True, capture_output=True)
    records = [r for r in read_metrics(run) if "steps_per_second" in r and r["step"] > 100]  # after warm-up
    return sum(50 for _ in records) / sum(50 / r["steps_per_second"] for r in records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args()
    rates = data_only(args.batches)
    with tempfile.TemporaryDirectory() as tmp:
        memory, loader = training(args.steps, True, Path(tmp)), training(args.steps, False, Path(tmp))
    fast = rates["in memory (index_select)"]
    rows = "\n".join(f"| {name} | {rate:,.0f} | {fast / rate:.1f}x |" for name, rate in rates.items())
    body = f"""mnist5k (4,000 28x28 images), batches of 64, one thread, CPU. Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.
Command: `python benchmarks/data_paths.py --batches {args.batches} --steps {args.steps}`.

Data only ({args.batches} batches after a warm-up):

| path | batches/s | in-memory speed-up |
| --- | --- | --- |
{rows}

Training (`gan run`, DCGAN with 32 base channels, {args.steps} steps, steps/s after step 100):

| path | steps/s |
| --- | --- |
| in memory (`in_memory: true`) | {memory:.1f} |
| DataLoader, 2 workers (`in_memory: false`) | {loader:.1f} |
| **ratio in-memory / DataLoader** | **{memory / loader:.2f}** |"""
    update_section("Data paths: in-memory tensors vs DataLoader (mnist5k)", body)
    print(body)


if __name__ == "__main__":
    main()
