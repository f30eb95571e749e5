"""``Run``: one run folder brought to life.

A ``Run`` is built from a config (``Run.from_config``, to train) or from a checkpoint of a run
folder (``Run.from_checkpoint``, to use what was trained). It owns the ``Accelerator``, seeding,
the data streams, the algorithm, the EMA, the metrics, the sample grids (``visual.SampleGrids``)
and the checkpoints (``checkpoint.Checkpointer``). ``gancore.trainer.fit(run)`` trains it; ``gan
sample``, ``gan eval``, plugin commands and the benchmarks use it through its public methods::

    run = Run.from_checkpoint("runs/demo")
    with run.sampling():                     # EMA weights in, the training RNG left alone
        images = run.generate(64, seed=0)
    scores = run.evaluate()                  # the run's eval.metrics (or others)
"""

from __future__ import annotations

import functools
import math
import os
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
import yaml

from . import checkpoint, runlog, runs
from . import checkpoint as checkpoint_module  # where a parameter is called `checkpoint`
from .accelerate_adapter import build_accelerator
from .algorithm import CORE_ACCELERATOR_OPTIONS, GANAlgorithm, draw_samples
from .config import RunConfig, config_to_dict, resolve_run_config, saved_config_today
from .data import Batches, LoaderBatches, LoaderData
from .ema import EMA
from .errors import RunStopped, UserError
from .launch import is_first_process
from .memory import check_batch_fits
from .metrics import EvalContext, build_metrics, evaluate
from .plugins import PluginHost
from .rundir import discard_aside, json_record, set_aside, truncate_metrics
from .train_context import TrainContext
from .visual import SampleGrids

EVAL_SEED = 12345  # the seed of the samples every metric draws
REFERENCE_SAMPLES = 10_000  # real samples kept in memory for metrics when the data streams from disk


def default_run_dir(config: RunConfig) -> Path:
    return Path(config.output_dir or f"runs/{config.algorithm.name}-{config.data.name}")


class Run:
    """A run: its config, accelerator, data, algorithm, EMA, metrics, checkpoints and sample grids.

    Attributes that lifecycle hooks read: ``config``, ``run_dir``, ``step`` (steps done),
    ``algorithm``, ``accelerator``, ``data``, ``results`` (the newest evaluation),
    ``should_stop`` (set it to end training after this step), ``threads`` (the CPU thread plan of
    this session), ``restored`` (the checkpoint this session resumed from, or None)."""

    def __init__(self, config: RunConfig, host: PluginHost, run_dir: Path, *, training: bool) -> None:
        self.config, self.host, self.run_dir = config, host, Path(run_dir)
        self.step, self.should_stop, self.results = 0, False, {}
        self.restored: Path | None = None
        self.restored_meta: dict[str, Any] = {}
        self.last_checkpoint: Path | None = None
        self.run_id: str | None = None  # run.json's id of this run, once a training session records itself
        self._recording = False  # a session of this run is open in run.json
        self._replacing = False  # an old run set aside waits for this one's first checkpoint
        self.threads = None  # set by the builtin threads plugin (gancore.builtin.threads)
        self.progress = None  # the progress bar while fit runs: messages go through it
        self._clocks = (time.perf_counter(), time.process_time())
        cfg, registry = config.train, host.registry
        _set_determinism(cfg.deterministic)

        # The algorithm's config first: its Accelerator options come before the Accelerator.
        entry = registry.get("algorithm", config.algorithm.name)
        options = registry.validate(config.algorithm, "algorithm")
        self.trackers = runlog.tracker_names(cfg.tensorboard, cfg.trackers) if training else []
        self.accelerator = build_accelerator(cfg, self.run_dir if training else None, self.trackers, _accelerator_options(entry, options))
        from accelerate.utils import set_seed

        set_seed(cfg.seed, device_specific=True)  # different noise per process, identical across reruns

        rank, world, device = self.accelerator.process_index, self.accelerator.num_processes, self.accelerator.device
        data = registry.build(config.data, "data")
        _check_not_empty(data, config)
        self.data_length = len(data)
        if training:  # a batch or a sample grid that cannot fit is refused with the figures, not killed by the kernel
            check_batch_fits(data, cfg.batch_size, cfg.sample_count, world, device)
        loader = None
        if isinstance(data, LoaderData):
            # Too big for memory: a DataLoader feeds training; a fixed sample serves plots and metrics.
            loader = LoaderBatches(data, cfg.batch_size, cfg.seed, rank, world, device)
            data = data.head(REFERENCE_SAMPLES if config.eval.metrics else cfg.sample_count, cfg.seed)
        self.data = data.to(device)  # in-memory data move to the device once; batches are indexed there
        self.batches = loader or Batches(self.data, cfg.batch_size, cfg.seed, rank, world)

        self.ctx = TrainContext(self.accelerator, registry, self.data, self.next_batch, cfg)
        self.algorithm: GANAlgorithm = entry.factory(options, self.ctx)
        # The EMA asks the algorithm for its networks at every update: they may grow or be replaced.
        self.ema = EMA(self.algorithm.ema_modules, cfg.ema_decay, cfg.ema_start) if cfg.ema_decay else None
        self.metrics = build_metrics(registry, config.eval.metrics)
        self.checkpoints = checkpoint.Checkpointer(self.run_dir, self.accelerator, keep=cfg.keep_checkpoints,
                                                   meta={"config": config_to_dict(config), "plugins": _plugin_versions(host)})
        self.grids = SampleGrids(self.run_dir / "samples", count=cfg.sample_count, seed=cfg.seed,
                                 real_points=data.tensors["x"] if data.kind == "points" else None)

    # ----------------------------------------------------------------- building

    @classmethod
    def from_config(cls, config: RunConfig, host: PluginHost, run_dir: str | Path | None = None, *, training: bool = False) -> "Run":
        """A new run of ``config`` in ``run_dir`` (default: the config's ``output_dir``), nothing trained.
        ``training``: it will be trained (``fit``), so its trackers write under the run folder."""
        return cls(config, host, Path(run_dir) if run_dir is not None else default_run_dir(config), training=training)

    @classmethod
    def from_checkpoint(cls, run_dir: str | Path, checkpoint: str | Path | None = None, *, host: PluginHost | None = None,
                        used: dict | None = None) -> "Run":  # fmt: skip
        """The run in ``run_dir`` as its newest valid checkpoint (or ``checkpoint``, a checkpoint folder) left it,
        ready to sample and evaluate. It reads the folder and takes no lock, so it works beside a live run.
        Which checkpoint it uses, and why, is printed on stderr, or put in ``used`` (``checkpoint``, ``why``)."""
        from .plugins import get_host

        host = host or get_host()
        run_dir = Path(run_dir)
        skipped: list[str] = []
        run = None
        for folder, state, meta in _checkpoints_to_use(run_dir, Path(checkpoint) if checkpoint is not None else None, skipped):
            saved = meta["config"]
            saved["train"].update(tensorboard=False, progress=False, trackers=[])
            host.require(saved["plugin"])  # a plugin that is missing here is no damage: said at once
            try:
                config = resolve_run_config(host.registry, saved)
                if run is None or config != run.config:
                    run = cls(config, host, run_dir, training=False)
                run.load_state_dict(state)
            except UserError as exc:
                if checkpoint is not None:
                    raise
                skipped.append(f"checkpoint '{folder}' does not fit its own config ({str(exc).splitlines()[0][:300]})")
                continue
            run.step, run.restored, run.restored_meta = int(meta["step"]), folder, meta
            why = "given by --checkpoint" if checkpoint is not None else (
                f"the newest valid one; {len(skipped)} newer checkpoint(s) skipped: " + " ".join(skipped) if skipped else "the newest")
            if used is not None:
                used.update(checkpoint=str(folder), why=why)
            elif is_first_process():
                print(f"using checkpoint {folder} ({why})", file=sys.stderr)
            return run
        raise checkpoint_module.no_valid(run_dir, "read", skipped)

    # --------------------------------------------------------------------- data

    def next_batch(self, size: int | None = None, stream: str | None = None) -> dict[str, torch.Tensor]:
        """This process's share of the next batch of a data stream (see ``gancore.algorithm``)."""
        batch = self.batches.next(size, stream)
        if self.config.train.channels_last:
            batch = {k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v for k, v in batch.items()}
        return batch

    @property
    def is_main_process(self) -> bool:
        return self.accelerator.is_main_process

    # -------------------------------------------------------------------- state

    def state_dict(self) -> dict[str, Any]:
        """The algorithm's declared state, the EMA and the data streams' positions (the RNG is added per
        process by ``save_checkpoint``)."""
        return {"algorithm": self.algorithm.state_dict(), "ema": self.ema.state_dict() if self.ema else None,
                "batches": self.batches.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            self.algorithm.load_state_dict(state["algorithm"])
            if self.ema is not None and state.get("ema"):
                self.ema.load_state_dict(state["ema"])
            self.batches.load_state_dict(state["batches"])
        except (KeyError, RuntimeError, ValueError, TypeError, AttributeError, IndexError) as exc:
            first = (str(exc).splitlines() or [""])[0][:300]
            raise UserError(f"the checkpoint does not fit this run's networks: {type(exc).__name__}: {first}") from None
        checkpoint.set_rng_state(self.checkpoints.process_rng(state["rng"]))

    def save_checkpoint(self) -> Path | None:
        """A checkpoint of this step (the folder on the main process, None on the others)."""
        self.last_checkpoint = self.checkpoints.save(self.step, self.state_dict())
        if self._replacing and self.last_checkpoint is not None:
            discard_aside(self.run_dir)  # the run this one replaces was kept until now
            self._replacing = False
        return self.last_checkpoint

    def restore(self) -> Path:
        """Continue from the newest checkpoint that loads (skipping damaged ones with a warning), after
        checking that it was trained with this run's plugin, algorithm and data."""
        warnings: list[str] = []
        for folder, state, meta in checkpoint.valid_checkpoints(self.run_dir, warnings):
            compared = ("plugin", "algorithm", "data")
            try:
                saved = saved_config_today(self.host.registry, meta["config"], compared)
                differs = [section for section in compared if saved[section] != config_to_dict(self.config)[section]]
                if not differs:
                    self.load_state_dict(state)
            except UserError as exc:  # the networks do not take it: damage only a run can see
                warnings.append(f"checkpoint '{folder}' does not fit this run ({str(exc).splitlines()[0][:300]})")
                continue
            if differs:
                raise UserError(
                    f"--resume: the '{differs[0]}' section differs from the one the checkpoint {folder} was trained with; "
                    "resume with the run's own config (omit the config file) or start a new run."
                )
            break
        else:
            raise checkpoint.no_valid(self.run_dir, "resume", warnings)
        for text in warnings:
            self.say(f"warning: skipped a damaged checkpoint: {text}")
        world = self.accelerator.num_processes
        if meta.get("num_processes", 1) != world:
            self.say(f"warning: {folder} was written by {meta.get('num_processes', 1)} process(es) and this run has "
                     f"{world}; training goes on, but not bit for bit as it would have")
        self.step, self.restored, self.restored_meta = int(meta["step"]), folder, meta
        if self.is_main_process:
            self.say(f"resumed from {folder} (step {self.step} of {self.config.train.steps})")
            dropped = truncate_metrics(self.run_dir, self.step)
            if dropped:
                self.say(f"note: resuming from {folder.name}: dropped {dropped} metrics.jsonl record(s) of later steps")
        return folder

    def begin(self, *, resume: bool = False, replaced: list[str] | tuple[str, ...] = ()) -> None:
        """Make the run folder ready for a training session: on the main process, set aside what an old run
        that this one replaces left (``replaced``; it goes once this run has its first checkpoint, and comes
        back if there is none, see ``gancore.rundir``), and remove the temporary folders of crashed checkpoint
        writes; then resume from the newest valid checkpoint, or write the resolved ``config.yaml``; then record
        the session in ``run.json``."""
        main = self.is_main_process
        cfg, world = self.config.train, self.accelerator.num_processes
        if main and cfg.batch_size * world > self.data_length and cfg.steps > self.step:
            self.say(f"warning: train.batch_size {cfg.batch_size} (x {world} processes) is larger than the dataset "
                     f"'{self.config.data.name}' ({self.data_length} samples), so every batch repeats samples")
        if main:
            if replaced:
                self._replacing = bool(set_aside(self.run_dir))
            stale = checkpoint.remove_temporary(self.run_dir)
            if stale:
                self.say(f"note: removed {len(stale)} temporary checkpoint folder(s) left by a crashed write")
        if resume:
            self.restore()
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.yaml").write_text(yaml.safe_dump(config_to_dict(self.config), sort_keys=False))
        self.open_record()

    def open_record(self) -> None:
        """Record in ``run.json`` that a training session of this run is running (main process; once)."""
        if not self.is_main_process or self._recording:
            return
        self.run_id, note = runs.start_session(self.run_dir, step=self.step, planned_steps=self.config.train.steps,
                                               resumed=self.restored is not None)
        self.checkpoints.meta["run_id"] = self.run_id
        self._recording = True
        if note:
            self.say(f"note: {note}")

    def close_record(self, status: str) -> None:
        """Record how this session ended: ``status``, its last step, its wall and CPU time (main process)."""
        if not self.is_main_process or not self._recording:
            return
        self._recording = False
        runs.end_session(self.run_dir, step=self.step, status=status, wall=self.elapsed()[0], cpu=self.elapsed()[1])

    # ----------------------------------------------------------------- sampling

    @contextmanager
    def sampling(self):
        """EMA weights swapped in, and the training RNG left exactly as it was: a run that samples and
        evaluates trains exactly as one that does not, and resumes bit for bit."""
        device = self.accelerator.device
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), (self.ema.swapped() if self.ema else nullcontext()):
            yield

    def generate(self, n: int, seed: int, labels: torch.Tensor | None = None, truncation: float | None = None) -> torch.Tensor:
        """``n`` samples (on the CPU) from this process alone, the same ones for the same seed; of classes
        ``labels`` in a conditional run; latents truncated at ``truncation``. Call it inside ``sampling()``."""
        return self.eval_context(seed, truncation).generate(n, labels)

    def eval_context(self, seed: int = EVAL_SEED, truncation: float | None = None) -> EvalContext:
        """What a metric is called with: this run's samples (every process its share), data and algorithm."""
        sample = functools.partial(draw_samples, self.algorithm, truncation=truncation)
        return EvalContext(sample, self.data, self.algorithm, self.accelerator, seed, truncation)

    def evaluate(self, metrics: list | None = None, truncation: float | None = None) -> dict[str, float]:
        """The values of ``metrics`` (``(key, metric)`` pairs of ``build_metrics``; default: the run's
        ``eval.metrics``), keyed ``<metric>/<value>``, computed by every process together, with the EMA."""
        metrics = self.metrics if metrics is None else metrics
        if not metrics:
            return {}
        with self.sampling():
            return evaluate(metrics, self.eval_context(truncation=truncation))

    def write_samples(self) -> Path | None:
        """This step's sample grid in RUN/samples/ and in every tracker that takes images (main process)."""
        if not self.is_main_process:
            return None
        with self.sampling():
            path = self.grids.write(self.step, self.algorithm, self.generate)
        runlog.log_image(self.accelerator, path, self.step)
        return path

    # ------------------------------------------------------------ what it tells

    def log(self, record: dict[str, Any]) -> None:
        """One record of ``metrics.jsonl`` and of every tracker (main process)."""
        if not self.is_main_process:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / "metrics.jsonl", "a") as fh:
            fh.write(json_record(record) + "\n")
        if self.accelerator.trackers:
            scalars = {k: v for k, v in record.items() if k != "step" and isinstance(v, (int, float)) and math.isfinite(v)}
            self.accelerator.log(scalars, step=record["step"])

    def say(self, text: str) -> None:
        """A line on stderr from the main process, through the progress bar while one is shown."""
        if not self.is_main_process:
            return
        if self.progress is not None:
            self.progress.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def open_trackers(self) -> None:
        """Start the trackers of a training session (a resumed run's TensorBoard drops the steps after its checkpoint)."""
        if not self.trackers:
            return
        _quiet_writer_threads()
        kwargs = {"tensorboard": {"purge_step": self.step + 1}} if self.step else {}
        kwargs["wandb"] = {"name": self.run_dir.name}  # the run's folder names it among the project's runs
        self.accelerator.init_trackers("gancore", init_kwargs=kwargs)
        for tracker in self.accelerator.trackers:
            if tracker.name != "tensorboard":  # TensorBoard's hparams would add a folder per session
                tracker.store_init_configuration(runlog.flat_config(config_to_dict(self.config)))

    def elapsed(self) -> tuple[float, float]:
        """(wall, CPU) seconds of this process since the run was built."""
        wall, cpu = self._clocks
        return time.perf_counter() - wall, time.process_time() - cpu

    def summary(self, status: str = "completed") -> str:
        """What the run did: final metrics, where its samples and checkpoint are, wall and CPU time."""
        return runlog.summary(self.run_dir, self.step, status, self.results, *self.elapsed(), self.last_checkpoint)

    def close(self) -> None:
        """End the trackers and let every process leave together. A tracker that cannot write its last
        events (a full disk) is a warning: the run's checkpoint is written by then."""
        self.accelerator.wait_for_everyone()
        try:
            self.accelerator.end_training()
        except OSError as exc:
            self.say(f"warning: the trackers could not write their last events: {checkpoint.os_error(exc)}")

    # ---------------------------------------------------------- when it stops

    def failed(self, exc: BaseException, consistent: bool) -> None:
        """After ``exc`` ended training: keep the last complete step (``consistent``: no step was half done),
        and raise an error that says which checkpoint is the newest (or print it, for a bug)."""
        if isinstance(exc, RunStopped):
            return
        saved, newest = None, self.checkpoints.newest()
        if consistent and self.accelerator.num_processes == 1 and self.step > (int(newest.name[5:]) if newest else -1):
            try:
                saved = self.save_checkpoint()
            except Exception:  # noqa: BLE001 - the original error is the one to report
                saved = None
        newest = self.checkpoints.newest()
        if saved is not None:
            where = f"a checkpoint of the last complete step was written, {saved}; continue with --resume once the cause is fixed"
        elif newest is not None:
            where = f"the newest checkpoint is {newest}; continue from it with --resume once the cause is fixed"
        else:
            where = "no checkpoint had been written yet"
        if isinstance(exc, OSError):
            raise RunStopped(f"the run stopped at step {self.step}: {checkpoint.os_error(exc)}; {where}.") from None
        if isinstance(exc, UserError):
            raise RunStopped(f"{str(exc).rstrip('.')}. The run stopped at step {self.step}; {where}.") from None
        print(f"error: the run failed at step {self.step} ({type(exc).__name__}); {where}.", file=sys.stderr)


def _accelerator_options(entry, options) -> dict[str, Any]:
    chosen = entry.factory.accelerator_options(options) if isinstance(entry.factory, type) else {}
    owned = sorted(set(chosen) & CORE_ACCELERATOR_OPTIONS)
    if owned:
        raise UserError(f"algorithm '{entry.name}' (plugin '{entry.plugin}') sets Accelerator options that the run config owns: "
                        f"{', '.join(owned)}; set them in the train section instead")
    return chosen


def _set_determinism(on: bool) -> None:
    """``train.deterministic``: deterministic algorithms everywhere (cuBLAS included), no cuDNN autotuning."""
    if on:
        # cuBLAS reads this when it starts: before any CUDA work of the process.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    if on:
        torch.backends.cudnn.benchmark = False


def _checkpoints_to_use(run_dir: Path, folder: Path | None, skipped: list[str]):
    """``(folder, state, meta)`` of the checkpoints to try: ``folder`` alone, or every valid one of
    ``run_dir``, newest first (damaged ones are named in ``skipped``)."""
    if folder is not None:
        if not folder.is_dir():
            raise UserError(f"--checkpoint '{folder}' is not a folder; give a RUN/checkpoints/step-NNNNNN folder.")
        yield (folder, *checkpoint.load(folder))
        return
    if not run_dir.is_dir():
        raise UserError(f"run folder '{run_dir}' does not exist; give the folder a `gan run` wrote (its --output).")
    # A listing made while a live run renames its newest checkpoint into place can miss both: look again.
    if not any(checkpoint.list_checkpoints(run_dir) or time.sleep(0.05) for _ in range(3)):
        raise UserError(
            f"'{run_dir}' is not a trained run: it has no checkpoints/step-* folder. Give the folder a `gan run` "
            "wrote (its --output), or a checkpoint folder with --checkpoint."
        )
    yield from checkpoint.valid_checkpoints(run_dir, skipped)


_writer_hook_installed = False


def _quiet_writer_threads() -> None:
    """A TensorBoard writer thread that cannot write (a full disk) dies with a traceback on stderr, and
    TensorBoard raises its error again in the main thread at the next write, where the run stops with one
    message. Keep the thread's traceback off the screen (other threads' errors are printed as before)."""
    global _writer_hook_installed
    if _writer_hook_installed:
        return
    import threading

    previous = threading.excepthook

    def hook(args):
        if isinstance(args.exc_value, OSError) and type(args.thread).__name__ == "_AsyncWriterThread":
            return
        previous(args)

    threading.excepthook = hook
    _writer_hook_installed = True


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


def _plugin_versions(host: PluginHost) -> dict[str, str]:
    return {name: f"{info.distribution} {info.version}" for name, info in host.info.items()}
