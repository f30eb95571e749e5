"""CPU options against the plain setting, each a ratio of two `gan run`s made one after the other:

* `train.compile: true` (torch.compile, inductor) against eager, at one thread, on the ring's MLPs and on
  DCGAN networks (digits, 64 channels), with the seconds until the first logged steps (compilation);
* 2 processes x 1 thread (torchrun, gloo; batch 32 per process) against 1 process x 2 threads (batch 64),
  the same global batch, on digits DCGAN;
* `train.mixed_precision: bf16` (Accelerate's CPU autocast) against fp32, at one thread, on digits DCGAN:
  steps/s, and the losses of the two over the same 200 steps from the same seed.

    python benchmarks/cpu_scaling.py [--only compile|processes|bf16 ...]

Steps/s come from each run's metrics.jsonl, after its first logged interval (warm-up, compilation).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work" / "cpu"
sys.path.insert(0, str(HERE))
from cpu_threads import QUIET, env_without_threads, rate, records  # noqa: E402
from results import update_section  # noqa: E402

RING = ["examples/gan-ring.yaml"]
DIGITS = ["examples/dcgan-digits.yaml"]


def run(name: str, args: list[str], steps: int, log_every: int, processes: int = 1) -> dict:
    out = WORK / f"scaling-{name}"
    shutil.rmtree(out, ignore_errors=True)
    command = [*args, *QUIET, "--set", f"train.log_every={log_every}", "--steps", str(steps), "--output", str(out), "--overwrite"]
    if processes > 1:
        command += ["--num-processes", str(processes)]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    subprocess.run(["nice", "-n", "5", sys.executable, "-m", "gancore.cli", "run", *command], cwd=ROOT, env=env_without_threads(),
                   check=True, stdout=subprocess.DEVNULL, stderr=open(WORK / f"scaling-{name}.stderr", "w"))
    recs = records(out)
    steps_per_second, seconds, counted = rate(recs, log_every)
    first = recs[0]["step"] / recs[0]["steps_per_second"] if recs else float("nan")
    row = {"name": name, "steps_per_second": steps_per_second, "first_interval_s": first, "wall_s": time.perf_counter() - started,
           "load": load, "records": recs}
    print(f"{name:28s} {steps_per_second:8.2f} steps/s  first interval {first:6.1f} s  load {load:.2f}", flush=True)
    return row


def compile_rows() -> list[str]:
    lines = ["| networks | eager steps/s | compiled steps/s | compiled / eager | compiled: first interval s (compilation) | load |", "| --- | --- | --- | --- | --- | --- |"]
    for label, args, steps, log_every in (("ring MLPs (128 wide, batch 256)", RING, 2000, 250), ("DCGAN 64 ch on digits (batch 64)", DIGITS, 400, 50)):
        eager = run(f"eager-{args[0].split('/')[-1]}", [*args, "--set", "train.threads=1"], steps, log_every)
        compiled = run(f"compiled-{args[0].split('/')[-1]}", [*args, "--set", "train.threads=1", "--set", "train.compile=true"], steps, log_every)
        lines.append(f"| {label} | {eager['steps_per_second']:.1f} | {compiled['steps_per_second']:.1f} | "
                     f"{compiled['steps_per_second'] / eager['steps_per_second']:.2f} | {compiled['first_interval_s']:.1f} | {eager['load']:.1f} / {compiled['load']:.1f} |")
    return lines


def process_rows() -> list[str]:
    one = run("1proc-2threads", [*DIGITS, "--set", "train.threads=2", "--set", "train.batch_size=64"], 300, 50)
    two = run("2procs-1thread", [*DIGITS, "--set", "train.threads=1", "--set", "train.batch_size=32"], 300, 50, processes=2)
    single = run("1proc-1thread", [*DIGITS, "--set", "train.threads=1", "--set", "train.batch_size=64"], 300, 50)
    return [
        "| setting (global batch 64) | steps/s | against 1 process x 2 threads | load |", "| --- | --- | --- | --- |",
        f"| 1 process x 2 threads | {one['steps_per_second']:.1f} | 1.00 | {one['load']:.1f} |",
        f"| 2 processes x 1 thread (gloo) | {two['steps_per_second']:.1f} | {two['steps_per_second'] / one['steps_per_second']:.2f} | {two['load']:.1f} |",
        f"| 1 process x 1 thread (reference) | {single['steps_per_second']:.1f} | {single['steps_per_second'] / one['steps_per_second']:.2f} | {single['load']:.1f} |",
    ]


def bf16_rows() -> list[str]:
    fp32 = run("fp32", [*DIGITS, "--set", "train.threads=1"], 200, 10)
    bf16 = run("bf16", [*DIGITS, "--set", "train.threads=1", "--set", "train.mixed_precision=bf16"], 200, 10)
    lines = ["| precision | steps/s | against fp32 | mean loss_d, steps 101-200 | mean loss_g, steps 101-200 | load |", "| --- | --- | --- | --- | --- | --- |"]
    means = {}
    for label, row in (("fp32", fp32), ("bf16 autocast", bf16)):
        late = [r for r in row["records"] if r["step"] > 100]
        means[label] = (statistics.mean(r["loss_d"] for r in late), statistics.mean(r["loss_g"] for r in late))
        lines.append(f"| {label} | {row['steps_per_second']:.1f} | {row['steps_per_second'] / fp32['steps_per_second']:.2f} | "
                     f"{means[label][0]:.3f} | {means[label][1]:.3f} | {row['load']:.1f} |")
    pairs = list(zip(fp32["records"], bf16["records"]))
    worst = max(max(abs(a["loss_d"] - b["loss_d"]) / abs(a["loss_d"]), abs(a["loss_g"] - b["loss_g"]) / abs(a["loss_g"])) for a, b in pairs)
    gap = max(abs(means["fp32"][i] - means["bf16 autocast"][i]) / abs(means["fp32"][i]) for i in (0, 1))
    verdict = "within" if gap <= 0.10 else "outside"
    lines += ["", f"Losses (10-step means, {len(pairs)} records each): the largest relative difference of one record is {worst:.1%}; "
                  f"the means over steps 101-200 differ by at most {gap:.2%}, **{verdict}** the 10% tolerance."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=["compile", "processes", "bf16"])
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    parts = {"compile": compile_rows, "processes": process_rows, "bf16": bf16_rows}
    stored = WORK / "scaling.json"
    done = json.loads(stored.read_text()) if stored.exists() else {}
    for name in args.only or list(parts):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        lines = parts[name]()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        done[name] = {"lines": lines, "when": time.strftime("%H:%M UTC", time.gmtime()), "cpu_minutes": round(cpu / 60, 1)}
        stored.write_text(json.dumps(done, indent=1))
    titles = {"compile": "torch.compile (inductor) against eager, one thread",
              "processes": "2 processes x 1 thread against 1 process x 2 threads",
              "bf16": "bf16 autocast against fp32, one thread, 200 steps from the same seed"}
    sections = "\n\n".join(f"**{titles[k]}** (measured {v['when']}, {v['cpu_minutes']} CPU minutes):\n\n" + "\n".join(v["lines"]) for k, v in done.items())
    body = f"""Each table compares `gan run`s made one after the other on this shared machine (the 1-minute load average at the
start of each is shown). Steps/s are read from metrics.jsonl after the first logged interval (which holds the
warm-up and, with `train.compile`, the compilation), with sampling, evaluation and periodic checkpoints off.
Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. Command: `python benchmarks/cpu_scaling.py`.

{sections}"""
    update_section("CPU: compile, processes and bf16", body)
    print(body)


if __name__ == "__main__":
    main()
