"""Feature networks for FID, KID, inception score and precision/recall.

Every metric that compares distributions in a feature space takes a
``features`` option naming one of these extractors, or ``auto`` (the default),
which picks one when the metric runs, from the data it compares with:
``pixels`` for points; ``inception`` when its weights file is present;
otherwise ``lenet-digits`` for scikit-learn's digits and ``lenet-mnist`` for
MNIST (datasets say which in ``info["domain"]``); otherwise an error that says
how to get the Inception weights (``gan weights fetch inception``).

``inception``
    The FID Inception-v3 of pytorch-fid / TTUR (2048 pool features, 1008 class
    logits). Its weights are not shipped and never downloaded: put the file
    ``pt_inception-2015-12-05-6726825d.pth`` in ``~/.cache/gancore/`` (``gan weights
    fetch inception`` does, where there is a network) or point
    ``$GANCORE_INCEPTION_WEIGHTS`` (or the metric's ``inception_weights``
    option) at it. Images are resized to 299x299 (bilinear); grey images are
    repeated to three channels.
``lenet-mnist``, ``lenet-digits``
    Small digit classifiers (128 features, 10 class logits) trained by
    ``gan train-features`` on mnist5k and on scikit-learn's digits, shipped in
    ``gancore/metrics/weights/``. Images are resized to 28x28 (bilinear,
    antialiased when shrinking); RGB is turned grey with ITU-R 601 weights.
``pixels``
    The raw values, flattened: points, or images without a network.

Images are what generators output: ``(N, C, H, W)`` in [-1, 1]. These four are
registered by the builtin ``metrics`` plugin; plugins add networks with the
``gan_register_features`` hook (``gancore.FeatureNetwork(name, factory)``, where
``factory(options)`` returns a ``FeatureExtractor``), and a name registered twice
is reported as every other clash is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError
from .base import EvalContext, apply_batched

AUTO = "auto"
# The LeNet for each digit domain a dataset declares in info["domain"].
DOMAIN_EXTRACTORS = {"digits": "lenet-digits", "mnist": "lenet-mnist"}

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class FeatureExtractor(Protocol):
    """What a metric needs from a feature network."""

    name: str
    num_features: int

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, num_features)`` features of a batch of samples in data space."""

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, num_classes)`` class logits (inception score); raise ``UserError`` if there are none."""


@dataclass(frozen=True)
class ExtractorOptions:
    inception_weights: str | None = None


def check_extractor_name(registry, name: str, *, auto: bool = False) -> str:
    """``name`` if it names a feature network (registered, or a LeNet ``.safetensors`` file; with ``auto``,
    also ``auto``); else a ``UserError`` listing the registered ones."""
    if is_weights_file(name) or (auto and name == AUTO) or name in registry.entries["features"]:
        return name
    names = ([AUTO] if auto else []) + registry.names("features")
    raise UserError(
        f"unknown feature network '{name}'; choose one of {', '.join(names)}, or the path of a .safetensors file "
        "from `gan train-features --data` (plugins add networks with the gan_register_features hook)"
    )


def auto_extractor(registry, kind: str, info: dict, options: ExtractorOptions = ExtractorOptions()) -> str:
    """What ``features: auto`` means for data of ``kind`` ('image' or 'points') described by ``info``."""
    from .inception import inception_weights_path

    if kind == "points":
        return "pixels"
    reason = "no feature network named 'inception' is registered."
    if "inception" in registry.entries["features"]:
        try:
            inception_weights_path(options.inception_weights)
            return "inception"
        except UserError as missing:
            reason = str(missing)
    domain = info.get("domain")
    if domain in DOMAIN_EXTRACTORS and DOMAIN_EXTRACTORS[domain] in registry.entries["features"]:
        return DOMAIN_EXTRACTORS[domain]
    raise UserError(
        f"features: auto found no feature network for these images. They are not a digit dataset (lenet-digits and lenet-mnist "
        f"ship with gancore, for digits only), so they need Inception: {reason} Or set the metric's features option "
        f"(pixels compares raw values)."
    )


_cache: dict[tuple, FeatureExtractor] = {}


def get_extractor(registry, name: str, options: ExtractorOptions | None = None) -> FeatureExtractor:
    """The feature network ``name`` (registered, or a LeNet ``.safetensors`` file), built once per process
    (its weights load once)."""
    options = options or ExtractorOptions()
    check_extractor_name(registry, name)
    if is_weights_file(name):
        key: tuple = ("file", str(Path(name).expanduser().resolve()))
    else:
        entry = registry.get("features", name)
        key = (entry.plugin, name, entry.factory, options)
    if key not in _cache:
        _cache[key] = TrainedLeNet(name) if is_weights_file(name) else registry.get("features", name).factory(options)
    return _cache[key]


# ----------------------------------------------------------------- extraction


def extract(extractor: FeatureExtractor, x: torch.Tensor, *, logits: bool = False, device: torch.device | None = None) -> torch.Tensor:
    """Features (or logits) of ``x`` in batches, returned on the CPU as float32."""
    if isinstance(extractor, nn.Module) and device is not None:
        extractor.to(device)
    return apply_batched(extractor.logits if logits else extractor.features, x, device)


def generated_features(ctx: EvalContext, extractor: FeatureExtractor, n: int, *, source: str = "sample",
                       direction: str | None = None, logits: bool = False) -> torch.Tensor:  # fmt: skip
    """Features of all ``n`` generated samples (see ``EvalContext.generated``), on every process, in single-process order.

    Each process runs the network on its own share only; the features are then gathered.
    """
    local = extract(extractor, ctx.generated(n, source, direction), logits=logits, device=ctx.device)
    return ctx.gather_chunks(local, ctx.generated_count(n, source, direction))


def real_features(ctx: EvalContext, extractor: FeatureExtractor, n: int, split: dict[str, torch.Tensor] | None = None,
                  key: str = "x") -> torch.Tensor:  # fmt: skip
    """Features of the first ``n`` real samples of a fixed shuffle of tensor ``key`` (of ``split`` or the run's data)."""
    total = len((split if split is not None else ctx.data.tensors)[key])
    n = min(n, total)
    return ctx.gather_chunks(extract(extractor, ctx.real(n, key, split=split), device=ctx.device), n)


# ---------------------------------------------------------------------- pixels


class PixelFeatures:
    """The samples themselves, flattened."""

    name = "pixels"
    num_features = -1  # whatever the data has

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).float()

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        raise UserError("features 'pixels' have no class logits; the inception score needs 'inception' or a 'lenet-*' network")


# ----------------------------------------------------------------------- LeNet


def to_grey(x: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, C, H, W)`` images in [-1, 1] to ``(N, 1, size, size)`` grey images in [-1, 1]."""
    if x.dim() != 4:
        raise UserError(f"a LeNet feature network needs images (N, C, H, W), got samples of shape {tuple(x.shape[1:])}; use features: pixels")
    x = x.float()
    if x.shape[1] == 3:
        x = (x * x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    elif x.shape[1] != 1:
        raise UserError(f"a LeNet feature network needs grey or RGB images, got {x.shape[1]} channels")
    if x.shape[-2:] != (size, size):
        shrink = x.shape[-1] > size or x.shape[-2] > size
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    return x.clamp(-1, 1)


def to_rgb(x: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, C, H, W)`` images in [-1, 1] to ``(N, 3, size, size)`` in [-1, 1]: grey repeated, resized."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise UserError(f"a colour LeNet needs grey or RGB images (N, C, H, W), got samples of shape {tuple(x.shape[1:])}")
    x = x.float().expand(-1, 3, -1, -1) if x.shape[1] == 1 else x.float()
    if x.shape[-2:] != (size, size):
        shrink = x.shape[-1] > size or x.shape[-2] > size
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    return x.clamp(-1, 1)


class LeNet(nn.Module):
    """A LeNet-style classifier on 28x28 images: three 3x3 conv layers, then a 128-unit
    hidden layer (the features) and the class logits. About 131k parameters.

    With ``in_channels=1`` (the shipped lenet-mnist and lenet-digits) it sees grey
    images (RGB is turned grey by brightness); with 3 it sees colour (grey is repeated)."""

    INPUT_SIZE = 28
    NUM_FEATURES = 128

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"LeNet takes 1 or 3 input channels, not {in_channels}")
        self.in_channels, self.num_classes = in_channels, num_classes
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 14x14
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 7x7
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 3x3
            nn.Flatten(),
            nn.Linear(64 * 3 * 3, self.NUM_FEATURES), nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(self.NUM_FEATURES, num_classes)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Samples in data space as this network's input: 28x28, grey or RGB."""
        return to_grey(x, self.INPUT_SIZE) if self.in_channels == 1 else to_rgb(x, self.INPUT_SIZE)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.prepare(x))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


class LeNetFeatures(LeNet):
    """A trained LeNet, loaded from a safetensors file, always in eval mode."""

    num_features = LeNet.NUM_FEATURES

    def __init__(self, name: str, dataset: str) -> None:
        super().__init__()
        self.name = name
        path = lenet_weights(dataset)
        if not path.is_file():
            raise UserError(
                f"the weights of features '{name}' are missing: {path}. Reinstall gancore, or make them with "
                f"`gan train-features --dataset {dataset}`"
            )
        hint = f"Reinstall gancore, or make them with `gan train-features --dataset {dataset}`"
        try:
            self.load_state_dict(read_weights(path, f"the weights of features '{name}'", hint))
        except RuntimeError as exc:  # the file is a safetensors file, of another network
            raise UserError(f"the weights of features '{name}' ({path}) do not fit its LeNet ({str(exc).splitlines()[0]}). {hint}.") from None
        self.eval()
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> "LeNetFeatures":
        return super().train(False)


class TrainedLeNet(LeNet):
    """A LeNet written by ``gan train-features --data ... --output FILE.safetensors``, always in eval
    mode: its input channels and classes are read from the weights. Usable wherever a metric takes
    ``features:`` or a classifier, by the file's path."""

    num_features = LeNet.NUM_FEATURES

    def __init__(self, path: str | Path) -> None:
        path = Path(path).expanduser()
        train = f"`gan train-features --data '{{name: ..., ...}}' --test-data '{{...}}' --output {path}`"
        if not path.is_file():
            raise UserError(f"the feature network '{path}' does not exist; train one on any labelled dataset with {train}")
        state = read_weights(path, "the feature network", f"Train it again with {train}")
        try:
            super().__init__(num_classes=state["head.weight"].shape[0], in_channels=state["body.0.weight"].shape[1])
            self.load_state_dict(state)
        except (KeyError, IndexError, RuntimeError, ValueError) as exc:
            raise UserError(f"'{path}' is not a LeNet written by `gan train-features` ({type(exc).__name__}: {exc})") from None
        self.name = str(path)
        self.eval()
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> "TrainedLeNet":
        return super().train(False)


def read_weights(path: Path, what: str, hint: str) -> dict[str, torch.Tensor]:
    """The tensors of the safetensors file ``path``, all finite; else a ``UserError`` that names it as ``what``
    and ends with ``hint`` (how to get a good copy). A damaged, truncated or foreign file is never a traceback."""
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - SafetensorError (bad header, truncated data), OSError, ...
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"{what} '{path}' is damaged or not a safetensors file ({type(exc).__name__}: {reason}). {hint}.") from None
    bad = [key for key, tensor in state.items() if tensor.is_floating_point() and not torch.isfinite(tensor).all()]
    if bad:
        raise UserError(f"{what} '{path}' holds NaN or Inf weights ({', '.join(bad[:3])}). {hint}.")
    return state


def is_weights_file(name: str) -> bool:
    """A ``features:`` value that names a LeNet file rather than a registered network."""
    return name.endswith(".safetensors")


# The dataset each shipped LeNet is trained on, by file stem.
LENET_DATASETS = {"digits": "lenet-digits", "mnist5k": "lenet-mnist"}


def lenet_weights(dataset: str) -> Path:
    """The shipped weights file of the LeNet trained on ``dataset`` ('digits' or 'mnist5k')."""
    return WEIGHTS_DIR / f"{LENET_DATASETS[dataset]}.safetensors"


def lenet_record(dataset: str) -> dict:
    """What ``gan train-features`` recorded next to the weights: data, command, test accuracy."""
    return json.loads(lenet_weights(dataset).with_suffix(".json").read_text())


def inception(options: ExtractorOptions) -> FeatureExtractor:
    from .inception import InceptionFeatures, inception_weights_path

    return InceptionFeatures(inception_weights_path(options.inception_weights))


def pixels(options: ExtractorOptions) -> FeatureExtractor:
    return PixelFeatures()


def lenet_mnist(options: ExtractorOptions) -> FeatureExtractor:
    return LeNetFeatures("lenet-mnist", "mnist5k")


def lenet_digits(options: ExtractorOptions) -> FeatureExtractor:
    return LeNetFeatures("lenet-digits", "digits")
