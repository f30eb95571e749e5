"""The run folder: who may write it, whether it holds a run to protect, and tidying it.

A run folder is owned by one process at a time: ``RunLock`` holds an exclusive
``fcntl.flock`` on ``RUN/.lock`` for the run's whole life. The OS drops it when
the process dies, even by ``kill -9``, so no lock is ever stale. ``gan sample``
and ``gan eval`` only read and take no lock.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import checkpoint
from .errors import UserError
from .launch import is_first_process

LOCK = ".lock"
RUN_MARKERS = ("config.yaml", "checkpoints", "metrics.jsonl")
RUN_CONTENTS = (*RUN_MARKERS, "samples", "tensorboard", "run.json")  # run.json: the builtin tools plugin's record


def writable_folder(run_dir: Path) -> Path:
    """Create ``run_dir`` (and parents); an impossible or unwritable place is a ``UserError``."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"output '{run_dir}' is a file, not a folder; choose another --output.") from None
    except OSError as exc:
        raise UserError(f"cannot create the run folder '{run_dir}': {exc.strerror or exc}. Choose another --output.") from None
    if not run_dir.is_dir():
        raise UserError(f"output '{run_dir}' is not a folder; choose another --output.")
    return run_dir


class RunLock:
    """An exclusive OS lock on a run folder, held until ``release`` or the process's end."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK
        self.fd: int | None = None
        self.created_folder = False

    def acquire(self) -> "RunLock":
        self.created_folder = not self.run_dir.exists()
        writable_folder(self.run_dir)
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise UserError(f"cannot write in the run folder '{self.run_dir}': {exc.strerror or exc}. Choose another --output.") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_pid(fd)
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise UserError(f"cannot lock the run folder '{self.run_dir}': {exc.strerror or exc}.") from None
                who = f"process {holder}" if holder else "another process"
                raise UserError(
                    f"'{self.run_dir}' is in use: {who} is running in it now (it holds {self.path}). Two runs in one folder "
                    "would mix their files; wait for it to end (or stop it), then --resume, or choose another --output."
                ) from None
            # The file may have been removed and recreated between open and flock: lock the one on disk.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self, *, discard_empty: bool = False) -> None:
        """Let go of the lock; ``discard_empty`` also removes a folder this lock created if the run
        left nothing in it (a run that failed before writing anything)."""
        if self.fd is None:
            return
        # Unlock explicitly: forked children (DataLoader workers) share the open file and would keep it.
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        if discard_empty and self.created_folder and [p.name for p in self.run_dir.iterdir()] == [LOCK]:
            self.path.unlink(missing_ok=True)
            os.close(self.fd)
            self.fd = None
            try:
                self.run_dir.rmdir()
            except OSError:
                pass
            return
        os.close(self.fd)
        self.fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text.isdigit() else None
    except (OSError, ValueError):
        return None


def check_run_dir(run_dir: Path, *, resume: bool, overwrite: bool) -> list[str]:
    """Refuse to clobber an existing run unless asked; returns what a new run there replaces.

    A folder with no checkpoint is not a run to protect (a run that failed before its first
    checkpoint): a new run starts there and says so."""
    run_dir = Path(run_dir)
    existing = [m for m in RUN_MARKERS if (run_dir / m).exists()]
    if resume:
        if not run_dir.is_dir():
            raise UserError(f"--resume: '{run_dir}' does not exist, so there is no run to continue. Run without --resume to start one there.")
        if not checkpoint.list_checkpoints(run_dir):
            raise UserError(f"--resume: '{run_dir}' has no checkpoints to resume from. Run without --resume to start it.")
        return []
    if existing and not overwrite and checkpoint.list_checkpoints(run_dir):
        raise UserError(
            f"'{run_dir}' already holds a run ({', '.join(existing)}). Pass --resume to continue it, "
            "--overwrite to replace it, or --output to choose another folder."
        )
    if existing and not overwrite:
        print(f"note: '{run_dir}' holds a run that ended before its first checkpoint ({', '.join(existing)}); "
              "a new run replaces it", file=sys.stderr)
    return existing


@contextmanager
def claimed(run_dir: Path, *, resume: bool, overwrite: bool):
    """Hold ``run_dir`` for one training session: the first process takes its lock and refuses to clobber a
    run there unless asked (``check_run_dir``). Yields what an old run left that the new one replaces (the
    first process's business; the others get nothing). A folder this created and the run left empty goes."""
    lock = RunLock(run_dir).acquire() if is_first_process() else None
    try:
        yield check_run_dir(run_dir, resume=resume, overwrite=overwrite) if lock is not None else []
    finally:
        if lock is not None:
            lock.release(discard_empty=True)


def clear_run(run_dir: Path) -> None:
    """Remove an old run's files (not the lock). Call it once the new run is known to start."""
    for name in RUN_CONTENTS:
        target = Path(run_dir) / name
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)


# ------------------------------------------------------------------ metrics.jsonl


def json_record(record: dict[str, Any]) -> str:
    """One metrics.jsonl line: non-finite numbers become null and are named under ``"nonfinite"``
    (bare NaN is not JSON)."""
    bad = [k for k, v in record.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        record = {**{k: (None if k in bad else v) for k, v in record.items()}, "nonfinite": bad}
    return json.dumps(record, allow_nan=False)


def truncate_metrics(run_dir: Path, step: int) -> int:
    """Drop metrics.jsonl records after ``step`` (and a torn last line), so a resumed run does not
    repeat steps; returns how many records were dropped."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return 0
    kept, dropped = [], 0
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
            ok = isinstance(record, dict) and int(record.get("step", 0)) <= step
        except (ValueError, TypeError):
            ok = False
        if ok:
            kept.append(line)
        elif line.strip():
            dropped += 1
    if dropped:
        tmp = path.with_name(f".metrics.jsonl.{os.getpid()}")
        tmp.write_text("".join(f"{line}\n" for line in kept))
        os.replace(tmp, path)
    return dropped
