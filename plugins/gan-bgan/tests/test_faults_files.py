"""Issue 29 item 15, bgan's part: a file that does not load as an image is one message naming it, exit status 2,
no traceback, whether it is the first file (the one ``detect_channels`` and the palette-folder's shared palette
are read from) or a later one: in ``gan bgan quantize`` (where ``--skip-bad-files`` leaves such files out with a
warning that counts them, as the image-folder dataset's ``skip_bad_files`` does) and in the palette-folder dataset,
in memory and through a DataLoader."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from gan_bgan.quantize import quantize_folder
from PIL import Image

from gancore.testing import assert_refused as refused
from gancore.testing import invoke_gan as invoke


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(side: int = 40_000) -> bytes:
    """A PNG header of side x side pixels (over PIL's limit) and no pixel data: PIL refuses it on opening."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b"")


def truncated_png(mode: str = "L") -> bytes:
    """A real PNG (palette: mode "P") cut short in its pixel data: its header reads well, decoding fails."""
    buffer = io.BytesIO()
    image = Image.fromarray(np.random.default_rng(0).integers(0, 4, (8, 8), dtype=np.uint8) * 60)
    (image.quantize(4) if mode == "P" else image).save(buffer, format="PNG")
    data = buffer.getvalue()
    return data[: len(data) - 30]


BAD = {"empty": b"", "garbage": b"\x89PNG not really", "text": b"notes, not an image\n", "truncated": truncated_png(), "bomb": bomb_png()}


def _sources(path, bad: bytes | None = None, name: str = "0-bad.png"):
    """Four 8x8 grey images and, when ``bad`` is given, a bad file called ``name`` (first in order: 0-bad.png)."""
    path.mkdir()
    for i in range(4):
        Image.fromarray(np.full((8, 8), 40 * (i + 1), dtype=np.uint8)).save(path / f"{i + 1}.png")
    if bad is not None:
        (path / name).write_bytes(bad)
    return path / name


def _expected(kind):
    return "decompression bomb" if kind == "bomb" else "damaged or not an image"


# ------------------------------------------------------------------ gan bgan quantize


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("name", ["0-bad.png", "9-bad.png"], ids=["first", "later"])
def test_quantize_names_a_bad_file_and_writes_nothing(tmp_path, kind, name):
    """The first file (detect_channels reads it) or a later one: every header is read before anything is written."""
    bad = _sources(tmp_path / "src", BAD[kind], name)
    out = refused(invoke("bgan", "quantize", "--num-colors", 2, "--size", 8, tmp_path / "src", tmp_path / "dst"),
                  "gan bgan quantize: ", f"'{bad}'", "--skip-bad-files", _expected(kind))  # fmt: skip
    assert "were written" not in out
    assert not (tmp_path / "dst").exists()


def test_quantize_names_a_file_that_fails_while_the_images_are_written(tmp_path):
    """A file whose header reads but whose pixels do not, outside the palette's subset: found while writing,
    named, with how many images were written before it."""
    seed = next(s for s in range(10) if int(torch.randperm(5, generator=torch.Generator().manual_seed(s))[0]) != 4)
    bad = _sources(tmp_path / "src", truncated_png(), "9-bad.png")  # the last of five files: index 4
    result = invoke("bgan", "quantize", "--num-colors", 2, "--size", 8, "--fit-images", 1, "--seed", seed, tmp_path / "src", tmp_path / "dst")
    refused(result, f"'{bad}'", "image file is truncated", "4 of 5 images were written")
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["1.png", "2.png", "3.png", "4.png"]


@pytest.mark.parametrize("kind", ["empty", "truncated", "bomb"])
def test_quantize_skip_bad_files_leaves_them_out_with_a_count(tmp_path, kind):
    bad = _sources(tmp_path / "src", BAD[kind], "0-bad.png")
    (tmp_path / "src" / "5-bad.jpg").write_bytes(b"")
    result = invoke("bgan", "quantize", "--num-colors", 2, "--size", 8, "--skip-bad-files", tmp_path / "src", tmp_path / "dst")
    assert result.exit_code == 0, result.output
    assert f"skipped 2 file(s) that do not load as images: '{bad}', '{tmp_path / 'src' / '5-bad.jpg'}'" in result.output
    assert "wrote 4 palette PNGs" in result.output
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["1.png", "2.png", "3.png", "4.png"]


def test_quantize_skip_bad_files_counts_one_that_fails_while_writing(tmp_path):
    bad = _sources(tmp_path / "src", truncated_png(), "9-bad.png")
    report = quantize_folder(tmp_path / "src", tmp_path / "dst", num_colors=2, size=8, fit_images=5, skip_bad_files=True)
    assert report.images == 4 and report.skipped == [bad]


def test_quantize_of_nothing_but_bad_files_is_one_message(tmp_path):
    (tmp_path / "src").mkdir()
    for kind, data in BAD.items():
        (tmp_path / "src" / f"{kind}.png").write_bytes(data)
    refused(invoke("bgan", "quantize", "--skip-bad-files", tmp_path / "src", tmp_path / "dst"), f"none of the {len(BAD)} image files")
    assert not (tmp_path / "dst").exists()


# ------------------------------------------------------------------ the palette-folder dataset


@pytest.fixture(scope="module")
def palettes(tmp_path_factory):
    """A palette folder of four 8x8 PNGs, written by quantize."""
    root = tmp_path_factory.mktemp("palettes")
    _sources(root / "src")
    quantize_folder(root / "src", root / "dst", num_colors=4, size=8)
    return root / "dst"


PALETTE_BAD = {**BAD, "truncated": truncated_png("P")}


@pytest.mark.parametrize("kind", sorted(PALETTE_BAD))
@pytest.mark.parametrize("name", ["0-bad.png", "9-bad.png"], ids=["first", "later"])
@pytest.mark.parametrize("in_memory", ["true", "false"], ids=["in-memory", "loader"])
def test_palette_folder_names_a_bad_file(palettes, tmp_path, kind, name, in_memory):
    """The first file (whose palette and size every other must share) or a later one, in memory or read by a
    DataLoader worker."""
    import shutil

    root = tmp_path / "palettes"
    shutil.copytree(palettes, root)
    (root / name).write_bytes(PALETTE_BAD[kind])
    data = f"{{name: palette-folder, root: '{root}', in_memory: {in_memory}, num_workers: {1 if in_memory == 'false' else 0}}}"
    result = invoke("run", "--plugin", "bgan", "--steps", 1, "--set", f"data={data}", "--set", "train.batch_size=5",
                    "--set", "algorithm.latent_dim=4", "--set", "algorithm.n_mc_samples=2",
                    "--set", "algorithm.generator.base_channels=4", "--set", "algorithm.discriminator.base_channels=4",
                    "--set", "train.progress=false", "--set", "train.tensorboard=false", "--set", "train.sample_every=0",
                    "--output", tmp_path / "run")  # fmt: skip
    refused(result, "palette-folder: ", f"'{root / name}'", _expected(kind))
