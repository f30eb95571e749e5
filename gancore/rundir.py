"""The run folder: who may write it, whether it holds a run to protect, and replacing one.

A run folder is owned by one process at a time: ``RunLock`` holds an exclusive
``fcntl.flock`` on ``RUN/.lock`` and on the folder itself for the run's whole
life. The OS drops both when the process dies, even by ``kill -9``, so no lock
is ever stale; a ``.lock`` deleted by hand leaves the folder's own lock, and
``run.json`` naming a live process (the same process: its start time is
recorded) refuses a second run too. ``gan sample`` and ``gan eval`` only read
and take no lock.

gancore writes only into folders that are new, empty, or its own: a folder is
gancore's when its ``run.json``, or a checkpoint's ``state.json``, names
gancore's format. Any other folder is refused as it is, ``--overwrite`` or not.
A run that replaces an old one moves the old one's files (``RUN_CONTENTS``)
aside into ``RUN/.replaced`` and removes them only once it has written its first
checkpoint; a run that stops before that puts them back (``restore_aside``),
and a session killed in between is finished off by the next (``recover``).
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import shutil
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import checkpoint, runs
from .errors import UserError
from .launch import is_first_process

LOCK = ".lock"
# What gancore writes in a run folder; run.json last, so that a folder half moved aside still shows it.
RUN_CONTENTS = ("config.yaml", "checkpoints", "metrics.jsonl", "samples", "tensorboard", "report.html", "run.json")
ASIDE, MOVING, RESTORING = ".replaced", ".replacing", ".restoring"
OURS_HIDDEN = (LOCK, ASIDE, MOVING)  # entries of gancore's own bookkeeping (and ".discarded-*")


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


_HELD: set[int] = set()  # the descriptors of the locks this process holds


def _drop_held_in_child() -> None:
    """In a forked child (a DataLoader worker), close the inherited lock descriptors, without unlocking: the
    lock then lives exactly as long as the process that took it, and a killed run's workers do not keep it."""
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


os.register_at_fork(after_in_child=_drop_held_in_child)


class RunLock:
    """An exclusive OS lock on a run folder, held until ``release`` or the process's end (not by its forks)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK
        self.fd: int | None = None
        self.folder_fd: int | None = None
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
                raise self._in_use(holder) from None
            # The file may have been removed and recreated between open and flock: lock the one on disk.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self.fd = fd
        _HELD.add(fd)
        # A .lock deleted by hand lets a second process lock a new file: the folder's own lock, and run.json
        # naming a live process, still say that a run is there.
        if not self._lock_folder():
            self.release()
            raise self._in_use(runs.live_owner(self.run_dir), "it holds the folder's lock")
        owner = runs.live_owner(self.run_dir)
        if owner is not None and owner != os.getpid():
            self.release()
            raise self._in_use(owner, f"its run.json says so, and {self.path} was deleted")
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return self

    def _lock_folder(self) -> bool:
        """Lock the folder itself; False when another process holds it (a file system without
        folder locks leaves this to the lock file)."""
        try:
            self.folder_fd = os.open(self.run_dir, os.O_RDONLY)
            _HELD.add(self.folder_fd)
            fcntl.flock(self.folder_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if self.folder_fd is not None:
                _HELD.discard(self.folder_fd)
                os.close(self.folder_fd)
                self.folder_fd = None
            return exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)
        return True

    def _in_use(self, holder: int | None, how: str = "") -> UserError:
        who = f"process {holder}" if holder else "another process"
        how = f" ({how})" if how else f" (it holds {self.path})"
        return UserError(
            f"'{self.run_dir}' is in use: {who} is running in it now{how}. Two runs in one folder "
            "would mix their files; wait for it to end (or stop it), then --resume, or choose another --output."
        )

    def release(self, *, discard_empty: bool = False) -> None:
        """Let go of the locks; ``discard_empty`` also removes a folder this lock created if the run
        left nothing in it (a run that failed before writing anything)."""
        # Unlock explicitly: forked children (DataLoader workers) share the open files and would keep them.
        if self.folder_fd is not None:
            fcntl.flock(self.folder_fd, fcntl.LOCK_UN)
            _HELD.discard(self.folder_fd)
            os.close(self.folder_fd)
            self.folder_fd = None
        if self.fd is None:
            return
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        _HELD.discard(self.fd)
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


# ------------------------------------------------------------- whose folder it is


def is_ours(run_dir: Path) -> bool:
    """Whether gancore wrote ``run_dir``: its run.json, or one of its checkpoints' state.json, names gancore's
    format (or it holds a run set aside by gancore, half replaced when a session was killed)."""
    if runs.record_problem(run_dir) is None or (Path(run_dir) / ASIDE).is_dir() or (Path(run_dir) / MOVING).is_dir():
        return True
    for folder in checkpoint.list_checkpoints(run_dir):
        try:
            with open(folder / checkpoint.STATE, "rb") as fh:
                head = fh.read(200)
        except OSError:
            continue
        if head.startswith(b'{"format": "%s", "version": ' % checkpoint.FORMAT.encode()):
            return True
    return False


def foreign_contents(run_dir: Path) -> list[str]:
    """What a folder that gancore did not write holds (empty when it is new, empty, or gancore's)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    try:
        entries = sorted(p.name + ("/" if p.is_dir() else "") for p in run_dir.iterdir()
                         if not (p.name in OURS_HIDDEN or p.name.startswith(".discarded-")) or (p.name == LOCK and not _our_lock(p)))
    except OSError as exc:
        raise UserError(f"cannot read the folder '{run_dir}': {exc.strerror or exc}. Choose another --output.") from None
    return [] if not entries or is_ours(run_dir) else entries


def _our_lock(path: Path) -> bool:
    """A lock file gancore wrote: a regular file holding a process id, or nothing."""
    try:
        text = path.read_text().strip() if path.is_file() and path.stat().st_size <= 32 else "?"
    except (OSError, ValueError):
        return False
    return text == "" or text.isdigit()


def refuse_foreign(run_dir: Path) -> None:
    """A ``UserError`` that says what is there, for a folder that gancore did not write."""
    foreign = foreign_contents(run_dir)
    if foreign:
        shown = ", ".join(foreign[:8]) + (f" and {len(foreign) - 8} more" if len(foreign) > 8 else "")
        damaged = runs.record_problem(run_dir)
        why = f"its run.json {damaged}" if (Path(run_dir) / runs.RECORD).exists() and damaged else "it has no run.json of a gancore run"
        raise UserError(
            f"'{run_dir}' holds files that gancore did not write ({why}): {shown}. gancore never deletes or overwrites "
            "such a folder, with --overwrite or without; choose a new or empty folder with --output, or move those files away."
        )


def check_run_dir(run_dir: Path, *, resume: bool, overwrite: bool) -> list[str]:
    """Refuse a folder gancore did not write, and refuse to clobber an existing run unless asked;
    returns what a new run there replaces.

    A run folder with no checkpoint is not a run to protect (a run that failed before its first
    checkpoint): a new run starts there and says so."""
    run_dir = Path(run_dir)
    refuse_foreign(run_dir)
    existing = [m for m in RUN_CONTENTS if (run_dir / m).exists()]
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
    """Hold ``run_dir`` for one training session: the first process refuses a folder gancore did not write
    (before it writes anything there), takes the lock, finishes what a killed session left half done
    (``recover``) and refuses to clobber a run there unless asked (``check_run_dir``). Yields what an old
    run left that the new one replaces (the first process's business; the others get nothing). On the
    way out, an old run set aside comes back if the new one wrote no checkpoint, and a folder this
    created and the run left empty goes."""
    lock = None
    if is_first_process():
        refuse_foreign(run_dir)  # before the lock file is written there
        lock = RunLock(run_dir).acquire()
    try:
        if lock is not None:
            note = recover(run_dir)
            if note:
                print(f"note: {note}", file=sys.stderr)
        yield check_run_dir(run_dir, resume=resume, overwrite=overwrite) if lock is not None else []
    finally:
        if lock is not None:
            try:
                if restore_aside(run_dir):
                    print(f"note: the new run wrote no checkpoint, so the run it was to replace is back in '{run_dir}' as it was",
                          file=sys.stderr)
                else:
                    discard_aside(run_dir)
            finally:
                lock.release(discard_empty=True)


# --------------------------------------------------------------- replacing a run


def set_aside(run_dir: Path) -> list[str]:
    """Move the old run's files into ``RUN/.replaced`` (atomically as a whole: they are gathered in
    ``.replacing`` first); returns their names. Call it holding the lock, once the new run is known to start."""
    run_dir = Path(run_dir)
    names = [n for n in RUN_CONTENTS if (run_dir / n).exists() or (run_dir / n).is_symlink()]
    if not names:
        return []
    moving = run_dir / MOVING
    moving.mkdir()
    for name in names:
        os.replace(run_dir / name, moving / name)
    os.replace(moving, run_dir / ASIDE)
    return names


def discard_aside(run_dir: Path) -> None:
    """The new run has its first checkpoint: the old run's files go."""
    aside = Path(run_dir) / ASIDE
    if aside.is_dir():
        doomed = Path(run_dir) / f".discarded-{uuid.uuid4().hex[:8]}"
        os.replace(aside, doomed)
        shutil.rmtree(doomed, ignore_errors=True)


def _aside_comes_back(run_dir: Path) -> bool:
    """Whether an old run set aside in ``run_dir`` is to be put back: its replacement wrote no checkpoint, or
    putting it back had begun."""
    aside = run_dir / ASIDE
    return aside.is_dir() and ((aside / RESTORING).exists() or not checkpoint.list_checkpoints(run_dir))


def restore_aside(run_dir: Path) -> bool:
    """Put an old run set aside back, if the new run wrote no checkpoint (or a restore was cut short);
    the new run's files go. Each step can be repeated after a kill: the names to remove are written
    first. Returns whether a run was put back."""
    run_dir = Path(run_dir)
    aside = run_dir / ASIDE
    if not _aside_comes_back(run_dir):
        return False  # none, or the new run has a checkpoint: it stays, and the old one goes at its next save or start
    marker = aside / RESTORING
    if not marker.exists():
        new_only = [n for n in RUN_CONTENTS if (run_dir / n).exists() and not (aside / n).exists()]
        marker.write_text(json.dumps(new_only))
    for name in json.loads(marker.read_text()):
        _remove(run_dir / name)
    for entry in sorted(aside.iterdir()):
        if entry.name != RESTORING:
            _remove(run_dir / entry.name)
            os.replace(entry, run_dir / entry.name)
    marker.unlink()
    aside.rmdir()
    return True


def config_to_resume(run_dir: Path) -> Path:
    """The ``config.yaml`` of the run that ``--resume`` will continue in ``run_dir``: the old run's, when a
    session killed while replacing it left it aside (``recover`` will put it back), else the folder's own."""
    run_dir = Path(run_dir)
    moving, aside = run_dir / MOVING / "config.yaml", run_dir / ASIDE / "config.yaml"
    if moving.is_file():
        return moving  # gathered half-way: it goes back
    if aside.is_file() and _aside_comes_back(run_dir):
        return aside
    return run_dir / "config.yaml"


def recover(run_dir: Path) -> str | None:
    """Finish what a session killed while replacing a run left: a half-gathered ``.replacing`` goes back,
    an old run set aside comes back (or goes, when the new run had written a checkpoint), and half-deleted
    ``.discarded-*`` folders go. Returns a note for the user, or None."""
    run_dir = Path(run_dir)
    for doomed in run_dir.glob(".discarded-*"):
        shutil.rmtree(doomed, ignore_errors=True)
    moving = run_dir / MOVING
    if moving.is_dir():
        for entry in moving.iterdir():
            if not (run_dir / entry.name).exists():
                os.replace(entry, run_dir / entry.name)
        shutil.rmtree(moving, ignore_errors=True)
    if restore_aside(run_dir):
        return f"a run that was to replace the one in '{run_dir}' stopped before its first checkpoint; the old run is back"
    discard_aside(run_dir)
    return None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------ metrics.jsonl


def json_record(record: dict[str, Any]) -> str:
    """One metrics.jsonl line: non-finite numbers become null and are named under ``"nonfinite"``
    (bare NaN is not JSON)."""
    bad = [k for k, v in record.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        record = {**{k: (None if k in bad else v) for k, v in record.items()}, "nonfinite": bad}
    return json.dumps(record, allow_nan=False)


def truncate_metrics(run_dir: Path, step: int) -> int:
    """Drop metrics.jsonl records after ``step`` (and lines that do not parse: a torn last line), so a
    resumed run does not repeat steps; returns how many records were dropped."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return 0
    kept, dropped = [], 0
    for line in path.read_bytes().splitlines():
        try:
            record = json.loads(line)
            ok = isinstance(record, dict) and int(record.get("step", 0)) <= step
        except (ValueError, TypeError, ArithmeticError, RecursionError):
            ok = False
        if ok:
            kept.append(line)
        elif line.strip():
            dropped += 1
    if dropped:
        tmp = path.with_name(f".metrics.jsonl.{os.getpid()}")
        tmp.write_bytes(b"".join(line + b"\n" for line in kept))
        os.replace(tmp, path)
    return dropped
