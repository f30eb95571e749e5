"""The options every image dataset takes, and the contract of the transforms that plugins register.

The core's own options are general: ``channels``, ``image_size`` and ``pad``, applied in that order.
Everything else a dataset does to its images is a registered transform
(``gan_register_transforms``), listed in the dataset's ``transforms`` option and applied after them,
in the order listed::

    data: {name: mnist5k, image_size: 32, transforms: [{name: my-transform, strength: 0.5}]}

Transforms run once, when the data is built (in memory, on the whole tensor), or per item inside
DataLoader workers (data read from disk); their random choices come from a generator seeded by
``transform_seed`` (and the item's index in a DataLoader), so the same data comes back every time.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from ..bounds import Seed
from ..errors import UserError
from ..registry import StrictModel, TransformRef


class ImageOptions(StrictModel):
    """Options shared by every image dataset."""

    image_size: int | None = Field(None, ge=4, description="resize images to this side (bilinear); null keeps the native size")
    pad: int = Field(0, ge=0, description="pixels of background added on every side (after resizing)")
    channels: Literal[1, 3] | None = Field(None, description="convert to 1 (grey) or 3 (RGB) channels; null keeps the native ones")
    transforms: list[TransformRef] = Field(
        default_factory=list, description="registered transforms applied after channels, image_size and pad, in this order, "
        "e.g. [{name: NAME, ...}] (`gan list transforms` shows them)"
    )
    transform_seed: Seed = Field(0, description="seed of the random transforms (and of any subset a transform picks)")
    in_memory: bool | Literal["auto"] = Field(
        "auto", description="keep the data on the training device as one tensor (fast), or read it through a DataLoader; auto decides by size"
    )
    memory_limit_gb: float = Field(2.0, gt=0, description="auto: data larger than this (as float32) goes through a DataLoader")
    num_workers: int = Field(2, ge=0, description="DataLoader worker processes (when not in memory)")


class ImageTransform:
    """What a registered transform's factory returns. Override ``__call__``, and the others when needed.

    ``fit_images``: when above 0, ``fit`` is called once, before any item is transformed, with up
    to that many images (as the transforms before this one left them), e.g. to learn a palette."""

    fit_images: int = 0

    def fit(self, images: torch.Tensor, seed: int) -> None:
        """Learn what the transform needs from ``images`` ``(N, C, H, W)`` in [-1, 1]."""

    def __call__(self, items: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """A batch of items (``x``: ``(N, C, H, W)`` images in [-1, 1]; ``y``: labels, when the data have
        them) transformed; it may add tensors (e.g. per-pixel classes). Draw randomness from ``generator``."""
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """Facts the dataset adds to ``data.info`` (e.g. a palette); read after ``fit``."""
        return {}

    def finish(self, data, seed: int):
        """A step on the whole dataset once its items are made (a ``TensorData`` or ``LoaderData``), e.g. a
        second stream of some of the samples (``seed``: the dataset's ``transform_seed``, to pick them);
        returns the dataset to use."""
        return data


def build_transforms(options: ImageOptions, ctx) -> list[ImageTransform]:
    """The registered transforms that ``options.transforms`` lists, built through the dataset's ``BuildContext``."""
    return [ctx.build(ref, f"transforms.{i}") for i, ref in enumerate(options.transforms)]


def apply(x: torch.Tensor, options: ImageOptions) -> torch.Tensor:
    """The core's own transforms (channels, resize, pad) on a batch of images in [-1, 1], shape (N, C, H, W)."""
    if options.channels == 1 and x.shape[1] == 3:
        x = x.mean(dim=1, keepdim=True)
    elif options.channels == 3 and x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if options.image_size and (x.shape[-2], x.shape[-1]) != (options.image_size, options.image_size):
        x = F.interpolate(x, size=(options.image_size, options.image_size), mode="bilinear", align_corners=False).clamp(-1, 1)
    if options.pad:
        x = F.pad(x, [options.pad] * 4, value=-1.0)
    return x.contiguous()


def per_class_subset(y: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Sorted indices of ``per_class`` samples of every class, fixed by ``seed`` and the labels alone.

    The one choice of "k samples of each class": a fixed test split, a labelled subset and the
    ``linear-probe`` metric's ``labels_per_class`` all use it, so the same seed picks the same samples."""
    y = y.cpu()
    g = torch.Generator().manual_seed(seed)
    picked = []
    for label in y.unique():
        where = (y == label).nonzero().flatten()
        if len(where) < per_class:
            raise UserError(f"{per_class} samples per class were asked for, but class {int(label)} has only {len(where)}")
        picked.append(where[torch.randperm(len(where), generator=g)[:per_class]])
    return torch.cat(picked).sort().values
