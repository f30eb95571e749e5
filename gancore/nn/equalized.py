"""Equalized learning rate and pixel-wise feature normalisation (the layers of Karras et al. 2018).

Equalized learning rate (Karras et al. 2018, section 4.1): weights are stored
as N(0, 1) and multiplied at run time by He's constant ``gain / sqrt(fan_in)``.
With Adam, whose steps do not depend on the gradient's scale, every weight then
learns at the same relative speed, whatever its layer's fan-in.

The minibatch-stddev layer is ``gancore.nn.MinibatchStdDev``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


def he_constant(fan_in: int, gain: float = SQRT2) -> float:
    """He's initialisation std for a layer with ``fan_in`` inputs: ``gain / sqrt(fan_in)``."""
    return gain / math.sqrt(fan_in)


class EqualizedLinear(nn.Module):
    """A linear layer with weights N(0, 1) scaled at run time by He's constant; biases start at 0."""

    def __init__(self, in_features: int, out_features: int, gain: float = SQRT2) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = he_constant(in_features, gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualizedConv2d(nn.Module):
    """A stride-1 convolution with 'same' padding, weights N(0, 1) scaled at run time by He's constant."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, gain: float = SQRT2) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = he_constant(in_channels * kernel_size * kernel_size, gain)
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class PixelNorm(nn.Module):
    """Pixel-wise feature normalisation: each pixel's feature vector divided by its root mean square
    (Karras et al. 2018, section 4.2), so signal magnitudes in the generator cannot escalate."""

    def __init__(self, epsilon: float = 1e-8) -> None:
        super().__init__()
        self.epsilon = epsilon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.epsilon)
