"""MLP generator and discriminator, for 1-D and 2-D points (and flattened images)."""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from ..registry import StrictModel
from .layers import Activation, MinibatchStdDev, activation, maybe_spectral_norm


class MLPGeneratorConfig(StrictModel):
    hidden_dim: int = Field(256, ge=1, description="width of each hidden layer")
    num_layers: int = Field(3, ge=1, description="number of hidden layers")
    activation: Activation = Field("relu", description="hidden activation")
    batch_norm: bool = Field(False, description="batch norm after each hidden linear layer")
    output: Literal["auto", "linear", "tanh"] = Field("auto", description="output layer: auto is tanh for images, linear for points")


class MLPGenerator(nn.Module):
    def __init__(self, config: MLPGeneratorConfig, data_shape: tuple[int, ...], latent_dim: int, is_image: bool = False):
        super().__init__()
        self.data_shape = tuple(data_shape)
        layers: list[nn.Module] = []
        width = latent_dim
        for _ in range(config.num_layers):
            layers.append(nn.Linear(width, config.hidden_dim))
            if config.batch_norm:
                layers.append(nn.BatchNorm1d(config.hidden_dim))
            layers.append(activation(config.activation))
            width = config.hidden_dim
        layers.append(nn.Linear(width, math.prod(self.data_shape)))
        if config.output == "tanh" or (config.output == "auto" and is_image):
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.data_shape)


class MLPDiscriminatorConfig(StrictModel):
    hidden_dim: int = Field(256, ge=1, description="width of each hidden layer")
    num_layers: int = Field(3, ge=1, description="number of hidden layers")
    activation: Activation = Field("leaky_relu", description="hidden activation (leaky_relu uses slope 0.2)")
    norm: Literal["none", "layer"] = Field("none", description="normalisation after each hidden linear layer (no batch norm: it breaks gradient penalties)")
    spectral_norm: bool = Field(False, description="spectral normalisation on every linear layer")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout after each hidden activation")
    minibatch_std: bool = Field(False, description="append the minibatch standard deviation before the output layer")


class MLPDiscriminator(nn.Module):
    def __init__(self, config: MLPDiscriminatorConfig, data_shape: tuple[int, ...], out_features: int = 1):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(data_shape)
        for _ in range(config.num_layers):
            layers.append(maybe_spectral_norm(nn.Linear(width, config.hidden_dim), config.spectral_norm))
            if config.norm == "layer":
                layers.append(nn.LayerNorm(config.hidden_dim))
            layers.append(activation(config.activation))
            if config.dropout:
                layers.append(nn.Dropout(config.dropout))
            width = config.hidden_dim
        if config.minibatch_std:
            layers.append(MinibatchStdDev())
            width += 1
        self.features = nn.Sequential(*layers)
        self.head = maybe_spectral_norm(nn.Linear(width, out_features), config.spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_mlp_generator(config: MLPGeneratorConfig, *, data_shape, latent_dim, is_image=False, **_) -> nn.Module:
    return MLPGenerator(config, data_shape, latent_dim, is_image)


def build_mlp_discriminator(config: MLPDiscriminatorConfig, *, data_shape, out_features=1, **_) -> nn.Module:
    return MLPDiscriminator(config, data_shape, out_features)
