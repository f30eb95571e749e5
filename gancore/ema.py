"""Exponential moving average of networks' weights, swapped in for sampling."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


class EMA:
    """Shadow copies of the parameters and buffers of some modules.

    ``update`` moves each shadow towards the live weights; ``swapped`` puts the
    shadows into the modules for the duration of a ``with`` block.
    """

    def __init__(self, modules: dict[str, nn.Module], decay: float, start: int = 0) -> None:
        self.modules, self.decay, self.start = modules, decay, start
        self.shadow = {name: self._snapshot(module) for name, module in modules.items()}

    @staticmethod
    def _snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in module.state_dict().items()}

    @torch.no_grad()
    def update(self, step: int) -> None:
        if step <= self.start:
            self.shadow = {name: self._snapshot(m) for name, m in self.modules.items()}
            return
        # Warm-up (as TensorFlow's EMA with num_updates): early on the average follows the
        # live weights closely, so short runs do not sample from near-initial weights.
        t = step - self.start
        decay = min(self.decay, (1 + t) / (10 + t))
        for name, module in self.modules.items():
            shadow = self.shadow[name]
            live = module.state_dict()
            floats = [k for k, v in live.items() if v.is_floating_point()]
            torch._foreach_lerp_([shadow[k] for k in floats], [live[k].detach() for k in floats], 1.0 - decay)
            for k, v in live.items():
                if not v.is_floating_point():  # counters such as BatchNorm's num_batches_tracked
                    shadow[k].copy_(v)

    @contextmanager
    def swapped(self):
        saved = {name: self._snapshot(m) for name, m in self.modules.items()}
        try:
            for name, module in self.modules.items():
                module.load_state_dict(self.shadow[name])
            yield
        finally:
            for name, module in self.modules.items():
                module.load_state_dict(saved[name])

    def state_dict(self) -> dict:
        return {"shadow": self.shadow}

    def load_state_dict(self, state: dict) -> None:
        for name, tensors in state["shadow"].items():
            for key, value in tensors.items():
                self.shadow[name][key].copy_(value)
