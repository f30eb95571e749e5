"""Checkpoints: safetensors for every tensor, JSON for everything else. Nothing is pickled.

``RUN/checkpoints/step-NNNNNN/`` holds ``tensors.safetensors`` and
``state.json``. The JSON names its format and version (``FORMAT``, ``VERSION``),
keeps the structure of the state (dicts with any keys, lists, tuples, numbers,
strings) and points to tensors by key. gancore reads only the version it writes:
there are no users of an older format, so none is converted. A
checkpoint is written to a temporary folder (``.step-NNNNNN.*``) and renamed
into place, so a crash never leaves a half-written ``step-*`` folder; a run
that starts, holding the folder's lock, removes the temporary folders of
crashed writes (``remove_temporary``). A state with a non-finite floating
tensor is never written (``NonFiniteState``), and loading treats one as
damaged unless asked for it.

``Checkpointer`` is one run's side of this: it writes a checkpoint of every
process's state (RNG included), keeps the newest ``keep``, finds the newest
valid one, and turns a full disk or a NaN into a message that names the
checkpoint that is kept.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as tensors_to_bytes

from .errors import NonFiniteLoss, RunStopped, UserError

FORMAT, VERSION = "gancore-checkpoint", 2
TENSORS, STATE = "tensors.safetensors", "state.json"
CHUNK = 1 << 20  # bytes per write() call


class NonFiniteState(ValueError):
    """A state holds NaN or Inf in a floating tensor; ``paths`` name them (at most a few)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        super().__init__(f"non-finite values in {', '.join(paths)}")


def nonfinite(obj: Any, path: str = "", limit: int = 5) -> list[str]:
    """Paths of the floating tensors (and floats) in nested state that hold NaN or Inf."""
    found: list[str] = []

    def walk(value: Any, where: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(value, torch.Tensor):
            if value.is_floating_point() or value.is_complex():
                if not bool(torch.isfinite(value.detach()).all()):
                    found.append(where or "<root>")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}" if where else str(key))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, f"{where}.{i}" if where else str(i))

    walk(obj, path)
    return found


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


def save(folder: Path, state: dict[str, Any], meta: dict[str, Any], *, finite: tuple[str, ...] = ()) -> Path:
    """Write ``state`` atomically to ``folder`` (which must not exist yet, or is replaced).

    ``finite`` names top-level keys of ``state`` whose floating tensors must all be finite;
    ``NonFiniteState`` is raised, before anything is written, when one is not. An ``OSError``
    (a full disk) removes the temporary folder and leaves every earlier checkpoint as it was.
    Files and folders get the modes of the process's umask, as the rest of the run folder."""
    folder = Path(folder)
    bad = [p for key in finite for p in nonfinite(state.get(key), key)]
    if bad:
        raise NonFiniteState(bad)
    tensors: dict[str, torch.Tensor] = {}
    body = {"format": FORMAT, "version": VERSION, "meta": meta, "state": encode(state, tensors)}
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()  # mode 0777 & ~umask, unlike tempfile.mkdtemp's 0700
        _write(tmp / TENSORS, tensors_to_bytes(tensors))
        _write(tmp / STATE, json.dumps(body).encode())
        if folder.exists():
            _discard(folder)
        os.replace(tmp, folder)
        _fsync_folder(folder.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` in chunks and fsync it."""
    with open_for_writing(path) as fh:
        view = memoryview(data)
        for start in range(0, len(view), CHUNK):
            fh.write(view[start : start + CHUNK])
        fh.flush()
        os.fsync(fh.fileno())


def open_for_writing(path: Path):
    """The file every checkpoint write goes through: a seam for fault injection (``gancore.testing.FullDisk``
    patched in here is a full disk at a chosen byte)."""
    return open(path, "wb")


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_temporary(run_dir: Path) -> list[Path]:
    """Remove the temporary folders that crashed checkpoint writes left behind; call it only
    while holding the run folder's lock (a live writer's folder would go too)."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if p.name.startswith(".step-")]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return stale


def load(folder: Path, *, allow_nonfinite: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(state, meta)``; a missing or damaged checkpoint is a ``UserError``, and so is one
    whose tensors hold NaN or Inf (older versions could write those) unless ``allow_nonfinite``."""
    folder = Path(folder)
    try:
        body = json.loads((folder / STATE).read_text())
        if not isinstance(body, dict):
            raise ValueError(f"{STATE} holds a {type(body).__name__}, not an object")
        if body.get("format") != FORMAT:
            raise ValueError(f"unknown format {body.get('format')!r}")
        if body.get("version") != VERSION:
            raise ValueError(f"format version {body.get('version')!r}, and this gancore reads version {VERSION}")
        meta = body.get("meta")
        if not isinstance(meta, dict) or not isinstance(meta.get("step"), int) or not isinstance(meta.get("config"), dict):
            raise ValueError(f"{STATE} has no valid 'meta' (step and config)")
        if not isinstance(body.get("state"), dict):
            raise ValueError(f"{STATE} has no 'state'")
        tensors = load_file(str(folder / TENSORS))
        state = decode(body["state"], tensors)
        if not isinstance(state, dict):
            raise ValueError(f"{STATE}'s state is a {type(state).__name__}, not a mapping")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, SafetensorError) as exc:
        raise UserError(
            f"checkpoint '{folder}' is missing or damaged ({type(exc).__name__}: {exc}). "
            "Delete it to fall back to an earlier checkpoint, or start a fresh run with --overwrite."
        ) from None
    if not allow_nonfinite:
        bad = nonfinite({k: v for k, v in state.items() if k in ("algorithm", "ema")})
        if bad:
            raise UserError(
                f"checkpoint '{folder}' holds non-finite weights (NaN or Inf in {', '.join(bad)}), "
                "so it cannot be used; pick an earlier checkpoint."
            )
    return state, meta


def list_checkpoints(run_dir: Path) -> list[Path]:
    """``step-*`` folders of a run, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and p.name.startswith("step-") and p.name[5:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[5:]))


NO_VALID = {
    "resume": "Start the run without --resume (add --overwrite to replace what is there).",
    "read": "There is nothing to sample or evaluate here; train the run again (gan run ... --overwrite), "
            "or name a checkpoint with --checkpoint.",
}


def newest_valid(run_dir: Path, purpose: str = "resume") -> tuple[Path, dict[str, Any], dict[str, Any], list[str]]:
    """The newest checkpoint that loads and holds finite weights, with warnings about damaged newer ones.

    ``purpose`` ("resume" or "read", for ``gan sample``/``gan eval``) chooses the advice when none is valid."""
    warnings = []
    for folder in reversed(list_checkpoints(run_dir)):
        try:
            state, meta = load(folder)
        except UserError as exc:
            warnings.append(str(exc))
            continue
        return folder, state, meta, warnings
    detail = (" Damaged: " + " ".join(warnings)) if warnings else ""
    what = "--resume found" if purpose == "resume" else "found"
    raise UserError(f"{what} no valid checkpoint in '{Path(run_dir) / 'checkpoints'}'.{detail} {NO_VALID[purpose]}")


def prune(run_dir: Path, keep: int) -> None:
    for folder in list_checkpoints(run_dir)[:-keep]:
        _discard(folder)


def _discard(folder: Path) -> None:
    """Remove a checkpoint so that a kill midway never leaves a half-deleted ``step-*``: it is first
    renamed to a temporary name (atomic), which ``remove_temporary`` finishes off if need be."""
    aside = folder.parent / f".{folder.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.old"
    os.replace(folder, aside)
    shutil.rmtree(aside, ignore_errors=True)


# ------------------------------------------------------------------ one run's checkpoints


def rng_state() -> dict[str, Any]:
    """This process's torch, numpy and Python RNG states (and CUDA's, on a GPU)."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Checkpointer:
    """The checkpoints of one run folder, as a run writes and reads them.

    :param run_dir: the run folder; checkpoints go to ``run_dir/checkpoints/step-NNNNNN``.
    :param accelerator: the run's Accelerator: every process's RNG is gathered, the main one writes.
    :param keep: how many of the newest checkpoints to keep.
    :param meta: what every checkpoint records besides its step (the resolved config, plugin versions).
    """

    def __init__(self, run_dir: Path, accelerator, *, keep: int, meta: dict[str, Any]) -> None:
        self.run_dir, self.accelerator, self.keep, self.meta = Path(run_dir), accelerator, keep, meta

    def newest(self) -> Path | None:
        kept = list_checkpoints(self.run_dir)
        return kept[-1] if kept else None

    def save(self, step: int, state: dict[str, Any]) -> Path | None:
        """Write ``state`` (and every process's RNG) as the checkpoint of ``step``; the folder on the main
        process, None on the others. A NaN in the weights or a full disk stops the run with a message."""
        rng = [rng_state()] if self.accelerator.num_processes == 1 else _gather([rng_state()])
        folder = None
        if self.accelerator.is_main_process:
            folder = self.run_dir / "checkpoints" / f"step-{step:06d}"
            # The thread count: results depend on it in the last bits, so a resume takes the same.
            meta = {"step": step, "num_processes": self.accelerator.num_processes, **self.meta, "threads": torch.get_num_threads()}
            try:
                save(folder, {**state, "rng": rng}, meta, finite=("algorithm", "ema"))
            except NonFiniteState as exc:
                raise self.nonfinite(f"the weights or optimizer state became NaN or Inf by step {step} ({', '.join(exc.paths)})") from None
            except OSError as exc:
                newest = self.newest()
                kept = f"the earlier checkpoints are intact (newest: {newest})" if newest else "no earlier checkpoint exists"
                raise RunStopped(
                    f"could not write checkpoint {folder}: {os_error(exc)}. Its temporary files were removed and {kept}. "
                    "Free some space (or lower train.keep_checkpoints), then continue with --resume."
                ) from None
            prune(self.run_dir, self.keep)
        self.accelerator.wait_for_everyone()
        return folder

    def nonfinite(self, what: str) -> NonFiniteLoss:
        """The error that stops a run whose losses or weights became NaN or Inf. Every checkpoint is
        checked before it is written, so the newest one on disk is finite."""
        newest = self.newest()
        where = f"the last good checkpoint, {newest}, is kept" if newest else "no checkpoint had been written yet"
        return NonFiniteLoss(
            f"{what}, so training stopped without saving these weights; "
            f"{where}. Lower the learning rates, try another loss or spectral norm, then --resume or start again."
        )

    def process_rng(self, saved: list[dict[str, Any]]) -> dict[str, Any]:
        """This process's RNG state among every process's, as a checkpoint keeps them."""
        return saved[min(self.accelerator.process_index, len(saved) - 1)]


def _gather(items: list) -> list:
    from accelerate.utils import gather_object

    return gather_object(items)


def os_error(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"
