"""Layers shared by families."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Activation = Literal["relu", "leaky_relu", "elu", "tanh", "silu"]


def activation(name: Activation, slope: float = 0.2) -> nn.Module:
    if name == "leaky_relu":
        return nn.LeakyReLU(slope)
    return {"relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh, "silu": nn.SiLU}[name]()


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module


class MinibatchStdDev(nn.Module):
    """Appends the mean, over features, of the per-feature std across groups of samples
    (Karras et al. 2018), so the discriminator can see how varied a batch is."""

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        group = min(self.group_size, n)
        while n % group:
            group -= 1
        grouped = x.reshape(group, n // group, *x.shape[1:])
        std = (grouped.var(dim=0, unbiased=False) + 1e-8).sqrt()
        stat = std.reshape(n // group, -1).mean(dim=1)
        stat = stat.repeat(group).reshape(n, 1, *([1] * (x.dim() - 2)))
        if x.dim() > 2:
            stat = stat.expand(n, 1, *x.shape[2:])
        return torch.cat([x, stat.to(x.dtype)], dim=1)
