"""What the benchmark scripts share: writing one section of the results (leaving the other sections as
they are), running `gan` children with one thread each, and reading a run's metrics.jsonl.

``benchmarks/RESULTS.md`` is an index: one row per headline figure, linking to its section. The sections
live in one file per area or family under ``benchmarks/results/``; ``ROUTES`` says which file holds which
section title, so a script calls ``update_section(title, body)`` and the section lands in its file, stamped
with the date and the commit it was written at, and the index rows that link to it take the same stamp."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Hashable, Iterator

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"  # the index
HEADER = "# Benchmark results\n\nEach section is written by the script it names; rerun the script to refresh it.\n"

# Section title -> its file under results/. A title missing here goes to results/unsorted.md, with a warning:
# add it here (the tests refuse an unsorted.md, and a section that no route names).
ROUTES = {
    "Framework overhead: gancore vs a plain loop": "core.md",
    "Framework overhead: where the loop's time goes (cProfile)": "core.md",
    "Data paths: in-memory tensors vs DataLoader (mnist5k)": "core.md",
    "CPU threads: 1, 2 and auto per example": "core.md",
    "CPU: compile, processes and bf16": "core.md",
    "CLI start-up": "core.md",
    "Install size and demo time": "core.md",
    "Fault tolerance": "faults.md",
    "First run on a GPU (H200, commit 88abe90)": "gpu.md",
    "GPU: gancore against a plain loop": "gpu.md",
    "Metrics: DCGAN on mnist5k": "metrics.md",
    "Ring: mode coverage (builtin gan)": "gan.md",
    "Image quality per CPU minute": "gan.md",
    "Conditional BigGAN on mnist5k": "biggan.md",
    "Truncation sweep (conditional BigGAN, mnist5k)": "biggan.md",
    "WGAN-GP on the 25-Gaussian grid (mode coverage)": "wgan.md",
    "WGAN (weight clipping): the Wasserstein estimate against sample quality": "wgan.md",
    "WGAN-GP vs DCGAN on mnist5k (FID, KID, SWD)": "wgan.md",
    "BGAN: binary mnist5k, FID and KID (lenet-mnist) against DCGAN thresholded": "bgan.md",
    "BGAN: seconds per generator step against m": "bgan.md",
    "BGAN: palette-quantized LFW (16 colours)": "bgan.md",
    "BGAN: learning rate and weight baseline on binary mnist5k": "bgan.md",
    "CycleGAN: grey and coloured mnist5k (class kept, FID)": "cyclegan.md",
    "Progressive GAN: mnist5k at 32x32, per stage end, against DCGAN for the same CPU time": "progressive.md",
    "E-GAN vs single losses: ring and grid (mode coverage)": "egan.md",
    "E-GAN vs DCGAN on mnist5k (FID at equal CPU minutes)": "egan.md",
    "E-GAN: cost per iteration": "egan.md",
    "Semi-supervised: mnist5k with 100 labels (fm-gan, sgan, supervised-only) and BiGAN's linear probe": "semisup.md",
    "Semi-supervised: fm-gan tuning on mnist5k with 100 labels (one seed)": "semisup.md",
    "Semi-supervised: fm-gan against supervised-only over a longer run (mnist5k, 100 labels, one seed)": "semisup.md",
    "Semi-supervised: the Improved-GAN MNIST model re-written independently of the plugin (one seed)": "semisup.md",
    "BigBiGAN on mnist5k: linear probe": "semisup.md",
}
# Sections that record measurements made outside this repository's scripts (the project's GPU session ran the
# test suite and the examples on a GPU machine with shared/gpu/check.sh); no script writes them.
RECORDS = ("First run on a GPU (H200, commit 88abe90)",)
UNSORTED = "unsorted.md"
STAMP = re.compile(r"^_Written (?P<date>\d{4}-\d{2}-\d{2}) at commit (?P<commit>[0-9a-f]{7,40}|unknown)(?P<dirty> with local changes)?\._$", re.M)


def anchor(title: str) -> str:
    """The anchor GitHub (and the docs site, pymdownx.slugs with case=lower) gives the heading ``## title``."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def section_file(title: str, index: Path = RESULTS) -> Path:
    """The file under ``results/`` beside ``index`` that holds the section ``## title``."""
    return index.parent / "results" / ROUTES.get(title, UNSORTED)


def stamp() -> str:
    """``_Written <UTC date> at commit <HEAD>._``; "with local changes" when tracked files that a measurement can depend
    on differ from HEAD (not the results, the pictures, nor other Markdown)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True, check=True).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    except (OSError, subprocess.CalledProcessError):
        commit, changed = "unknown", []
    ours = re.compile(r"^(benchmarks/(results/.*|[^/]*\.png)|.*\.md)$")
    dirty = " with local changes" if any(not ours.match(path) for path in changed) else ""
    return f"_Written {datetime.now(timezone.utc):%Y-%m-%d} at commit {commit}{dirty}._"


def _replace_section(text: str, title: str, section: str) -> str:
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        return pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    return text.rstrip() + "\n\n" + section


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def _restamp_index(index: Path, link: str, written: re.Match) -> None:
    """Give the rows of the index that link to ``link`` the section's date and commit."""
    if not index.exists():
        return
    lines, columns = index.read_text().splitlines(keepends=True), None
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells and "date" in cells and "commit" in cells:
            columns = cells.index("date"), cells.index("commit")
        elif cells and columns and f"({link})" in line:
            cells[columns[0]], cells[columns[1]] = written["date"], written["commit"] + (" + local changes" if written["dirty"] else "")
            lines[i] = "| " + " | ".join(cells) + " |\n"
    _write(index, "".join(lines))


def update_section(title: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section ``## title``. Two benchmarks finishing at once do not lose each
    other's section: the read-modify-write holds a lock, and the new file replaces the old atomically.

    When ``path`` is an index (``RESULTS.md``), the section goes to its file under ``results/`` (``ROUTES``),
    starts with a stamp (date and commit), and its relative links, written for ``benchmarks/``, are made
    relative to ``results/``; the index rows linking to it get the stamp's date and commit."""
    path = Path(path)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.name != RESULTS.name:
            text = path.read_text() if path.exists() else HEADER
            _write(path, _replace_section(text, title, f"## {title}\n\n{body.strip()}\n"))
            return
        target = section_file(title, path)
        if target.name == UNSORTED:
            print(f"warning: no route for the section '{title}': written to {target}; add it to ROUTES in {__file__}", file=sys.stderr)
        body = re.sub(r"\]\((?![a-z]+:|#|/|\.\./)([^)\s]+)\)", r"](../\1)", body.strip())  # pictures stay in benchmarks/
        line = stamp()
        target.parent.mkdir(parents=True, exist_ok=True)
        text = target.read_text() if target.exists() else f"# {target.stem}\n\n[All results](../RESULTS.md)\n"
        _write(target, _replace_section(text, title, f"## {title}\n\n{line}\n\n{body}\n"))
        _restamp_index(path, f"results/{target.name}#{anchor(title)}", STAMP.search(line))


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
    from gancore.plugins import get_host

    return config_to_dict(build_run_config(get_host().registry, None, load_yaml(config), list(sets)))


def saved_config_matches(run_dir: Path, config: Path, sets: list[str], sections: tuple[str, ...] | None = None) -> bool:
    """Whether the run in ``run_dir`` was made from ``config`` with ``--set`` ``sets`` as they read now: its
    saved config.yaml, read through today's options (``gancore.config.saved_config_today``), equals what they
    resolve to (``sections`` of it; None: all but output_dir). For benchmarks that keep finished runs instead
    of training them again."""
    import yaml

    from gancore.config import saved_config_today
    from gancore.plugins import get_host

    saved = run_dir / "config.yaml"
    if not saved.exists():
        return False
    want = run_config(config, sets)
    have = saved_config_today(get_host().registry, yaml.safe_load(saved.read_text()))
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
