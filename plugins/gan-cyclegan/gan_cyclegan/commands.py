"""``gan cyclegan translate`` (classifiers for translation-accuracy come from ``gan train-features --data``).

``translate`` rebuilds a run from its checkpoint as ``gan sample`` does
(``gancore.Run.from_checkpoint``), translates a folder of images or a ``.npy``
file with the EMA generator (when the run kept one) or the live one, and writes
each input and output as PNG plus ``DST/index.html``, a page of input | output
pairs, since people judge translations by looking at them::

    gan cyclegan translate runs/mnist-colored --direction a2b photos/ out/
    gan cyclegan translate runs/mnist-colored --direction b2a samples.npy out/   # also writes out/translated.npy

Whatever is wrong with the source is one message naming the file, before anything is written: an image that
does not load, or over PIL's decompression-bomb size (``gancore.data.vision.open_image``, which refuses PIL's
warning size too); a ``.npy`` that is not a plain array (it is read with ``allow_pickle=False``: an object array
or pickled data is refused, never unpickled), holds no images, has the wrong shape or non-numeric values, NaN or
infinite values, or values outside [-1, 1]; images of a size the generator cannot take.

DST is checked before the run is loaded (``gancore.outputs.check_writable_folder``: a file where it should be, a
folder no file can be made in), and every file is written beside its name and renamed over it
(``gancore.outputs.atomic_output``), so a write that fails leaves what was there before as it was.
"""

from __future__ import annotations

import html
from contextlib import nullcontext
from pathlib import Path

import click
import numpy as np
import torch

from gancore import UserError

from .algorithm import DIRECTIONS

BATCH = 64
PREFIX = "gan cyclegan translate: "
DESTINATION = "gan cyclegan translate: the destination DST"
NPY_HINT = "give a .npy as `gan sample -o FILE.npy` writes it: (N, C, H, W) float images in [-1, 1]"


def read_source(src: Path, channels: int, size: int) -> tuple[list[str], torch.Tensor, bool]:
    """(names, images (N, C, size, size) in [-1, 1], whether it was a .npy file) from a folder or a .npy file."""
    if src.suffix.lower() == ".npy":
        if not src.is_file():
            raise UserError(f"gan cyclegan translate: '{src}' does not exist")
        return *_read_npy(src, channels), True
    from gancore.data.vision import IMAGE_SUFFIXES

    if not src.is_dir():
        raise UserError(f"gan cyclegan translate: '{src}' is not a folder of images (or a .npy file)")
    files = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise UserError(f"gan cyclegan translate: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under '{src}'")
    names = [p.relative_to(src).with_suffix("").as_posix().replace("/", "__") for p in files]
    return names, torch.stack([_read_image(p, channels, size) for p in files]), False


def _read_image(path: Path, channels: int, size: int) -> torch.Tensor:
    from PIL import Image, ImageOps

    from gancore.data.vision import open_image

    # Any error PIL raises for the file, a decompression bomb (and PIL's warning size) included: a message naming it.
    with open_image(path, PREFIX, "delete it or move it out of the folder", refuse_large=True) as image:
        image = ImageOps.fit(image.convert("L" if channels == 1 else "RGB"), (size, size), Image.Resampling.BICUBIC)
        array = np.asarray(image, dtype=np.float32)
    x = torch.from_numpy(array.copy())
    x = x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1)
    return x.div(255.0).mul(2.0).sub(1.0)


def _read_npy(path: Path, channels: int) -> tuple[list[str], torch.Tensor]:
    """An array as ``gan sample -o x.npy`` writes it: (N, C, H, W) in [-1, 1]; (N, H, W) grey is accepted too.
    Read with ``allow_pickle=False``: an object array or pickled data is refused, never unpickled."""
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - ValueError (object arrays, pickles, bad headers), EOFError, OSError...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "an empty or cut-short file"
        raise UserError(
            f"{PREFIX}'{path}' could not be read as a plain .npy array ({type(exc).__name__}: {first}); object arrays and "
            f"pickled data are refused, since reading them runs code; {NPY_HINT}"
        ) from None
    if not isinstance(array, np.ndarray):  # an .npz archive under a .npy name
        array.close()
        raise UserError(f"{PREFIX}'{path}' is an .npz archive, not a .npy array; {NPY_HINT}")
    if array.dtype.kind not in "fiu":
        raise UserError(f"{PREFIX}'{path}' holds values of type {array.dtype}, not real numbers; {NPY_HINT}")
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[1] != channels:
        raise UserError(f"{PREFIX}'{path}' holds an array of shape {array.shape}; the source domain needs (N, {channels}, H, W) images in [-1, 1]")
    if array.size == 0:
        raise UserError(f"{PREFIX}'{path}' holds no images (its shape is {array.shape}); {NPY_HINT}")
    finite = np.isfinite(array)
    if not finite.all():
        nan = int(np.isnan(array).sum())
        raise UserError(
            f"{PREFIX}'{path}' has {nan} NaN and {int((~finite).sum()) - nan} infinite values (of {array.size}); "
            "images must be finite, in [-1, 1], as gan sample writes them. Nothing was translated."
        )
    x = torch.from_numpy(array.astype(np.float32))
    if x.min() < -1.001 or x.max() > 1.001:
        raise UserError(f"{PREFIX}'{path}' has values in [{float(x.min()):.3g}, {float(x.max()):.3g}]; images must be in [-1, 1], as gan sample writes them")
    return [f"{i:05d}" for i in range(len(x))], x


def check_translatable(algorithm, direction: str, images: torch.Tensor, src: Path, side: int) -> None:
    """One image through the generator first: a size it cannot take (too small for its padding and strides) is a
    message naming the source and the run's size, not an error from inside the network."""
    try:
        algorithm.translate(images[:1], direction)
    except torch.OutOfMemoryError:
        raise
    except (RuntimeError, ValueError) as exc:  # padding larger than the image, instance norm of 1x1 maps...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        height, width = images.shape[-2:]
        raise UserError(
            f"{PREFIX}the generator cannot translate the {height}x{width} images of '{src}' ({first}); the run was "
            f"trained on {side}x{side} images: give images of that size (a folder's are resized to --size, by default the run's)"
        ) from None


def write_png(image: torch.Tensor, path: Path) -> None:
    """``image`` (C, H, W) in [-1, 1] as a PNG, written atomically (an error is a ``UserError`` naming ``path``)."""
    from PIL import Image

    from gancore.outputs import atomic_output

    array = ((image.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    with atomic_output(path, PREFIX + "the image") as partial:
        Image.fromarray(array[..., 0] if array.shape[2] == 1 else array).save(partial, format="PNG")


def write_page(dst: Path, names: list[str], direction: str, run: Path) -> Path:
    """``dst/index.html``: one row per image, input | output, linking the PNGs under inputs/ and outputs/."""
    source, target = direction[0].upper(), direction[-1].upper()
    rows = "\n".join(
        f'<tr><td>{html.escape(n)}</td><td><img src="inputs/{html.escape(n)}.png"></td><td><img src="outputs/{html.escape(n)}.png"></td></tr>'
        for n in names
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(run.name)}: {direction}</title>
<style>body{{font-family:sans-serif}} img{{width:128px;image-rendering:pixelated}} td{{padding:4px;text-align:center}}</style></head>
<body><h1>{html.escape(str(run))}: {source} &rarr; {target}</h1>
<table><tr><th>image</th><th>input ({source})</th><th>output ({target})</th></tr>
{rows}
</table></body></html>
"""
    from gancore.outputs import write_atomically

    return write_atomically(dst / "index.html", page.encode("utf-8"), PREFIX + "the page")


def translate_files(host, run: Path, direction: str, src: Path, dst: Path, *, checkpoint: Path | None = None,
                    weights: str = "ema", size: int | None = None) -> tuple[int, Path]:
    """Translate ``src`` into ``dst`` (PNGs, index.html, and translated.npy for a .npy input); returns (count, page)."""
    from gancore import Run
    from gancore.outputs import (
        atomic_output,
        check_writable_file,
        check_writable_folder,
    )

    from .algorithm import CycleGAN

    if direction not in DIRECTIONS:
        raise UserError(f"unknown direction '{direction}'; use a2b or b2a")
    if not src.exists():
        raise UserError(f"gan cyclegan translate: '{src}' does not exist; give a folder of images or a .npy file")
    # Before the run is loaded and anything translated: DST, and what goes in it (a file where inputs/ should be).
    check_writable_folder(dst, DESTINATION)
    for folder in ("inputs", "outputs"):
        check_writable_folder(dst / folder, PREFIX + "the folder")
    for name in ("index.html", *(("translated.npy",) if src.suffix.lower() == ".npy" else ())):
        check_writable_file(dst / name, PREFIX + "the file")
    trained = Run.from_checkpoint(run, checkpoint, host=host)
    algorithm = trained.algorithm
    if not isinstance(algorithm, CycleGAN):
        raise UserError(f"'{run}' is a run of algorithm '{trained.config.algorithm.name}', not a CycleGAN; it cannot translate images")
    shape = algorithm.shapes[direction[0]]
    names, images, from_npy = read_source(src, shape[0], size or shape[-1])
    # sampling(): the EMA generators swapped in when the run kept them (a run without an EMA has only the live ones).
    with (trained.sampling() if weights == "ema" else nullcontext()):
        check_translatable(algorithm, direction, images, src, shape[-1])
        outputs = torch.cat([algorithm.translate(images[i : i + BATCH], direction).cpu() for i in range(0, len(images), BATCH)])
    for name, image, output in zip(names, images, outputs):
        write_png(image, dst / "inputs" / f"{name}.png")
        write_png(output, dst / "outputs" / f"{name}.png")
    if from_npy:
        with atomic_output(dst / "translated.npy", PREFIX + "the array") as partial:
            np.save(partial, outputs.numpy())
    return len(names), write_page(dst, names, direction, run)


def add_commands(cli: click.Group) -> None:
    @cli.group()
    def cyclegan():
        """CycleGAN tools: translate images with a trained run."""

    @cyclegan.command()
    @click.argument("run", type=click.Path(file_okay=False, path_type=Path))
    @click.argument("src", type=click.Path(path_type=Path))
    @click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--direction", required=True, type=click.Choice(DIRECTIONS), help="a2b: G carries domain A into B; b2a: F carries B into A")
    @click.option("--checkpoint", type=click.Path(file_okay=False, path_type=Path), help="a checkpoint folder (default: the run's newest valid one)")
    @click.option("--weights", type=click.Choice(["ema", "live"]), default="ema", show_default=True, help="the EMA generator (when the run kept one) or the live one")
    @click.option("--size", type=click.IntRange(min=4), help="images from a folder are centre-cropped and resized to this side (default: the run's image size)")
    def translate(run, src, dst, direction, checkpoint, weights, size):
        """Translate SRC (a folder of images, or a .npy of (N, C, H, W) images in [-1, 1]) with RUN; write DST/index.html."""
        from gancore.plugins import get_host

        count, page = translate_files(get_host(), run, direction, src, dst, checkpoint=checkpoint, weights=weights, size=size)
        click.echo(f"translated {count} images {direction}; open {page}")
