"""Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018).

For each level of a Laplacian pyramid (full resolution, then halving while the
side is at least ``min_resolution``, 16 in the paper), 128 random 7x7 patches
are cut from every image; each patch channel is normalized by the mean and std
of the whole set; the distance between the real and generated patch sets is the
sliced Wasserstein distance over 512 random directions (4 repeats of 128). The
values are multiplied by 10^3, as in the paper's tables, and reported per level
(``"28"``, ``"14"``, ...) and averaged (``"avg"``).

Patch positions and directions come from a fixed seed, so both sets are cut at
the same places: the SWD of a set against itself is exactly 0, and every process
computes the same value from the gathered images.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from ..bounds import Seed
from ..errors import UserError
from .base import EvalContext
from .reference import ComparedConfig, ReferenceData, real_tensors

_GAUSS = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
GAUSSIAN_5x5 = torch.outer(_GAUSS, _GAUSS) / 256.0  # the filter of cv2.pyrDown


def _blur(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    c = x.shape[1]
    kernel = (GAUSSIAN_5x5 * scale).to(x).expand(c, 1, 5, 5)
    # scipy's "mirror" mode, as in the paper's code, is torch's "reflect".
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=c)


def pyr_down(x: torch.Tensor) -> torch.Tensor:
    return _blur(x)[:, :, ::2, ::2]


def pyr_up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    n, c, h, w = x.shape
    up = x.new_zeros(n, c, 2 * h, 2 * w)
    up[:, :, ::2, ::2] = x
    return _blur(up, 4.0)[:, :, : size[0], : size[1]]


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    pyramid = [x.float()]
    for _ in range(1, levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1], pyramid[-2].shape[-2:])
    return pyramid


def resolutions(size: int, min_resolution: int) -> list[int]:
    """The pyramid's sides: ``size`` and its halvings down to ``min_resolution`` (at least the full size)."""
    sides = [size]
    while sides[-1] // 2 >= min_resolution:
        sides.append(sides[-1] // 2)
    return sides


def patches(level: torch.Tensor, per_image: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """``per_image`` random ``size x size`` patches of each image, normalized per channel; ``(N * per_image, C * size * size)``."""
    n, c, h, w = level.shape
    if h < size or w < size:
        raise UserError(f"metric 'swd' cuts {size}x{size} patches, but a pyramid level is only {h}x{w}; raise min_resolution")
    half = size // 2
    ys = torch.randint(half, h - half, (n, per_image), generator=generator)
    xs = torch.randint(half, w - half, (n, per_image), generator=generator)
    offsets = torch.arange(-half, half + 1)
    channels_last = level.permute(0, 2, 3, 1)
    parts = []
    for start in range(0, n, 256):  # in blocks of images, to keep the index tensors small
        y, x = ys[start : start + 256], xs[start : start + 256]
        m = len(y)
        rows = (y.view(m, per_image, 1, 1) + offsets.view(1, 1, size, 1)).expand(m, per_image, size, size)
        cols = (x.view(m, per_image, 1, 1) + offsets.view(1, 1, 1, size)).expand(m, per_image, size, size)
        image = torch.arange(start, start + m).view(m, 1, 1, 1).expand_as(rows)
        parts.append(channels_last[image, rows, cols].reshape(m * per_image, size * size, c))
    desc = torch.cat(parts)
    desc = (desc - desc.mean(dim=(0, 1))) / desc.std(dim=(0, 1)).clamp_min(1e-8)
    return desc.permute(0, 2, 1).reshape(n * per_image, c * size * size)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, repeats: int, directions: int, generator: torch.Generator) -> float:
    """Mean over random unit directions of the 1-D Wasserstein distance between the projections."""
    results = []
    for _ in range(repeats):
        dirs = torch.randn(a.shape[1], directions, generator=generator)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        # numpy sorts rows of this size about three times faster than torch on a CPU.
        proj_a = np.sort((a @ dirs).T.contiguous().numpy(), axis=1)
        proj_b = np.sort((b @ dirs).T.contiguous().numpy(), axis=1)
        results.append(float(np.abs(proj_a - proj_b).mean(dtype=np.float64)))
    return sum(results) / len(results)


def swd(real: torch.Tensor, fake: torch.Tensor, *, patch_size: int = 7, patches_per_image: int = 128, repeats: int = 4,
        directions: int = 128, min_resolution: int = 16, seed: int = 0) -> dict[str, float]:  # fmt: skip
    """SWD x 10^3 per pyramid level and averaged, between two equally large image sets."""
    if real.dim() != 4 or real.shape[1:] != fake.shape[1:]:
        raise UserError(f"metric 'swd' needs two sets of images of one shape, got {tuple(real.shape[1:])} and {tuple(fake.shape[1:])}")
    if len(real) != len(fake):
        raise ValueError(f"swd compares equally large sets, got {len(real)} and {len(fake)}")
    sides = resolutions(real.shape[-1], min_resolution)
    result = {}
    for side, level_real, level_fake in zip(sides, laplacian_pyramid(real, len(sides)), laplacian_pyramid(fake, len(sides))):
        # The same seed for both sets: the same patch positions, then the same directions.
        desc_real = patches(level_real, patches_per_image, patch_size, torch.Generator().manual_seed(seed + side))
        desc_fake = patches(level_fake, patches_per_image, patch_size, torch.Generator().manual_seed(seed + side))
        generator = torch.Generator().manual_seed(seed + 1000 * side)
        result[str(side)] = 1e3 * sliced_wasserstein(desc_real, desc_fake, repeats, directions, generator)
    result["avg"] = sum(result.values()) / len(result)
    return result


class SWDConfig(ComparedConfig):
    num_samples: int = Field(2048, ge=2, description="generated images, and as many real ones (at most all the data, or the source domain when translating)")
    patch_size: int = Field(7, ge=1, description="side of the square patches (7 in the paper)")
    patches_per_image: int = Field(128, ge=1, description="random patches per image per level (128 in the paper)")
    directions: int = Field(128, ge=1, description="random projection directions per repeat (128 in the paper)")
    repeats: int = Field(4, ge=1, description="repeats of the projections, averaged (4 in the paper: 512 directions)")
    min_resolution: int = Field(16, ge=1, description="the pyramid halves the image while its side stays at least this (16 in the paper)")
    seed: Seed = Field(0, description="seed of the patch positions and the directions")


class SWD:
    """Returns SWD x 10^3 at each pyramid level (keys are the level's side) and ``"avg"``; 0 for identical sets."""

    def __init__(self, config: SWDConfig, build) -> None:
        self.config = config
        self._reference = ReferenceData(build)

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        cfg = self.config
        key = cfg.real_tensor()
        split = real_tensors(ctx, cfg, self._reference)
        n = min(len((split if split is not None else ctx.data.tensors)[key]), ctx.generated_count(cfg.num_samples, cfg.source, cfg.direction))
        real = ctx.real_all(n, key, split=split)
        fake = ctx.generated_all(n, cfg.source, cfg.direction)
        return swd(real, fake, patch_size=cfg.patch_size, patches_per_image=cfg.patches_per_image, repeats=cfg.repeats,
                   directions=cfg.directions, min_resolution=cfg.min_resolution, seed=cfg.seed)  # fmt: skip
