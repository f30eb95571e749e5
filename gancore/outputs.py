"""Files that commands write for the user (``gan sample -o``, ``gan report -o``, and plugin commands that write images).

A destination is checked before any work is done, so that an hour of sampling does not end in an
``OSError``: ``check_writable_file`` and ``check_writable_folder`` name the path and say what is wrong
with it (a file where a folder should be, a read-only folder, a place that takes no files such as
``/proc``). Each file is then written beside its destination and renamed over it
(``atomic_output``): a write that fails (a full disk) leaves what was there before as it was.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import UserError


def check_writable_file(path: str | Path, what: str) -> Path:
    """``path`` if a file can be written there (its folder is created when needed); else a ``UserError``."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} '{path}' is a folder; give the name of a file to write")
    _check_folder(path.parent, path, what)
    return path


def check_writable_folder(path: str | Path, what: str) -> Path:
    """``path`` if files can be written in it (it is created when needed); else a ``UserError``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} '{path}' is a file, not a folder; give a folder (it is created if missing)")
    _check_folder(path, path, what)
    return path


def _check_folder(folder: Path, target: Path, what: str) -> None:
    """Whether files can be made in ``folder``, or (when it does not exist yet) in the nearest folder above
    it, which the write will create the rest under. Tried with a real file: permission bits do not tell
    about read-only mounts, ``/proc``, or root."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # a dangling link: the write would fail under it
            raise UserError(f"{what} '{target}' cannot be written: '{existing}' is a broken link")
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{what} '{target}' cannot be written: '{existing}' is a file, not a folder")
    try:
        handle, probe = tempfile.mkstemp(prefix=".gancore-write-check-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"{what} '{target}' cannot be written: no file can be made in '{existing}' ({exc.strerror or exc})") from None


@contextmanager
def atomic_output(path: str | Path, what: str) -> Iterator[Path]:
    """A temporary path beside ``path`` (with its suffix, for writers that go by it) to write to; renamed over
    ``path`` when the block ends, removed when it fails. An ``OSError`` becomes a ``UserError`` naming ``path``;
    whatever ``path`` held before stays as it was."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{what} '{path}' cannot be written: its folder cannot be made ({exc.strerror or exc})") from None
    partial = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.partial{path.suffix}")
    try:
        yield partial
        os.replace(partial, path)
    except OSError as exc:
        raise UserError(f"{what} '{path}' could not be written ({exc.strerror or exc}); what was there before is unchanged") from None
    finally:
        if partial.exists():
            partial.unlink()


def write_atomically(path: str | Path, data: bytes, what: str) -> Path:
    """``data`` into ``path`` through ``atomic_output``."""
    with atomic_output(path, what) as partial:
        partial.write_bytes(data)
    return Path(path)
