"""``gan sample``: a run from its checkpoint (``Run.from_checkpoint``), and samples drawn from it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from .errors import UserError
from .plugins import PluginHost
from .run import Run
from .visual import save_grid, save_samples

FORMATS = (".png", ".npy", ".pt")
NPY_BLOCK_BYTES = 64 << 20  # samples generated and written at a time to a .npy file


def parse_classes(spec: str) -> list[int]:
    """``0-9`` or ``1,3,7`` or ``0-4,9`` -> the class indices, in that order."""
    classes: list[int] = []
    for part in spec.replace(" ", "").split(","):
        match = re.fullmatch(r"(-?\d+)(?:-(\d+))?", part)
        if match is None:
            raise UserError(f"--classes {spec!r}: give class indices and ranges, e.g. 0-9 or 1,3,7 or 0-4,9")
        first = int(match.group(1))
        classes += list(range(first, int(match.group(2)) + 1)) if match.group(2) else [first]
    if not classes:
        raise UserError(f"--classes {spec!r} names no class; e.g. --classes 0-9")
    return classes


def sample_run(host: PluginHost, run_dir: Path, count: int, output: Path, checkpoint_path: Path | None, seed: int, *,
               classes: list[int] | None = None, rows: bool = False, truncation: float | None = None) -> Path:
    """``count`` samples to ``output``; of ``classes`` (one class for all, or with ``rows`` ``count`` of each,
    one row per class), with latents truncated at ``truncation``.

    The destination is checked before the run is loaded, and a request that cannot fit (in memory for .png
    and .pt, on disk for .npy, which is written in blocks) is refused before anything is generated. The file
    is written beside ``output`` and renamed over it, so a failed write leaves what was there."""
    from .algorithm import check_labels
    from .memory import check_samples_fit, sample_bytes
    from .metrics.base import CHUNK
    from .outputs import atomic_output, check_writable_file

    if output.suffix.lower() not in FORMATS:
        raise UserError(f"-o {output}: the file must end in {', '.join(FORMATS)}")
    check_writable_file(output, "-o")
    run = Run.from_checkpoint(run_dir, checkpoint_path, host=host)
    labels = None
    if classes is not None:
        check_labels(run.algorithm, classes)
        labels = torch.tensor(classes).repeat_interleave(count) if rows else torch.full((count,), classes[0])
    total = len(labels) if labels is not None else count
    check_samples_fit(total, sample_bytes(run.data), output)
    suffix = output.suffix.lower()
    with run.sampling(), atomic_output(output, "-o") as partial:
        if suffix == ".npy":
            # Blocks of whole generation chunks (each drawn from seed + its start): the same samples as one call.
            block = CHUNK * max(1, NPY_BLOCK_BYTES // (sample_bytes(run.data) * CHUNK))
            array = None
            for start in range(0, total, block):
                stop = min(start + block, total)
                part = run.generate(stop - start, seed=seed + start, labels=None if labels is None else labels[start:stop],
                                    truncation=truncation).cpu().numpy()
                if array is None:
                    array = np.lib.format.open_memmap(partial, mode="w+", dtype=part.dtype, shape=(total, *part.shape[1:]))
                array[start:stop] = part
            array.flush()
            del array
            return output
        samples = run.generate(total, seed=seed, labels=labels, truncation=truncation)
        if suffix == ".png" and rows:
            save_grid(samples, partial, nrow=count)
        elif suffix == ".png":
            save_samples(samples, partial, real=run.grids.real_points)
        else:
            torch.save(samples.contiguous(), partial)  # readable with torch.load(weights_only=True)
    return output
