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
  coloured domain. It is a ``ColorLeNet``, gancore's LeNet with a 3-channel first
  layer, trained by gancore's recipe (``gancore.metrics.train_features``: Adam
  with a one-cycle rate, random shifts of up to 2 pixels) on coloured mnist5k;
  it classifies 95.8% of the coloured test digits right (the random colour pairs
  are hard to learn from 4,000 images), which is fine for features and too coarse
  to judge translations. ``gan cyclegan train-classifier`` trains one on any
  labelled dataset config (the shipped file's command is in its JSON record)::

    gan cyclegan train-classifier --data '{name: mnist5k, colorize: {mode: random}}' \\
        --test-data '{name: mnist5k, split: test, colorize: {mode: random}}' --output colored.safetensors
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gancore import DatasetRef, UserError
from gancore.metrics import train_features
from gancore.metrics.features import LeNet, register_extractor, to_grey

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

    def __init__(self) -> None:
        from gancore.metrics.features import get_extractor

        super().__init__()
        self.lenet = get_extractor("lenet-mnist")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.lenet.features(stroke_intensity(x))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.lenet.logits(stroke_intensity(x))


def to_rgb(x: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, C, H, W)`` images in [-1, 1] as ``(N, 3, size, size)``: grey repeated, resized as gancore's LeNet input."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise UserError(f"a digit classifier needs grey or RGB images (N, C, H, W), got shape {tuple(x.shape)}")
    x = x.float().expand(-1, 3, -1, -1) if x.shape[1] == 1 else x.float()
    if x.shape[-2:] != (size, size):
        shrink = x.shape[-1] > size or x.shape[-2] > size
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    return x.clamp(-1, 1)


class ColorLeNet(LeNet):
    """gancore's LeNet (28x28 input, 128 features, 10 logits) with a first layer for 1 or 3 channels.
    With 1 it is gancore's network exactly (RGB turned grey); with 3 it sees colour."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10) -> None:
        super().__init__(num_classes)
        self.in_channels = in_channels
        if in_channels == 3:
            self.body[0] = nn.Conv2d(3, 32, 3, padding=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_channels == 1:
            return self.body(to_grey(x, self.INPUT_SIZE))
        return self.body(to_rgb(x, self.INPUT_SIZE))


class ClassifierFeatures(ColorLeNet):
    """A trained ``ColorLeNet`` from a safetensors file, always in eval mode: a gancore feature extractor."""

    num_features = LeNet.NUM_FEATURES

    def __init__(self, name: str, path: Path) -> None:
        from safetensors.torch import load_file

        if not Path(path).is_file():
            raise UserError(f"the classifier weights '{path}' do not exist; make them with `gan cyclegan train-classifier --data ... --output {path}`")
        state = load_file(str(path))
        super().__init__(in_channels=state["body.0.weight"].shape[1])
        self.name = name
        self.load_state_dict(state)
        self.eval()
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> "ClassifierFeatures":
        return super().train(False)


def register_extractors() -> None:
    """Make the shipped classifiers usable as ``features:`` of FID, KID... (called when the plugin loads)."""
    for name, path in SHIPPED.items():
        register_extractor(name, lambda options, name=name, path=path: ClassifierFeatures(name, path))
    register_extractor(StrokeFeatures.name, lambda options: StrokeFeatures())


def load_classifier(spec: str):
    """A classifier with ``logits(x)``: a feature network by name (``lenet-mnist``, ``lenet-mnist-colored``...)
    or a ``.safetensors`` file written by ``gan cyclegan train-classifier``."""
    from gancore.metrics.features import get_extractor

    if spec.endswith(".safetensors"):
        return ClassifierFeatures(Path(spec).stem, Path(spec).expanduser())
    return get_extractor(spec)


# ------------------------------------------------------------------ training


def labelled_tensors(ref: DatasetRef, option: str) -> dict[str, torch.Tensor]:
    from gancore.plugins import get_registry

    data = get_registry().build(ref, option)
    tensors = getattr(data, "tensors", None)
    if tensors is None or "y" not in tensors:
        raise UserError(f"{option}: dataset '{ref.name}' must be labelled and fit in memory (tensors x and y)")
    return {"x": tensors["x"].cpu(), "y": tensors["y"].cpu()}


def train_classifier(train: dict, test: dict, *, epochs: int = 30, seed: int = 0, batch_size: int = 64, lr: float = 1e-3,
                     describe: dict | None = None, log=print) -> tuple[ColorLeNet, dict]:
    """gancore's ``train_lenet`` recipe on any labelled tensors: grey data get the grey LeNet, RGB data the colour one."""
    torch.manual_seed(seed)
    net = ColorLeNet(in_channels=1 if train["x"].shape[1] == 1 else 3)
    prepare = (lambda x: to_grey(x, LeNet.INPUT_SIZE)) if net.in_channels == 1 else (lambda x: to_rgb(x, LeNet.INPUT_SIZE))
    x_train, y_train, x_test, y_test = prepare(train["x"]), train["y"], prepare(test["x"]), test["y"]
    seconds = train_features.fit(net, x_train, y_train, x_test, y_test, epochs=epochs, seed=seed, batch_size=batch_size, lr=lr, log=log)
    net.eval()
    record = {
        "network": f"gan_cyclegan.classifier.ColorLeNet ({net.in_channels} input channels, {sum(p.numel() for p in net.parameters())} parameters)",
        **(describe or {}),
        "train_images": len(x_train),
        "test_images": len(x_test),
        "train_accuracy": round(train_features.accuracy(net, x_train, y_train), 4),
        "test_accuracy": round(train_features.accuracy(net, x_test, y_test), 4),
        "epochs": epochs,
        "seed": seed,
        "batch_size": batch_size,
        "optimizer": f"Adam, one-cycle lr up to {lr}, random shifts of up to 2 pixels (gancore.metrics.train_features)",
        "seconds": round(seconds, 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    return net, record


def train_and_write(train_ref: DatasetRef, test_ref: DatasetRef, output: Path, *, epochs: int, seed: int, log=print) -> dict:
    """Train on ``train_ref``, score on ``test_ref``, write the weights and the JSON record; returns the record."""
    if output.suffix != ".safetensors":
        raise UserError(f"--output {output}: the weights file must end in .safetensors")
    train, test = labelled_tensors(train_ref, "--data"), labelled_tensors(test_ref, "--test-data")
    dump = lambda ref: json.dumps({"name": ref.name, **ref.options})  # noqa: E731
    describe = {"train_data": dump(train_ref), "test_data": dump(test_ref),
                "command": f"gan cyclegan train-classifier --data '{dump(train_ref)}' --test-data '{dump(test_ref)}' --epochs {epochs} --seed {seed}"}
    net, record = train_classifier(train, test, epochs=epochs, seed=seed, describe=describe, log=log)
    train_features.write(net, record, output)
    return record
