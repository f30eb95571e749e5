"""Checkpoints: safetensors for every tensor, JSON for everything else. Nothing is pickled.

``RUN/checkpoints/step-NNNNNN/`` holds ``tensors.safetensors`` and
``state.json``. The JSON names its format and version (``FORMAT``, ``VERSION``),
holds a sha256 per file (of the tensor file, and of its own meta and state as
written), keeps the structure of the state (dicts
with any keys, lists, tuples, numbers, strings) and points to tensors by key.
Loading checks both checksums, the JSON against a model (``StateFile``) and the
RNG states against the generators they are for: a checkpoint
that fails any of them is damaged, and readers fall back to an older one
(``valid_checkpoints``). gancore reads only the version it writes: there are no
users of an older format, so none is converted. A
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

import hashlib
import json
import math
import os
import random
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from safetensors import SafetensorError
from safetensors.torch import load as tensors_from_bytes
from safetensors.torch import save as tensors_to_bytes

from .errors import NonFiniteLoss, RunStopped, UserError

FORMAT, VERSION = "gancore-checkpoint", 3
TENSORS, STATE = "tensors.safetensors", "state.json"
CHUNK = 1 << 20  # bytes per write() call
RESCANS = 5  # a reader lists the checkpoints again at most this often when one is deleted under it


# ------------------------------------------------------------------ the model of state.json


class _Section(BaseModel):
    """A section of the saved run config that names an entry (algorithm, data)."""

    model_config = ConfigDict(extra="allow", strict=True)
    name: str


class _SavedConfig(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    plugin: str
    algorithm: _Section
    data: _Section
    train: dict[str, Any]
    eval: dict[str, Any] = {}


class _Meta(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    step: int = Field(ge=0)
    config: _SavedConfig
    num_processes: int = Field(1, ge=1)
    threads: int | None = None


class _Sums(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    tensors: str = Field(alias="tensors.safetensors", pattern="^[0-9a-f]{64}$")
    state: str = Field(alias="state.json", pattern="^[0-9a-f]{64}$", description="of the JSON of meta and state, as written")


class StateFile(BaseModel):
    """What ``state.json`` must hold (format version 3); anything else is a damaged checkpoint."""

    model_config = ConfigDict(extra="forbid", strict=True)
    format: Literal["gancore-checkpoint"]
    version: Literal[3]
    sha256: _Sums
    meta: _Meta
    state: dict[str, Any]


class _State(BaseModel):
    """The decoded state: what ``Run.load_state_dict`` reads (the algorithm checks its own part)."""

    model_config = ConfigDict(extra="allow", strict=True, arbitrary_types_allowed=True)
    algorithm: dict[Any, Any]
    ema: dict[Any, Any] | None = None
    batches: dict[Any, Any]
    rng: list[dict[str, Any]] = Field(min_length=1)


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
    encoded = encode(state, tensors)
    data = tensors_to_bytes(tensors)
    body = {"format": FORMAT, "version": VERSION, "sha256": _sums(data, meta, encoded), "meta": meta, "state": encoded}
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()  # mode 0777 & ~umask, unlike tempfile.mkdtemp's 0700
        _write(tmp / TENSORS, data)
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
    """Return ``(state, meta)``; a missing or damaged checkpoint is a ``UserError``: ``state.json`` that
    does not fit ``StateFile``, a tensor file whose sha256 differs, RNG states that their generators refuse,
    and tensors that hold NaN or Inf (older versions could write those) unless ``allow_nonfinite``."""
    folder = Path(folder)
    try:
        body = json.loads((folder / STATE).read_bytes())
        StateFile.model_validate(body)  # strict: what passes is used as it was read
        data = (folder / TENSORS).read_bytes()
        for name, digest in _sums(data, body["meta"], body["state"]).items():
            if body["sha256"][name] != digest:
                raise ValueError(f"{name} does not match its sha256 in {STATE}: it changed after it was written")
        state, meta = decode(body["state"], tensors_from_bytes(data)), body["meta"]
        _State.model_validate(state)
        for rng in state["rng"]:
            _check_rng(rng)
    except ValidationError as exc:
        raise _damaged(folder, f"{STATE} does not fit format version {VERSION}: {_first_error(exc)}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, ArithmeticError, RecursionError, RuntimeError, SafetensorError) as exc:
        raise _damaged(folder, f"{type(exc).__name__}: {str(exc)[:300]}") from None
    if not allow_nonfinite:
        bad = nonfinite({k: v for k, v in state.items() if k in ("algorithm", "ema")})
        if bad:
            raise UserError(
                f"checkpoint '{folder}' holds non-finite weights (NaN or Inf in {', '.join(bad)}), "
                "so it cannot be used; pick an earlier checkpoint."
            )
    return state, meta


def seal(folder: Path) -> None:
    """Write a checkpoint's checksums again: for one changed on purpose (a test that plants NaN weights or
    edits its saved config, a repair by hand), never for one found damaged."""
    folder = Path(folder)
    body = json.loads((folder / STATE).read_text())
    body["sha256"] = _sums((folder / TENSORS).read_bytes(), body.get("meta"), body.get("state"))
    (folder / STATE).write_text(json.dumps(body))


def _sums(data: bytes, meta: Any, state: Any) -> dict[str, str]:
    """The sha256 of the tensor file, and of state.json's meta and state as ``json.dumps`` writes them
    (a parsed state.json written again gives the same text: floats, key order and escapes round-trip)."""
    content = json.dumps({"meta": meta, "state": state}).encode()
    return {TENSORS: hashlib.sha256(data).hexdigest(), STATE: hashlib.sha256(content).hexdigest()}


def _damaged(folder: Path, why: str) -> UserError:
    return UserError(
        f"checkpoint '{folder}' is missing or damaged ({why}). "
        "Delete it to fall back to an earlier checkpoint, or start a fresh run with --overwrite."
    )


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "<root>"
    return f"{where}: {error['msg']}" + (f" ({len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else "")


def _check_rng(state: dict[str, Any]) -> None:
    """Raise unless every RNG state in ``state`` is one its generator takes (tried on fresh generators)."""
    torch.Generator().set_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.RandomState().set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.Random().setstate((version, tuple(internal), gauss))
    cuda = state.get("cuda")
    if cuda is not None and not (isinstance(cuda, (list, tuple)) and all(isinstance(t, torch.Tensor) and t.dtype == torch.uint8 for t in cuda)):
        raise TypeError("the CUDA RNG states are not byte tensors")


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
    warnings: list[str] = []
    for folder, state, meta in valid_checkpoints(run_dir, warnings):
        return folder, state, meta, warnings
    raise no_valid(run_dir, purpose, warnings)


def no_valid(run_dir: Path, purpose: str, warnings: list[str]) -> UserError:
    detail = (" Damaged: " + " ".join(warnings)) if warnings else ""
    what = "--resume found" if purpose == "resume" else "found"
    return UserError(f"{what} no valid checkpoint in '{Path(run_dir) / 'checkpoints'}'.{detail} {NO_VALID[purpose]}")


def valid_checkpoints(run_dir: Path, warnings: list[str]) -> Iterator[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """Every checkpoint that loads, newest first, as ``(folder, state, meta)``; a damaged one is skipped
    with a line in ``warnings``. Beside a live run a checkpoint can be deleted while it is read (the run
    keeps its newest ``keep_checkpoints``): that is no damage, and the listing starts again, where a newer
    one has appeared. A listing that finds nothing at all is tried again too, as a rename under a
    directory listing can hide both the new checkpoint and the one it replaces."""
    done: set[str] = set()
    for attempt in range(RESCANS):
        vanished = False
        listed = list_checkpoints(run_dir)
        for folder in reversed(listed):
            if folder.name in done:
                continue
            try:
                state, meta = load(folder)
            except UserError as exc:
                if not folder.is_dir():
                    vanished = True  # deleted under the reader by the live run's pruning
                    break
                done.add(folder.name)
                warnings.append(str(exc))
                continue
            done.add(folder.name)
            yield folder, state, meta
        if not vanished and (listed or not (Path(run_dir) / "checkpoints").is_dir()):
            return
        time.sleep(0.02 * (attempt + 1))


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
