"""The one training loop. Read it top to bottom: ``Trainer.fit``.

The trainer owns the Accelerator, seeding, the data stream, the progress bar,
sample grids, evaluation, EMA, checkpoints, resume and logging. The algorithm
owns its networks and what one step does. Sample grids and evaluation
(``trainer_samples``) and checkpoints, resume and the messages of a run that
stops (``trainer_checkpoints``) are methods of ``Trainer`` written beside it.
"""

from __future__ import annotations

import math
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import yaml

from . import checkpoint, runlog, threads
from .algorithm import GANAlgorithm, TrainContext
from .config import RunConfig, config_to_dict
from .data import Batches, LoaderBatches, LoaderData
from .ema import EMA
from .errors import UserError
from .launch import is_first_process
from .metrics import build_metrics
from .plugins import PluginHost
from .rundir import RunLock, check_run_dir, clear_run, json_record
from .trainer_checkpoints import Interrupted, NonFiniteLoss, RunStopped, TrainerCheckpoints  # noqa: F401 - importable from here
from .trainer_samples import EVAL_SEED, TrainerSamples  # noqa: F401 - importable from here

REFERENCE_SAMPLES = 10_000  # real samples kept in memory for metrics when the data streams from disk


def default_run_dir(config: RunConfig) -> Path:
    return Path(config.output_dir or f"runs/{config.algorithm.name}-{config.data.name}")


class Trainer(TrainerCheckpoints, TrainerSamples):
    def __init__(self, config: RunConfig, run_dir: Path, host: PluginHost, *, resume: bool = False, overwrite: bool = False) -> None:
        self.config, self.run_dir, self.host, self.resume, self.overwrite = config, Path(run_dir), host, resume, overwrite
        self.step = 0
        self.should_stop = False
        self._signal: int | None = None
        self.accelerator = None
        self.algorithm: GANAlgorithm | None = None
        self._last_checkpoint: Path | None = None
        self._consistent = True  # False while a step is half done: no checkpoint may be taken then
        self.results: dict[str, float] = {}  # the newest evaluation
        self._clocks = (time.perf_counter(), time.process_time())
        self.threads: threads.ThreadPlan | None = None  # torch's thread count for this session, and why
        self._channels_last = config.train.channels_last  # read at every batch
        self._resumed_threads: int | None = None  # the thread count the checkpoint resumed from was written with
        self._cadences = ()  # the nonzero sample / eval / checkpoint intervals

    # ------------------------------------------------------------------ setup

    def setup(self) -> None:
        from accelerate import Accelerator
        from accelerate.utils import ProjectConfiguration, TorchDynamoPlugin, set_seed

        cfg = self.config.train
        trackers = runlog.tracker_names(cfg.tensorboard, cfg.trackers)
        self.accelerator = Accelerator(
            mixed_precision=cfg.mixed_precision,
            # Accelerate sets up multi-process CPU runs (gloo) only when told it is on the CPU.
            cpu=cfg.cpu or not _has_accelerator(),
            log_with=trackers or None,
            # TensorBoard writes to RUN/tensorboard/<project>, the project being "gancore" (init_trackers).
            project_config=ProjectConfiguration(project_dir=str(self.run_dir), logging_dir=str(self.run_dir / "tensorboard")),
            dynamo_plugin=TorchDynamoPlugin(backend="inductor") if cfg.compile else None,
        )
        # Different noise per process, identical across reruns with the same seed.
        set_seed(cfg.seed, device_specific=True)
        registry = self.host.registry
        rank, world = self.accelerator.process_index, self.accelerator.num_processes
        data = registry.build(self.config.data, "data")
        _check_not_empty(data, self.config)
        length = len(data)
        if isinstance(data, LoaderData):
            # Too big for memory: a DataLoader feeds training; a fixed sample serves plots and metrics.
            self.batches = LoaderBatches(data, cfg.batch_size, cfg.seed, rank, world, self.accelerator.device)
            data = data.head(REFERENCE_SAMPLES if self.config.eval.metrics else cfg.sample_count, cfg.seed)
            self.data = data.to(self.accelerator.device)
        else:
            self.data = data.to(self.accelerator.device)
            self.batches = Batches(self.data, cfg.batch_size, cfg.seed, rank, world)
        self.real_cpu = data.tensors["x"]
        self._data_length = length
        ctx = TrainContext(self.accelerator, registry, self.data, self._next_batch, cfg)
        entry = registry.get("algorithm", self.config.algorithm.name)
        self.algorithm = entry.factory(registry.validate(self.config.algorithm, "algorithm"), ctx)
        # The EMA asks the algorithm for its networks at every update: they may grow or be replaced.
        self.ema = EMA(self.algorithm.ema_modules, cfg.ema_decay, cfg.ema_start) if cfg.ema_decay else None
        self.metrics = build_metrics(registry, self.config.eval.metrics)  # keyed by label, or by name
        self._trackers = trackers

    def _next_batch(self, size: int | None = None, stream: str | None = None) -> dict[str, torch.Tensor]:
        batch = self.batches.next(size, stream)
        if self._channels_last:
            batch = {k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v for k, v in batch.items()}
        return batch

    # ------------------------------------------------------------------- loop

    def fit(self) -> str:
        # One run per folder: an OS lock, held until this process ends (kill -9 included).
        lock = RunLock(self.run_dir).acquire() if is_first_process() else None
        try:
            return self._fit(lock is not None)
        finally:
            if lock is not None:
                lock.release(discard_empty=True)

    def _fit(self, owner: bool) -> str:
        self._clocks = (time.perf_counter(), time.process_time())
        replaced = check_run_dir(self.run_dir, resume=self.resume, overwrite=self.overwrite) if owner else []
        self.host.begin_run()
        # Config, data and algorithm first: an old run is replaced only by one that starts.
        self.setup()
        main = self.accelerator.is_main_process
        cfg, world = self.config.train, self.accelerator.num_processes
        if main and cfg.batch_size * world > self._data_length and cfg.steps > self.step:
            print(f"warning: train.batch_size {cfg.batch_size} (x {world} processes) is larger than the dataset "
                  f"'{self.config.data.name}' ({self._data_length} samples), so every batch repeats samples", file=sys.stderr)
        if main:
            if replaced:
                clear_run(self.run_dir)
            stale = checkpoint.remove_temporary(self.run_dir)
            if stale:
                print(f"note: removed {len(stale)} temporary checkpoint folder(s) left by a crashed write", file=sys.stderr)
        if self.resume:
            self._restore()
        elif main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.yaml").write_text(yaml.safe_dump(config_to_dict(self.config), sort_keys=False))
        if self._trackers:
            # A resumed run rewrites the steps after its checkpoint: TensorBoard drops the old ones.
            kwargs = {"tensorboard": {"purge_step": self.step + 1}} if self.step else {}
            kwargs["wandb"] = {"name": self.run_dir.name}  # the run's folder names it among the project's runs
            self.accelerator.init_trackers("gancore", init_kwargs=kwargs)
            for tracker in self.accelerator.trackers:
                if tracker.name != "tensorboard":  # TensorBoard's hparams would add a folder per session
                    tracker.store_init_configuration(runlog.flat_config(config_to_dict(self.config)))
        self.host.train_start(self)

        try:
            status = self._loop()
        except Exception as exc:
            # Any error that ends the run (NaN, compile, a family's bug) is reported to lifecycle hooks.
            self.host.train_end(self, self.step, "failed")
            self._after_failure(exc)
            raise
        self.host.train_end(self, self.step, status)
        self.accelerator.end_training()
        if self._signal is not None:
            raise Interrupted(self._signal, self.step, self._last_checkpoint)
        return status

    def elapsed(self) -> tuple[float, float]:
        """(wall, CPU) seconds of this process since this session began (``fit``)."""
        wall, cpu = self._clocks
        return time.perf_counter() - wall, time.process_time() - cpu

    def summary(self, status: str = "completed") -> str:
        """What the run did: final metrics, where its samples and checkpoint are, wall and CPU time."""
        return runlog.summary(self.run_dir, self.step, status, self.results, *self.elapsed(), self._last_checkpoint)

    def _loop(self) -> str:
        cfg = self.config.train
        main = self.accelerator.is_main_process
        sums: dict[str, list] = {}  # each logged value of the steps since the last record, summed at the record
        count, tick = 0, time.perf_counter()
        progress = runlog.progress(cfg.steps, self.step, enabled=main and cfg.progress)
        status = "completed"
        trial = self._choose_threads(progress)  # train.threads: auto times the first steps at 1 and at N threads
        # Lifecycle hooks that no plugin implements cost a call per step for nothing.
        step_end = self.host.train_step_end if self.host.implements("gan_train_step_end") else None
        self._cadences = tuple(every for every in (cfg.sample_every, cfg.eval_every, cfg.checkpoint_every) if every)
        with self._signals():
            while self.step < cfg.steps:
                # One step of the family's own procedure.
                self._consistent = False
                if trial is not None:
                    trial.next_threads()
                    started = time.perf_counter()
                logs = self._train_step()
                self.step += 1
                if self.ema is not None:
                    self.ema.update(self.step)
                self._consistent = True
                if trial is not None and trial.record(time.perf_counter() - started):
                    self._threads_chosen(trial.result, progress)
                    if trial.finished:
                        trial = None
                for key, value in logs.items():
                    if isinstance(value, torch.Tensor) and value.requires_grad:
                        value = value.detach()  # a loss with its graph would keep the graph alive until the record
                    if key in sums:
                        sums[key].append(value)
                    else:
                        sums[key] = [value]
                count += 1
                progress.update(1)
                if step_end is not None:
                    step_end(self, self.step, logs)

                # Averaged losses: checked for NaN/Inf before anything is written from these weights.
                boundary = self._is_boundary()
                if self.step % cfg.log_every == 0 or boundary:
                    means = self._flush(sums, count, time.perf_counter() - tick, progress)
                    sums, count, tick = {}, 0, time.perf_counter()
                    self._guard(means)
                if boundary:
                    self._guard_weights()  # the losses were computed before the last update; the weights after it
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    self.write_samples()
                if cfg.eval_every and self.step % cfg.eval_every == 0:
                    self.run_eval()
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
                if self._stop_requested():
                    status = "interrupted"
                    break
        progress.close()

        # The end of the run: always leave a checkpoint, a picture and the metrics.
        last = self.save_checkpoint()
        if status == "completed":
            if not (cfg.sample_every and self.step % cfg.sample_every == 0):
                self.write_samples()
            if self.metrics and not (cfg.eval_every and self.step % cfg.eval_every == 0):
                self.run_eval()
        self._last_checkpoint = last
        return status

    def _choose_threads(self, progress) -> threads.ThreadTrial | None:
        """Set torch's threads for this session; with auto on a long enough CPU run, a trial that the
        loop drives instead (``gancore.threads``)."""
        cfg = self.config.train
        plan = threads.plan(cfg.threads, num_processes=self.accelerator.num_processes, device=self.accelerator.device,
                            steps_left=cfg.steps - self.step, resumed_with=self._resumed_threads)
        if plan is None:
            return threads.ThreadTrial()
        self._threads_chosen(plan, progress)
        return None

    def _threads_chosen(self, plan: threads.ThreadPlan, progress) -> None:
        if plan.threads is not None and plan.threads != torch.get_num_threads():
            torch.set_num_threads(plan.threads)
        self.threads = plan
        if plan.trial and self.accelerator.is_main_process:  # a measured choice is said once; a fixed one is not news
            progress.write(plan.message(), file=sys.stderr)

    def _train_step(self) -> dict[str, Any]:
        try:
            step = self.step + 1
            return self.algorithm.train_step(self._next_batch(size=self.algorithm.batch_size(step)), step)
        except Exception as exc:
            if not self.config.train.compile:
                raise
            from torch._dynamo.exc import TorchDynamoException

            if not isinstance(exc, TorchDynamoException):
                raise
            newest = self._newest()
            where = f"the newest checkpoint, {newest}, is untouched" if newest else "no checkpoint had been written yet"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RunStopped(
                f"train.compile: torch.compile failed in step {self.step + 1} ({type(exc).__name__}: {first}); {where}. "
                "Run again with --set train.compile=false, or fix what it needs (a C++ compiler for CPU kernels, Triton for GPUs)."
            ) from None

    def _stop_requested(self) -> bool:
        """A signal or ``should_stop``. With several processes they agree, every ``log_every`` steps,
        so all of them stop after the same step."""
        local = self.should_stop or self._signal is not None
        if self.accelerator.num_processes == 1:
            return local
        if self.step % self.config.train.log_every:
            return False
        flag = torch.tensor([1.0 if local else 0.0], device=self.accelerator.device)
        return bool(self.accelerator.reduce(flag, reduction="sum").item() > 0)

    def _is_boundary(self) -> bool:
        cfg = self.config.train
        return (
            self.step == cfg.steps
            or self.should_stop
            or self._signal is not None
            or any(self.step % every == 0 for every in self._cadences)
        )

    # ------------------------------------------------------ logging and guard

    def _flush(self, sums: dict[str, list], count: int, seconds: float, progress) -> dict[str, float]:
        # Summed here, once per record: a tensor-to-float conversion or an addition per step and value
        # would wait for the device at every step, and costs a few microseconds each on a CPU.
        means = {k: _total(v) / count for k, v in sums.items()}
        record = {"step": self.step, **means, "steps_per_second": count / max(seconds, 1e-9)}
        progress.set_postfix({k: f"{v:.4g}" for k, v in means.items()}, refresh=False)
        self.log(record)
        return means

    def _guard(self, means: dict[str, float]) -> None:
        bad = [k for k, v in means.items() if not math.isfinite(v)]
        if bad:
            self._stop_nonfinite(f"{', '.join(bad)} became NaN or Inf by step {self.step}")

    def _guard_weights(self) -> None:
        bad = checkpoint.nonfinite({"algorithm": self.algorithm.state_dict(), "ema": self.ema.state_dict() if self.ema else None})
        if bad:
            self._stop_nonfinite(f"the weights or optimizer state became NaN or Inf by step {self.step} ({', '.join(bad)})")

    def log(self, record: dict[str, Any]) -> None:
        if not self.accelerator.is_main_process:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / "metrics.jsonl", "a") as fh:
            fh.write(json_record(record) + "\n")
        if self.accelerator.trackers:
            self.accelerator.log({k: v for k, v in record.items() if k != "step" and isinstance(v, (int, float)) and math.isfinite(v)}, step=record["step"])

    # ---------------------------------------------------------------- signals

    @contextmanager
    def _signals(self):
        def handler(signum, frame):
            self._signal = signum

        previous = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def _check_not_empty(data, config: RunConfig) -> None:
    streams = getattr(data, "streams", None) or {"x": ["x"]}
    tensors = getattr(data, "tensors", None)
    sizes = {name: len(tensors[keys[0]]) for name, keys in streams.items()} if tensors is not None else {"x": len(data)}
    if isinstance(data, LoaderData):
        sizes["x"] = len(data)
    empty = [name for name, size in sizes.items() if size == 0]
    if empty:
        options = ", ".join(f"{k}={v!r}" for k, v in config.data.options.items() if v not in (None, False, [], {}))
        which = "" if empty == ["x"] else f" (stream {', '.join(empty)})"
        raise UserError(
            f"dataset '{config.data.name}' has no samples{which} with these options ({options or 'defaults'}): "
            "a filter such as data.classes left nothing; widen it."
        )


def _total(values: list) -> float:
    """The sum of a logged value over the steps of a record: tensors in one addition, numbers as they are."""
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    total = sum(float(v) for v in values if not isinstance(v, torch.Tensor))
    if tensors:
        total += torch.cat([t.reshape(-1) for t in tensors]).double().sum().item()
    return total


def _has_accelerator() -> bool:
    xpu = getattr(torch, "xpu", None)
    return torch.cuda.is_available() or torch.backends.mps.is_available() or bool(xpu and xpu.is_available())
