"""``gan sample``: rebuild a run from its checkpoint and draw samples."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import torch

from . import checkpoint
from .config import resolve_run_config
from .errors import UserError
from .launch import is_first_process
from .plugins import PluginHost
from .visual import save_grid, save_samples

FORMATS = (".png", ".npy", ".pt")


def load_trainer(host: PluginHost, run_dir: Path, checkpoint_path: Path | None = None, *, used: dict | None = None):
    """A ``Trainer`` rebuilt from a checkpoint, ready to sample or evaluate (no training).

    It reads the run folder and takes no lock, so it works beside a live run. Which checkpoint
    it uses, and why, is printed on stderr, or put in ``used`` (``checkpoint``, ``why``) when given."""
    from .trainer import Trainer

    if checkpoint_path is None:
        if not run_dir.is_dir():
            raise UserError(f"run folder '{run_dir}' does not exist; give the folder a `gan run` wrote (its --output).")
        if not checkpoint.list_checkpoints(run_dir):
            raise UserError(
                f"'{run_dir}' is not a trained run: it has no checkpoints/step-* folder. Give the folder a `gan run` "
                "wrote (its --output), or a checkpoint folder with --checkpoint."
            )
        checkpoint_path, state, meta, damaged = checkpoint.newest_valid(run_dir, "read")
        if damaged:
            why = f"the newest valid one; {len(damaged)} newer checkpoint(s) skipped: " + " ".join(damaged)
        else:
            why = "the newest"
    else:
        if not checkpoint_path.is_dir():
            raise UserError(f"--checkpoint '{checkpoint_path}' is not a folder; give a RUN/checkpoints/step-NNNNNN folder.")
        state, meta = checkpoint.load(checkpoint_path)
        why = "given by --checkpoint"
    if used is not None:
        used.update(checkpoint=str(checkpoint_path), why=why)
    elif is_first_process():
        print(f"using checkpoint {checkpoint_path} ({why})", file=sys.stderr)
    config_dict = meta["config"]
    config_dict["train"]["tensorboard"] = False
    config_dict["train"]["progress"] = False
    host.require(config_dict["plugin"])
    config = resolve_run_config(host.registry, config_dict)
    trainer = Trainer(config, run_dir, host)
    trainer.setup()
    trainer.load_state_dict(state)
    trainer.step = int(meta["step"])
    trainer.checkpoint_path = checkpoint_path
    return trainer


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
    trainer = load_trainer(host, run_dir, checkpoint_path)
    labels = None
    if classes is not None:
        check_labels(trainer.algorithm, classes)
        labels = torch.tensor(classes).repeat_interleave(count) if rows else torch.full((count,), classes[0])
    with trainer._sampling():
        samples = trainer.generate(len(labels) if labels is not None else count, seed=seed, labels=labels, truncation=truncation)
    output.parent.mkdir(parents=True, exist_ok=True)
    suffix = output.suffix.lower()
    if suffix == ".png" and rows:
        save_grid(samples, output, nrow=count)
    elif suffix == ".png":
        real = trainer.real_cpu[:2500] if trainer.data.kind == "points" else None
        save_samples(samples, output, real=real)
    elif suffix == ".npy":
        np.save(output, samples.numpy())
    else:
        torch.save(samples.contiguous(), output)  # readable with torch.load(weights_only=True)
    return output
