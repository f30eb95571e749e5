"""BigGAN's generator and discriminator (Brock et al. 2019), sized by the config.

Generator: ``z`` is split into ``blocks + 1`` chunks (skip-z). The first chunk is projected to a
``s0 x s0`` map; each residual up-block gets the next chunk, joined to the shared class embedding,
as the condition of its two conditional batch norms. Discriminator: residual down-blocks (the
first without a leading activation), one block at the lowest resolution, ReLU, a sum over space,
and a projection head (or an ACGAN head, or a plain linear output when unconditional). Both use
spectral norm, orthogonal initialisation, and one SAGAN self-attention layer at the resolution
``attention_resolution``.

The same code makes a 32-px digit model for a CPU (``channels: 8``) and the 128-px ImageNet
model (``channels: 96``, ``multipliers: [16, 16, 8, 4, 2, 1]``). An image of side ``s0 * 2**n``
(``s0`` at most 7) has ``n`` blocks: 8 -> 1, 28 -> 2, 32 -> 3, 128 -> 5.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from ..bounds import PositiveInt
from ..errors import UserError
from ..registry import StrictModel
from .conditional import AuxiliaryClassifierHead, ConditionalBatchNorm2d, ProjectionHead, orthogonal_init_
from .images import doubling_plan, square_image
from .layers import maybe_spectral_norm


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019) with BigGAN's reductions: queries and keys at C/8
    channels, values at C/2, keys and values max-pooled 2x2; the output scaled by a gain that starts at 0."""

    def __init__(self, channels: int, spectral_norm: bool = True) -> None:
        super().__init__()
        sn = lambda m: maybe_spectral_norm(m, spectral_norm)  # noqa: E731
        self.query = sn(nn.Conv2d(channels, max(1, channels // 8), 1, bias=False))
        self.key = sn(nn.Conv2d(channels, max(1, channels // 8), 1, bias=False))
        self.value = sn(nn.Conv2d(channels, max(1, channels // 2), 1, bias=False))
        self.out = sn(nn.Conv2d(max(1, channels // 2), channels, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        pool = (lambda t: F.max_pool2d(t, 2)) if h >= 2 and w >= 2 and h % 2 == 0 and w % 2 == 0 else (lambda t: t)
        q = self.query(x).flatten(2)  # (B, C/8, HW)
        k = pool(self.key(x)).flatten(2)  # (B, C/8, HW/4)
        v = pool(self.value(x)).flatten(2)  # (B, C/2, HW/4)
        attention = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (B, HW, HW/4)
        o = (v @ attention.transpose(1, 2)).view(b, -1, h, w)
        return x + self.gamma * self.out(o)


class BigGANGeneratorConfig(StrictModel):
    channels: int = Field(16, ge=1, description="width unit: block i has channels * multipliers[i] channels (BigGAN 128 px: 96)")
    multipliers: list[PositiveInt] | None = Field(
        None, description="width multiplier of the input of each up-block and of the last one's output (blocks + 1 values, "
        "e.g. [16, 16, 8, 4, 2, 1] at 128 px); null: 4 for every block (BigGAN's CIFAR layout)",
    )
    shared_dim: int = Field(128, ge=1, description="size of the shared class embedding (BigGAN: 128); conditional runs only")
    skip_z: bool = Field(True, description="split z into blocks + 1 chunks, one to the input projection and one to each block's batch norms")
    attention_resolution: int | None = Field(16, ge=1, description="add self-attention after the block that outputs this side; null: no attention")
    spectral_norm: bool = Field(True, description="spectral norm on every layer of G (BigGAN)")
    orthogonal_init: bool = Field(True, description="orthogonal initialisation (BigGAN); false keeps PyTorch's defaults")
    bn_eps: float = Field(1e-4, gt=0, description="batch-norm epsilon (BigGAN: 1e-4)")


class GeneratorBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, condition_dim: int, spectral_norm: bool, eps: float) -> None:
        super().__init__()
        sn = lambda m: maybe_spectral_norm(m, spectral_norm)  # noqa: E731
        self.norm1 = ConditionalBatchNorm2d(c_in, condition_dim, spectral_norm, eps)
        self.conv1 = sn(nn.Conv2d(c_in, c_out, 3, 1, 1))
        self.norm2 = ConditionalBatchNorm2d(c_out, condition_dim, spectral_norm, eps)
        self.conv2 = sn(nn.Conv2d(c_out, c_out, 3, 1, 1))
        self.skip = sn(nn.Conv2d(c_in, c_out, 1))

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x, condition)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), condition)))
        return h + self.skip(F.interpolate(x, scale_factor=2, mode="nearest"))


def _widths(multipliers: list[int] | None, blocks: int, channels: int, what: str, count: int) -> list[int]:
    multipliers = multipliers if multipliers is not None else [4] * count
    if len(multipliers) != count:
        raise UserError(
            f"{what}.multipliers has {len(multipliers)} values, but images of this size take {blocks} blocks, so it needs {count}; "
            "or set it to null"
        )
    if any(m < 1 for m in multipliers):
        raise UserError(f"{what}.multipliers must be positive integers, got {multipliers}")
    return [channels * m for m in multipliers]


class BigGANGenerator(nn.Module):
    conditional = True

    def __init__(self, config: BigGANGeneratorConfig, data_shape, latent_dim: int, num_classes: int | None = None) -> None:
        super().__init__()
        out_channels, side = square_image(data_shape, "biggan-generator")
        self.start, blocks = doubling_plan(side)
        widths = _widths(config.multipliers, blocks, config.channels, "biggan-generator", blocks + 1)
        self.num_classes, self.skip_z = num_classes, config.skip_z
        chunks = blocks + 1 if config.skip_z else 1
        if latent_dim < chunks:
            raise UserError(f"biggan-generator with skip_z splits z into {chunks} chunks, so algorithm.latent_dim must be at least {chunks}, got {latent_dim}")
        # Equal chunks, the first taking what is left over.
        size = latent_dim // chunks
        self.chunk_sizes = [latent_dim - size * (chunks - 1)] + [size] * (chunks - 1)
        shared = config.shared_dim if num_classes else 0
        self.shared = nn.Embedding(num_classes, shared) if num_classes else None
        condition_dim = shared + (size if config.skip_z else 0)
        sn = lambda m: maybe_spectral_norm(m, config.spectral_norm)  # noqa: E731
        self.widths = widths
        self.project = sn(nn.Linear(self.chunk_sizes[0], widths[0] * self.start * self.start))
        self.blocks = nn.ModuleList()
        self.attention = nn.ModuleDict()
        current = self.start
        for i in range(blocks):
            self.blocks.append(GeneratorBlock(widths[i], widths[i + 1], condition_dim, config.spectral_norm, config.bn_eps))
            current *= 2
            if config.attention_resolution == current:
                self.attention[str(i)] = SelfAttention(widths[i + 1], config.spectral_norm)
        self.out_norm = nn.BatchNorm2d(widths[-1], eps=config.bn_eps)
        self.out = sn(nn.Conv2d(widths[-1], out_channels, 3, 1, 1))
        if config.orthogonal_init:
            orthogonal_init_(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if (y is None) != (self.shared is None):
            raise ValueError("a conditional biggan-generator needs class labels y, an unconditional one takes none")
        chunks = list(torch.split(z, self.chunk_sizes, dim=1))
        embedding = self.shared(y) if self.shared is not None else None
        h = self.project(chunks[0]).view(z.shape[0], self.widths[0], self.start, self.start)
        for i, block in enumerate(self.blocks):
            parts = ([chunks[i + 1]] if self.skip_z else []) + ([embedding] if embedding is not None else [])
            h = block(h, torch.cat(parts, dim=1) if parts else None)
            if str(i) in self.attention:
                h = self.attention[str(i)](h)
        return torch.tanh(self.out(F.relu(self.out_norm(h))))


class BigGANDiscriminatorConfig(StrictModel):
    channels: int = Field(16, ge=1, description="width unit: block i outputs channels * multipliers[i] channels (BigGAN 128 px: 96)")
    multipliers: list[PositiveInt] | None = Field(
        None, description="width multiplier of each down-block's output (blocks values, e.g. [1, 2, 4, 8, 16] at 128 px); "
        "null: 4 for every block (BigGAN's CIFAR layout)",
    )
    extra_block: bool = Field(True, description="one more residual block, without downsampling, at the lowest resolution (BigGAN)")
    attention_resolution: int | None = Field(16, ge=1, description="add self-attention after the block that outputs this side; null: no attention")
    spectral_norm: bool = Field(True, description="spectral norm on every layer of D (BigGAN)")
    orthogonal_init: bool = Field(True, description="orthogonal initialisation (BigGAN); false keeps PyTorch's defaults")


class DiscriminatorBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, spectral_norm: bool, downsample: bool, preactivation: bool) -> None:
        super().__init__()
        sn = lambda m: maybe_spectral_norm(m, spectral_norm)  # noqa: E731
        self.conv1 = sn(nn.Conv2d(c_in, c_out, 3, 1, 1))
        self.conv2 = sn(nn.Conv2d(c_out, c_out, 3, 1, 1))
        self.skip = sn(nn.Conv2d(c_in, c_out, 1)) if c_in != c_out or downsample else None
        self.downsample, self.preactivation = downsample, preactivation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        skip = x
        if self.skip is not None:
            # The first block pools before its 1x1 convolution, the others after (BigGAN).
            if self.preactivation:
                skip = self.skip(skip)
                skip = F.avg_pool2d(skip, 2) if self.downsample else skip
            else:
                skip = self.skip(F.avg_pool2d(skip, 2) if self.downsample else skip)
        return h + skip


class BigGANDiscriminator(nn.Module):
    conditional = True

    def __init__(self, config: BigGANDiscriminatorConfig, data_shape, out_features: int = 1,
                 num_classes: int | None = None, class_head: Literal["projection", "acgan"] = "projection") -> None:
        super().__init__()
        in_channels, side = square_image(data_shape, "biggan-discriminator")
        _, blocks = doubling_plan(side)
        widths = _widths(config.multipliers, blocks, config.channels, "biggan-discriminator", blocks)
        layers = []
        c_in, current = in_channels, side
        for i, c_out in enumerate(widths):
            layers.append(DiscriminatorBlock(c_in, c_out, config.spectral_norm, downsample=True, preactivation=i > 0))
            current //= 2
            c_in = c_out
            if config.attention_resolution == current:
                layers.append(SelfAttention(c_out, config.spectral_norm))
        if config.extra_block:
            layers.append(DiscriminatorBlock(c_in, c_in, config.spectral_norm, downsample=False, preactivation=True))
        self.blocks = nn.Sequential(*layers)
        self.num_features = c_in
        if num_classes and out_features != 1:
            raise UserError(f"biggan-discriminator with classes gives one adversarial output, not out_features={out_features}")
        if not num_classes:
            self.head = maybe_spectral_norm(nn.Linear(c_in, out_features), config.spectral_norm)
        elif class_head == "projection":
            self.head = ProjectionHead(c_in, num_classes, config.spectral_norm)
        else:
            self.head = AuxiliaryClassifierHead(c_in, num_classes, config.spectral_norm)
        self.conditional_head = bool(num_classes)
        if config.orthogonal_init:
            orthogonal_init_(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """φ(x): the sum over space of the last block's activations, ``(B, num_features)``."""
        return F.relu(self.blocks(x)).sum(dim=(2, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        return self.head(h, y) if self.conditional_head else self.head(h)


def build_biggan_generator(config: BigGANGeneratorConfig, *, data_shape, latent_dim, num_classes=None, **_) -> nn.Module:
    return BigGANGenerator(config, data_shape, latent_dim, num_classes)


def build_biggan_discriminator(config: BigGANDiscriminatorConfig, *, data_shape, out_features=1, num_classes=None, class_head="projection", **_) -> nn.Module:
    return BigGANDiscriminator(config, data_shape, out_features, num_classes, class_head)
