"""Memory a request needs, checked before the work starts: a request that cannot fit is refused with the
figures, instead of being killed by the kernel's out-of-memory killer with no word.

* ``check_batch_fits``: one training step holds at least the real batch, the generated batch and its
  gradient, and each sample grid its samples; ``Run`` calls it once the data are built.
* ``check_samples_fit``: ``gan sample`` holds every sample in memory for a ``.png`` or ``.pt`` file; a
  ``.npy`` file is written in blocks, so it needs room on disk instead.

The figures are lower bounds (the networks' activations come on top), so a refusal is certain to be right;
what they let through may still be too much for a very large network.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import torch

from .errors import UserError

FLOAT_BYTES = 4  # samples and batches are float32


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(size) < 1024 or unit == "PB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PB"


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes free for new tensors on ``device``: the host's available memory for the CPU, the free memory of
    a CUDA device; None where it cannot be told."""
    device = torch.device(device)
    if device.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(device)[0])
        except Exception:  # noqa: BLE001 - a driver that cannot say: no check
            return None
    if device.type != "cpu":
        return None
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil comes with accelerate; without it, ask the OS
        try:
            import os

            return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None


def sample_bytes(data) -> int:
    """Bytes of one sample ``x`` as the networks see it (float32)."""
    return FLOAT_BYTES * math.prod(data.sample_shape)


def stream_bytes(data) -> int:
    """Bytes of one item of the data's default stream (every tensor of it: ``x``, labels...), as stored."""
    tensors = getattr(data, "tensors", None)
    streams = getattr(data, "streams", None)
    if not tensors or not streams:
        return sample_bytes(data)
    keys = streams[next(iter(streams))]
    return sum(tensors[k].element_size() * math.prod(tensors[k].shape[1:]) for k in keys if k in tensors)


def check_batch_fits(data, batch_size: int, sample_count: int, processes: int, device: torch.device | str) -> None:
    """Refuse a ``train.batch_size`` (or ``train.sample_count``) whose step (or sample grid) cannot fit in the
    memory of ``device`` (the host's, shared by ``processes`` processes, on the CPU)."""
    free = available_memory(device)
    if free is None:
        return
    device = torch.device(device)
    sharing = processes if device.type == "cpu" else 1
    real, generated = stream_bytes(data), sample_bytes(data)
    # The real batch, and the generated batch with its gradient: a lower bound, activations come on top.
    step = batch_size * (real + 2 * generated) * sharing
    where = f"the {device.type.upper() if device.type != 'cpu' else 'host'}'s {human_bytes(free)} available"
    if step > free:
        fits = max(1, free // ((real + 2 * generated) * sharing))
        shared = f" in each of {processes} processes" if sharing > 1 else ""
        raise UserError(
            f"train.batch_size {batch_size} cannot fit in memory: one training step needs at least {human_bytes(step)} "
            f"(the real batch of {batch_size} x {human_bytes(real)}, and the generated batch with its gradient, "
            f"2 x {batch_size} x {human_bytes(generated)}{shared}), more than {where}. Lower train.batch_size "
            f"(at most about {fits:,} fit, before the networks' own activations)."
        )
    grid = sample_count * generated * 2 * sharing  # the samples, and the picture made of them
    if grid > free:
        raise UserError(
            f"train.sample_count {sample_count} cannot fit in memory: each sample grid needs at least {human_bytes(grid)} "
            f"({sample_count} samples of {human_bytes(generated)}, and their picture), more than {where}. "
            f"Lower train.sample_count (64 is usual)."
        )


def check_samples_fit(count: int, per_sample: int, output: Path) -> None:
    """Refuse ``gan sample -n count`` when its samples cannot be held: in memory for .png and .pt files, on disk
    (written in blocks) for .npy files."""
    total = count * per_sample
    if output.suffix.lower() == ".npy":
        folder = output.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        free = shutil.disk_usage(folder).free
        if total > free:
            raise UserError(
                f"-n {count}: {count} samples of {human_bytes(per_sample)} make {human_bytes(total)}, and the disk of "
                f"'{output}' has {human_bytes(free)} free. Ask for fewer samples (about {max(0, free // per_sample):,} fit), "
                "or write them elsewhere."
            )
        return
    free = available_memory("cpu")
    need = total * (2 if output.suffix.lower() == ".png" else 1)  # a picture: the samples and the image made of them
    if free is not None and need > free:
        raise UserError(
            f"-n {count}: a {output.suffix} file holds every sample in memory, {human_bytes(need)} for {count} samples of "
            f"{human_bytes(per_sample)}, and the host has {human_bytes(free)} available. Ask for fewer samples, or write "
            "a .npy file (-o FILE.npy), which is written in blocks."
        )
