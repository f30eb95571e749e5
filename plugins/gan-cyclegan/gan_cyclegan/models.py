"""The reference CycleGAN networks (Zhu et al. 2017, junyanz/pytorch-CycleGAN-and-pix2pix).

* ``cyclegan-resnet-generator``: reflection padding, a 7x7 stem, ``downsamplings``
  stride-2 convolutions, ``residual_blocks`` residual blocks, as many transposed
  convolutions back up (or, with ``upsampling: resize``, nearest-neighbour doublings
  each followed by a 3x3 convolution), a 7x7 output and tanh (Johnson et al.'s network). The
  reference's ``resnet_9blocks`` is the default; 28-32 px digits train well with
  fewer channels and blocks.
* ``cyclegan-unet-generator``: the pix2pix U-Net, ``downsamplings`` 4x4 stride-2
  steps down to 1x1 (8 for 256 px, the reference's ``unet_256``) with skip connections.
* ``patchgan-discriminator``: ``layers`` 4x4 stride-2 convolutions, then two stride-1
  ones, giving one real/fake score per overlapping patch; 3 layers see 70x70 patches.

Every generator is built as ``factory(config, in_channels=, out_channels=, image_size=)``
and the discriminator as ``factory(config, data_shape=(C, H, W))``. Weights start
as the reference's: N(0, 0.02) for convolutions, N(1, 0.02) for batch-norm scales.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from gancore import StrictModel, UserError
from gancore.nn.images import square_image

Norm = Literal["instance", "batch", "none"]


def norm_layer(kind: Norm, channels: int) -> nn.Module:
    """The reference's norms: instance norm without affine parameters or running statistics
    (so training and eval mode agree), or batch norm."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


def init_weights(module: nn.Module, gain: float) -> nn.Module:
    """The reference's ``init_type: normal``: conv/linear weights N(0, gain), biases 0,
    batch-norm scales N(1, gain)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return module


def _check_divisible(size: int | None, steps: int, what: str) -> None:
    if size is not None and size % 2**steps:
        raise UserError(
            f"{what}: images of side {size} cannot be halved {steps} times and grown back to the same size; "
            f"use a side divisible by {2**steps} (set the data's image_size or the algorithm's crop_size) or fewer downsamplings"
        )


# ------------------------------------------------------------------ ResNet


class ResNetGeneratorConfig(StrictModel):
    channels: int = Field(64, ge=1, description="ngf: channels after the 7x7 stem; doubled at each downsampling (reference: 64)")
    residual_blocks: int = Field(9, ge=0, description="residual blocks at the lowest resolution (reference: 9 for 256 px, 6 for 128 px)")
    downsamplings: int = Field(2, ge=0, description="stride-2 convolutions down (and transposed ones back up); reference: 2")
    norm: Norm = Field("instance", description="normalisation after every convolution but the last (reference CycleGAN: instance)")
    dropout: bool = Field(False, description="dropout 0.5 inside the residual blocks (reference CycleGAN: off)")
    upsampling: Literal["transposed", "resize"] = Field(
        "transposed",
        description="how each step back up doubles the side: transposed, a 3x3 stride-2 transposed convolution (reference); "
        "resize, nearest-neighbour doubling then a 3x3 convolution, which cannot paint the checkerboard of uneven overlaps "
        "(Odena et al. 2016) on flat backgrounds",
    )
    init_gain: float = Field(0.02, gt=0, description="std of the N(0, std) initial weights")


class ResidualBlock(nn.Module):
    """x + (reflect-pad, conv3x3, norm, ReLU, [dropout], reflect-pad, conv3x3, norm)(x)."""

    def __init__(self, channels: int, norm: Norm, dropout: bool, bias: bool) -> None:
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNetGenerator(nn.Module):
    def __init__(self, config: ResNetGeneratorConfig, in_channels: int, out_channels: int) -> None:
        super().__init__()
        # As the reference: biases everywhere except before batch norm, whose shift makes them redundant.
        bias = config.norm != "batch"
        width = config.channels
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, width, 7, bias=bias), norm_layer(config.norm, width), nn.ReLU(True)]
        for i in range(config.downsamplings):
            c = width * 2**i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias), norm_layer(config.norm, 2 * c), nn.ReLU(True)]
        bottom = width * 2**config.downsamplings
        layers += [ResidualBlock(bottom, config.norm, config.dropout, bias) for _ in range(config.residual_blocks)]
        for i in range(config.downsamplings, 0, -1):
            c = width * 2**i
            if config.upsampling == "resize":
                up = [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(c, c // 2, 3, bias=bias)]
            else:
                up = [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias)]
            layers += [
                *up,
                norm_layer(config.norm, c // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.downsamplings = config.downsamplings
        init_weights(self, config.init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def build_resnet_generator(config: ResNetGeneratorConfig, *, in_channels: int, out_channels: int, image_size: int | None = None, **_) -> nn.Module:
    _check_divisible(image_size, config.downsamplings, "cyclegan-resnet-generator")
    return ResNetGenerator(config, in_channels, out_channels)


# ------------------------------------------------------------------- U-Net


class UNetGeneratorConfig(StrictModel):
    channels: int = Field(64, ge=1, description="ngf: channels of the outermost level; doubled per level up to 8x (reference: 64)")
    downsamplings: int = Field(8, ge=2, description="levels, each halving the image: 8 takes 256 px to 1x1 (reference unet_256), 7 for 128 px, 5 for 32 px")
    norm: Norm = Field("instance", description="normalisation in every level but the outermost and innermost downward step")
    dropout: bool = Field(False, description="dropout 0.5 in the innermost 8x-channel levels, as pix2pix (reference CycleGAN: off)")
    init_gain: float = Field(0.02, gt=0, description="std of the N(0, std) initial weights")


class UNetLevel(nn.Module):
    """One level of the U-Net: down, the inner levels, up, then the input concatenated (except outermost)."""

    def __init__(self, outer: int, inner: int, *, inside: nn.Module | None, in_channels: int | None = None,
                 outermost: bool = False, norm: Norm = "instance", dropout: bool = False) -> None:
        super().__init__()
        bias = norm != "batch"
        in_channels = outer if in_channels is None else in_channels
        down = nn.Conv2d(in_channels, inner, 4, stride=2, padding=1, bias=bias)
        up_in = inner if inside is None else 2 * inner
        if outermost:
            layers = [down, inside, nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1), nn.Tanh()]
        elif inside is None:  # innermost: a 1x1 map has nothing to normalise on the way down
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=bias), norm_layer(norm, outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down, norm_layer(norm, inner), inside, nn.ReLU(True),
                      nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=bias), norm_layer(norm, outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.outermost = outermost
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], dim=1)


class UNetGenerator(nn.Module):
    def __init__(self, config: UNetGeneratorConfig, in_channels: int, out_channels: int) -> None:
        super().__init__()
        n, width = config.downsamplings, config.channels
        inner = [width * min(2**i, 8) for i in range(n)]  # 64, 128, 256, 512, 512, ... as the reference
        level: nn.Module | None = None
        for i in range(n - 1, 0, -1):
            middle = 4 <= i < n - 1  # the reference's extra 8x levels, where pix2pix puts dropout
            level = UNetLevel(inner[i - 1], inner[i], inside=level, norm=config.norm, dropout=config.dropout and middle)
        self.model = UNetLevel(out_channels, inner[0], inside=level, in_channels=in_channels, outermost=True, norm=config.norm)
        self.downsamplings = n
        init_weights(self, config.init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def build_unet_generator(config: UNetGeneratorConfig, *, in_channels: int, out_channels: int, image_size: int | None = None, **_) -> nn.Module:
    _check_divisible(image_size, config.downsamplings, "cyclegan-unet-generator")
    return UNetGenerator(config, in_channels, out_channels)


# ---------------------------------------------------------------- PatchGAN


class PatchGANConfig(StrictModel):
    channels: int = Field(64, ge=1, description="ndf: channels of the first layer; doubled per layer up to 8x (reference: 64)")
    layers: int = Field(3, ge=1, description="stride-2 layers; sets the patch each score sees: 1 -> 16, 2 -> 34, 3 -> 70 (reference), 4 -> 142 pixels")
    norm: Norm = Field("instance", description="normalisation after every convolution but the first and last (reference CycleGAN: instance)")
    init_gain: float = Field(0.02, gt=0, description="std of the N(0, std) initial weights")


def receptive_field(layers: int) -> int:
    """Side of the input patch one PatchGAN output sees: ``layers`` 4x4 stride-2 convolutions, then two 4x4 stride-1."""
    strides = [2] * layers + [1, 1]
    field, jump = 1, 1
    for stride in strides:
        field += 3 * jump
        jump *= stride
    return field


def output_side(size: int, layers: int) -> int:
    for _ in range(layers):
        size = (size + 2 - 4) // 2 + 1
    return size - 2  # two 4x4 stride-1 convolutions with padding 1 each take one pixel


class PatchGAN(nn.Module):
    def __init__(self, config: PatchGANConfig, in_channels: int) -> None:
        super().__init__()
        bias = config.norm != "batch"
        width = config.channels
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, config.layers):
            previous, mult = mult, min(2**n, 8)
            layers += [nn.Conv2d(width * previous, width * mult, 4, stride=2, padding=1, bias=bias), norm_layer(config.norm, width * mult), nn.LeakyReLU(0.2, True)]
        previous, mult = mult, min(2**config.layers, 8)
        layers += [nn.Conv2d(width * previous, width * mult, 4, stride=1, padding=1, bias=bias), norm_layer(config.norm, width * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(width * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)
        init_weights(self, config.init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One score (a logit) per patch: (B, 1, h, w)."""
        return self.model(x)


def build_patchgan(config: PatchGANConfig, *, data_shape, **_) -> nn.Module:
    channels, size = square_image(data_shape, "patchgan-discriminator")
    if output_side(size, config.layers) < 1:
        raise UserError(
            f"patchgan-discriminator: {config.layers} stride-2 layers leave no patch of a {size}x{size} image; "
            f"lower algorithm.discriminator.layers (2 suits 16-32 px, 3 the reference's 256 px)"
        )
    return PatchGAN(config, channels)
