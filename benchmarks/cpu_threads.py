"""Steps/s of every shipped example at 1 thread, 2 threads and `train.threads: auto`, alone and beside a
second `gan run`.

Each cell is one `gan run` of the example (no sampling, evaluation or periodic checkpoints), stopped with
SIGINT once its logged steps cover `--seconds` of training; steps/s is read from its metrics.jsonl. For
`auto` the rate counts only the steps after its choice, and the seconds its trial took are reported
beside it. In the "beside a second run" condition, a DCGAN `gan run` on digits at one thread trains the
whole time in another process. Each setting runs `--repeats` times per row, in rotating order (1 2 auto,
2 auto 1, auto 1 2), and the row compares the medians of its cells; the 1-minute load average is recorded at
each cell.

    python benchmarks/cpu_threads.py [--seconds 8] [--repeats 3] [--condition idle --condition loaded] [--example ring ...]

Raw results accumulate in benchmarks/_work/cpu/threads.json (a rerun of a row replaces it); the section of
RESULTS.md is written from all of them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work" / "cpu"
sys.path.insert(0, str(HERE))
from results import update_section  # noqa: E402

QUIET = ["--set", "train.progress=false", "--set", "train.tensorboard=false", "--set", "train.sample_every=0",
         "--set", "train.checkpoint_every=0", "--set", "train.eval_every=0", "--set", "eval.metrics=[]"]

# name: (the run's arguments, log_every so that a record comes about every second)
EXAMPLES = {
    "ring": (["examples/gan-ring.yaml"], 50),
    "grid (WGAN-GP)": (["plugins/gan-wgan/examples/wgan-gp-grid.yaml"], 10),
    "digits DCGAN": (["examples/dcgan-digits.yaml"], 5),
    "mnist5k DCGAN": (["examples/dcgan-mnist5k-fast.yaml"], 2),
    "WGAN-GP mnist5k": (["plugins/gan-wgan/examples/wgan-gp-mnist5k.yaml"], 1),
    "BGAN binary mnist5k": (["plugins/gan-bgan/examples/bgan-binary-mnist5k.yaml"], 1),
}
COMPETITOR = ["examples/dcgan-digits.yaml", "--set", "train.threads=1"]
SETTINGS = ("1", "2", "auto")


def env_without_threads() -> dict[str, str]:
    """The user's environment with no thread variables, so that train.threads decides."""
    return {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def gan_command(args: list[str], out: Path, steps: int = 10_000_000) -> list[str]:
    return ["nice", "-n", "5", sys.executable, "-m", "gancore.cli", "run", *args, *QUIET,
            "--steps", str(steps), "--output", str(out), "--overwrite"]


def records(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line being written
            break
        if "steps_per_second" in record:
            out.append(record)
    return out


def rate(recs: list[dict], after_step: int) -> tuple[float, float, int]:
    """(steps/s, seconds, steps) over the logged intervals that start at or after ``after_step``; when
    none does (a cell so slow that it logged once), the intervals there are, warm-up included."""
    for start in (after_step, 0):
        steps = seconds = 0.0
        previous = 0
        for r in recs:
            if previous >= start:
                n = r["step"] - previous
                steps += n
                seconds += n / r["steps_per_second"]
            previous = r["step"]
        if seconds:
            return steps / seconds, seconds, int(steps)
    return float("nan"), 0.0, 0


def trial_steps(stderr: str) -> int | None:
    """The step at which auto chose, from its message."""
    found = re.search(r"auto chose (\d+) after a (\d+)-step trial", stderr)
    return None if found is None else int(found.group(2))


def run_cell(args: list[str], setting: str, log_every: int, seconds: float, out: Path, hard_limit: float) -> dict:
    """One `gan run`, stopped by SIGINT when its steps after the warm-up (or auto's trial) cover ``seconds``."""
    shutil.rmtree(out, ignore_errors=True)  # an old run's metrics.jsonl would stop the new one before it starts
    out.mkdir(parents=True)
    err_path = out.parent / f"{out.name}.stderr"
    load = os.getloadavg()[0]
    with open(err_path, "w") as err:
        proc = subprocess.Popen(gan_command([*args, "--set", f"train.threads={setting}", "--set", f"train.log_every={log_every}"], out / "run"),
                                cwd=ROOT, env=env_without_threads(), stdout=subprocess.DEVNULL, stderr=err)
    started = time.perf_counter()
    first_record_at = None
    while proc.poll() is None:
        time.sleep(0.25)
        recs = records(out / "run")
        if recs and first_record_at is None:
            first_record_at = time.perf_counter()
        after = log_every  # the first interval holds the first steps' warm-up
        if setting == "auto":
            decided = trial_steps(err_path.read_text())
            if decided is None:
                if time.perf_counter() - started < hard_limit:
                    continue
            else:
                after = max(after, -(-decided // log_every) * log_every)
        _, covered, _ = rate(recs, after)
        if covered >= seconds or time.perf_counter() - started >= hard_limit:
            proc.send_signal(signal.SIGINT)
            break
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    stderr = err_path.read_text()
    recs = records(out / "run")
    decided = trial_steps(stderr) if setting == "auto" else None
    after = log_every if decided is None else max(log_every, -(-decided // log_every) * log_every)
    steps_per_second, covered, counted = rate(recs, after)
    row = {"setting": setting, "steps_per_second": steps_per_second, "seconds": round(covered, 2), "steps": counted,
           "load": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}
    if setting == "auto":
        found = re.search(r"auto chose (\d+)", stderr)
        row["chose"] = int(found.group(1)) if found else None
        # The measured choice (with its trial's ms/step); the session also announces the trial with a first "threads:" line.
        row["message"] = next((line for line in stderr.splitlines() if line.startswith("threads: auto chose")), None)
        if decided is not None:  # the trial's own seconds, from the records up to the decision
            before = [r for r in recs if r["step"] <= after]
            row["trial_seconds"] = round(sum((r["step"] - p) / r["steps_per_second"] for p, r in zip([0] + [x["step"] for x in before], before)), 2)
    if not recs:
        row["note"] = f"no step logged within {hard_limit:.0f} s"
    return row


def start_competitor(out: Path) -> subprocess.Popen:
    out.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(gan_command(COMPETITOR, out / "competitor"), cwd=ROOT, env=env_without_threads(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load_results(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rate(value: float) -> str:
    return "—" if value != value else f"{value:.2f}"


def _median_rate(cells: list[dict]) -> float:
    """The median steps/s of a setting's cells; a cell that logged no step (NaN) was the slowest, and counts as 0."""
    return statistics.median(0.0 if math.isnan(c["steps_per_second"]) else c["steps_per_second"] for c in cells)


def render(results: dict) -> str:
    lines = [
        "| example | condition | 1 thread steps/s | 2 threads steps/s | auto steps/s | auto chose | auto / best fixed | "
        "auto's trials: ms/step at 1 / 2 threads | auto's trial s | load (1 min) | s per cell | measured |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    worst = {}
    for key, row in results.items():
        example, condition = key.split(" | ")
        by_setting = {s: [c for c in row["cells"] if c["setting"] == s] for s in SETTINGS}
        one, two, auto = (_median_rate(by_setting[s]) for s in SETTINGS)
        best = max(one, two)
        ratio = auto / best if best > 0 else float("nan")
        if not math.isnan(ratio):
            worst[condition] = min(worst.get(condition, 9), ratio)

        def spread(cells: list[dict]) -> str:
            rates = [f"{c['steps_per_second']:.1f}" for c in cells]
            return f"**{_median_rate(cells):.2f}** ({', '.join(rates)})" if len(cells) > 1 else _rate(_median_rate(cells))

        autos = by_setting["auto"]
        chose = ", ".join(str(c.get("chose")) for c in autos)
        trials = "; ".join(" / ".join(re.findall(r"([\d.]+) ms/step", c.get("message") or "")) or "—" for c in autos)
        trial_s = ", ".join(f"{c['trial_seconds']:.1f}" for c in autos if c.get("trial_seconds") is not None)
        loads = [c["load"] for c in row["cells"]]
        lines.append(
            f"| {example} | {condition} | {spread(by_setting['1'])} | {spread(by_setting['2'])} | {spread(autos)} | {chose} | "
            f"{_rate(ratio)} | {trials} | {trial_s} | {min(loads):.1f}–{max(loads):.1f} | {row.get('seconds', '?')} | {row['when']} |"
        )
    return "\n".join(lines), worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="training seconds counted per cell")
    parser.add_argument("--repeats", type=int, default=3, help="cells per setting in a row; the row compares their medians")
    parser.add_argument("--condition", action="append", choices=["idle", "loaded"], help="default: both")
    parser.add_argument("--example", action="append", choices=list(EXAMPLES), help="default: all")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    store = WORK / "threads.json"
    results = load_results(store)
    if not args.render_only:
        for condition in args.condition or ["idle", "loaded"]:
            cpu_mark = cpu_seconds_of_children()
            competitor = start_competitor(WORK / "threads-competitor") if condition == "loaded" else None
            try:
                if competitor is not None:
                    time.sleep(8)  # its imports and set-up, so it is training when the cells start
                for example in args.example or list(EXAMPLES):
                    run_args, log_every = EXAMPLES[example]
                    cells = []
                    # Each setting runs --repeats times, the order rotating (1 2 auto, 2 auto 1, auto 1 2), and the
                    # row compares medians: separate processes of one setting differ by up to 30% here.
                    for repeat in range(args.repeats):
                        for setting in SETTINGS[repeat % 3:] + SETTINGS[:repeat % 3]:
                            folder = WORK / f"threads-{re.sub(r'[^a-z0-9]+', '-', example.lower())}-{condition}-{setting}"
                            cell = run_cell(run_args, setting, log_every, args.seconds, folder, hard_limit=max(30.0, 3 * args.seconds))
                            cells.append(cell)
                            print(f"{example:22s} {condition:6s} threads={setting:4s} {cell['steps_per_second']:8.2f} steps/s "
                                  f"load {cell['load']:.2f} {cell.get('message') or ''}", flush=True)
                    results[f"{example} | {condition}"] = {"cells": cells, "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seconds": args.seconds,
                                                           "cpu_seconds": cpu_seconds_of_children() - cpu_mark}
                    cpu_mark = cpu_seconds_of_children()
                    store.write_text(json.dumps(results, indent=1))
            finally:
                if competitor is not None:
                    stop(competitor)
    table, worst = render(results)
    summary = "; ".join(f"{c}: worst auto / best fixed {w:.2f}" for c, w in worst.items())
    cpu = sum(row.get("cpu_seconds", 0.0) for row in results.values()) / 60
    body = f"""Steps/s of each shipped example, read from its metrics.jsonl while it trains (no sampling, evaluation or
periodic checkpoints; EMA as the example sets it), at `train.threads` 1, 2 and `auto`. Each cell is one `gan run`
stopped by SIGINT once its logged steps after the first interval cover the row's seconds per cell (a cell too slow
to get there is stopped after 30 s and counted from what it logged; one that logged nothing counts as 0 steps/s);
`auto` counts only the steps after its choice, and its trial's seconds are shown beside it. Each setting runs
several times per row (`--repeats`), in rotating order
(1 2 auto, 2 auto 1, auto 1 2), and the row compares the medians (in bold, the cells in brackets): separate
processes of one setting differ by up to 30% in speed here, so one cell per setting was a coarse measure (a row
without brackets is from that earlier protocol, one cell per setting). The
two step times of each auto trial, measured alternating in one process, show whether its choice was right.
**idle**: no other run of mine (the 1-minute load average over the row's cells is shown). **loaded**: a second
`gan run` (DCGAN on digits, one thread) trains for the whole row. Auto's trial is at most 4 rounds of blocks of
about 0.25 s (at most 8 changes of thread count: every change leaves later multi-threaded steps a little
slower, a 2-thread MLP step 7.2 ms fresh and 11.5 ms after 60 changes), and it keeps 2 threads only if their
median step takes at most 0.92 of one thread's.
Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.
Command: `python benchmarks/cpu_threads.py --seconds {args.seconds:g} --repeats {args.repeats}`; {cpu:.1f} CPU minutes for the rows below, competitor included.

{table}

Target: auto within 10% of the better fixed setting in every row ({summary})."""
    update_section("CPU threads: 1, 2 and auto per example", body)
    print(body)


if __name__ == "__main__":
    main()
