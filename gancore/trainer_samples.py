"""Sample grids and evaluation: what a run shows and measures of its generator, with the EMA weights.

``Trainer`` takes these methods from ``TrainerSamples``, so that ``trainer.py`` stays the one loop,
readable top to bottom. Drawing samples never moves the training RNG (``_sampling``), so a run that
samples and evaluates trains exactly as one that does not, and resumes bit for bit.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path

import torch

from . import runlog
from .algorithm import draw_samples, has_capability
from .metrics import EvalContext, evaluate
from .visual import save_grid, save_rows, save_samples

POINT_PLOT_SAMPLES = 2500
EVAL_SEED = 12345


class TrainerSamples:
    """Sampling and evaluation methods of ``Trainer``. They read what the trainer sets up:
    ``config``, ``run_dir``, ``host``, ``accelerator``, ``algorithm``, ``ema``, ``data``,
    ``real_cpu``, ``metrics`` and ``step``, and log through ``Trainer.log``."""

    @contextmanager
    def _sampling(self):
        """EMA weights swapped in, and the training RNG left exactly as it was."""
        with torch.random.fork_rng(devices=[]), (self.ema.swapped() if self.ema else _nothing()):
            yield

    def eval_context(self, seed: int = EVAL_SEED, truncation: float | None = None) -> EvalContext:
        sample = functools.partial(draw_samples, self.algorithm, truncation=truncation)
        return EvalContext(sample, self.data, self.algorithm, self.accelerator, seed, truncation)

    def generate(self, n: int, seed: int, labels: torch.Tensor | None = None, truncation: float | None = None) -> torch.Tensor:
        """``n`` samples from this process alone (pictures, ``gan sample``); of classes ``labels`` in a conditional run."""
        return EvalContext(functools.partial(draw_samples, self.algorithm, truncation=truncation), self.data, seed=seed).generate(n, labels)

    def write_samples(self) -> Path | None:
        """The sample grid of this step, in RUN/samples/ and in every tracker that takes images."""
        path = self._write_grid()
        if path is not None:
            runlog.log_image(self.accelerator, path, self.step)
        return path

    def _write_grid(self) -> Path | None:
        if not self.accelerator.is_main_process:
            return None
        points = self.data.kind == "points"
        path = self.run_dir / "samples" / f"step-{self.step:06d}.png"
        if has_capability(self.algorithm, "preview"):  # the family's own rows (input | translated | ...)
            with self._sampling(), torch.no_grad():
                rows = self.algorithm.preview(self.config.train.sample_count, self.config.train.seed)
            return save_rows(rows, path)
        classes = self.algorithm.conditional_classes
        if classes:  # one row per class
            per_class = max(1, -(-self.config.train.sample_count // classes))
            with self._sampling():
                samples = self.generate(per_class * classes, self.config.train.seed, torch.arange(classes).repeat_interleave(per_class))
            path.parent.mkdir(parents=True, exist_ok=True)
            return save_grid(samples, path, nrow=per_class)
        with self._sampling():
            samples = self.generate(POINT_PLOT_SAMPLES if points else self.config.train.sample_count, seed=self.config.train.seed)
        real = self.real_cpu[:POINT_PLOT_SAMPLES] if points else None
        return save_samples(samples, path, real=real, title=f"step {self.step}")

    def run_eval(self) -> dict[str, float]:
        if not self.metrics:  # eval_every with no eval.metrics: nothing to compute or log
            return {}
        # Every process takes part (metrics combine their shares); the main one logs.
        with self._sampling():
            results = evaluate(self.metrics, self.eval_context())
        self.results = results
        self.log({"step": self.step, **results})
        self.host.eval_end(self, self.step, results)
        return results


@contextmanager
def _nothing():
    yield
