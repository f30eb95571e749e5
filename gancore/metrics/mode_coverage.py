"""Mode coverage on Gaussian mixtures, the protocol of VEEGAN and PacGAN.

A sample is high quality when it lies within ``threshold`` standard deviations
of its nearest mode; a mode is captured when at least one high-quality sample
is nearest to it.
"""

from __future__ import annotations

import torch
from pydantic import Field

from ..errors import UserError
from ..registry import StrictModel
from .base import EvalContext


class ModeCoverageConfig(StrictModel):
    num_samples: int = Field(2500, ge=1, description="generated samples to score")
    threshold: float = Field(3.0, gt=0, description="a sample within this many stds of its nearest mode is high quality")


def mode_coverage(samples: torch.Tensor, modes: torch.Tensor, std: float, threshold: float = 3.0) -> dict[str, float]:
    distances = torch.cdist(samples.float(), modes.float())
    nearest_distance, nearest = distances.min(dim=1)
    good = nearest_distance <= threshold * std
    captured = torch.unique(nearest[good])
    return {
        "modes": float(len(captured)),
        "num_modes": float(len(modes)),
        "high_quality": 100.0 * good.float().mean().item(),
    }


class ModeCoverage:
    def __init__(self, config: ModeCoverageConfig, build) -> None:
        self.config = config

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        if "modes" not in ctx.data.info:
            raise UserError("metric 'mode-coverage' needs a Gaussian-mixture dataset such as 'ring' or 'grid'")
        samples = ctx.generate_all(self.config.num_samples).flatten(1)
        return mode_coverage(samples, ctx.data.info["modes"], ctx.data.info["std"], self.config.threshold)
