"""The trainer's checkpoints: what a run saves, how it resumes bit for bit, and what it keeps when it stops.

``Trainer`` takes these methods from ``TrainerCheckpoints``, so that ``trainer.py`` stays the one loop,
readable top to bottom. Here is everything about a run's state: the trainer's ``state_dict`` (the
algorithm, the EMA, the data streams' positions and every process's RNG), writing a checkpoint
(``gancore.checkpoint`` is the file format), resuming from the newest valid one, and the messages of a
run that stops (NaN, a full disk, a failed step), which always say which checkpoint is kept.
"""

from __future__ import annotations

import random
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from . import checkpoint
from .config import config_to_dict, saved_config_today
from .errors import UserError
from .plugins import PluginHost
from .rundir import truncate_metrics


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint was written before this was raised."""

    def __init__(self, signum: int, step: int, folder: Path | None) -> None:
        self.signum, self.step, self.folder = signum, step, folder
        super().__init__(f"stopped by {signal.Signals(signum).name} at step {step}; checkpoint {folder}; continue with --resume")


class RunStopped(UserError):
    """A run ended by an error whose message already says which checkpoint is the newest."""


class NonFiniteLoss(RunStopped):
    pass


class TrainerCheckpoints:
    """Checkpoint, resume and stop methods of ``Trainer``. They read what the trainer sets up:
    ``config``, ``run_dir``, ``host``, ``accelerator``, ``algorithm``, ``ema``, ``batches``, ``step``
    and ``_consistent``; resuming sets ``step`` and ``_resumed_threads``."""

    def state_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm.state_dict(),
            "ema": self.ema.state_dict() if self.ema else None,
            "batches": self.batches.state_dict(),
        }

    def save_checkpoint(self) -> Path | None:
        # Every process's RNG is kept, so each one resumes with the noise it would have drawn.
        rng = self._gather_rng()
        folder = None
        if self.accelerator.is_main_process:
            folder = self.run_dir / "checkpoints" / f"step-{self.step:06d}"
            meta = {"step": self.step, "num_processes": self.accelerator.num_processes, "config": config_to_dict(self.config), "plugins": _plugin_versions(self.host),
                    "threads": torch.get_num_threads()}  # auto's resume takes the same count: results depend on it in the last bits
            try:
                checkpoint.save(folder, {**self.state_dict(), "rng": rng}, meta, finite=("algorithm", "ema"))
            except checkpoint.NonFiniteState as exc:
                self._stop_nonfinite(f"the weights or optimizer state became NaN or Inf by step {self.step} ({', '.join(exc.paths)})")
            except OSError as exc:
                newest = self._newest()
                kept = f"the earlier checkpoints are intact (newest: {newest})" if newest else "no earlier checkpoint exists"
                raise RunStopped(
                    f"could not write checkpoint {folder}: {_os_error(exc)}. Its temporary files were removed and {kept}. "
                    "Free some space (or lower train.keep_checkpoints), then continue with --resume."
                ) from None
            checkpoint.prune(self.run_dir, self.config.train.keep_checkpoints)
        self.accelerator.wait_for_everyone()
        return folder

    def _gather_rng(self) -> list[dict[str, Any]]:
        if self.accelerator.num_processes == 1:
            return [_rng_state()]
        from accelerate.utils import gather_object

        return gather_object([_rng_state()])

    def _restore(self) -> None:
        folder, state, meta, warnings = checkpoint.newest_valid(self.run_dir, "resume")
        for text in warnings:
            print(f"warning: skipped a damaged checkpoint: {text}", file=sys.stderr)
        if meta.get("num_processes", 1) != self.accelerator.num_processes:
            print(f"warning: {folder} was written by {meta.get('num_processes', 1)} process(es) and this run has "
                  f"{self.accelerator.num_processes}; training goes on, but not bit for bit as it would have", file=sys.stderr)
        compared = ("plugin", "algorithm", "data")
        saved, current = saved_config_today(self.host.registry, meta["config"], compared), config_to_dict(self.config)
        for section in compared:
            if saved[section] != current[section]:
                raise UserError(
                    f"--resume: the '{section}' section differs from the one the checkpoint {folder} was trained with; "
                    "resume with the run's own config (omit the config file) or start a new run."
                )
        self.load_state_dict(state)
        self.step = int(meta["step"])
        self._resumed_threads = meta.get("threads")
        if self.accelerator.is_main_process:
            print(f"resumed from {folder} (step {self.step} of {self.config.train.steps})", file=sys.stderr)
            dropped = truncate_metrics(self.run_dir, self.step)
            if dropped:
                print(f"note: resuming from {folder.name}: dropped {dropped} metrics.jsonl record(s) of later steps", file=sys.stderr)
            (self.run_dir / "config.yaml").write_text(yaml.safe_dump(current, sort_keys=False))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            self.algorithm.load_state_dict(state["algorithm"])
            if self.ema is not None and state.get("ema"):
                self.ema.load_state_dict(state["ema"])
            self.batches.load_state_dict(state["batches"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise UserError(f"the checkpoint does not fit this run's networks: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
        rng = state["rng"]  # one per process (a single dict in checkpoints from before that)
        if isinstance(rng, list):
            rng = rng[min(self.accelerator.process_index, len(rng) - 1)]
        _set_rng_state(rng)

    # ---------------------------------------------------------- when a run stops

    def _newest(self) -> Path | None:
        kept = checkpoint.list_checkpoints(self.run_dir)
        return kept[-1] if kept else None

    def _stop_nonfinite(self, what: str) -> None:
        # Every checkpoint is checked before it is written, so the newest one on disk is finite.
        newest = self._newest()
        where = f"the last good checkpoint, {newest}, is kept" if newest else "no checkpoint had been written yet"
        raise NonFiniteLoss(
            f"{what}, so training stopped without saving these weights; "
            f"{where}. Lower the learning rates, try another loss or spectral norm, then --resume or start again."
        )

    def _after_failure(self, exc: Exception) -> None:
        """Keep the last consistent state, and say which checkpoint is the newest."""
        if isinstance(exc, RunStopped):
            return
        saved = None
        if self._consistent and self.accelerator.num_processes == 1 and self.step > max(0, _step_of(self._newest())):
            try:
                saved = self.save_checkpoint()
            except Exception:  # noqa: BLE001 - the original error is the one to report
                saved = None
        newest = self._newest()
        if saved is not None:
            where = f"a checkpoint of the last complete step was written, {saved}; continue with --resume once the cause is fixed"
        elif newest is not None:
            where = f"the newest checkpoint is {newest}; continue from it with --resume once the cause is fixed"
        else:
            where = "no checkpoint had been written yet"
        if isinstance(exc, OSError):
            raise RunStopped(f"the run stopped at step {self.step}: {_os_error(exc)}; {where}.") from None
        if isinstance(exc, UserError):
            raise RunStopped(f"{str(exc).rstrip('.')}. The run stopped at step {self.step}; {where}.") from None
        print(f"error: the run failed at step {self.step} ({type(exc).__name__}); {where}.", file=sys.stderr)


def _step_of(folder: Path | None) -> int:
    return int(folder.name[5:]) if folder is not None else -1


def _os_error(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _plugin_versions(host: PluginHost) -> dict[str, str]:
    return {name: f"{info.distribution} {info.version}" for name, info in host.info.items()}
