"""The ``colorize`` transform: grey digits painted with a stroke and a background colour (coloured MNIST).

Registered through ``gan_register_transforms``, so any grey image dataset takes it in its
``transforms`` list, after its own ``channels``, ``image_size`` and ``pad``::

    b: {name: half, half: second, of: {name: mnist5k, transforms: [{name: colorize, mode: random}]}}

Every pixel of intensity w in [0, 1] becomes w·fg + (1 − w)·bg. ``mode: random`` draws a foreground
and then a background colour for every image, uniform in [0, 1]³, from the dataset's generator
(seeded by ``transform_seed``), so the same colours come back every time; ``mode: fixed`` paints
every image with ``foreground`` and ``background``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field

from gancore import ImageTransform, StrictModel, UserError

Unit = Annotated[float, Field(ge=0, le=1)]


class ColorizeConfig(StrictModel):
    mode: Literal["random", "fixed"] = Field("random", description="random colours per image, or the fixed ones below")
    foreground: tuple[Unit, Unit, Unit] = Field((1.0, 0.0, 0.0), description="fixed mode: RGB of the strokes, in [0, 1]")
    background: tuple[Unit, Unit, Unit] = Field((0.0, 0.0, 0.0), description="fixed mode: RGB of the background, in [0, 1]")


class Colorize(ImageTransform):
    """Grey ``(N, 1, H, W)`` images to RGB: w·fg + (1 − w)·bg per image."""

    def __init__(self, config: ColorizeConfig) -> None:
        self.config = config

    def __call__(self, items: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        x = items["x"]
        if x.shape[1] != 1:
            raise UserError("colorize paints grey images; this dataset has colour images (drop colorize or set channels: 1)")
        n = x.shape[0]
        if self.config.mode == "fixed":
            fg = torch.tensor(self.config.foreground, dtype=x.dtype).expand(n, 3)
            bg = torch.tensor(self.config.background, dtype=x.dtype).expand(n, 3)
        else:  # foreground first, then background: the order the draws have always been made in
            fg, bg = torch.rand(n, 3, generator=generator), torch.rand(n, 3, generator=generator)
        weight = (x + 1) / 2  # stroke intensity in [0, 1]
        rgb = weight * fg[:, :, None, None] + (1 - weight) * bg[:, :, None, None]
        return {**items, "x": (rgb * 2 - 1).contiguous()}
