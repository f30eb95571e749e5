"""``stage-swd``: SWD per Laplacian-pyramid level at the current stage's own resolution.

gancore's ``swd`` metric scores ``sample()``, which is at the data's resolution
(a 4x4 stage upsampled to 32x32). This one scores what the current stage really
makes, against the real images area-downsampled to the same resolution, at
every pyramid level down to ``min_resolution``, the way the paper tracks
training. Levels smaller than the patch get the largest odd patch that fits
(3x3 at 4x4), since gancore's ``swd`` refuses a level smaller than its patch.
"""

from __future__ import annotations

import torch
from pydantic import Field

from gancore import BuildContext, UserError
from gancore.metrics.base import EvalContext
from gancore.metrics.reference import ReferenceData
from gancore.metrics.swd import SWDConfig, laplacian_pyramid, patches, resolutions, sliced_wasserstein

from .algorithm import downsample


class StageSWDConfig(SWDConfig):
    min_resolution: int = Field(4, ge=1, description="the pyramid halves the image while its side stays at least this (4: every stage's resolution)")


def fitting_patch(side: int, patch_size: int) -> int:
    """The patch side used at a pyramid level of ``side``: ``patch_size``, or the largest odd side that fits."""
    return min(patch_size, side if side % 2 else side - 1)


def stage_swd(real: torch.Tensor, fake: torch.Tensor, config: StageSWDConfig) -> dict[str, float]:
    """SWD x 10^3 per pyramid level (keys: the level's side) and their mean, with patches that fit every level."""
    if real.shape[1:] != fake.shape[1:] or len(real) != len(fake):
        raise ValueError(f"stage-swd compares equally large sets of one shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    sides = resolutions(real.shape[-1], config.min_resolution)
    result = {}
    for side, level_real, level_fake in zip(sides, laplacian_pyramid(real, len(sides)), laplacian_pyramid(fake, len(sides))):
        size = fitting_patch(side, config.patch_size)
        # One seed for both sets: the same patch positions, then the same directions (as gancore's swd).
        desc_real = patches(level_real, config.patches_per_image, size, torch.Generator().manual_seed(config.seed + side))
        desc_fake = patches(level_fake, config.patches_per_image, size, torch.Generator().manual_seed(config.seed + side))
        directions = torch.Generator().manual_seed(config.seed + 1000 * side)
        result[str(side)] = 1e3 * sliced_wasserstein(desc_real, desc_fake, config.repeats, config.directions, directions)
    result["avg"] = sum(result.values()) / len(result)
    return result


class StageSWD:
    """Returns SWD x 10^3 per pyramid level at the current stage's resolution, ``avg``, and ``resolution``."""

    def __init__(self, config: StageSWDConfig, build: BuildContext) -> None:
        self.config = config
        self._reference = ReferenceData(build)  # the reference dataset, built once through the metric's BuildContext

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        algorithm = ctx.algorithm
        if not hasattr(algorithm, "sample_native"):
            raise UserError("metric 'stage-swd' scores a progressive GAN's current stage; use 'swd' for other algorithms")
        cfg = self.config
        side = algorithm.sampling_point().resolution
        split = self._reference.tensors(cfg.reference)
        real = ctx.real_all(cfg.num_samples, split=split)
        # The same chunked, seeded sampling as ctx.generate_all, of the native images.
        native = EvalContext(lambda n, seed: algorithm.sample_native(n, seed=seed), ctx.data, algorithm, ctx.accelerator, ctx.seed)
        fake = native.generate_all(len(real))
        return {**stage_swd(downsample(real.float(), side), fake, cfg), "resolution": float(side)}
