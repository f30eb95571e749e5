"""Issue 29 item 15: an image folder whose first file does not load gets the message a bad later file gets.

Whichever file it is (the first, whose size the others are checked against, or a later one), however it is bad
(empty, garbage with an image suffix, text, a PNG cut short in its pixel data, a decompression bomb), and however
the folder is read (in memory or through a DataLoader worker, with image_size or without): exit status 2, one
message naming the file and ``data.skip_bad_files``, no traceback. With ``skip_bad_files`` the run trains on the
rest and a warning counts what was left out."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from gancore.testing import assert_refused as refused
from gancore.testing import invoke_gan as invoke


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(side: int = 40_000) -> bytes:
    """A PNG header of side x side grey pixels (over PIL's limit) and no pixel data: PIL refuses it on opening."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b"")


def truncated_png() -> bytes:
    """A real PNG cut short in its pixel data: its header (and size) read well, decoding it fails."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8), dtype=np.uint8)).save(buffer, format="PNG")
    data = buffer.getvalue()
    return data[: len(data) - 30]


BAD = {
    "empty": b"",
    "garbage": b"\x89PNG not really",
    "text": b"these are notes, not an image\n",
    "truncated": truncated_png(),
    "bomb": bomb_png(),
}


def _folder(path, bad: bytes, first: bool):
    path.mkdir()
    for i in range(4):
        Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(path / f"{i + 1}.png")
    bad_name = "0-bad.png" if first else "9-bad.png"
    (path / bad_name).write_bytes(bad)
    return path / bad_name


def _run(root, out, *extra):
    data = f"{{name: image-folder, root: '{root}', num_workers: 0}}"
    return invoke("run", "--plugin", "gan", "--steps", 1, "--set", f"data={data}", "--set", "train.batch_size=5",
                  "--set", "train.progress=false", "--set", "train.tensorboard=false", "--set", "train.sample_every=0",
                  "--set", "algorithm.latent_dim=4", "--set", "algorithm.generator.base_channels=4",
                  "--set", "algorithm.discriminator.base_channels=4", "--output", out, *extra)  # fmt: skip


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("first", [True, False], ids=["first", "later"])
def test_a_bad_file_is_named_wherever_it_is(tmp_path, kind, first):
    bad = _folder(tmp_path / "images", BAD[kind], first)
    out = refused(_run(tmp_path / "images", tmp_path / "run"), f"'{bad}'", "data.skip_bad_files=true")
    assert ("decompression bomb" in out) if kind == "bomb" else ("damaged or not an image" in out)


@pytest.mark.parametrize("reading", [
    ("true", "null"), ("true", "8"), ("false", "null"), ("false", "8"),
], ids=["memory-own-size", "memory-resized", "loader-own-size", "loader-resized"])  # fmt: skip
@pytest.mark.parametrize("first", [True, False], ids=["first", "later"])
def test_every_way_of_reading_gives_the_same_message(tmp_path, reading, first):
    """In memory or through a DataLoader worker (the file read there, in another process), image_size or not:
    one message, the same text for the first file and a later one."""
    in_memory, size = reading
    bad = _folder(tmp_path / "images", b"", first)
    result = _run(tmp_path / "images", tmp_path / "run", "--set", f"data.in_memory={in_memory}",
                  "--set", f"data.image_size={size}", "--set", "data.num_workers=1")  # fmt: skip
    out = refused(result, f"'{bad}'")
    message = next(line for line in out.splitlines() if line.startswith("Error: "))
    assert message == (
        f"Error: cannot read the image '{bad}' (UnidentifiedImageError: cannot identify image file '{bad}'); "
        "it is damaged or not an image. Delete it, or set data.skip_bad_files=true to leave out files that do not load."
    )


@pytest.mark.parametrize("kind", ["empty", "truncated", "bomb"])
def test_skip_bad_files_leaves_out_a_bad_first_file_with_a_count(tmp_path, kind):
    bad = _folder(tmp_path / "images", BAD[kind], first=True)
    result = _run(tmp_path / "images", tmp_path / "run", "--set", "data.skip_bad_files=true", "--set", "train.batch_size=4")
    assert result.exit_code == 0, result.output
    assert f"skipped 1 file(s) that do not load as images: '{bad}'" in result.output


def test_a_folder_of_nothing_but_bad_files_is_one_message(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    for kind, data in BAD.items():
        (root / f"{kind}.png").write_bytes(data)
    refused(_run(root, tmp_path / "run", "--set", "data.skip_bad_files=true"), f"none of the {len(BAD)} files under '{root}'")
