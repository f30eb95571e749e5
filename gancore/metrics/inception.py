"""The FID Inception-v3, loaded from a local weights file; runs never download it
(``gan weights fetch inception`` does, checking its sha256).

This is the network of TTUR's FID (TensorFlow's 2015-12-05 Inception) as ported
by pytorch-fid (Apache-2.0): torchvision's Inception-v3 with 1008 classes, where
the average pools of the mixed blocks ignore padding and the last block max-pools.
The weights file is pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``
(https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth).
It is read with ``torch.load(weights_only=True)``, which accepts tensors only; a
``.safetensors`` copy of the same state dict works too.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import inception as tv

from ..errors import UserError

INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{INCEPTION_FILE}"
INCEPTION_ENV = "GANCORE_INCEPTION_WEIGHTS"
DEFAULT_DIR = Path("~/.cache/gancore")
# sha256 of pytorch-fid's file (95,628,359 bytes); as torch.hub names files, the name ends in its first 8 hex digits.
INCEPTION_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
assert INCEPTION_FILE.rsplit("-", 1)[1].removesuffix(".pth") == INCEPTION_SHA256[:8]


def inception_weights_path(option: str | None = None) -> Path:
    """The weights file: the metric's option, else ``$GANCORE_INCEPTION_WEIGHTS``, else
    ``~/.cache/gancore/pt_inception-2015-12-05-6726825d.pth``; a clear error if it is absent."""
    if option:
        path, source = Path(option).expanduser(), "the metric's inception_weights option"
    elif os.environ.get(INCEPTION_ENV):
        path, source = Path(os.environ[INCEPTION_ENV]).expanduser(), f"${INCEPTION_ENV}"
    else:
        path, source = (DEFAULT_DIR / INCEPTION_FILE).expanduser(), "the default location"
    if not path.is_file():
        raise UserError(
            f"features 'inception' need the FID Inception weights file {INCEPTION_FILE}, which is not at {path} "
            f"({source}). A run never downloads it: `gan weights fetch inception` does (it needs internet), or download "
            f"{INCEPTION_URL} on a machine with internet and put it at {DEFAULT_DIR / INCEPTION_FILE}, or set "
            f"{INCEPTION_ENV}=/path/to/{INCEPTION_FILE} (or the metric option inception_weights). "
            f"For digits, features: lenet-mnist or lenet-digits ship with gancore."
        )
    return path


def download(url: str, timeout: float = 60.0) -> bytes:
    """The body of ``url`` (tests replace this)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a fixed https URL
        return response.read()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_inception() -> tuple[Path, bool]:
    """Download pytorch-fid's Inception weights into ``~/.cache/gancore/``, checked against their sha256,
    written to a temporary file and renamed. Returns ``(path, downloaded)``; ``False``: a good copy was there."""
    target = (DEFAULT_DIR / INCEPTION_FILE).expanduser()
    by_hand = (
        f"On a machine with internet, download {INCEPTION_URL} and put the file at {target} (or anywhere, with "
        f"{INCEPTION_ENV}=/path/to/{INCEPTION_FILE}); its sha256 must be {INCEPTION_SHA256}."
    )
    if target.is_file() and sha256_of(target) == INCEPTION_SHA256:
        return target, False
    try:
        body = download(INCEPTION_URL)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise UserError(f"could not download the FID Inception weights ({reason}). {by_hand}") from None
    digest = hashlib.sha256(body).hexdigest()
    if digest != INCEPTION_SHA256:
        raise UserError(
            f"the file downloaded from {INCEPTION_URL} is not pytorch-fid's {INCEPTION_FILE}: its sha256 is {digest} "
            f"({len(body):,} bytes), nothing was written. {by_hand}"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{INCEPTION_FILE}.", suffix=".part")
    except OSError as exc:
        raise UserError(f"could not write the FID Inception weights to {target.parent}: {exc}. {by_hand}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise UserError(f"could not write the FID Inception weights to {target}: {exc}. {by_hand}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target, True


def _pool_without_padding(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's average pool leaves the zero padding out of the average.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(tv.InceptionA):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_pool_without_padding(x))], 1)


class FIDInceptionC(tv.InceptionC):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(_pool_without_padding(x))], 1)


class FIDInceptionE(tv.InceptionE):
    """``max_pool=True`` for the last block: the 2015 graph max-pools there."""

    def __init__(self, in_channels: int, max_pool: bool = False) -> None:
        super().__init__(in_channels)
        self.max_pool = max_pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else _pool_without_padding(x)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


def fid_inception_v3() -> tv.Inception3:
    """The architecture, with untrained weights (state-dict keys match pytorch-fid's file)."""
    net = tv.Inception3(num_classes=1008, aux_logits=False, init_weights=False)
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE(1280)
    net.Mixed_7c = FIDInceptionE(2048, max_pool=True)
    return net


def load_state(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from .features import read_weights

        return read_weights(path, "the Inception weights", "Fetch them again with `gan weights fetch inception`")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same advice
        raise UserError(f"could not read the Inception weights {path}: {exc}") from None


class InceptionFeatures(nn.Module):
    """2048 pool3 features and 1008 logits of the FID Inception, on 299x299 RGB input in [-1, 1]."""

    name = "inception"
    num_features = 2048
    INPUT_SIZE = 299

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.net = fid_inception_v3()
        try:
            self.net.load_state_dict(load_state(path))
        except RuntimeError as exc:
            raise UserError(f"{path} is not pytorch-fid's {INCEPTION_FILE}: {str(exc).splitlines()[0]}") from None
        self.eval()
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> "InceptionFeatures":
        return super().train(False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise UserError(f"features 'inception' need grey or RGB images (N, C, H, W), got samples of shape {tuple(x.shape[1:])}")
        x = x.float().expand(-1, 3, -1, -1) if x.shape[1] == 1 else x.float()
        x = F.interpolate(x, size=(self.INPUT_SIZE, self.INPUT_SIZE), mode="bilinear", align_corners=False)
        n = self.net
        for layer in (n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, n.maxpool1, n.Conv2d_3b_1x1, n.Conv2d_4a_3x3, n.maxpool2,
                      n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a, n.Mixed_6b, n.Mixed_6c, n.Mixed_6d, n.Mixed_6e,
                      n.Mixed_7a, n.Mixed_7b, n.Mixed_7c):  # fmt: skip
            x = layer(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.fc(self.features(x))
