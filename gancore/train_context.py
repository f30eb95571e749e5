"""``TrainContext``: what a run hands an algorithm, and the helpers its steps call.

It is the run's side of the contract (devices, Accelerate, building entries by name, one optimizer
update, freezing, snapshots), while ``gancore.algorithm`` is the family's side (``GANAlgorithm``:
what a family implements, and the state it declares).
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from . import accelerate_adapter
from .data import TensorData
from .registry import LossRef, ModelRef, Registry

# torch's optimizers with a fused implementation (``fused=True``), for ``train.fused_optimizers``.
FUSABLE = (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD)


@dataclass
class TrainContext:
    """What an algorithm gets from its run.

    :param accelerator: the ``accelerate.Accelerator``; use ``ctx.prepare`` and
        ``ctx.update`` (or ``ctx.backward``) so mixed precision and multi-process
        runs work. ``ctx.frozen(d)`` gives D without parameter gradients for a
        generator step, ``ctx.evaluating(g)`` the generator in eval mode for ``sample``.
    :param registry: every registered entry (build networks by name).
    :param data: the training data (on the device); ``data.sample_shape``,
        ``data.kind``, ``data.info`` and ``data.streams`` describe it.
    :param next_batch: ``next_batch(size=None, stream=None)``: this process's share of
        the next batch of a stream (see ``gancore.algorithm``'s module docstring).
    :param train: the run's ``TrainConfig`` (batch size, steps, seed...).
    """

    accelerator: Any
    registry: Registry
    data: TensorData
    next_batch: Callable[..., dict[str, torch.Tensor]]
    train: Any
    _plain: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary, repr=False)

    @property
    def device(self) -> torch.device:
        return self.accelerator.device

    # ----------------------------------------------------------------- building

    def build_model(self, ref: ModelRef, path: str = "", **shapes: Any) -> nn.Module:
        """Build a registered network, e.g. ``ctx.build_model(cfg.generator, data_shape=..., latent_dim=64)``."""
        return self.registry.build(ref, path, **shapes)

    def build_loss(self, ref: LossRef, path: str = "") -> Any:
        return self.registry.build(ref, path)

    def build_generator(self, ref: ModelRef, latent_dim: int, path: str = "algorithm.generator", **shapes: Any) -> nn.Module:
        """A generator from latents of ``latent_dim`` to samples shaped like the data."""
        shapes = {"data_shape": self.data.sample_shape, "is_image": self.data.kind == "image", **shapes}
        return self.build_model(ref, path, latent_dim=latent_dim, **shapes)

    def build_discriminator(self, ref: ModelRef, path: str = "algorithm.discriminator", **shapes: Any) -> nn.Module:
        """A discriminator (or critic) from samples shaped like the data (or ``data_shape``) to one score."""
        shapes = {"data_shape": self.data.sample_shape, "out_features": 1, **shapes}
        return self.build_model(ref, path, **shapes)

    def prepare(self, *objects: Any) -> Any:
        """Networks and optimizers for the device, mixed precision, several processes and
        (``train.channels_last``, ``train.compile``, ``train.fused_optimizers``) the memory format,
        compilation and fused optimizer updates."""
        for obj in objects:
            if self.train.channels_last and isinstance(obj, nn.Module):
                obj.to(memory_format=torch.channels_last)  # in place: optimizers keep their parameters
            if self.train.fused_optimizers and isinstance(obj, FUSABLE):
                # The optimizers read these at every step; their state is made at the first one, after this.
                obj.defaults.update(fused=True, foreach=False)
                for group in obj.param_groups:
                    group.update(fused=True, foreach=False)
        return self.accelerator.prepare(*objects)

    def release(self, *objects: Any) -> None:
        """Let Accelerate forget prepared modules or optimizers that were replaced (a rebuilt network),
        so they are freed and no longer saved or synchronised."""
        accelerate_adapter.release(self.accelerator, objects)

    # ----------------------------------------------------------------- updating

    def backward(self, loss: torch.Tensor) -> None:
        self.accelerator.backward(loss)

    def update(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One optimizer update: clear its gradients, backpropagate ``loss`` (through Accelerate), step."""
        plain = accelerate_adapter.bare_optimizer(self.accelerator, optimizer)
        if plain is not None:  # what Accelerate would do, without its per-call costs
            plain.zero_grad(set_to_none=True)
            loss.backward()
            plain.step()
            return
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
        # Remembered: Accelerate checks which packages are installed on every call (~0.2 ms), and
        # families unwrap several times a step. A wrapper always wraps the same module.
        plain = self._plain.get(module)
        if plain is None:
            plain = self._plain[module] = self.accelerator.unwrap_model(module, keep_torch_compile=False)
        return plain

    def eager(self, module: nn.Module) -> nn.Module:
        """``module`` for a pass that will be differentiated twice (a gradient penalty): with ``train.compile``
        the plain module outside torch.compile, which cannot differentiate a gradient; otherwise ``module``
        itself (with its DDP wrapper, which synchronises the gradient)."""
        return self.unwrap(module) if self.train.compile else module

    # ------------------------------------------------------ trying and undoing

    def snapshot(self, obj: nn.Module | torch.optim.Optimizer) -> dict[str, Any]:
        """A copy of the plain state of a (prepared) module or optimizer, to ``restore`` later:
        try a change (a mutated child) and roll it back without deep-copying prepared modules."""
        if isinstance(obj, nn.Module):
            return {k: v.detach().clone() for k, v in self.unwrap(obj).state_dict().items()}
        return copy.deepcopy(obj.state_dict())

    def restore(self, obj: nn.Module | torch.optim.Optimizer, snap: dict[str, Any]) -> None:
        """Load a ``snapshot`` back into the same module or optimizer (the snapshot stays usable)."""
        if isinstance(obj, nn.Module):
            self.unwrap(obj).load_state_dict(snap)
        else:
            # The optimizer may keep the loaded tensors and update them in place: give it copies.
            obj.load_state_dict(copy.deepcopy(snap))
