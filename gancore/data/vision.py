"""torchvision datasets (MNIST, Fashion-MNIST, CIFAR-10, SVHN, CelebA) and image folders.

Nothing downloads unless ``download: true``. A missing root is a clear error
that says where the files were expected.

CIFAR-10's batches are Python pickles, and unpickling runs whatever code a file
holds, so they keep torchvision's md5 check: nothing is unpickled from a file
whose md5 is not the one torchvision lists (a real copy prepared elsewhere
passes; a changed or damaged one is named and never opened). MNIST's idx
files, SVHN's .mat files and CelebA's JPEGs and text lists run no code when
read, so they are checked for presence only, and copies prepared elsewhere
(or made by tests) load too.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from pydantic import Field

from ..errors import UserError
from .pipeline import from_reader, from_tensors
from .transforms import ImageOptions

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@contextmanager
def open_image(path: str | Path, prefix: str = "", hint: str = "", *, refuse_large: bool = False) -> Iterator[PILImage]:
    """``PIL.Image.open(path)`` for the block, where the image is decoded; whatever PIL raises for a bad file, there or
    in the block (an empty or truncated file, one that is not an image, a decompression bomb), is one ``UserError``
    that names the file: ``"{prefix}cannot read the image '{path}' (...); it is damaged or not an image. {hint}."``.
    Every reader of image files (image-folder, CelebA, plugin commands) goes through it, so a bad first file and a bad
    later one get the same message.

    PIL refuses images over twice ``PIL.Image.MAX_IMAGE_PIXELS`` (about 179 million pixels) itself and warns over it;
    ``refuse_large`` refuses those too (commands that read files someone handed them), naming the file."""
    from PIL import Image

    path = Path(path)
    hint = f" {hint[0].upper()}{hint[1:]}." if hint else ""
    try:
        with warnings.catch_warnings() if refuse_large else nullcontext():
            if refuse_large:
                warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                yield image
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UserError(
            f"{prefix}refused the image '{path}': {exc} It was not decoded (PIL's guard against decompression bombs); "
            f"use a smaller image.{hint}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - PIL raises OSError, SyntaxError, ValueError, struct.error... for a bad file
        raise UserError(f"{prefix}cannot read the image '{path}' ({type(exc).__name__}: {exc}); it is damaged or not an image.{hint}") from None


class VisionConfig(ImageOptions):
    root: str = Field("data", description="folder that holds (or will receive) the dataset files")
    download: bool = Field(False, description="download the files into root if they are missing (needs internet)")
    split: Literal["train", "test"] = Field("train", description="which official split to read")


class CelebAConfig(VisionConfig):
    split: Literal["train", "valid", "test", "all"] = Field("train", description="which official split to read")
    image_size: int | None = Field(64, ge=4, description="resize the 178x218 photos to this side after a centre crop to 178x178")


class ImageFolderConfig(ImageOptions):
    root: str = Field(description="a folder of images, or of class sub-folders of images (torchvision ImageFolder layout)")
    image_size: int | None = Field(None, ge=4, description="resize (after a centre crop to a square); null keeps the size of the files, which must then agree")
    skip_bad_files: bool = Field(False, description="leave out files that do not load as images (each is decoded once at the start, and a warning counts them); off: the first one is an error naming it")


def _open(cls, config: VisionConfig, expected: str, **kwargs):
    """Instantiate a torchvision dataset, turning its 'not found' into a UserError naming the place,
    and files that are there but unreadable (or fail their md5) into one naming the file."""
    root = Path(config.root).expanduser()
    try:
        return cls(str(root), download=config.download, **kwargs)
    except Exception as exc:  # noqa: BLE001 - torchvision raises anything from garbage files (asserts, scipy...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        checked = _md5_problems(cls, root)
        if checked is not None:
            missing, changed = checked
            if changed:
                path, found, wanted = changed[0]
                more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
                raise UserError(
                    f"'{path}'{more} is damaged or not the {cls.__name__} file torchvision lists: its md5 is {found}, not {wanted}. "
                    "It was not loaded (CIFAR batches are pickles, which run code when read, so only files with the published "
                    "checksums are opened). Delete it and fetch a fresh copy (download: true), or point root at a good copy."
                ) from None
            if missing and len(missing) < len(_md5_files(cls)):
                shown = ", ".join(f"'{p}'" for p in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
                raise UserError(f"{cls.__name__} under '{root}' is incomplete: {shown} missing. Fetch the dataset again (download: true), or point root at a complete copy.") from None
        if isinstance(exc, (RuntimeError, FileNotFoundError)) and ("not found" in first.lower() or isinstance(exc, FileNotFoundError)):
            hint = "set download: true to fetch it" if not config.download else "the download failed (is there a network connection?)"
            raise UserError(f"{cls.__name__} files not found under '{root}' (expected {expected}); {hint}, or point root at a copy. ({first})") from None
        bad = _damaged_file(cls, root)
        what = f"'{bad}' is damaged or not a {cls.__name__} file" if bad else f"the {cls.__name__} files under '{root}' could not be read"
        raise UserError(
            f"{what} ({type(exc).__name__}: {first}). Delete it and fetch a fresh copy (download: true), or point root at a good copy."
        ) from None


def _md5_files(cls) -> list[tuple[str, str]]:
    """(file under the dataset's folder, md5) of the files torchvision checks before loading ``cls``; [] when it checks none."""
    listed = [*getattr(cls, "train_list", []), *getattr(cls, "test_list", [])] if getattr(cls, "_md5_checked", False) else []
    return [(str(name), str(md5)) for name, md5 in listed]


def _md5_problems(cls, root: Path) -> tuple[list[Path], list[tuple[Path, str, str]]] | None:
    """(missing files, (file, its md5, the listed md5) of files that differ) for a dataset whose files torchvision
    md5-checks; None for the others. The files are hashed, never parsed."""
    from torchvision.datasets.utils import calculate_md5

    listed = _md5_files(cls)
    if not listed:
        return None
    folder = root / getattr(cls, "base_folder", "")
    missing, changed = [], []
    for name, md5 in listed:
        path = folder / name
        if not path.is_file():
            missing.append(path)
            continue
        found = calculate_md5(path)
        if found != md5:
            changed.append((path, found, md5))
    return missing, changed


def _damaged_file(cls, root: Path) -> Path | None:
    """The first dataset file under ``root`` that does not parse (MNIST idx files, SVHN .mat). Nothing is
    unpickled: CIFAR batches are judged by their md5 alone (``_md5_problems``)."""
    candidates = sorted(p for p in root.rglob("*") if p.is_file())
    for path in candidates:
        try:
            if "ubyte" in path.name and not path.name.endswith((".gz", ".zip")):
                data = path.read_bytes()
                dims = data[3] if len(data) >= 4 else 0
                if len(data) < 4 + 4 * dims or data[:2] != b"\0\0" or data[2] != 8:
                    return path
                shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
                if len(data) != 4 + 4 * dims + int(np.prod(shape)):
                    return path
            elif path.suffix == ".mat":
                import scipy.io

                scipy.io.loadmat(str(path))  # MATLAB files hold arrays and structs; reading one runs no code
        except Exception:  # noqa: BLE001
            return path
    return None


def _presence_only(cls):
    """A subclass that accepts files that exist, without torchvision's md5 check."""

    def check(self) -> bool:
        base = Path(self.root) / getattr(self, "base_folder", "")
        names = [entry[0] if isinstance(entry, (list, tuple)) else entry for entry in getattr(self, "_expected_files", [])]
        return all((base / name).exists() for name in names) and bool(names)

    # CIFAR's class-name file is md5-checked on load too; the class names are not needed.
    return type(cls.__name__, (cls,), {"_check_integrity": check, "_load_meta": lambda self: None})


def _uint8_images(array: np.ndarray | torch.Tensor, channels_last: bool) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(array)).float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    elif channels_last:
        x = x.permute(0, 3, 1, 2)
    return x.div(255.0).mul(2.0).sub(1.0).contiguous()


def mnist(config: VisionConfig, ctx):
    from torchvision.datasets import MNIST

    ds = _open(MNIST, config, "MNIST/raw/train-images-idx3-ubyte etc.", train=config.split == "train")
    return from_tensors(_uint8_images(ds.data, False), ds.targets.long(), config, ctx, {"num_classes": 10, "domain": "mnist"})


def fashion_mnist(config: VisionConfig, ctx):
    from torchvision.datasets import FashionMNIST

    ds = _open(FashionMNIST, config, "FashionMNIST/raw/train-images-idx3-ubyte etc.", train=config.split == "train")
    return from_tensors(_uint8_images(ds.data, False), ds.targets.long(), config, ctx, {"num_classes": 10})


def cifar10(config: VisionConfig, ctx):
    from torchvision.datasets import CIFAR10

    # torchvision's own md5 check of every batch stays, before anything is unpickled. The class-name file
    # (batches.meta, md5-checked too) is not read: the class names are not needed.
    cls = type(CIFAR10.__name__, (CIFAR10,), {"_load_meta": lambda self: None, "_md5_checked": True})
    ds = _open(cls, config, "cifar-10-batches-py/data_batch_1..5 and test_batch", train=config.split == "train")
    return from_tensors(_uint8_images(ds.data, True), torch.tensor(ds.targets).long(), config, ctx, {"num_classes": 10})


def svhn(config: VisionConfig, ctx):
    from torchvision.datasets import SVHN

    cls = _presence_only(SVHN)
    cls._expected_files = [SVHN.split_list[config.split][1]]
    ds = _open(cls, config, f"{SVHN.split_list[config.split][1]}", split=config.split)
    return from_tensors(_uint8_images(ds.data, False), torch.from_numpy(ds.labels).long(), config, ctx, {"num_classes": 10})


def celeba(config: CelebAConfig, ctx):
    from torchvision.datasets import CelebA

    cls = _presence_only(CelebA)
    cls._expected_files = [name for _, _, name in CelebA.file_list if not name.endswith((".zip", ".7z"))] + ["img_align_celeba"]
    ds = _open(cls, config, "celeba/img_align_celeba/*.jpg and the celeba/*.txt lists", split=config.split, target_type=[])
    folder = Path(ds.root) / ds.base_folder / "img_align_celeba"
    files = [folder / name for name in ds.filename]
    return from_reader(lambda i: (_read_image(files[i], config.image_size, "delete it or fetch it again"), None), len(files), config, ctx)


def image_folder(config: ImageFolderConfig, ctx):
    root = Path(config.root).expanduser()
    if not root.is_dir():
        raise UserError(f"image-folder: '{root}' is not a folder. Point root at a folder of images or of class sub-folders.")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if classes:
        files = [(f, label) for label, c in enumerate(classes) for f in sorted((root / c).rglob("*")) if f.suffix.lower() in IMAGE_SUFFIXES]
    else:
        files = [(f, None) for f in sorted(root.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise UserError(f"image-folder: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under '{root}'")
    if config.skip_bad_files:
        files = _loadable(files, root)
    if config.image_size is None:
        _same_size(files)
    info: dict = {"num_classes": len(classes)} if classes else {}
    return from_reader(lambda i: (_read_image(files[i][0], config.image_size), files[i][1]), len(files), config, ctx, info)


SKIP_HINT = "delete it, or set data.skip_bad_files=true to leave out files that do not load"


def _loadable(files: list, root: Path) -> list:
    """``files`` without those that do not decode (``skip_bad_files``); a warning counts them."""
    import sys

    good, bad = [], []
    for item in files:
        try:
            _read_image(item[0], None)
            good.append(item)
        except UserError:
            bad.append(item[0])
    if bad:
        shown = ", ".join(f"'{p}'" for p in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        print(f"warning: image-folder: skipped {len(bad)} file(s) that do not load as images: {shown}", file=sys.stderr)
    if not good:
        raise UserError(f"image-folder: none of the {len(files)} files under '{root}' loads as an image")
    return good


def _same_size(files: list) -> None:
    """With no image_size every image must have the first one's size; read from the headers only."""
    first = None
    for path, _ in files:
        with open_image(path, hint=SKIP_HINT) as image:  # the message _read_image gives for the same file
            size = image.size
        if first is None:
            first = (path, size)
        elif size != first[1]:
            raise UserError(
                f"image-folder: the images differ in size ('{first[0]}' is {first[1][0]}x{first[1][1]}, '{path}' is "
                f"{size[0]}x{size[1]}) and data.image_size is not set; set it (e.g. --set data.image_size={min(first[1])}) "
                "to crop and resize them all to one square size."
            )


def _read_image(path: Path, size: int | None, hint: str = SKIP_HINT) -> torch.Tensor:
    from torchvision.transforms.functional import center_crop, pil_to_tensor, resize

    with open_image(path, hint=hint) as image:
        x = pil_to_tensor(image.convert("RGB" if image.mode not in ("L", "1", "I;16") else "L"))
    if size:
        side = min(x.shape[-2:])
        x = resize(center_crop(x, [side, side]), [size, size], antialias=True)
    return x.float().div(255.0).mul(2.0).sub(1.0)
