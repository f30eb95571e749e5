"""Learning-rate schedules as plain functions of the trainer step.

A rate computed from the step holds no state, so a resumed run gets exactly the
rates an uninterrupted one would, on any number of processes. Set it at the start
of every ``train_step``::

    factor = linear_decay(step, total=self.ctx.train.steps, decay_start=cfg.decay_start)
    set_lr(self.opt_g, cfg.lr, factor)

Why not a ``torch.optim.lr_scheduler`` passed through ``ctx.prepare``: Accelerate
wraps it so that each ``scheduler.step()`` steps it once per process (it assumes
the scheduler counts samples, not steps), so with N processes it would decay N
times too fast. If you do use a torch scheduler, do not prepare it, call its
``step()`` exactly once per ``train_step``, and keep it as an attribute so that
its state is saved.
"""

from __future__ import annotations

import torch


def linear_decay(step: int, total: int, decay_start: int = 0, final: float = 0.0) -> float:
    """The factor for trainer step ``step`` (1-based): 1.0 up to ``decay_start``, then falling linearly
    to ``final`` at step ``total``: ``decay_start = total // 2`` holds the rate for half the run, then
    decays it to 0 (Zhu et al. 2017); ``decay_start = 0`` decays it from the first step (Gulrajani et al. 2017)."""
    if step <= decay_start or total <= decay_start:
        return 1.0
    progress = min(1.0, (step - decay_start) / (total - decay_start))
    return 1.0 - (1.0 - final) * progress


def set_lr(optimizer: torch.optim.Optimizer, base_lr: float, factor: float) -> None:
    """Every parameter group of ``optimizer`` at ``base_lr * factor``."""
    for group in optimizer.param_groups:
        group["lr"] = base_lr * factor
