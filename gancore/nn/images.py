"""Shape checks and layers that every square-image network needs (DCGAN, the SN-GAN ResNet, and plugins' own)."""

from __future__ import annotations

from typing import Literal

from torch import nn

from ..errors import UserError

Norm2d = Literal["batch", "instance", "layer", "none"]


def square_image(data_shape, what: str) -> tuple[int, int]:
    """(channels, side) of samples of shape (C, H, H); a user error naming ``what`` for anything else."""
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise UserError(f"{what} needs square images of shape (C, H, H), got samples of shape {tuple(data_shape)}; use an MLP for points")
    return data_shape[0], data_shape[1]


def doubling_plan(size: int) -> tuple[int, int]:
    """(start, doublings) with ``start * 2**doublings == size``, ``start <= 7`` and at least one
    doubling: a generator grows a ``start x start`` map by ``doublings`` stride-2 up-steps to
    the image, a discriminator halves the image as often (8 -> 4, 28 -> 7, 32 -> 4, 64 -> 4)."""
    start, doublings = size, 0
    while start > 7 and start % 2 == 0:
        start //= 2
        doublings += 1
    if start > 7 or doublings == 0:
        raise UserError(
            f"DCGAN-style networks need a square image whose side is s*2^n with s <= 7 and n >= 1 (8, 12, 16, 28, 32, 64...), "
            f"not {size}; resize the data (e.g. the dataset's image_size option)"
        )
    return start, doublings


def norm2d(kind: Norm2d, channels: int) -> nn.Module:
    """A feature-map normalisation by name: batch, instance (affine), layer (one group) or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()
