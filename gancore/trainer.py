"""The one training loop: ``fit(run)``. Read it top to bottom.

A ``Run`` (``gancore.run``) holds everything a run has; the algorithm knows what one step does.
``fit`` adds what happens around the steps: their cadences (log, sample, evaluate, checkpoint),
the NaN guard, signals, and the lifecycle hooks that plugins implement.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from . import checkpoint, runlog, signals
from .errors import Interrupted, RunStopped
from .run import Run


def fit(run: Run) -> str:
    """Train ``run`` from its step to ``train.steps``; returns "completed", or "interrupted" when a hook set
    ``run.should_stop``. A signal stops the run after the step in progress, with a checkpoint, then raises
    ``Interrupted``; an error writes the last complete step where it can, and is raised with a message that
    names the newest checkpoint. ``run.json`` says how the session ended, whatever ended it."""
    cfg, host = run.config.train, run.host
    loop, status = _Loop(run), "failed"
    # From here to the end, SIGINT and SIGTERM are recorded, never raised: the run ends at a step boundary.
    with signals.deferred():
        try:
            run.open_record()
            host.begin_run()
            run.open_trackers()
            host.train_start(run)
            status = loop.steps()
            # The end of the run, under the same signal handling: a checkpoint (unless a signal came before this
            # session's first step: nothing new to save), then a picture and the metrics unless a signal came.
            if status == "completed" or run.step > loop.first_step:
                run.save_checkpoint()
            if status == "completed" and not loop.agreed_stop():
                if not (cfg.sample_every and run.step % cfg.sample_every == 0):
                    run.write_samples()
                if run.metrics and not (cfg.eval_every and run.step % cfg.eval_every == 0):
                    loop.evaluate()
            elif status == "completed":
                status = "interrupted"  # the last grid and metrics are made by --resume
            run.algorithm.finish(run, status)
            host.train_end(run, run.step, status)
        except BaseException as exc:  # noqa: BLE001 - SystemExit from a family's code too
            # Any error that ends the run (NaN, compile, a family's bug) is reported to the family and the hooks.
            status = "failed"
            run.algorithm.finish(run, "failed")
            host.train_end(run, run.step, "failed")
            run.failed(exc, loop.consistent and run.step > loop.first_step)  # a complete step of this session to keep
            raise
        finally:
            run.close_record(status)
        run.close()
    if signals.received() is not None:
        raise Interrupted(signals.received(), run.step, run.last_checkpoint, completed=status == "completed")
    return status


class _Loop:
    """The steps of one session and what happens between them."""

    def __init__(self, run: Run) -> None:
        self.run, self.cfg = run, run.config.train
        self.first_step = run.step
        self.consistent = True  # False while a step is half done: no checkpoint may be taken then
        # Lifecycle hooks that no plugin implements cost a call per step for nothing.
        self.step_end = run.host.train_step_end if run.host.implements("gan_train_step_end") else None
        self.cadences = tuple(every for every in (self.cfg.sample_every, self.cfg.eval_every, self.cfg.checkpoint_every) if every)

    def steps(self) -> str:
        run, cfg = self.run, self.cfg
        sums: dict[str, list] = {}  # each logged value of the steps since the last record, summed at the record
        count, tick = 0, time.perf_counter()
        run.progress = progress = runlog.progress(cfg.steps, run.step, enabled=run.is_main_process and cfg.progress)
        try:
            while run.step < cfg.steps:
                if self.stop_requested():
                    return "interrupted"
                # One step of the family's own procedure, then the EMA of its generator.
                self.consistent = False
                logs = self.train_step()
                run.step += 1
                if run.ema is not None:
                    run.ema.update(run.step)
                self.consistent = True
                for key, value in logs.items():
                    if isinstance(value, torch.Tensor) and value.requires_grad:
                        value = value.detach()  # a loss with its graph would keep the graph alive until the record
                    sums.setdefault(key, []).append(value)
                count += 1
                progress.update(1)
                if self.step_end is not None:
                    self.step_end(run, run.step, logs)

                # Averaged losses, checked for NaN/Inf before anything is written from these weights.
                boundary = self.at_boundary()
                if run.step % cfg.log_every == 0 or boundary:
                    means = {k: _total(v) / count for k, v in sums.items()}
                    progress.set_postfix({k: f"{v:.4g}" for k, v in means.items()}, refresh=False)
                    run.log({"step": run.step, **means, "steps_per_second": count / max(time.perf_counter() - tick, 1e-9)})
                    sums, count, tick = {}, 0, time.perf_counter()
                    bad = [k for k, v in means.items() if not math.isfinite(v)]
                    if bad:
                        raise run.checkpoints.nonfinite(f"{', '.join(bad)} became NaN or Inf by step {run.step}")
                if boundary:  # the losses were computed before the last update; the weights after it
                    bad = checkpoint.nonfinite({"algorithm": run.algorithm.state_dict(), "ema": run.ema.state_dict() if run.ema else None})
                    if bad:
                        raise run.checkpoints.nonfinite(f"the weights or optimizer state became NaN or Inf by step {run.step} ({', '.join(bad)})")
                if cfg.sample_every and run.step % cfg.sample_every == 0:
                    run.write_samples()
                if cfg.eval_every and run.step % cfg.eval_every == 0:
                    self.evaluate()
                if cfg.checkpoint_every and run.step % cfg.checkpoint_every == 0:
                    run.save_checkpoint()
            return "interrupted" if self.stop_requested() else "completed"
        finally:
            progress.close()
            run.progress = None

    def train_step(self) -> dict[str, Any]:
        run, step = self.run, self.run.step + 1
        try:
            return run.algorithm.train_step(run.next_batch(size=run.algorithm.batch_size(step)), step)
        except Exception as exc:
            if not self.cfg.compile:
                raise
            from torch._dynamo.exc import TorchDynamoException

            if not isinstance(exc, TorchDynamoException):
                raise
            newest = run.checkpoints.newest()
            where = f"the newest checkpoint, {newest}, is untouched" if newest else "no checkpoint had been written yet"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RunStopped(
                f"train.compile: torch.compile failed in step {step} ({type(exc).__name__}: {first}); {where}. "
                "Run again with --set train.compile=false, or fix what it needs (a C++ compiler for CPU kernels, Triton for GPUs)."
            ) from None

    def evaluate(self) -> None:
        # Every process takes part (metrics combine their shares); the main one logs.
        run = self.run
        if not run.metrics:  # eval_every with no eval.metrics: nothing to compute or log
            return
        run.results = run.evaluate()
        run.log({"step": run.step, **run.results})
        run.host.eval_end(run, run.step, run.results)

    def at_boundary(self) -> bool:
        """A step after which something is written (or the run ends): the guards run here."""
        step = self.run.step
        return step == self.cfg.steps or self.run.should_stop or signals.received() is not None or any(step % every == 0 for every in self.cadences)

    def stop_requested(self) -> bool:
        """A signal or ``should_stop``. With several processes they agree, every ``log_every`` steps,
        so all of them stop after the same step."""
        if self.run.accelerator.num_processes > 1 and self.run.step % self.cfg.log_every:
            return False
        return self.agreed_stop(self.run.should_stop)

    def agreed_stop(self, local: bool = False) -> bool:
        """Whether a signal (or ``local``) arrived at any process: every process asks together."""
        local = local or signals.received() is not None
        if self.run.accelerator.num_processes == 1:
            return local
        flag = torch.tensor([1.0 if local else 0.0], device=self.run.accelerator.device)
        return bool(self.run.accelerator.reduce(flag, reduction="sum").item() > 0)


def _total(values: list) -> float:
    """The sum of a logged value over the steps of a record: tensors in one addition (one wait for the
    device per record, not per step), numbers as they are."""
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    total = sum(float(v) for v in values if not isinstance(v, torch.Tensor))
    if tensors:
        total += torch.cat([t.reshape(-1) for t in tensors]).double().sum().item()
    return total
