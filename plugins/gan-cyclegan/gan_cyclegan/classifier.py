"""Digit classifiers and feature networks for coloured digits: ``lenet-mnist-strokes`` and ``lenet-mnist-colored``.

gancore's ``gan train-features`` trains its LeNet on grey 28x28 digits only, and
gancore turns RGB into grey by brightness, which erases a coloured digit whose
stroke and background are about as bright (lenet-mnist reads 27.5% of coloured
mnist5k test digits right). Two ways around it, for two jobs:

* ``lenet-mnist-strokes`` reads the digit whatever its colours: each image is
  projected onto its main colour axis (a digit painted w·fg + (1 − w)·bg lies on
  the line from bg to fg), turned so that the background, most of the pixels, is
  dark, stretched to [-1, 1], and given to gancore's ``lenet-mnist``. It scores
  99.1% on coloured mnist5k test digits, as lenet-mnist does on grey ones, so it
  is the class judge of ``translation-accuracy`` in the coloured domain. Being
  blind to colour, it is no feature network for FID there.
* ``lenet-mnist-colored`` sees colour, so it is the feature network of FID in the
  coloured domain. It is gancore's LeNet with a 3-channel first layer, trained by
  ``gan train-features --data`` (gancore's recipe: Adam with a one-cycle rate,
  random shifts of up to 2 pixels) on coloured mnist5k; it classifies 95.8% of the
  coloured test digits right (the random colour pairs are hard to learn from 4,000
  images), which is fine for features and too coarse to judge translations. Its
  JSON record says how it was trained (in the run-file syntax of the time); any
  other classifier comes the same way::

    gan train-features --data '{name: mnist5k, split: train, transforms: [{name: colorize, mode: random}]}' \\
        --test-data '{name: mnist5k, split: test, transforms: [{name: colorize, mode: random}]}' --output colored.safetensors

Both are registered as feature networks (``gan_register_features``), so any metric's ``features:``
and ``translation-accuracy``'s classifiers can name them.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gancore.metrics.features import ExtractorOptions, LeNet, TrainedLeNet, lenet_mnist

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SHIPPED = {"lenet-mnist-colored": WEIGHTS_DIR / "lenet-mnist-colored.safetensors"}


def stroke_intensity(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` images in [-1, 1] as ``(N, 1, H, W)`` grey: each image's pixels projected onto its
    main colour axis (first principal component), the background (the median side) dark, stretched to [-1, 1]."""
    n, _, h, w = x.shape
    pixels = x.float().flatten(2)
    centred = pixels - pixels.mean(dim=2, keepdim=True)
    _, axes = torch.linalg.eigh(centred @ centred.transpose(1, 2))  # per-image 3x3 colour covariance
    projected = (centred * axes[:, :, -1:]).sum(dim=1)
    projected = projected * torch.where(projected.median(dim=1).values > 0, -1.0, 1.0).unsqueeze(1)
    low, high = projected.min(dim=1, keepdim=True).values, projected.max(dim=1, keepdim=True).values
    return ((projected - low) / (high - low).clamp_min(1e-8) * 2 - 1).view(n, 1, h, w)


class StrokeFeatures(nn.Module):
    """gancore's ``lenet-mnist`` on ``stroke_intensity(x)``: a digit classifier for any two-colour digit."""

    name = "lenet-mnist-strokes"
    num_features = LeNet.NUM_FEATURES

    def __init__(self, options: ExtractorOptions | None = None) -> None:
        super().__init__()
        self.lenet = lenet_mnist(options or ExtractorOptions())  # the network gancore registers as lenet-mnist

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.lenet.features(stroke_intensity(x))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.lenet.logits(stroke_intensity(x))


def colored_lenet(options: ExtractorOptions) -> TrainedLeNet:
    """The shipped ``lenet-mnist-colored``: gancore's LeNet with a colour first layer, trained on coloured mnist5k."""
    net = TrainedLeNet(SHIPPED["lenet-mnist-colored"])
    net.name = "lenet-mnist-colored"  # not the file's path: metrics key their cached real features by it
    return net


def stroke_features(options: ExtractorOptions) -> StrokeFeatures:
    return StrokeFeatures(options)
