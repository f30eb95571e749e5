"""What the benchmark scripts share: writing one section of benchmarks/RESULTS.md (leaving the other
sections as they are), running `gan` children with one thread each, and reading a run's metrics.jsonl."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Hashable, Iterator

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = "# Benchmark results\n\nEach section is written by the script it names; rerun the script to refresh it.\n"


def update_section(title: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section ``## title``. Two benchmarks finishing at once do not lose each
    other's section: the read-modify-write holds a lock, and the new file replaces the old atomically."""
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = path.read_text() if path.exists() else HEADER
        section = f"## {title}\n\n{body.strip()}\n"
        pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
        if pattern.search(text):
            text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
        else:
            text = text.rstrip() + "\n\n" + section
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(text)
        os.replace(temporary, path)


# The builtin DCGAN on mnist5k "as it is today": the baseline the image benchmarks set their models against
# (wgan_mnist5k.py, egan_mnist5k.py, image_quality.py, biggan_mnist5k.py). Copy it before changing it.
DCGAN_MNIST5K = {
    "plugin": "gan",
    "algorithm": {
        "name": "gan", "latent_dim": 64,
        "generator": {"name": "dcgan-generator", "base_channels": 32},
        "discriminator": {"name": "dcgan-discriminator", "base_channels": 32, "norm": "batch"},
        "loss": {"name": "non-saturating"}, "lr_generator": 2e-4, "lr_discriminator": 2e-4, "betas": [0.5, 0.999],
    },
    "data": {"name": "mnist5k"},
    "train": {"batch_size": 64, "ema_decay": 0.999},
}


# ------------------------------------------------------------------ child runs


def child_env() -> dict[str, str]:
    """The environment of a benchmark child: one thread, so that two children on two cores do not thrash."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_children(children: dict[Hashable, tuple[list[str], Path]], jobs: int, cwd: Path | None = None) -> Iterator[tuple[Hashable, dict]]:
    """Run ``{key: (command, log file)}``, ``jobs`` at a time, with ``child_env()``; yield ``(key, timing)``
    as each one ends, where timing holds its wall and its own CPU seconds (from ``os.wait4``). When a
    child fails, the others are stopped and the script exits naming the failed child's log."""
    pending, running = list(children), {}
    while pending or running:
        while pending and len(running) < jobs:
            key = pending.pop(0)
            command, log = children[key]
            with open(log, "w") as out:
                proc = subprocess.Popen(command, env=child_env(), stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
            running[proc.pid] = (key, proc, time.perf_counter())
        pid, status, usage = os.wait4(-1, 0)  # the CPU time of exactly the child that ended
        if pid not in running:
            continue
        key, proc, started = running.pop(pid)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            for _, other, _ in running.values():
                other.terminate()
            raise SystemExit(f"run {key} failed (exit {proc.returncode}); see {children[key][1]}")
        yield key, {"wall": time.perf_counter() - started, "cpu": usage.ru_utime + usage.ru_stime}


# ------------------------------------------------------------------ run logs


def run_config(config: Path, sets: list[str] = ()) -> dict:
    """``config`` with ``--set`` ``sets`` as ``gan run`` resolves them (every default filled in), as a plain dict."""
    from gancore.config import build_run_config, config_to_dict, load_yaml
    from gancore.plugins import get_registry

    return config_to_dict(build_run_config(get_registry(), None, load_yaml(config), list(sets)))


def saved_config_matches(run_dir: Path, config: Path, sets: list[str], sections: tuple[str, ...] | None = None) -> bool:
    """Whether the run in ``run_dir`` was made from ``config`` with ``--set`` ``sets`` as they read now: its
    saved config.yaml, read through today's options (``gancore.config.saved_config_today``), equals what they
    resolve to (``sections`` of it; None: all but output_dir). For benchmarks that keep finished runs instead
    of training them again."""
    import yaml

    from gancore.config import saved_config_today
    from gancore.plugins import get_registry

    saved = run_dir / "config.yaml"
    if not saved.exists():
        return False
    want = run_config(config, sets)
    have = saved_config_today(get_registry(), yaml.safe_load(saved.read_text()))
    keys = sections or tuple(k for k in {*want, *have} if k != "output_dir")
    return all(want.get(k) == have.get(k) for k in keys)


def read_metrics(run_dir: Path) -> list[dict]:
    """The records of a run's metrics.jsonl, in order."""
    return [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines() if line.strip()]


def train_minutes(run_dir: Path, upto: int | None = None) -> float:
    """Minutes spent in the training loop (up to step ``upto``), from the steps/s of every logged interval."""
    records = [r for r in read_metrics(run_dir) if "steps_per_second" in r and (upto is None or r["step"] <= upto)]
    seconds, previous = 0.0, 0
    for r in sorted(records, key=lambda r: r["step"]):
        if r["step"] > previous:
            seconds += (r["step"] - previous) / r["steps_per_second"]
            previous = r["step"]
    return seconds / 60
