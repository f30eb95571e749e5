"""Start several processes through torch's elastic launcher (torchrun), which Accelerate picks up.

``gan run --num-processes N`` is a launcher: it starts torchrun (this module run as ``__main__``, which
is torchrun with a signal's stop said in one line instead of a ``SignalException`` traceback) in a
process group of its own, with its N workers. A SIGINT or SIGTERM to the launcher is forwarded to that
whole group: the workers stop after the same step and write a checkpoint, torchrun waits for them (up to
``SHUTDOWN_SECONDS``), and the launcher waits for torchrun, so no process is left behind holding the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

SHUTDOWN_SECONDS = 600  # how long torchrun waits for stopped workers to write their checkpoint before killing them


def inside_launch() -> bool:
    """True in a process started by torchrun / accelerate launch."""
    return "LOCAL_RANK" in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_first_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def check_devices(num_processes: int) -> None:
    """One process per GPU: on a machine with GPUs, more processes than GPUs are refused (two processes on
    one GPU would each hold a copy of the networks and share its time, slower than one)."""
    import torch

    if torch.cuda.is_available() and num_processes > torch.cuda.device_count():
        from .errors import UserError

        count = torch.cuda.device_count()
        raise UserError(
            f"--num-processes {num_processes}, but this machine has {count} GPU{'s' * (count != 1)}: gancore runs one process per GPU. "
            f"Use --num-processes {count} or fewer (several machines: torchrun with --nnodes, see the README), "
            "or --set train.cpu=true to train in processes on the CPU."
        )


def relaunch(num_processes: int, argv: list[str]) -> int:
    """Run ``gan ARGV`` in ``num_processes`` processes on this machine; returns the exit status
    (128+N when signal N stopped them: it was forwarded to every process, and they were waited for)."""
    import torch

    env = dict(os.environ)
    if not torch.cuda.is_available():
        env.setdefault("OMP_NUM_THREADS", "1")  # processes that each use every core thrash
    command = [sys.executable, "-m", "gancore.launch", "--standalone", f"--nproc_per_node={num_processes}",
               f"--shutdown_timeout={SHUTDOWN_SECONDS}", "-m", "gancore.cli", *argv]
    received: list[int] = []
    process: subprocess.Popen | None = None

    def forward(signum, frame) -> None:
        received.append(signum)
        if process is not None:
            try:
                os.killpg(process.pid, signum)
            except ProcessLookupError:
                pass

    main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)} if main_thread else {}
    try:
        # A group of its own: a Ctrl-C on the terminal reaches the launcher alone, which forwards it once.
        process = subprocess.Popen(command, env=env, start_new_session=True)
        if received:  # a signal that came while it was being started
            os.killpg(process.pid, received[0])
        code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 + received[0] if received else code


def _torchrun() -> int:
    """torchrun's own main; a signal that stopped it (after its workers stopped) is an exit status."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.run import main

    try:
        main()
    except SignalException as exc:
        return 128 + int(exc.sigval)
    return 0


if __name__ == "__main__":
    sys.exit(_torchrun())
