"""The SN-GAN CIFAR ResNet (Miyato et al. 2018, table 4), as generator and critic.

The generator projects the latent to an ``s0 x s0`` map and doubles it with
residual up-blocks until it reaches the image (4 -> 8 -> 16 -> 32 for CIFAR);
the critic halves the image with residual down-blocks, adds blocks at that
size, and sums (or averages) its features before one linear output. With
the defaults, a 32x32 image gets exactly the SN-GAN CIFAR networks: 256
generator channels, 128 critic channels, two down-blocks and two plain
blocks. The MLPs and DCGAN networks come from gancore (``mlp-*``, ``dcgan-*``).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from gancore import StrictModel, UserError
from gancore.nn import doubling_plan, maybe_spectral_norm, square_image


# ---------------------------------------------------------------- generator


class ResNetGeneratorConfig(StrictModel):
    channels: int = Field(256, ge=1, description="channels of every residual block (SN-GAN CIFAR: 256)")
    batch_norm: bool = Field(True, description="batch norm before each ReLU in the blocks")


class UpBlock(nn.Module):
    """BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3, plus an upsampled 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int, batch_norm: bool) -> None:
        super().__init__()
        norm = nn.BatchNorm2d if batch_norm else (lambda c: nn.Identity())
        self.norm1, self.conv1 = norm(c_in), nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.norm2, self.conv2 = norm(c_out), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class ResNetGenerator(nn.Module):
    def __init__(self, config: ResNetGeneratorConfig, data_shape, latent_dim: int) -> None:
        super().__init__()
        channels, size = square_image(data_shape, "sngan-resnet-generator")
        self.start, doublings = doubling_plan(size)
        width = config.channels
        self.width = width
        self.project = nn.Linear(latent_dim, width * self.start * self.start)
        self.blocks = nn.Sequential(*[UpBlock(width, width, config.batch_norm) for _ in range(doublings)])
        self.out = nn.Sequential(
            nn.BatchNorm2d(width) if config.batch_norm else nn.Identity(),
            nn.ReLU(),
            nn.Conv2d(width, channels, 3, 1, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.width, self.start, self.start)
        return self.out(self.blocks(x))


# ------------------------------------------------------------------- critic


class ResNetCriticConfig(StrictModel):
    channels: int = Field(128, ge=1, description="channels of every residual block (SN-GAN CIFAR: 128)")
    downsample_blocks: int = Field(2, ge=1, description="blocks that halve the image (SN-GAN CIFAR: 2, 32 -> 8)")
    extra_blocks: int = Field(2, ge=0, description="blocks at the smallest size, after the halving ones (SN-GAN CIFAR: 2)")
    norm: Literal["none", "layer"] = Field("none", description="normalisation inside the blocks (no batch norm: it breaks gradient penalties)")
    spectral_norm: bool = Field(False, description="spectral normalisation on every layer (SN-GAN); not needed with a gradient penalty")
    pooling: Literal["sum", "mean"] = Field("sum", description="global pooling before the output layer: SN-GAN sums, Gulrajani et al. average")


class DownBlock(nn.Module):
    """[norm-]ReLU-conv3x3-[norm-]ReLU-conv3x3[-avgpool], plus a 1x1 (pooled) shortcut.

    The first block of the critic (``first=True``) sees the image itself, so it
    starts with a convolution rather than an activation and pools its input
    before the shortcut convolution (SN-GAN's "optimized" block).
    """

    def __init__(self, c_in: int, c_out: int, *, down: bool, first: bool, norm: str, sn: bool) -> None:
        super().__init__()
        self.down, self.first = down, first
        make_norm = (lambda c: nn.GroupNorm(1, c)) if norm == "layer" else (lambda c: nn.Identity())
        self.norm1 = nn.Identity() if first else make_norm(c_in)
        self.conv1 = maybe_spectral_norm(nn.Conv2d(c_in, c_out, 3, 1, 1), sn)
        self.norm2 = make_norm(c_out)
        self.conv2 = maybe_spectral_norm(nn.Conv2d(c_out, c_out, 3, 1, 1), sn)
        learnable = down or c_in != c_out
        self.shortcut = maybe_spectral_norm(nn.Conv2d(c_in, c_out, 1), sn) if learnable else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(self.norm1(x))
        h = self.conv2(F.relu(self.norm2(self.conv1(h))))
        if self.down:
            h = F.avg_pool2d(h, 2)
        return h + self._shortcut(x)

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.shortcut is None:
            return x
        if self.first:  # pool, then project: cheaper, and SN-GAN's order for the first block
            return self.shortcut(F.avg_pool2d(x, 2) if self.down else x)
        x = self.shortcut(x)
        return F.avg_pool2d(x, 2) if self.down else x


class ResNetCritic(nn.Module):
    def __init__(self, config: ResNetCriticConfig, data_shape, out_features: int = 1) -> None:
        super().__init__()
        channels, size = square_image(data_shape, "sngan-resnet-critic")
        if size % 2**config.downsample_blocks:
            raise UserError(
                f"sngan-resnet-critic: an image of side {size} cannot be halved {config.downsample_blocks} times; "
                "lower algorithm.critic.downsample_blocks or resize the data"
            )
        width, sn = config.channels, config.spectral_norm
        blocks = [DownBlock(channels, width, down=True, first=True, norm=config.norm, sn=sn)]
        blocks += [DownBlock(width, width, down=True, first=False, norm=config.norm, sn=sn) for _ in range(config.downsample_blocks - 1)]
        blocks += [DownBlock(width, width, down=False, first=False, norm=config.norm, sn=sn) for _ in range(config.extra_blocks)]
        self.blocks = nn.Sequential(*blocks)
        self.pooling = config.pooling
        self.head = maybe_spectral_norm(nn.Linear(width, out_features), sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.blocks(x))
        h = h.sum(dim=(2, 3)) if self.pooling == "sum" else h.mean(dim=(2, 3))
        return self.head(h)


def build_resnet_generator(config: ResNetGeneratorConfig, *, data_shape, latent_dim, **_) -> nn.Module:
    return ResNetGenerator(config, data_shape, latent_dim)


def build_resnet_critic(config: ResNetCriticConfig, *, data_shape, out_features=1, **_) -> nn.Module:
    return ResNetCritic(config, data_shape, out_features)
