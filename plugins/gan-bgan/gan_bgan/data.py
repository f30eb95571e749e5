"""The ``palette-folder`` dataset: a folder of palette PNGs, as ``gan bgan quantize`` writes them.

A palette ("P" mode) PNG stores the index of every pixel's colour and the palette itself, so the
classes BGAN models are read straight from the files, with no k-means and no rounding::

    gan bgan quantize --num-colors 16 --size 64 ~/data/celeba/img_align_celeba data/celeba-16
    gan run --plugin bgan --set data.name=palette-folder --set data.root=data/celeba-16

Batches carry ``index`` (the colour of every pixel, ``(H, W)`` longs) and ``x`` (the image in the
palette's colours, in [-1, 1]); ``data.info["palette"]`` holds the ``(K, C)`` colours. Every file must
have the first one's palette and size. Class sub-folders (``DST/cat/1.png``) give labels ``y``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field

from gancore import LoaderData, StrictModel, TensorData, UserError

QUANTIZE_HINT = "`gan bgan quantize SRC DST` writes them; for ordinary images use image-folder with transforms: [{name: quantize}]"


class PaletteFolderConfig(StrictModel):
    root: str = Field(description="a folder of palette PNGs written by `gan bgan quantize` (or of class sub-folders of them)")
    channels: Literal[1, 3] | None = Field(
        None, description="1: grey images (the palette must be grey, R = G = B, as gan bgan quantize writes for grey sources); "
        "3: RGB; null: 1 for a grey palette, else 3"
    )
    in_memory: bool | Literal["auto"] = Field(
        "auto", description="keep the data on the training device as one tensor (fast), or read it through a DataLoader; auto decides by size"
    )
    memory_limit_gb: float = Field(2.0, gt=0, description="auto: data larger than this (as float32) goes through a DataLoader")
    num_workers: int = Field(2, ge=0, description="DataLoader worker processes (when not in memory)")


def list_files(root: Path) -> tuple[list[tuple[Path, int | None]], list[str]]:
    """(file, label or None) of every PNG under ``root``, and the class names (sub-folders), sorted."""
    if not root.is_dir():
        raise UserError(f"palette-folder: '{root}' is not a folder. Point root at the output of `gan bgan quantize`.")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if classes:
        files = [(f, label) for label, c in enumerate(classes) for f in sorted((root / c).rglob("*.png")) if not f.name.startswith(".")]
    else:
        files = [(f, None) for f in sorted(root.glob("*.png")) if not f.name.startswith(".")]
    if not files:
        raise UserError(f"palette-folder: no PNG files under '{root}'; {QUANTIZE_HINT}")
    return files, classes


def read_palette(path: Path) -> tuple[list[int], np.ndarray]:
    """(the raw palette as stored, the pixels' indices (H, W)) of a palette PNG."""
    from gancore.data.vision import open_image

    # Any file, the first (whose palette and size every other must share) or a later one, in memory or in a
    # DataLoader worker: one message naming it (open_image), whatever PIL raises for it.
    with open_image(path, "palette-folder: ", "delete it, or write the folder again with `gan bgan quantize`") as image:
        if image.mode != "P":
            raise UserError(f"palette-folder: '{path}' is not a palette PNG (its mode is {image.mode}); {QUANTIZE_HINT}")
        return list(image.getpalette()), np.asarray(image, dtype=np.int64)


def palette_colours(raw: list[int], channels: int | None, path: Path) -> torch.Tensor:
    """The (K, C) colours in [-1, 1] of a raw PNG palette (K RGB triples), grey or RGB as ``channels`` asks."""
    rgb = torch.tensor(raw, dtype=torch.float32).view(-1, 3).div(255.0).mul(2.0).sub(1.0)
    grey = bool((rgb == rgb[:, :1]).all())
    if channels == 1 and not grey:
        raise UserError(f"palette-folder: channels: 1, but the palette of '{path}' has colours that are not grey; use channels: 3 (or null)")
    return rgb[:, :1].contiguous() if (channels == 1 or (channels is None and grey)) else rgb


class PaletteImages(torch.utils.data.Dataset):
    """The items of a palette folder, read one at a time: ``x``, ``index`` (and ``y``)."""

    def __init__(self, files: list[tuple[Path, int | None]], raw: list[int], colours: torch.Tensor, size: tuple[int, int]) -> None:
        self.files, self.raw, self.colours, self.size = files, raw, colours, size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        path, label = self.files[i]
        raw, index = read_palette(path)
        first = self.files[0][0]
        if raw != self.raw:
            raise UserError(f"palette-folder: '{path}' has another palette than '{first}'; every file must share one palette, as `gan bgan quantize` writes them")
        if index.shape != self.size:
            raise UserError(f"palette-folder: '{path}' is {index.shape[1]}x{index.shape[0]} and '{first}' is {self.size[1]}x{self.size[0]}; every file must have one size")
        index = torch.from_numpy(index)
        if int(index.max()) >= len(self.colours):
            raise UserError(f"palette-folder: '{path}' has pixels with colour {int(index.max())}, beyond its {len(self.colours)}-colour palette")
        item = {"x": self.colours[index].permute(2, 0, 1).contiguous(), "index": index}
        if label is not None:
            item["y"] = torch.tensor(label)
        return item


def palette_folder(config: PaletteFolderConfig, ctx) -> TensorData | LoaderData:
    from gancore.data.pipeline import keep_in_memory

    files, classes = list_files(Path(config.root).expanduser())
    raw, first = read_palette(files[0][0])
    colours = palette_colours(raw, config.channels, files[0][0])
    items = PaletteImages(files, raw, colours, first.shape)
    info = {"palette": colours, **({"num_classes": len(classes)} if classes else {})}
    shape = (colours.shape[1], *first.shape)
    if not keep_in_memory(config, len(items), shape):
        return LoaderData(items, "image", shape, info, config.num_workers)
    every = [items[i] for i in range(len(items))]
    return TensorData({k: torch.stack([item[k] for item in every]) for k in every[0]}, "image", info)
