"""``gan bgan quantize``: turn a folder of images into palette PNGs that BGAN can model.

A k-means palette of ``--num-colors`` colours is learnt on the pixels of a
random subset of the images (as the reference's ``create_quantized_celeba.py``,
which finds it better than Pillow's median cut). Every image is then
centre-cropped, resized, and each pixel replaced by the index of its nearest
palette colour, and written as a palette ("P" mode) PNG: the indices are the
pixel values and the palette rides along in the file. PNG palettes hold at most
256 colours. The plugin's ``palette-folder`` dataset reads such a folder back as
class indices (``index``) and the palette (``info["palette"]``)::

    gan bgan quantize --num-colors 16 --size 64 ~/data/celeba/img_align_celeba data/celeba-16
    gan run --plugin bgan --set data.name=palette-folder --set data.root=data/celeba-16

Sub-folders (classes) are kept: SRC/cat/1.jpg becomes DST/cat/1.png.

A file that does not load as an image (empty, truncated, not an image, a decompression bomb) is an error that
names it, whichever file it is, as for the image-folder dataset; every file's header is read before anything is
written. ``--skip-bad-files`` leaves such files out instead, and a warning counts them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np
import torch

from gancore import UserError
from gancore.bounds import SEED_LIMIT
from gancore.data.vision import IMAGE_SUFFIXES, open_image

from .transforms import QuantizeConfig, fit_palette, nearest_color

GREY_MODES = ("L", "1", "I;16", "I", "LA")
PREFIX = "gan bgan quantize: "
SKIP_HINT = "delete it, or pass --skip-bad-files to leave out files that do not load"


@dataclass
class QuantizeReport:
    images: int
    palette: np.ndarray  # (K, 3) uint8 colours as written
    channels: int
    destination: Path
    skipped: list[Path] = field(default_factory=list)  # files left out by skip_bad_files: they do not load as images


def list_images(src: Path) -> list[Path]:
    """Image files under ``src`` (any depth), relative to it, sorted."""
    if not src.is_dir():
        raise UserError(f"gan bgan quantize: '{src}' is not a folder of images")
    files = sorted(p.relative_to(src) for p in src.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise UserError(f"gan bgan quantize: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under '{src}'")
    return files


def read_image(path: Path, size: int | None, channels: int) -> torch.Tensor:
    """(C, H, W) in [-1, 1]: centre-cropped to a square and resized (Lanczos) when ``size`` is given. A file that
    does not load as an image is a ``UserError`` naming it (``gancore.data.vision.open_image``)."""
    from PIL import Image, ImageOps

    with open_image(path, PREFIX, SKIP_HINT) as image:
        image = image.convert("L" if channels == 1 else "RGB")
        if size:
            image = ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)
        array = np.asarray(image, dtype=np.float32)
    x = torch.from_numpy(array.copy())
    x = x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1)
    return x.div(255.0).mul(2.0).sub(1.0)


def detect_channels(path: Path) -> int:
    """1 for a grey image file, else 3 (from its header); a file that does not open is a ``UserError`` naming it."""
    with open_image(path, PREFIX, SKIP_HINT) as image:
        return 1 if image.mode in GREY_MODES else 3


def learn_palette(images: torch.Tensor, num_colors: int, fit_pixels: int, seed: int) -> np.ndarray:
    """k-means colours of ``images`` (N, C, H, W), as the (K, 3) uint8 RGB rows a PNG palette holds
    (grey ones repeated over R, G and B), dark to light, duplicates after rounding removed."""
    options = QuantizeConfig(num_colors=num_colors, fit_images=len(images), fit_pixels=max(100, fit_pixels))
    centers = fit_palette(images, options, seed)  # (K, C) in [-1, 1]
    rgb = centers.expand(-1, 3) if centers.shape[1] == 1 else centers
    colours = np.rint((rgb.numpy() + 1.0) / 2.0 * 255.0).clip(0, 255).astype(np.uint8)
    _, first = np.unique(colours, axis=0, return_index=True)
    return colours[np.sort(first)]


def quantize_folder(
    src: Path, dst: Path, *, num_colors: int = 16, size: int | None = 64, fit_images: int = 500, fit_pixels: int = 50_000,
    channels: int | None = None, seed: int = 0, overwrite: bool = False, progress: bool = False, skip_bad_files: bool = False,
) -> QuantizeReport:
    """Learn a palette on a subset of ``src`` and write every image as a palette PNG under ``dst``.

    A file that does not load as an image is a ``UserError`` naming it; with ``skip_bad_files`` it is left out and
    listed in the report's ``skipped``. Every file's header is read first, so a file that is not an image at all
    stops the command before anything is written."""
    from PIL import Image

    if not 2 <= num_colors <= 256:
        raise UserError(f"gan bgan quantize: --num-colors must be between 2 and 256 (a PNG palette holds at most 256), not {num_colors}")
    src, dst = Path(src).expanduser(), Path(dst).expanduser()
    files = list_images(src)
    if dst.exists() and any(dst.iterdir()) and not overwrite:
        raise UserError(f"gan bgan quantize: '{dst}' is not empty; pass --overwrite to write into it anyway")
    skipped: list[Path] = []
    files = _openable(src, files, skipped if skip_bad_files else None)
    channels = channels or detect_channels(src / files[0])

    # The palette: k-means on pixels of a random subset of the images.
    order = torch.randperm(len(files), generator=torch.Generator().manual_seed(seed))[:fit_images]
    read = {int(i): _read_checked(src / files[int(i)], size, channels, skipped if skip_bad_files else None) for i in order}
    if skip_bad_files and any(x is None for x in read.values()):
        files = [rel for i, rel in enumerate(files) if read.get(i, 0) is not None]
        _none_left(src, files, skipped)
    subset = torch.stack([x for x in read.values() if x is not None])
    palette = learn_palette(subset, num_colors, fit_pixels, seed)
    grey = palette[:, :1] if channels == 1 else palette
    colours = torch.from_numpy(grey.astype(np.float32)).div(255.0).mul(2.0).sub(1.0)  # exactly what the PNG will hold
    flat_palette = palette.flatten().tolist()

    # Every image: nearest palette colour per pixel, written as a "P" PNG.
    bar = _progress(len(files), progress)
    written = 0
    for rel in files:
        try:
            x = _read_checked(src / rel, size, channels, skipped if skip_bad_files else None)
        except UserError as exc:
            done = f" ({written} of {len(files)} images were written to '{dst}' before it)" if written else ""
            raise UserError(f"{exc}{done}") from None
        if x is None:
            bar.update(1)
            continue
        index = nearest_color(x.unsqueeze(0), colours)[0].numpy().astype(np.uint8)
        image = Image.frombytes("P", (index.shape[1], index.shape[0]), index.tobytes())
        image.putpalette(flat_palette)
        out = (dst / rel).with_suffix(".png")
        out.parent.mkdir(parents=True, exist_ok=True)
        image.save(out, format="PNG", optimize=True)
        written += 1
        bar.update(1)
    bar.close()
    return QuantizeReport(written, palette, channels, dst, sorted(skipped))


def _openable(src: Path, files: list[Path], skipped: list[Path] | None) -> list[Path]:
    """``files`` whose headers open as images: the others are an error naming the first, or (``skipped`` given)
    added to ``skipped`` and left out."""
    good = []
    for rel in files:
        try:
            with open_image(src / rel, PREFIX, SKIP_HINT):
                good.append(rel)
        except UserError:
            if skipped is None:
                raise
            skipped.append(src / rel)
    _none_left(src, good, skipped)
    return good


def _none_left(src: Path, files: list[Path], skipped: list[Path] | None) -> None:
    if not files:
        raise UserError(f"{PREFIX}none of the {len(skipped or [])} image files under '{src}' loads as an image")


def _read_checked(path: Path, size: int | None, channels: int, skipped: list[Path] | None = None) -> torch.Tensor | None:
    """``read_image``; a file that does not load is an error naming it, or (``skipped`` given) None and added to it."""
    try:
        return read_image(path, size, channels)
    except UserError:
        if skipped is None:
            raise
        skipped.append(path)
        return None


def skipped_warning(skipped: list[Path]) -> str:
    shown = ", ".join(f"'{p}'" for p in skipped[:3]) + (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "")
    return f"warning: gan bgan quantize: skipped {len(skipped)} file(s) that do not load as images: {shown}"


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, unit="image", dynamic_ncols=True, mininterval=0.5)


def add_commands(cli: click.Group) -> None:
    @cli.group()
    def bgan():
        """Boundary-seeking GAN tools."""

    @bgan.command()
    @click.argument("src", type=click.Path(file_okay=False, path_type=Path))
    @click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--num-colors", type=click.IntRange(2, 256), default=16, show_default=True, help="palette size (PNG palettes hold at most 256)")
    @click.option("--size", type=click.IntRange(min=4), default=64, show_default=True, help="centre-crop to a square and resize to this side; 0 keeps the size")
    @click.option("--fit-images", type=click.IntRange(min=1), default=500, show_default=True, help="random images the palette is learnt on")
    @click.option("--fit-pixels", type=click.IntRange(min=100), default=50_000, show_default=True, help="pixels of those images given to k-means")
    @click.option("--channels", type=click.Choice(["auto", "1", "3"]), default="auto", show_default=True, help="grey (1) or colour (3) palette; auto: the first image's mode")
    @click.option("--seed", type=click.IntRange(0, SEED_LIMIT - 1), default=0, show_default=True, help="seed of the subset and of k-means")
    @click.option("--overwrite", is_flag=True, help="write into a DST that already holds files")
    @click.option("--skip-bad-files", is_flag=True, help="leave out files that do not load as images (a warning counts them); "
                  "without it the first one is an error naming it")
    def quantize(src, dst, num_colors, size, fit_images, fit_pixels, channels, seed, overwrite, skip_bad_files):
        """Learn a k-means palette on a subset of SRC and write every image as a palette PNG in DST.

        The palette-folder dataset reads DST back as colour indices plus the palette:
        gan run --plugin bgan --set data.name=palette-folder --set data.root=DST
        """
        report = quantize_folder(
            src, dst, num_colors=num_colors, size=size or None, fit_images=fit_images, fit_pixels=fit_pixels,
            channels=None if channels == "auto" else int(channels), seed=seed, overwrite=overwrite, progress=True,
            skip_bad_files=skip_bad_files,
        )
        if report.skipped:
            click.echo(skipped_warning(report.skipped), err=True)
        kind = "grey" if report.channels == 1 else "RGB"
        click.echo(f"wrote {report.images} palette PNGs with {len(report.palette)} {kind} colours to {report.destination}")
        click.echo(f"train on them: gan run --plugin bgan --set data.name=palette-folder --set data.root={shlex.quote(str(report.destination))}")
