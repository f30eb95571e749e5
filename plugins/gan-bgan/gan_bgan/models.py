"""DCGAN-style networks with the options the BGAN reference implementations use.

``bgan-generator`` maps a latent to *logits*, not to an image: one channel per
binary image channel (a Bernoulli logit per pixel) or one channel per palette
colour (softmax logits per pixel). It has no output activation, so the logits
are unbounded. ``bgan-discriminator`` judges images of any number of channels
(±1 bits, palette colours, or one-hot colours).

Both take the activation (ELU, ReLU or LeakyReLU), the normalisation, and
whether it comes before or after the activation. The reference README finds
conv → activation → batch norm ("after") works much better for BGAN than the
usual conv → batch norm → activation, so "after" is the default.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from gancore import StrictModel
from gancore.nn import activation, doubling_plan, maybe_spectral_norm, norm2d, square_image
from gancore.nn.layers import Activation

NormPosition = Literal["after", "before"]


def _act_norm(act: str, norm: str, channels: int, position: NormPosition) -> list[nn.Module]:
    pair = [activation(act), norm2d(norm, channels)]
    return pair if position == "after" else pair[::-1]


# ---------------------------------------------------------------- generator


class BGANGeneratorConfig(StrictModel):
    base_channels: int = Field(64, ge=1, description="channels of the last hidden layer; they double toward the latent projection")
    max_channels: int = Field(512, ge=1, description="cap on the channels of any layer")
    activation: Activation = Field("elu", description="hidden activation: elu (the reference README's advice), relu or leaky_relu (slope 0.2)")
    norm: Literal["batch", "none"] = Field("batch", description="normalisation of every hidden layer")
    norm_position: NormPosition = Field("after", description="batch norm after the activation (conv-act-bn, the reference's advice) or before it (DCGAN's conv-bn-act)")
    spectral_norm: bool = Field(False, description="spectral normalisation on every layer (the reference applies it to both networks)")


class BGANGenerator(nn.Module):
    """latent → Linear → s0×s0 map → stride-2 transposed convs → 3×3 conv to logits (no squashing)."""

    def __init__(self, config: BGANGeneratorConfig, data_shape, latent_dim: int) -> None:
        super().__init__()
        out_channels, size = square_image(data_shape, "bgan-generator")
        self.start, doublings = doubling_plan(size)
        widths = [min(config.base_channels * 2 ** (doublings - i), config.max_channels) for i in range(doublings + 1)]
        self.first_width = widths[0]
        sn = config.spectral_norm
        self.project = maybe_spectral_norm(nn.Linear(latent_dim, widths[0] * self.start**2), sn)
        layers: list[nn.Module] = _act_norm(config.activation, config.norm, widths[0], config.norm_position)
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers.append(maybe_spectral_norm(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), sn))
            layers += _act_norm(config.activation, config.norm, c_out, config.norm_position)
        layers.append(maybe_spectral_norm(nn.Conv2d(widths[-1], out_channels, 3, 1, 1), sn))
        self.blocks = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.project(z).view(z.shape[0], self.first_width, self.start, self.start))


# ------------------------------------------------------------ discriminator


class BGANDiscriminatorConfig(StrictModel):
    base_channels: int = Field(64, ge=1, description="channels of the first convolution; they double with every halving")
    max_channels: int = Field(512, ge=1, description="cap on the channels of any layer")
    activation: Activation = Field("leaky_relu", description="hidden activation: leaky_relu (slope 0.2), relu or elu")
    norm: Literal["none", "batch", "layer"] = Field(
        "none", description="normalisation after every conv but the first; none (the reference) keeps every sample's score independent of the batch"
    )
    norm_position: NormPosition = Field("after", description="normalisation after the activation or before it")
    spectral_norm: bool = Field(False, description="spectral normalisation on every layer (the reference README finds it helps)")


class BGANDiscriminator(nn.Module):
    """Stride-2 4×4 convs down to the s0×s0 map, then one linear output (a logit)."""

    def __init__(self, config: BGANDiscriminatorConfig, data_shape, out_features: int = 1) -> None:
        super().__init__()
        channels, size = square_image(data_shape, "bgan-discriminator")
        start, doublings = doubling_plan(size)
        widths = [min(config.base_channels * 2**i, config.max_channels) for i in range(doublings)]
        sn = config.spectral_norm
        layers: list[nn.Module] = []
        c_in = channels
        for i, c_out in enumerate(widths):
            layers.append(maybe_spectral_norm(nn.Conv2d(c_in, c_out, 4, 2, 1), sn))
            layers += [activation(config.activation)] if i == 0 else _act_norm(config.activation, config.norm, c_out, config.norm_position)
            c_in = c_out
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        self.head = maybe_spectral_norm(nn.Linear(c_in * start * start, out_features), sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_generator(config: BGANGeneratorConfig, *, data_shape, latent_dim, **_) -> nn.Module:
    return BGANGenerator(config, data_shape, latent_dim)


def build_discriminator(config: BGANDiscriminatorConfig, *, data_shape, out_features=1, **_) -> nn.Module:
    return BGANDiscriminator(config, data_shape, out_features)
