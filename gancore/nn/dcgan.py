"""DCGAN generator and discriminator (Radford et al. 2016) for square images.

An image of side ``s0 * 2**n`` (``s0`` at most 7) is reached from an ``s0 x s0``
map by ``n`` stride-2 transposed convolutions, and reduced back by ``n`` stride-2
convolutions: 8 -> 4, 28 -> 7, 32 -> 4, 64 -> 4.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from ..errors import UserError
from ..registry import StrictModel
from .layers import Activation, MinibatchStdDev, activation, maybe_spectral_norm


def plan(size: int) -> tuple[int, int]:
    """Start size and number of doublings for an image of side ``size``."""
    start, doublings = size, 0
    while start > 7 and start % 2 == 0:
        start //= 2
        doublings += 1
    if start > 7 or doublings == 0:
        raise UserError(
            f"DCGAN networks need a square image whose side is s*2^n with s <= 7 and n >= 1 (8, 12, 16, 28, 32, 64...), "
            f"not {size}; resize the data (e.g. the dataset's image_size option)"
        )
    return start, doublings


def _image_shape(data_shape) -> tuple[int, int]:
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise UserError(f"DCGAN networks need square images of shape (C, H, H), got samples of shape {tuple(data_shape)}; use an MLP for points")
    return data_shape[0], data_shape[1]


def _channels(base: int, doublings: int, cap: int) -> list[int]:
    # widest next to the s0 x s0 map, halving toward the image.
    return [min(base * 2 ** (doublings - i), cap) for i in range(doublings + 1)]


class DCGANGeneratorConfig(StrictModel):
    base_channels: int = Field(64, ge=1, description="channels of the last hidden layer; they double toward the latent projection")
    max_channels: int = Field(512, ge=1, description="cap on the channels of any layer")
    batch_norm: bool = Field(True, description="batch norm after every hidden layer")
    activation: Activation = Field("relu", description="hidden activation")


class DCGANGenerator(nn.Module):
    def __init__(self, config: DCGANGeneratorConfig, data_shape, latent_dim: int):
        super().__init__()
        channels, size = _image_shape(data_shape)
        start, doublings = plan(size)
        widths = _channels(config.base_channels, doublings, config.max_channels)
        self.start, self.first_width = start, widths[0]
        norm = (lambda c: nn.BatchNorm2d(c)) if config.batch_norm else (lambda c: nn.Identity())
        self.project = nn.Sequential(nn.Linear(latent_dim, widths[0] * start * start, bias=not config.batch_norm))
        self.project_norm = nn.Sequential(norm(widths[0]), activation(config.activation))
        blocks: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            blocks += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=not config.batch_norm), norm(c_out), activation(config.activation)]
        blocks += [nn.Conv2d(widths[-1], channels, 3, 1, 1), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.first_width, self.start, self.start)
        return self.blocks(self.project_norm(x))


class DCGANDiscriminatorConfig(StrictModel):
    base_channels: int = Field(64, ge=1, description="channels of the first convolution; they double with every halving")
    max_channels: int = Field(512, ge=1, description="cap on the channels of any layer")
    norm: Literal["batch", "instance", "layer", "none"] = Field("batch", description="normalisation after every conv but the first (use layer/none with a gradient penalty)")
    spectral_norm: bool = Field(False, description="spectral normalisation on every layer")
    minibatch_std: bool = Field(False, description="append a minibatch-stddev feature map before the output layer")
    activation: Activation = Field("leaky_relu", description="hidden activation (leaky_relu uses slope 0.2)")


class DCGANDiscriminator(nn.Module):
    def __init__(self, config: DCGANDiscriminatorConfig, data_shape, out_features: int = 1):
        super().__init__()
        channels, size = _image_shape(data_shape)
        start, doublings = plan(size)
        widths = [min(config.base_channels * 2**i, config.max_channels) for i in range(doublings)]
        layers: list[nn.Module] = []
        c_in = channels
        for i, c_out in enumerate(widths):
            layers.append(maybe_spectral_norm(nn.Conv2d(c_in, c_out, 4, 2, 1), config.spectral_norm))
            if i > 0:
                layers.append(_norm(config.norm, c_out))
            layers.append(activation(config.activation))
            c_in = c_out
        if config.minibatch_std:
            layers.append(MinibatchStdDev())
            c_in += 1
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        self.head = maybe_spectral_norm(nn.Linear(c_in * start * start, out_features), config.spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def build_dcgan_generator(config: DCGANGeneratorConfig, *, data_shape, latent_dim, **_) -> nn.Module:
    return DCGANGenerator(config, data_shape, latent_dim)


def build_dcgan_discriminator(config: DCGANDiscriminatorConfig, *, data_shape, out_features=1, **_) -> nn.Module:
    return DCGANDiscriminator(config, data_shape, out_features)
