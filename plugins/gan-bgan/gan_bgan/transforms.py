"""The data transforms that make images discrete for ``bgan``: ``binarize`` and ``quantize``.

Both are registered through ``gan_register_transforms``, so any image dataset takes them in its
``transforms`` list, after its own ``channels``, ``image_size`` and ``pad``::

    data: {name: mnist5k, transforms: [{name: binarize, threshold: 0.5}]}
    data: {name: lfw-subset, image_size: 32, transforms: [{name: quantize, num_colors: 16}]}

``binarize`` makes every pixel -1 or 1: 1 where its intensity in [0, 1] is above ``threshold``, or,
with ``threshold: stochastic``, 1 with probability its intensity (drawn from the dataset's generator,
seeded by ``transform_seed``, so the same data come back every time).

``quantize`` learns a palette of ``num_colors`` colours with k-means on ``fit_pixels`` pixels of
``fit_images`` images, and replaces every pixel by its nearest palette colour. The batches then carry
``index`` (the colour of every pixel, ``(H, W)`` longs) and ``data.info["palette"]`` holds the
``(K, C)`` colours in [-1, 1], dark to light.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
from pydantic import Field

from gancore import ImageTransform, StrictModel


class BinarizeConfig(StrictModel):
    threshold: Annotated[float, Field(ge=0, le=1)] | Literal["stochastic"] = Field(
        0.5, description="a pixel becomes 1 where its intensity in [0, 1] is above this, else -1; "
        "stochastic: 1 with probability its intensity (Bernoulli, from the generator seeded by transform_seed)"
    )


class QuantizeConfig(StrictModel):
    num_colors: int = Field(16, ge=2, le=256, description="palette size (k-means clusters)")
    fit_images: int = Field(500, ge=1, description="images the palette is learnt on (a seeded random subset of the data in memory, the first ones of data read from disk)")
    fit_pixels: int = Field(50_000, ge=100, description="pixels sampled from those images for k-means")


class Binarize(ImageTransform):
    """Pixels of -1 or 1, by a threshold on intensity or by a Bernoulli draw."""

    def __init__(self, config: BinarizeConfig) -> None:
        self.threshold = config.threshold

    def __call__(self, items: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        intensity = (items["x"] + 1) / 2
        if self.threshold == "stochastic":
            on = torch.rand(intensity.shape, generator=generator) < intensity
        else:
            on = intensity > float(self.threshold)
        return {**items, "x": on.float() * 2 - 1}


class Quantize(ImageTransform):
    """Every pixel replaced by its nearest colour of a k-means palette; adds ``index`` and ``info["palette"]``."""

    def __init__(self, config: QuantizeConfig) -> None:
        self.config = config
        self.fit_images = config.fit_images  # the pipeline calls fit with (up to) this many images first
        self.palette: torch.Tensor | None = None

    def fit(self, images: torch.Tensor, seed: int) -> None:
        self.palette = fit_palette(images, self.config, seed)

    def __call__(self, items: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        if self.palette is None:
            raise RuntimeError("quantize: the palette is learnt by fit(), which the data pipeline calls before any item is transformed")
        return {**items, **quantize(items["x"], self.palette)}

    def info(self) -> dict[str, Any]:
        return {"palette": self.palette}


# ------------------------------------------------------------------ palettes


def fit_palette(images: torch.Tensor, options: QuantizeConfig, seed: int) -> torch.Tensor:
    """Learn a (K, C) palette in [-1, 1] with k-means on pixels of a seeded subset of ``images`` (N, C, H, W)."""
    from sklearn.cluster import KMeans

    g = torch.Generator().manual_seed(seed)
    subset = images[torch.randperm(len(images), generator=g)[: options.fit_images]]
    pixels = subset.permute(0, 2, 3, 1).reshape(-1, subset.shape[1])
    pixels = pixels[torch.randperm(len(pixels), generator=g)[: options.fit_pixels]]
    k = min(options.num_colors, len(torch.unique(pixels, dim=0)))
    kmeans = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(pixels.double().numpy())
    centers = torch.from_numpy(kmeans.cluster_centers_).float().clamp(-1, 1)
    return centers[centers.sum(dim=1).argsort()]  # dark to light, for a stable order


def nearest_color(x: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) images -> (N, H, W) indices of the nearest palette colour."""
    pixels = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
    index = torch.cdist(pixels, palette.to(pixels)).argmin(dim=1)
    return index.view(x.shape[0], x.shape[2], x.shape[3])


def quantize(x: torch.Tensor, palette: torch.Tensor) -> dict[str, torch.Tensor]:
    """Replace every pixel by its nearest palette colour: ``{"x": palette image, "index": (N, H, W) classes}``."""
    index = nearest_color(x, palette)
    return {"x": palette.to(x.device)[index].permute(0, 3, 1, 2).contiguous(), "index": index}
