"""What happened to a run, and the runs under a folder (``gan runs``).

The core records every run's sessions in ``RUN/run.json`` (``start_session`` when a session
begins, ``end_session`` when it ends, whatever ends it)::

    {"format": "gancore-run", "version": 1, "run_id": "3f2a...",
     "status": "completed", "step": 5000, "planned_steps": 5000,
     "sessions": [{"started": "2026-...", "ended": "...", "from_step": 0, "to_step": 5000,
                   "wall_seconds": 81.2, "cpu_seconds": 80.9, "status": "completed",
                   "resumed": false, "pid": 1234, "pid_started": 1764..., "host": "..."}]}

The format and version say that gancore wrote the folder (``gancore.rundir`` writes only into
folders that are new, empty or gancore's); ``run_id`` names the run across its sessions and is
written into its checkpoints. A resumed run adds a session. The readers (``read_record``,
``read_metrics``, ``summarize``) take any file: what does not fit is left out and counted, and a
folder whose files are damaged is listed as such, never a traceback.
"""

from __future__ import annotations

import json
import math
import os
import socket
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

RECORD = "run.json"
RECORD_FORMAT, RECORD_VERSION = "gancore-run", 1
STATUSES = ("completed", "interrupted", "failed", "running")
# The fields of run.json and of its sessions that readers use, with the types they must have.
_FIELDS = {"run_id": str, "status": str, "step": int, "planned_steps": int}
_SESSION_FIELDS = {"started": str, "ended": str, "from_step": int, "to_step": int, "wall_seconds": (int, float),
                   "cpu_seconds": (int, float), "status": str, "resumed": bool, "pid": int, "pid_started": (int, float), "host": str}


# ------------------------------------------------------------------ recording


def start_session(run_dir: Path, *, step: int, planned_steps: int, resumed: bool) -> tuple[str, str | None]:
    """Record that a session of the run in ``run_dir`` begins (status ``running``, this process and host);
    returns ``(run_id, note)``. A resumed run keeps its record and id; a run.json that gancore cannot
    read is kept as ``run.json.damaged`` (the note says so) and a new record begins."""
    path, note = Path(run_dir) / RECORD, None
    record = read_record(run_dir) if resumed else {}
    if path.exists() and record_problem(run_dir) is not None and resumed:
        os.replace(path, path.with_name(RECORD + ".damaged"))
        note = f"{path} could not be read ({record_problem(run_dir) or 'damaged'}); it was kept as {RECORD}.damaged and a new record begins"
        record = {}
    record = {"format": RECORD_FORMAT, "version": RECORD_VERSION, "run_id": record.get("run_id") or uuid.uuid4().hex,
              **{k: v for k, v in record.items() if k not in ("format", "version", "run_id")}}
    record.update(status="running", step=step, planned_steps=planned_steps)
    record.setdefault("sessions", []).append({"started": _now(), "from_step": step, "resumed": resumed, "pid": os.getpid(),
                                              "pid_started": _started(os.getpid()), "host": socket.gethostname()})
    _write(path, record)
    return record["run_id"], note


def end_session(run_dir: Path, *, step: int, status: str, wall: float, cpu: float) -> None:
    """Record how the current session ended (never leaving ``running`` behind)."""
    record = read_record(run_dir)
    if not record:
        return
    record.update(status=status, step=step)
    session = (record.get("sessions") or [{}])[-1]
    session.update(ended=_now(), to_step=step, status=status, wall_seconds=round(wall, 3), cpu_seconds=round(cpu, 3))
    record["sessions"] = [*record.get("sessions", [])[:-1], session]
    _write(Path(run_dir) / RECORD, record)


def record_problem(run_dir: str | Path) -> str | None:
    """None when ``RUN/run.json`` is one gancore wrote (its format and version); else what is wrong with it."""
    raw, problem = _load_json(Path(run_dir) / RECORD)
    if problem:
        return problem
    if not isinstance(raw, dict):
        return f"holds a {type(raw).__name__}, not an object"
    if raw.get("format") != RECORD_FORMAT or not isinstance(raw.get("version"), int):
        return f"names no gancore run format (format {str(raw.get('format'))[:40]!r}, version {str(raw.get('version'))[:20]!r})"
    if raw["version"] != RECORD_VERSION:
        return f"has format version {raw['version']}, and this gancore reads version {RECORD_VERSION}"
    return None


def read_record(run_dir: str | Path) -> dict[str, Any]:
    """``RUN/run.json`` with only the fields whose types are right (``{}`` when there is none, or it is
    not an object): ``sessions`` is a list of dicts, every number a number."""
    raw, _ = _load_json(Path(run_dir) / RECORD)
    if not isinstance(raw, dict):
        return {}
    record = {k: v for k, v in raw.items() if k not in _FIELDS and k != "sessions"}
    record.update({k: raw[k] for k, kind in _FIELDS.items() if _is(raw.get(k), kind)})
    sessions = raw.get("sessions")
    if isinstance(sessions, list):
        record["sessions"] = [{k: s[k] for k, kind in _SESSION_FIELDS.items() if _is(s.get(k), kind)} for s in sessions if isinstance(s, dict)]
    return record


def live_owner(run_dir: str | Path) -> int | None:
    """The process id of the live process that ``run.json`` names as running this run now: on this host,
    alive, and started when the record says (a reused process id is another process); else None."""
    return _owner(read_record(run_dir))


def _owner(record: dict) -> int | None:
    if record.get("status") != "running" or not record.get("sessions"):
        return None
    session = record["sessions"][-1]
    pid, started = session.get("pid"), session.get("pid_started")
    if session.get("host") != socket.gethostname() or pid is None or started is None:
        return None
    now = _started(pid)
    return pid if now is not None and abs(now - started) < 1.0 else None


def _started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None when there is no such process."""
    import psutil

    try:
        return round(psutil.Process(pid).create_time(), 2)
    except (psutil.Error, ValueError, OverflowError):
        return None


def _is(value: Any, kind) -> bool:
    if isinstance(value, bool) and kind is not bool:
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, kind)


def _load_json(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_bytes()), None
    except FileNotFoundError:
        return None, "does not exist"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    except (ValueError, RecursionError) as exc:
        return None, f"is not JSON ({type(exc).__name__})"


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
    """One run folder as ``gan runs`` shows it. ``problems``: what could not be read (a damaged
    run.json, metrics.jsonl lines skipped); ``skipped_lines``: the metrics.jsonl lines left out."""

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
    skipped_lines: int = 0
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def is_run(folder: Path) -> bool:
    try:
        return folder.is_dir() and ((folder / "config.yaml").is_file() or (folder / RECORD).is_file())
    except OSError:
        return False


def find_runs(root: str | Path, max_depth: int = 3) -> list[Path]:
    """Run folders under ``root`` (``root`` itself if it is one), at most ``max_depth`` levels down;
    folders that cannot be read are passed over."""
    root = Path(root)
    if is_run(root):
        return [root]
    found: list[Path] = []
    level = [root] if root.is_dir() else []
    for _ in range(max_depth):
        below = []
        for folder in level:
            try:
                children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
            except OSError:
                continue
            for child in children:
                (found if is_run(child) else below).append(child)
        level = below
    return sorted(found)


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``RUN/metrics.jsonl`` (lines that do not parse are skipped: a run may be writing)."""
    return read_metrics_counted(run_dir)[0]


def read_metrics_counted(run_dir: str | Path) -> tuple[list[dict[str, Any]], int]:
    """``(records, skipped)``: the records of ``RUN/metrics.jsonl`` that are objects with an integer
    ``step``, each value a finite number, a string or null (a non-finite number becomes null, as the
    writer does); and how many non-empty lines were left out."""
    path = Path(run_dir) / "metrics.jsonl"
    records, skipped = [], 0
    try:
        lines = path.read_bytes().splitlines() if path.is_file() else []
    except OSError:
        return [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            record = None
        if not isinstance(record, dict) or not _is(record.get("step"), int):
            skipped += 1
            continue
        records.append({str(k): _value(v) for k, v in record.items() if isinstance(v, (int, float, str, type(None))) or k == "nonfinite"})
    return records, skipped


def _value(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return value if math.isfinite(float(value)) else None
        except OverflowError:
            return None
    return value


def is_metric_key(key: str) -> bool:
    """Metric values are keyed ``<metric or label>/<value>``; losses and speeds have no slash."""
    return "/" in key


def summarize(run_dir: str | Path, root: str | Path | None = None) -> RunSummary:
    """One run folder as ``gan runs`` lists it; a file that cannot be read is named in ``problems`` and
    an error in the reading itself makes the status ``damaged``, never an exception."""
    run_dir = Path(run_dir)
    shown = str(run_dir.relative_to(root)) if root is not None and run_dir != Path(root) and run_dir.is_relative_to(root) else str(run_dir)
    summary = RunSummary(path=shown)
    try:
        _fill(summary, run_dir)
    except Exception as exc:  # noqa: BLE001 - one damaged folder must not hide the others
        summary.status = "damaged"
        summary.problems.append(f"cannot be read: {type(exc).__name__}: {str(exc)[:200]}")
    return summary


def _fill(summary: RunSummary, run_dir: Path) -> None:
    config = _read_yaml(run_dir / "config.yaml")
    summary.plugin = _name(config.get("plugin"))
    summary.algorithm = _name(_section(config, "algorithm").get("name"))
    summary.dataset = _name(_section(config, "data").get("name"))
    planned = _section(config, "train").get("steps")
    summary.planned_steps = planned if _is(planned, int) else None
    records, summary.skipped_lines = read_metrics_counted(run_dir)
    if summary.skipped_lines:
        summary.problems.append(f"metrics.jsonl: {summary.skipped_lines} line(s) skipped (not a record with an integer step)")
    for record in records:
        for key, value in record.items():
            if key == "step" or not _is(value, (int, float)):
                continue
            (summary.metrics if is_metric_key(key) else summary.losses)[key] = value
    checkpoint_step = _newest_checkpoint_step(run_dir)
    logged_step = max((r["step"] for r in records), default=0)
    problem = record_problem(run_dir) if (run_dir / RECORD).exists() else None
    if problem:
        summary.problems.append(f"run.json {problem}")
    record = read_record(run_dir)
    summary.status = _status(record, summary.planned_steps, checkpoint_step) if not problem else "damaged"
    # A live (or killed) run updated run.json only when its session started: its checkpoints say how far it got.
    recorded = record.get("step", max(checkpoint_step, logged_step))
    summary.step = max(recorded, checkpoint_step) if summary.status in ("running", "killed") else recorded
    summary.planned_steps = record.get("planned_steps", summary.planned_steps)
    sessions = record.get("sessions", [])
    if sessions and all("wall_seconds" in s and "cpu_seconds" in s for s in sessions):
        summary.wall_seconds = round(sum(s["wall_seconds"] for s in sessions), 3)
        summary.cpu_seconds = round(sum(s["cpu_seconds"] for s in sessions), 3)
    summary.size_bytes = _size(run_dir)


def _status(record: dict, planned: int | None, checkpoint_step: int) -> str:
    status = record.get("status")
    if status == "running":
        # No live process behind it: the run was killed without a word (kill -9, power loss).
        return "running" if _owner(record) is not None else "killed"
    if status:
        return status
    # A run with no run.json (or none that says): finished if its last checkpoint is at the planned step.
    if planned is not None and checkpoint_step >= planned:
        return "completed"
    return "interrupted"


def _section(config: dict, key: str) -> dict:
    value = config.get(key)
    return value if isinstance(value, dict) else {}


def _name(value: Any) -> str:
    return value if isinstance(value, str) else "?" if value is None else str(value)[:40]


def _size(run_dir: Path) -> int:
    total = 0
    for p in run_dir.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            continue
    return total


def _newest_checkpoint_step(run_dir: Path) -> int:
    folder = run_dir / "checkpoints"
    try:
        names = [p.name for p in folder.glob("step-*")] if folder.is_dir() else []
    except OSError:
        return 0
    return max((int(n[5:]) for n in names if n[5:].isdigit()), default=0)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, ValueError, yaml.YAMLError, RecursionError):
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
    """The runs as an aligned text table, one line each, then a line per run with problems."""
    header = ["run", "plugin", "algorithm", "data", "steps", "status", "size", "last metrics"]
    rows = [header]
    for s in summaries:
        steps = f"{s.step}/{s.planned_steps}" if s.planned_steps is not None else str(s.step)
        shown = list(s.metrics.items())[:max_metrics] or list(s.losses.items())[:max_metrics]
        values = "  ".join(f"{k}={v:.4g}" for k, v in shown) + (" ..." if len(s.metrics) > max_metrics else "")
        rows.append([s.path, s.plugin, s.algorithm, s.dataset, steps, s.status, human_size(s.size_bytes), values or "-"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:-1], widths)) + "  " + row[-1] for row in rows]
    lines += [f"note: {s.path}: {'; '.join(s.problems)}" for s in summaries if s.problems]
    return "\n".join(lines)
