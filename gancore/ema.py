"""Exponential moving average of networks' weights, swapped in for sampling.

The EMA follows whatever networks the algorithm names *now* (``ema_modules()``,
asked again at every update and swap), so a network that grows in place, is
rebuilt, or is replaced by a selected child keeps a meaningful average:

* a new parameter or buffer starts from its live value;
* one whose shape changed restarts from its live value;
* one that is gone is dropped;
* a network that is gone is dropped; a new one starts from its live weights.

Spectral norm stores its power-iteration vectors u and v as buffers, and in eval
mode divides the weight by u·Wv read from them. Averaged, those vectors are neither
unit length nor the singular vectors of the averaged weight, so the swapped-in
network would be scaled wrongly (on one BigGAN checkpoint the live generator drew
the requested digit 98% of the time and its EMA, swapped in so, 49%). ``swapped``
therefore runs power iterations on each averaged weight, starting from the
averaged vectors, before it yields; the shadows themselves are left as they are,
so a resumed run swaps in the same weights.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm
from torch.nn.utils.spectral_norm import SpectralNorm as HookSpectralNorm

# Power iterations run on each averaged spectral-norm weight when the EMA is swapped in; they start
# from the averaged u and v, which are close, and cost two matrix-vector products each per layer.
SPECTRAL_NORM_ITERATIONS = 10

Modules = Callable[[], dict[str, nn.Module]]


class EMA:
    """Shadow copies of the parameters and buffers of the modules ``modules()`` returns.

    ``update`` moves each shadow towards the live weights; ``swapped`` puts the
    shadows into the live modules for the duration of a ``with`` block.
    """

    def __init__(self, modules: Modules | dict[str, nn.Module], decay: float, start: int = 0) -> None:
        self.modules: Modules = modules if callable(modules) else (lambda fixed=modules: fixed)
        self.decay, self.start = decay, start
        self.shadow: dict[str, dict[str, torch.Tensor]] = {name: _snapshot(m) for name, m in self.modules().items()}

    def follow(self) -> dict[str, nn.Module]:
        """Match the shadows to the live modules (see the module docstring); return the live modules."""
        live = self.modules()
        for name in set(self.shadow) - set(live):
            del self.shadow[name]
        for name, module in live.items():
            shadow = self.shadow.setdefault(name, {})
            state = module.state_dict()
            for key in set(shadow) - set(state):
                del shadow[key]
            for key, value in state.items():
                old = shadow.get(key)
                if old is None or old.shape != value.shape or old.dtype != value.dtype or old.device != value.device:
                    shadow[key] = value.detach().clone()
        return live

    @torch.no_grad()
    def update(self, step: int) -> None:
        live = self.follow()
        if step <= self.start:
            self.shadow = {name: _snapshot(m) for name, m in live.items()}
            return
        # Warm-up (as TensorFlow's EMA with num_updates): early on the average follows the
        # live weights closely, so short runs do not sample from near-initial weights.
        t = step - self.start
        decay = min(self.decay, (1 + t) / (10 + t))
        for name, module in live.items():
            shadow = self.shadow[name]
            state = module.state_dict()
            floats = [k for k, v in state.items() if v.is_floating_point()]
            torch._foreach_lerp_([shadow[k] for k in floats], [state[k].detach() for k in floats], 1.0 - decay)
            for k, v in state.items():
                if not v.is_floating_point():  # counters such as BatchNorm's num_batches_tracked
                    shadow[k].copy_(v)

    @contextmanager
    def swapped(self):
        live = self.follow()
        saved = {name: _snapshot(m) for name, m in live.items()}
        try:
            for name, module in live.items():
                module.load_state_dict(self.shadow[name])
                refresh_spectral_norms(module)
            yield
        finally:
            for name, module in live.items():
                module.load_state_dict(saved[name])

    def state_dict(self) -> dict:
        return {"shadow": self.shadow}

    def load_state_dict(self, state: dict) -> None:
        """Replace the shadows with the saved ones (the networks may have grown since the start)."""
        self.shadow = {name: {k: v.detach().clone() for k, v in tensors.items()} for name, tensors in state["shadow"].items()}
        live = self.modules()
        for name, module in live.items():
            for key, value in module.state_dict().items():
                saved = self.shadow.get(name, {}).get(key)
                if saved is not None:
                    self.shadow[name][key] = saved.to(device=value.device, dtype=value.dtype)


@torch.no_grad()
def refresh_spectral_norms(module: nn.Module, iterations: int = SPECTRAL_NORM_ITERATIONS) -> None:
    """Bring every spectral norm's u and v in ``module`` to the singular vectors of its current weight
    (``torch.nn.utils.parametrizations.spectral_norm`` and the older hook form alike)."""
    for m in module.modules():
        if parametrize.is_parametrized(m):
            for weights in m.parametrizations.values():
                if not hasattr(weights, "original"):  # a right_inverse that returned several tensors
                    continue
                weight = weights.original
                for p in weights:  # each parametrization sees the output of the ones before it
                    if isinstance(p, _SpectralNorm) and weight.ndim > 1:  # 1-D: torch divides by the norm, no u, v
                        p._power_method(p._reshape_weight_to_matrix(weight), iterations)
                    weight = p(weight)
        for hook in m._forward_pre_hooks.values():
            if isinstance(hook, HookSpectralNorm):  # its pre-hook reads u and v at the next forward
                u, v = getattr(m, hook.name + "_u"), getattr(m, hook.name + "_v")
                matrix = hook.reshape_weight_to_matrix(getattr(m, hook.name + "_orig"))
                for _ in range(iterations):
                    v.copy_(nn.functional.normalize(torch.mv(matrix.t(), u), dim=0, eps=hook.eps))
                    u.copy_(nn.functional.normalize(torch.mv(matrix, v), dim=0, eps=hook.eps))


def _snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
