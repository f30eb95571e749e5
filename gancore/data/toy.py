"""Toy distributions: a 1-D Gaussian and 2-D Gaussian mixtures (ring, grid), a swiss roll.

Each is drawn once, as ``num_samples`` points from a fixed ``data_seed``, so a
run is reproducible; mixtures record their modes and std for ``mode-coverage``.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field

from ..bounds import Seed
from ..registry import StrictModel
from .base import TensorData


class Gaussian1DConfig(StrictModel):
    mean: float = Field(4.0, description="mean of the Gaussian")
    std: float = Field(1.25, gt=0, description="standard deviation")
    num_samples: int = Field(100_000, ge=1, description="points drawn once, from data_seed")
    data_seed: Seed = Field(1234, description="seed for drawing the points")


def gaussian_1d(config: Gaussian1DConfig, ctx) -> TensorData:
    g = torch.Generator().manual_seed(config.data_seed)
    x = config.mean + config.std * torch.randn(config.num_samples, 1, generator=g)
    return TensorData({"x": x}, "points", {"mean": config.mean, "std": config.std})


class RingConfig(StrictModel):
    num_modes: int = Field(8, ge=1, description="Gaussians evenly spaced on the circle")
    radius: float = Field(2.0, gt=0, description="radius of the circle")
    std: float = Field(0.02, gt=0, description="standard deviation of each Gaussian")
    num_samples: int = Field(100_000, ge=1, description="points drawn once, from data_seed")
    data_seed: Seed = Field(1234, description="seed for drawing the points")


def ring(config: RingConfig, ctx) -> TensorData:
    angles = torch.arange(config.num_modes, dtype=torch.float64) * (2 * math.pi / config.num_modes)
    modes = config.radius * torch.stack([angles.cos(), angles.sin()], dim=1).float()
    return _mixture(modes, config.std, config.num_samples, config.data_seed)


class GridConfig(StrictModel):
    side: int = Field(5, ge=1, description="Gaussians per side of the square grid")
    spacing: float = Field(2.0, gt=0, description="distance between neighbouring modes; the grid is centred on 0")
    std: float = Field(0.05, gt=0, description="standard deviation of each Gaussian")
    num_samples: int = Field(100_000, ge=1, description="points drawn once, from data_seed")
    data_seed: Seed = Field(1234, description="seed for drawing the points")


def grid(config: GridConfig, ctx) -> TensorData:
    coords = (torch.arange(config.side, dtype=torch.float32) - (config.side - 1) / 2) * config.spacing
    modes = torch.cartesian_prod(coords, coords)
    return _mixture(modes, config.std, config.num_samples, config.data_seed)


def _mixture(modes: torch.Tensor, std: float, num_samples: int, seed: int) -> TensorData:
    g = torch.Generator().manual_seed(seed)
    which = torch.randint(len(modes), (num_samples,), generator=g)
    x = modes[which] + std * torch.randn(num_samples, modes.shape[1], generator=g)
    return TensorData({"x": x, "y": which}, "points", {"modes": modes, "std": std, "num_classes": len(modes)})


class SwissRollConfig(StrictModel):
    noise: float = Field(0.25, ge=0, description="std of the Gaussian noise added to the roll")
    scale: float = Field(0.25, gt=0, description="multiplies the coordinates (sklearn's roll spans about ±12)")
    num_samples: int = Field(100_000, ge=1, description="points drawn once, from data_seed")
    data_seed: Seed = Field(1234, description="seed for drawing the points")


def swiss_roll(config: SwissRollConfig, ctx) -> TensorData:
    from sklearn.datasets import make_swiss_roll

    points, _ = make_swiss_roll(config.num_samples, noise=config.noise, random_state=config.data_seed)
    x = torch.from_numpy(points[:, [0, 2]]).float() * config.scale
    return TensorData({"x": x}, "points")
