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

from ..registry import StrictModel
from .images import doubling_plan, norm2d, square_image
from .layers import Activation, MinibatchStdDev, activation, maybe_spectral_norm


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
        channels, size = square_image(data_shape, "dcgan-generator")
        start, doublings = doubling_plan(size)
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
        channels, size = square_image(data_shape, "dcgan-discriminator")
        start, doublings = doubling_plan(size)
        widths = [min(config.base_channels * 2**i, config.max_channels) for i in range(doublings)]
        layers: list[nn.Module] = []
        c_in = channels
        for i, c_out in enumerate(widths):
            layers.append(maybe_spectral_norm(nn.Conv2d(c_in, c_out, 4, 2, 1), config.spectral_norm))
            if i > 0:
                layers.append(norm2d(config.norm, c_out))
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


def build_dcgan_generator(config: DCGANGeneratorConfig, *, data_shape, latent_dim, **_) -> nn.Module:
    return DCGANGenerator(config, data_shape, latent_dim)


def build_dcgan_discriminator(config: DCGANDiscriminatorConfig, *, data_shape, out_features=1, **_) -> nn.Module:
    return DCGANDiscriminator(config, data_shape, out_features)
