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
    one row per class), with latents truncated at ``truncation``."""
    from .algorithm import check_labels

    if output.suffix.lower() not in FORMATS:
        raise UserError(f"-o {output}: the file must end in {', '.join(FORMATS)}")
    run = Run.from_checkpoint(run_dir, checkpoint_path, host=host)
    labels = None
    if classes is not None:
        check_labels(run.algorithm, classes)
        labels = torch.tensor(classes).repeat_interleave(count) if rows else torch.full((count,), classes[0])
    with run.sampling():
        samples = run.generate(len(labels) if labels is not None else count, seed=seed, labels=labels, truncation=truncation)
    output.parent.mkdir(parents=True, exist_ok=True)
    suffix = output.suffix.lower()
    if suffix == ".png" and rows:
        save_grid(samples, output, nrow=count)
    elif suffix == ".png":
        save_samples(samples, output, real=run.grids.real_points)
    elif suffix == ".npy":
        np.save(output, samples.numpy())
    else:
        torch.save(samples.contiguous(), output)  # readable with torch.load(weights_only=True)
    return output
