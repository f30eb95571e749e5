"""Checkpoints: safetensors for every tensor, JSON for everything else. Nothing is pickled.

``RUN/checkpoints/step-NNNNNN/`` holds ``tensors.safetensors`` and
``state.json``. The JSON keeps the structure of the state (dicts with any
keys, lists, tuples, numbers, strings) and points to tensors by key. A
checkpoint is written to a temporary folder and renamed into place, so a
crash never leaves a half-written ``step-*`` folder.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import UserError

FORMAT = "gancore-checkpoint-1"
TENSORS, STATE = "tensors.safetensors", "state.json"


def encode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Turn nested state into JSON, moving tensors into ``tensors``."""
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[encode(k, tensors), encode(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [encode(v, tensors) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return {"__tuple__": [encode(v, tensors) for v in obj.tolist()]} if hasattr(obj, "shape") and obj.shape else obj.item()
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint; use tensors, numbers, strings, lists and dicts")


def decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__dict__" in obj:
            return {decode(k, tensors): decode(v, tensors) for k, v in obj["__dict__"]}
        if "__tuple__" in obj:
            return tuple(decode(v, tensors) for v in obj["__tuple__"])
        if "__float__" in obj:
            return float(obj["__float__"])
    return obj


def save(folder: Path, state: dict[str, Any], meta: dict[str, Any]) -> Path:
    """Write ``state`` atomically to ``folder`` (which must not exist yet, or is replaced)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    body = {"format": FORMAT, "meta": meta, "state": encode(state, tensors)}
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        save_file(tensors, str(tmp / TENSORS))
        with open(tmp / STATE, "w") as fh:
            json.dump(body, fh)
            fh.flush()
            os.fsync(fh.fileno())
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(state, meta)``; a missing or damaged checkpoint is a ``UserError``."""
    folder = Path(folder)
    try:
        body = json.loads((folder / STATE).read_text())
        if body.get("format") != FORMAT:
            raise ValueError(f"unknown format {body.get('format')!r}")
        tensors = load_file(str(folder / TENSORS))
        state = decode(body["state"], tensors)
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
        raise UserError(
            f"checkpoint '{folder}' is missing or damaged ({type(exc).__name__}: {exc}). "
            "Delete it to fall back to an earlier checkpoint, or start a fresh run with --overwrite."
        ) from None
    return state, body["meta"]


def list_checkpoints(run_dir: Path) -> list[Path]:
    """``step-*`` folders of a run, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and p.name.startswith("step-") and p.name[5:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[5:]))


def newest_valid(run_dir: Path) -> tuple[Path, dict[str, Any], dict[str, Any], list[str]]:
    """The newest checkpoint that loads, with warnings about damaged newer ones."""
    warnings = []
    for folder in reversed(list_checkpoints(run_dir)):
        try:
            state, meta = load(folder)
        except UserError as exc:
            warnings.append(str(exc))
            continue
        return folder, state, meta, warnings
    detail = (" Damaged: " + " ".join(warnings)) if warnings else ""
    raise UserError(
        f"--resume found no valid checkpoint in '{Path(run_dir) / 'checkpoints'}'.{detail} "
        "Start the run without --resume (add --overwrite to replace what is there)."
    )


def prune(run_dir: Path, keep: int) -> None:
    for folder in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(folder, ignore_errors=True)
