"""SIGINT and SIGTERM in a ``gan`` process: a clean stop, never a traceback.

Three phases. While ``gan`` imports its own modules, a signal ends the process at once, in one
line (``install(at_once=True)``, the first thing ``gancore.cli`` does when it is the program).
Until a run holds something worth saving (plugins, building the data and the algorithm), a
signal ends the command: ``install`` makes it raise ``Signalled``, which unwinds (a lock is
let go) and which ``cli.main`` turns into one line and exit status 128+N; one that lands inside
an import (torch and numpy import lazily, well after start-up) ends the process at once instead,
in the same line. From ``Run.begin`` to the end of ``fit`` a signal is only recorded
(``deferred``): the loop stops after the step in progress and writes a checkpoint, and the run's
end (checkpoint, sample grid, metrics, ``run.json``) is never cut short. Only the main thread can
set handlers; elsewhere both leave signals alone.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

from .errors import Signalled

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []  # the signals recorded by the outermost `deferred` block, in order
_depth = 0


def _raise(signum, frame) -> None:
    if _importing(frame):
        # An exception inside a module's import leaves Python's import state half done (the next import of
        # that module fails, or recurses); nothing worth saving exists yet, so end at once, as while starting.
        _exit_now(signum, frame)
    raise Signalled(signum)


def _importing(frame) -> bool:
    """Whether ``frame`` runs inside an import (lazy imports happen well after start-up: torch, numpy...)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _record(signum, frame) -> None:
    _received.append(signum)


def _exit_now(signum, frame) -> None:
    os.write(2, f"\ngan: stopped by {signal.Signals(signum).name}; no run was changed\n".encode())
    os._exit(128 + signum)


def install(at_once: bool = False) -> None:
    """A signal from now on raises ``Signalled`` (``cli.main`` calls this first); ``at_once``: it ends the
    process at once (while modules are imported: an exception there would be a traceback)."""
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, _exit_now if at_once else _raise)


@contextmanager
def deferred():
    """Inside: SIGINT and SIGTERM are recorded, not raised (``received`` names the first); the handlers
    before it come back after. Blocks nest: an inner one sees what the outer one recorded."""
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _depth == 0:
        _received.clear()
    previous = {sig: signal.signal(sig, _record) for sig in SIGNALS}
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def received() -> int | None:
    """The first signal recorded by the current ``deferred`` block, or None."""
    return _received[0] if _received else None
