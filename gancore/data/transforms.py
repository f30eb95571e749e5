"""Transforms that every image dataset offers as options.

They run once, when the data is built (in memory, on the whole tensor), or per
item inside DataLoader workers; random choices are seeded by ``transform_seed``
(and by the item's index in a DataLoader), so the same data comes back every
time. Order: channels, resize, pad, colorize, binarize, quantize.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from ..errors import UserError
from ..registry import StrictModel


class QuantizeOptions(StrictModel):
    num_colors: int = Field(16, ge=2, le=256, description="palette size (k-means clusters)")
    fit_images: int = Field(500, ge=1, description="images the palette is learnt on")
    fit_pixels: int = Field(50_000, ge=100, description="pixels sampled from those images for k-means")


class ColorizeOptions(StrictModel):
    mode: Literal["random", "fixed"] = Field("random", description="random colours per image, or the fixed ones below")
    foreground: tuple[float, float, float] = Field((1.0, 0.0, 0.0), description="fixed mode: RGB of the strokes, in [0, 1]")
    background: tuple[float, float, float] = Field((0.0, 0.0, 0.0), description="fixed mode: RGB of the background, in [0, 1]")


class ImageOptions(StrictModel):
    """Options shared by every image dataset."""

    image_size: int | None = Field(None, ge=4, description="resize images to this side (bilinear); null keeps the native size")
    pad: int = Field(0, ge=0, description="pixels of background added on every side (after resizing)")
    channels: Literal[1, 3] | None = Field(None, description="convert to 1 (grey) or 3 (RGB) channels; null keeps the native ones")
    colorize: ColorizeOptions | None = Field(None, description="paint grey images with a foreground and background colour (coloured MNIST)")
    binarize: float | Literal["stochastic"] | None = Field(
        None, description="make pixels -1/1: a threshold on intensity in [0, 1], or 'stochastic' (Bernoulli with the intensity)"
    )
    quantize: QuantizeOptions | None = Field(None, description="map colours to a k-means palette; adds 'index' (class per pixel) and info.palette")
    labels_per_class: int | None = Field(
        None, ge=1, description="semi-supervised: keep labels for only this many samples per class, in a 'labeled' stream (x_labeled, y_labeled); the 'x' stream then has no labels"
    )
    unlabeled_labels: bool = Field(
        False, description="with labels_per_class: keep 'y' in the unlabelled stream too (off, so that no family trains on every label by accident)"
    )
    transform_seed: int = Field(0, description="seed of the random transforms and of the labelled subset")
    in_memory: bool | Literal["auto"] = Field(
        "auto", description="keep the data on the training device as one tensor (fast), or read it through a DataLoader; auto decides by size"
    )
    memory_limit_gb: float = Field(2.0, gt=0, description="auto: data larger than this (as float32) goes through a DataLoader")
    num_workers: int = Field(2, ge=0, description="DataLoader worker processes (when not in memory)")


def apply(x: torch.Tensor, options: ImageOptions, generator: torch.Generator) -> torch.Tensor:
    """Every transform but quantization, on a batch of images in [-1, 1], shape (N, C, H, W)."""
    if options.channels == 1 and x.shape[1] == 3:
        x = x.mean(dim=1, keepdim=True)
    elif options.channels == 3 and x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if options.image_size and (x.shape[-2], x.shape[-1]) != (options.image_size, options.image_size):
        x = F.interpolate(x, size=(options.image_size, options.image_size), mode="bilinear", align_corners=False).clamp(-1, 1)
    if options.pad:
        x = F.pad(x, [options.pad] * 4, value=-1.0)
    if options.colorize is not None:
        x = colorize(x, options.colorize, generator)
    if options.binarize is not None:
        intensity = (x + 1) / 2
        if options.binarize == "stochastic":
            on = torch.rand(intensity.shape, generator=generator) < intensity
        else:
            on = intensity > float(options.binarize)
        x = on.float() * 2 - 1
    return x.contiguous()


def quantize(x: torch.Tensor, palette: torch.Tensor) -> dict[str, torch.Tensor]:
    """Replace every pixel by its nearest palette colour: ``{"x": palette image, "index": (N, H, W) classes}``."""
    index = nearest_color(x, palette)
    return {"x": palette[index].permute(0, 3, 1, 2).contiguous(), "index": index}


def colorize(x: torch.Tensor, options: ColorizeOptions, generator: torch.Generator) -> torch.Tensor:
    if x.shape[1] != 1:
        raise UserError("colorize paints grey images; this dataset has colour images (drop colorize or set channels: 1)")
    n = x.shape[0]
    if options.mode == "fixed":
        fg = torch.tensor(options.foreground).expand(n, 3)
        bg = torch.tensor(options.background).expand(n, 3)
    else:
        fg, bg = torch.rand(n, 3, generator=generator), torch.rand(n, 3, generator=generator)
    weight = (x + 1) / 2  # stroke intensity in [0, 1]
    rgb = weight * fg[:, :, None, None] + (1 - weight) * bg[:, :, None, None]
    return rgb * 2 - 1


def fit_palette(images: torch.Tensor, options: QuantizeOptions, seed: int) -> torch.Tensor:
    """Learn a (K, C) palette in [-1, 1] with k-means on pixels of a subset of images."""
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


def labelled_subset(y: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Sorted indices of ``per_class`` samples of every class, fixed by ``seed`` and the labels alone.

    The one choice of "the labelled samples": a dataset's ``labels_per_class`` stream and the
    ``linear-probe`` metric's ``labels_per_class`` both use it, so they pick the same samples."""
    y = y.cpu()
    g = torch.Generator().manual_seed(seed)
    picked = []
    for label in y.unique():
        where = (y == label).nonzero().flatten()
        if len(where) < per_class:
            raise UserError(f"labels_per_class: {per_class} but class {int(label)} has only {len(where)} samples")
        picked.append(where[torch.randperm(len(where), generator=g)[:per_class]])
    return torch.cat(picked).sort().values
