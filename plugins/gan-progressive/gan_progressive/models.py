"""The Progressive GAN generator and discriminator (Karras et al. 2018, table 2), built at full size.

Both networks hold the layers of every resolution from the start, and a
forward pass uses only those of the current stage: ``G(z, stage, alpha)``,
``D(x, stage, alpha)``. Growing is then a change of ``stage``, not of the
modules, so the optimizers, the EMA and the checkpoints always see the same
parameters; a layer that is not in use gets no gradient (``None``), which Adam
skips, so its weights and moments stay exactly as they were until it joins.

``alpha`` (a 0-dim tensor, or None for 1) blends the newest block with the
path it replaces, as in the paper's figure 2: in the generator,
``lerp(upsample(toRGB_old(h)), toRGB_new(block(h)), α)``; in the
discriminator, ``lerp(fromRGB_old(downsample(x)), block(fromRGB_new(x)), α)``.

Channels per resolution follow the reference: ``min(2 * fmap_base / R, fmap_max)``
(8192 and 512 give 512 channels up to 32x32, then 256, 128, ... 16 at 1024x1024).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from gancore import StrictModel
from gancore.nn import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm
from gancore.nn.equalized import SQRT2

from .schedule import resolution

LEAK = 0.2


class NetworkConfig(StrictModel):
    fmap_base: int = Field(8192, ge=1, description="channels at resolution R are min(2 * fmap_base / R, fmap_max) (reference: 8192)")
    fmap_max: int = Field(512, ge=1, description="most channels of any layer (reference: 512)")
    normalize_latents: bool = Field(True, description="pixel-normalise the latent vector before the generator's first layer (reference: true)")
    pixel_norm: bool = Field(True, description="pixel-wise feature normalisation after every generator conv (reference: true)")
    mbstd_group_size: int = Field(4, ge=0, description="minibatch-stddev group size in the discriminator's last block; 0 leaves the layer out (reference: 4)")


def channels(config: NetworkConfig, stage: int) -> int:
    return max(1, min(2 * config.fmap_base // resolution(stage), config.fmap_max))


def _act() -> nn.Module:
    return nn.LeakyReLU(LEAK)


class GeneratorBlock(nn.Sequential):
    """Doubles the resolution: nearest upsampling, then two 3x3 convs, each with leaky ReLU and pixel norm."""

    def __init__(self, c_in: int, c_out: int, norm) -> None:
        super().__init__(
            nn.Upsample(scale_factor=2, mode="nearest"),
            EqualizedConv2d(c_in, c_out, 3), _act(), norm(),
            EqualizedConv2d(c_out, c_out, 3), _act(), norm(),
        )  # fmt: skip


class ProgressiveGenerator(nn.Module):
    def __init__(self, config: NetworkConfig, image_channels: int, last_stage: int, latent_dim: int) -> None:
        super().__init__()
        norm = PixelNorm if config.pixel_norm else nn.Identity
        c0 = channels(config, 0)
        self.last_stage, self.c0 = last_stage, c0
        self.latent_norm = PixelNorm() if config.normalize_latents else nn.Identity()
        # The reference's first layer: a dense layer to 4x4 with gain sqrt(2)/4, then a 3x3 conv.
        self.dense = EqualizedLinear(latent_dim, c0 * 16, gain=SQRT2 / 4)
        self.base = nn.Sequential(_act(), norm(), EqualizedConv2d(c0, c0, 3), _act(), norm())
        self.blocks = nn.ModuleList(GeneratorBlock(channels(config, s - 1), channels(config, s), norm) for s in range(1, last_stage + 1))
        # toRGB: 1x1 convs with gain 1 and no activation (the output is linear, clipped only when sampling).
        self.to_rgb = nn.ModuleList(EqualizedConv2d(channels(config, s), image_channels, 1, gain=1.0) for s in range(last_stage + 1))

    def forward(self, z: torch.Tensor, stage: int, alpha: torch.Tensor | None = None) -> torch.Tensor:
        """Images of the resolution of ``stage``; during a fade-in (``alpha`` < 1) blended with the previous stage's, upsampled."""
        h = self.base(self.dense(self.latent_norm(z)).view(z.shape[0], self.c0, 4, 4))
        for block in self.blocks[: max(stage - 1, 0)]:
            h = block(h)
        if stage == 0:
            return self.to_rgb[0](h)
        new = self.to_rgb[stage](self.blocks[stage - 1](h))
        if alpha is None:
            return new
        old = F.interpolate(self.to_rgb[stage - 1](h), scale_factor=2, mode="nearest")
        return torch.lerp(old, new, alpha.to(new.dtype))


class DiscriminatorBlock(nn.Sequential):
    """Halves the resolution: two 3x3 convs with leaky ReLU, then 2x2 average pooling."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(EqualizedConv2d(c_in, c_in, 3), _act(), EqualizedConv2d(c_in, c_out, 3), _act(), nn.AvgPool2d(2))


class ProgressiveDiscriminator(nn.Module):
    def __init__(self, config: NetworkConfig, image_channels: int, last_stage: int) -> None:
        super().__init__()
        c0 = channels(config, 0)
        self.last_stage = last_stage
        self.from_rgb = nn.ModuleList(nn.Sequential(EqualizedConv2d(image_channels, channels(config, s), 1), _act()) for s in range(last_stage + 1))
        # blocks[s - 1] takes the resolution of stage s down to that of stage s - 1.
        self.blocks = nn.ModuleList(DiscriminatorBlock(channels(config, s), channels(config, s - 1)) for s in range(1, last_stage + 1))
        stddev = [MinibatchStdDev(config.mbstd_group_size)] if config.mbstd_group_size else []
        c_in = c0 + (1 if stddev else 0)
        widest = max(1, min(config.fmap_base, config.fmap_max))  # the reference's nf(0)
        self.head = nn.Sequential(
            *stddev,
            EqualizedConv2d(c_in, c0, 3), _act(),
            nn.Flatten(),
            EqualizedLinear(c0 * 16, widest), _act(),
            EqualizedLinear(widest, 1, gain=1.0),
        )  # fmt: skip

    def forward(self, x: torch.Tensor, stage: int, alpha: torch.Tensor | None = None) -> torch.Tensor:
        """Scores (N, 1) of images at the resolution of ``stage``; during a fade-in (``alpha`` < 1) the
        newest block is blended with the previous stage's input path, fed the image downsampled."""
        h = self.from_rgb[stage](x)
        if stage > 0:
            h = self.blocks[stage - 1](h)
            if alpha is not None:
                old = self.from_rgb[stage - 1](F.avg_pool2d(x, 2))
                h = torch.lerp(old, h, alpha.to(h.dtype))
            for block in reversed(self.blocks[: stage - 1]):
                h = block(h)
        return self.head(h)
