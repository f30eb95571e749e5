"""What happened to a run, and the runs under a folder (``gan runs``).

The builtin ``tools`` plugin records every run's sessions in ``RUN/run.json``
through the lifecycle hooks (so it sees every family's runs)::

    {"status": "completed", "step": 5000, "planned_steps": 5000,
     "sessions": [{"started": "2026-...", "ended": "...", "from_step": 0, "to_step": 5000,
                   "wall_seconds": 81.2, "cpu_seconds": 80.9, "status": "completed",
                   "resumed": false, "pid": 1234, "host": "..."}]}

A resumed run adds a session. Runs written before ``run.json`` existed are read
from their config, checkpoints and ``metrics.jsonl``.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

RECORD = "run.json"
STATUSES = ("completed", "interrupted", "failed", "running")


# ------------------------------------------------------------------ recording


class RunRecorder:
    """Lifecycle hooks that keep ``RUN/run.json``: status, steps, and wall and CPU time per session."""

    def __init__(self) -> None:
        self._started: set[int] = set()  # runs whose session this recorder opened

    def start(self, run) -> None:
        if not run.is_main_process:
            return
        resumed = run.restored is not None
        record = read_record(run.run_dir) if resumed else {}
        record.setdefault("sessions", [])
        record.update(status="running", step=run.step, planned_steps=run.config.train.steps)
        record["sessions"].append(
            {"started": _now(), "from_step": run.step, "resumed": resumed, "pid": os.getpid(), "host": socket.gethostname()}
        )
        self._started.add(id(run))
        _write(Path(run.run_dir) / RECORD, record)

    def end(self, run, step: int, status: str) -> None:
        if not run.is_main_process or id(run) not in self._started:
            return
        self._started.discard(id(run))
        wall, cpu = run.elapsed()  # the session's clocks, as the end-of-run summary prints them
        record = read_record(run.run_dir)
        record.update(status=status, step=step)
        session = record.setdefault("sessions", [{}])[-1]
        session.update(ended=_now(), to_step=step, status=status,
                       wall_seconds=round(wall, 3), cpu_seconds=round(cpu, 3))
        _write(Path(run.run_dir) / RECORD, record)


def read_record(run_dir: str | Path) -> dict[str, Any]:
    """``RUN/run.json``, or {} when there is none (or it cannot be read)."""
    try:
        return json.loads((Path(run_dir) / RECORD).read_text())
    except (OSError, ValueError):
        return {}


def _write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(path)  # atomic: `gan runs` never reads half a file


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -------------------------------------------------------------------- reading


@dataclass
class RunSummary:
    """One run folder as ``gan runs`` shows it."""

    path: str
    plugin: str = "?"
    algorithm: str = "?"
    dataset: str = "?"
    step: int = 0
    planned_steps: int | None = None
    status: str = "?"
    metrics: dict[str, float] = field(default_factory=dict)
    losses: dict[str, float] = field(default_factory=dict)
    size_bytes: int = 0
    wall_seconds: float | None = None
    cpu_seconds: float | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def is_run(folder: Path) -> bool:
    return folder.is_dir() and ((folder / "config.yaml").is_file() or (folder / RECORD).is_file())


def find_runs(root: str | Path, max_depth: int = 3) -> list[Path]:
    """Run folders under ``root`` (``root`` itself if it is one), at most ``max_depth`` levels down."""
    root = Path(root)
    if is_run(root):
        return [root]
    found: list[Path] = []
    level = [root] if root.is_dir() else []
    for _ in range(max_depth):
        below = []
        for folder in level:
            for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
                (found if is_run(child) else below).append(child)
        level = below
    return sorted(found)


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``RUN/metrics.jsonl`` (lines that do not parse are skipped: a run may be writing)."""
    path = Path(run_dir) / "metrics.jsonl"
    records = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


def is_metric_key(key: str) -> bool:
    """Metric values are keyed ``<metric or label>/<value>``; losses and speeds have no slash."""
    return "/" in key


def summarize(run_dir: str | Path, root: str | Path | None = None) -> RunSummary:
    run_dir = Path(run_dir)
    shown = str(run_dir.relative_to(root)) if root is not None and run_dir != Path(root) and run_dir.is_relative_to(root) else str(run_dir)
    summary = RunSummary(path=shown)
    config = _read_yaml(run_dir / "config.yaml")
    summary.plugin = str(config.get("plugin", "?"))
    summary.algorithm = str((config.get("algorithm") or {}).get("name", "?"))
    summary.dataset = str((config.get("data") or {}).get("name", "?"))
    summary.planned_steps = (config.get("train") or {}).get("steps")
    records = read_metrics(run_dir)
    for record in records:
        for key, value in record.items():
            if key == "step" or not isinstance(value, (int, float)):
                continue
            (summary.metrics if is_metric_key(key) else summary.losses)[key] = value
    checkpoint_step = _newest_checkpoint_step(run_dir)
    logged_step = max((r.get("step", 0) for r in records), default=0)
    record = read_record(run_dir)
    summary.step = int(record.get("step", max(checkpoint_step, logged_step)))
    summary.planned_steps = record.get("planned_steps", summary.planned_steps)
    summary.status = _status(record, summary.step, summary.planned_steps, checkpoint_step)
    sessions = record.get("sessions", [])
    if sessions and all("wall_seconds" in s for s in sessions):
        summary.wall_seconds = round(sum(s["wall_seconds"] for s in sessions), 3)
        summary.cpu_seconds = round(sum(s["cpu_seconds"] for s in sessions), 3)
    summary.size_bytes = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
    return summary


def _status(record: dict, step: int, planned: int | None, checkpoint_step: int) -> str:
    status = record.get("status")
    if status == "running":
        session = (record.get("sessions") or [{}])[-1]
        alive = session.get("host") == socket.gethostname() and _pid_alive(session.get("pid"))
        return "running" if alive else "interrupted"  # killed without a word (SIGKILL, power loss)
    if status:
        return status
    # A run from before run.json: finished if its last checkpoint is at the planned step.
    if planned is not None and checkpoint_step >= planned:
        return "completed"
    return "interrupted"


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _newest_checkpoint_step(run_dir: Path) -> int:
    folder = run_dir / "checkpoints"
    steps = [int(p.name.split("-")[-1]) for p in folder.glob("step-*") if p.name.split("-")[-1].isdigit()] if folder.is_dir() else []
    return max(steps, default=0)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def format_table(summaries: list[RunSummary], max_metrics: int = 3) -> str:
    """The runs as an aligned text table, one line each."""
    header = ["run", "plugin", "algorithm", "data", "steps", "status", "size", "last metrics"]
    rows = [header]
    for s in summaries:
        steps = f"{s.step}/{s.planned_steps}" if s.planned_steps is not None else str(s.step)
        shown = list(s.metrics.items())[:max_metrics] or list(s.losses.items())[:max_metrics]
        values = "  ".join(f"{k}={v:.4g}" for k, v in shown) + (" ..." if len(s.metrics) > max_metrics else "")
        rows.append([s.path, s.plugin, s.algorithm, s.dataset, steps, s.status, human_size(s.size_bytes), values or "-"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:-1], widths)) + "  " + row[-1] for row in rows)
