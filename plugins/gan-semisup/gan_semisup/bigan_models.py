"""BiGAN's encoder and its discriminator on (x, z) pairs (Donahue et al. 2016, the MNIST layout that
seed 001, axeloh/gan-pytorch, follows): fully connected, 1024 units, batch norm without affine
parameters on the second hidden layer of the encoder and the generator. The generator is gancore's
``mlp-generator`` or this plugin's ``bigan-generator`` (the same layout as the encoder, mirrored)."""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import nn

from gancore import StrictModel


class BiGANDiscriminatorConfig(StrictModel):
    hidden_dim: int = Field(1024, ge=1, description="width of both hidden layers (BiGAN's MNIST model: 1024)")


class BiGANNetworkConfig(BiGANDiscriminatorConfig):
    batch_norm: bool = Field(True, description="batch norm (no affine parameters) after the second hidden linear layer")


def _hidden(width_in: int, config: BiGANDiscriminatorConfig, activation, norm_second: bool) -> list[nn.Module]:
    h = config.hidden_dim
    layers: list[nn.Module] = [nn.Linear(width_in, h), activation(), nn.Linear(h, h)]
    if norm_second and getattr(config, "batch_norm", False):
        layers.append(nn.BatchNorm1d(h, affine=False))
    layers.append(activation())
    return layers


def _leaky() -> nn.Module:
    return nn.LeakyReLU(0.2)


class BiGANEncoder(nn.Module):
    """x -> 1024 (LeakyReLU) -> 1024 (batch norm, LeakyReLU) -> z. ``features(x)`` is the second hidden layer."""

    def __init__(self, config: BiGANNetworkConfig, data_shape: tuple[int, ...], latent_dim: int) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), *_hidden(math.prod(data_shape), config, _leaky, True))
        self.head = nn.Linear(config.hidden_dim, latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class BiGANGenerator(nn.Module):
    """z -> 1024 (ReLU) -> 1024 (batch norm, ReLU) -> x in [-1, 1] (tanh)."""

    def __init__(self, config: BiGANNetworkConfig, data_shape: tuple[int, ...], latent_dim: int) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.net = nn.Sequential(*_hidden(latent_dim, config, nn.ReLU, True), nn.Linear(config.hidden_dim, math.prod(data_shape)), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.data_shape)


class BiGANDiscriminator(nn.Module):
    """(x, z) -> [x, z] -> 1024 (LeakyReLU) -> 1024 (LeakyReLU) -> one logit: real pair (x, E(x)) or fake (G(z), z).
    No batch norm: a batch of real pairs and a batch of fake pairs must not be normalised apart."""

    def __init__(self, config: BiGANDiscriminatorConfig, data_shape: tuple[int, ...], latent_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(*_hidden(math.prod(data_shape) + latent_dim, config, _leaky, False), nn.Linear(config.hidden_dim, 1))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x.flatten(1), z], dim=1))


def build_encoder(config: BiGANNetworkConfig, *, data_shape, latent_dim, **_) -> nn.Module:
    return BiGANEncoder(config, tuple(data_shape), latent_dim)


def build_generator(config: BiGANNetworkConfig, *, data_shape, latent_dim, **_) -> nn.Module:
    return BiGANGenerator(config, tuple(data_shape), latent_dim)


def build_discriminator(config: BiGANDiscriminatorConfig, *, data_shape, latent_dim, **_) -> nn.Module:
    return BiGANDiscriminator(config, tuple(data_shape), latent_dim)
