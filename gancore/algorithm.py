"""``GANAlgorithm``: the contract a GAN family implements.

The trainer owns the loop, devices, seeding, data order, logging, sampling
grids, evaluation, EMA and checkpoints. The algorithm owns its networks and
optimizers and decides what one step does. A family implements::

    class MyGAN(GANAlgorithm):
        def __init__(self, config, ctx):            # build nets + optimizers through ctx
        def train_step(self, batch, step) -> dict:  # one step; returns scalars to log
        def sample(self, n, *, seed=None):          # n samples in data space
        # state_dict / load_state_dict: the default saves every module, optimizer
        # and scheduler attribute; override to add more (a pool, a stage counter).

How the families in DESIGN.md fit this without changes to the core:

* **n critic steps per generator step (WGAN)**: ``train_step`` runs its
  critic updates, drawing one more real batch per extra critic step with
  ``ctx.next_batch()``, then one generator update. One trainer step is one
  generator step; the batches come from the same resumable stream.
* **two domains, four networks (CycleGAN)**: the dataset yields batches with
  ``"a"`` and ``"b"`` tensors; the algorithm holds two generators, two
  discriminators, their optimizers and image pools, and updates them all in
  one ``train_step``. ``sample`` translates a fixed batch; ``ema_modules``
  names both generators.
* **a network that grows (Progressive GAN)**: ``train_step`` checks the
  stage for ``step``, and on a stage change rebuilds or extends its networks
  and optimizers (through ``ctx.prepare``) and resizes the batch it was given.
  ``state_dict`` records the stage, and ``load_state_dict`` rebuilds to that
  stage before loading weights, so resume works mid-run.
* **a population of generators (E-GAN)**: the algorithm keeps several
  generator copies, mutates them with different losses inside ``train_step``,
  scores fitness and keeps the best; the surviving parents are saved by
  ``state_dict`` and ``sample`` uses the best one.
* **a discriminator that is also a classifier (SGAN, Improved-GAN)**: the
  dataset yields labelled and unlabelled tensors in one batch (``"x"``,
  ``"y"``, ``"x_unlabeled"``); the discriminator has K+1 outputs, and the
  algorithm exposes it so metrics such as ``classifier-accuracy`` can call it.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import torch
from pydantic import BaseModel
from torch import nn

from .data import TensorData
from .registry import LossRef, ModelRef, Registry


@dataclass
class TrainContext:
    """What an algorithm gets from the trainer.

    :param accelerator: the ``accelerate.Accelerator``; use ``ctx.prepare`` and
        ``ctx.update`` (or ``ctx.backward``) so mixed precision and multi-process
        runs work. ``ctx.frozen(d)`` gives D without parameter gradients for a
        generator step, ``ctx.evaluating(g)`` the generator in eval mode for ``sample``.
    :param registry: every registered entry (build networks by name).
    :param data: the training data (on the device); ``data.sample_shape``,
        ``data.kind`` and ``data.info`` describe it.
    :param next_batch: draws one more batch from the trainer's resumable stream.
    :param train: the run's ``TrainConfig`` (batch size, steps, seed...).
    """

    accelerator: Any
    registry: Registry
    data: TensorData
    next_batch: Callable[[], dict[str, torch.Tensor]]
    train: Any

    @property
    def device(self) -> torch.device:
        return self.accelerator.device

    def build_model(self, ref: ModelRef, path: str = "", **shapes: Any) -> nn.Module:
        """Build a registered network, e.g. ``ctx.build_model(cfg.generator, data_shape=..., latent_dim=64)``."""
        return self.registry.build(ref, path, **shapes)

    def build_loss(self, ref: LossRef, path: str = "") -> Any:
        return self.registry.build(ref, path)

    def prepare(self, *objects: Any) -> Any:
        """Networks and optimizers for the device, mixed precision, several processes and
        (``train.channels_last``, ``train.compile``) the memory format and compilation."""
        if self.train.channels_last:
            for obj in objects:
                if isinstance(obj, nn.Module):
                    obj.to(memory_format=torch.channels_last)  # in place: optimizers keep their parameters
        return self.accelerator.prepare(*objects)

    def backward(self, loss: torch.Tensor) -> None:
        self.accelerator.backward(loss)

    def update(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One optimizer update: clear its gradients, backpropagate ``loss`` (through Accelerate), step."""
        optimizer.zero_grad(set_to_none=True)
        self.accelerator.backward(loss)
        optimizer.step()

    @contextmanager
    def frozen(self, module: nn.Module):
        """The plain ``module`` with no parameter gradients inside the block: a generator
        step needs gradients through the discriminator, not of it."""
        plain = self.unwrap(module)
        flags = [p.requires_grad for p in plain.parameters()]
        for p in plain.parameters():
            p.requires_grad_(False)
        try:
            yield plain
        finally:
            for p, flag in zip(plain.parameters(), flags):
                p.requires_grad_(flag)

    @contextmanager
    def evaluating(self, module: nn.Module):
        """The plain ``module`` in eval mode inside the block (batch norm uses its running
        statistics), then back in the mode it was in: for ``sample``."""
        plain = self.unwrap(module)
        was_training = plain.training
        plain.eval()
        try:
            yield plain
        finally:
            plain.train(was_training)

    def unwrap(self, module: nn.Module) -> nn.Module:
        """The plain module behind a prepared one: no DDP wrapper and no torch.compile wrapper
        (its state_dict has the same keys with and without ``train.compile``)."""
        return self.accelerator.unwrap_model(module, keep_torch_compile=False)


class GANAlgorithm:
    """Base class for a GAN family. See the module docstring for the contract."""

    def __init__(self, config: BaseModel, ctx: TrainContext) -> None:
        self.config = config
        self.ctx = ctx

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor | float]:
        """Run one step on ``batch`` (a dict of tensors on the device); return scalars to log."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, *, seed: int | None = None) -> torch.Tensor:
        """Return ``n`` generated samples in data space. With ``seed``, the same samples every call."""
        raise NotImplementedError

    def ema_modules(self) -> dict[str, nn.Module]:
        """Networks the trainer keeps an EMA of (when ``train.ema_decay`` is set) and swaps in to sample."""
        generator = getattr(self, "generator", None)
        return {"generator": self.ctx.unwrap(generator)} if isinstance(generator, nn.Module) else {}

    def stateful(self) -> dict[str, Any]:
        """Attributes saved by the default ``state_dict``: modules, optimizers, schedulers."""
        return {
            name: value
            for name, value in vars(self).items()
            if name != "ctx" and hasattr(value, "state_dict") and hasattr(value, "load_state_dict")
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume bit for bit: tensors, numbers, strings, lists and dicts only."""
        return {name: self._unwrap(value).state_dict() for name, value in self.stateful().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, value in self.stateful().items():
            self._unwrap(value).load_state_dict(state[name])

    def _unwrap(self, value: Any) -> Any:
        return self.ctx.unwrap(value) if isinstance(value, nn.Module) else value

    def noise(self, n: int, dim: int, seed: int | None = None) -> torch.Tensor:
        """Standard normal latents on the device; seeded ones do not touch the global RNG."""
        if seed is None:
            return torch.randn(n, dim, device=self.ctx.device)
        return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)).to(self.ctx.device)
