"""Start several processes through torch's elastic launcher (torchrun), which Accelerate picks up."""

from __future__ import annotations

import os
import subprocess
import sys


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
    """Run ``gan ARGV`` in ``num_processes`` processes on this machine; returns the exit status."""
    import torch

    env = dict(os.environ)
    if not torch.cuda.is_available():
        env.setdefault("OMP_NUM_THREADS", "1")  # processes that each use every core thrash
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={num_processes}", "-m", "gancore.cli", *argv]
    return subprocess.call(command, env=env)
