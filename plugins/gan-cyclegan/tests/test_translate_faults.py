"""Issue 29 item 16: bad sources of ``gan cyclegan translate`` (an image over PIL's decompression-bomb size, a
damaged image, an object, pickled, garbage, empty or non-finite ``.npy``, images the generator cannot take) are
one message naming the file, exit status 2, no traceback, and nothing written at the destination. Item 18: a
destination that cannot be written (under a file, in /proc, read-only, a file where DST/outputs should be) is named
before the run is loaded; a write that fails half way names the file and leaves no partial file."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from gancore.testing import assert_refused as refused
from gancore.testing import invoke_gan as invoke


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny CycleGAN run (conftest's grey <-> coloured 8x8 digits, 2 steps), trained once for the module:
    domain B has 3 channels."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("cyclegan_test_conftest", Path(__file__).with_name("conftest.py"))
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    root = tmp_path_factory.mktemp("translate-faults")
    config = {**conftest.TINY_DIGITS, "train": {**conftest.TINY_DIGITS["train"], "steps": 2, "checkpoint_every": 0}}
    (root / "run.yaml").write_text(yaml.safe_dump(config))
    out = invoke("run", root / "run.yaml", "--output", root / "run")
    assert out.exit_code == 0, out.output
    return root / "run"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header(side: int) -> bytes:
    """A PNG that says it is side x side grey pixels and holds no pixel data (a bomb's header, cheap to make)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b"")


def truncated_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()[:-30]


class RunsCode:
    """Unpickling it makes a folder: proof that a pickle was loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def _folder(path, bad: bytes):
    path.mkdir()
    Image.fromarray(np.full((8, 8, 3), 100, dtype=np.uint8)).save(path / "0-good.png")
    (path / "1-bad.png").write_bytes(bad)
    return path / "1-bad.png"


IMAGES = {
    "bomb": (png_header(40_000), "decompression bomb"),  # over twice PIL's limit: PIL raises DecompressionBombError
    "over-warning-size": (png_header(10_000), "decompression bomb"),  # over the limit: PIL only warns
    "truncated": (truncated_png(), "image file is truncated"),
    "empty": (b"", "damaged or not an image"),
}


@pytest.mark.parametrize("kind", sorted(IMAGES))
def test_a_bad_image_in_the_folder_is_named(run, tmp_path, kind):
    data, expect = IMAGES[kind]
    bad = _folder(tmp_path / "src", data)
    result = invoke("cyclegan", "translate", run, tmp_path / "src", tmp_path / "dst", "--direction", "b2a")
    refused(result, "gan cyclegan translate: ", f"'{bad}'", expect)
    assert not (tmp_path / "dst").exists()


def _npy(path, kind: str):
    if kind == "object":
        np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    elif kind == "pickle":
        np.save(path, np.array([RunsCode(str(path.parent / "unpickled")), 1], dtype=object), allow_pickle=True)
    elif kind == "garbage":
        path.write_bytes(b"not an array at all " * 8)
    elif kind == "zero-bytes":
        path.write_bytes(b"")
    elif kind == "cut-short":
        np.save(path, np.zeros((4, 3, 8, 8), np.float32))
        path.write_bytes(path.read_bytes()[:300])
    elif kind == "npz":
        with path.open("wb") as handle:
            np.savez(handle, x=np.zeros((2, 3, 8, 8), np.float32))
    else:
        arrays = {
            "no-images": np.zeros((0, 3, 8, 8), np.float32),
            "empty-1d": np.zeros((0,), np.float32),
            "wrong-ndim": np.zeros((2, 3, 8, 8, 1), np.float32),
            "wrong-channels": np.zeros((2, 1, 8, 8), np.float32),
            "nan": np.full((2, 3, 8, 8), np.nan, np.float32),
            "one-inf": np.where(np.arange(2 * 3 * 8 * 8).reshape(2, 3, 8, 8) == 5, np.inf, 0).astype(np.float32),
            "strings": np.full((2, 3, 8, 8), "a"),
            "complex": np.zeros((2, 3, 8, 8), np.complex64),
            "out-of-range": np.full((2, 3, 8, 8), 3.0, np.float32),
            "too-small": np.zeros((2, 3, 2, 2), np.float32),
        }
        np.save(path, arrays[kind])
    return path


NPY = {
    "object": "Object arrays cannot be loaded when allow_pickle=False",
    "pickle": "Object arrays cannot be loaded when allow_pickle=False",
    "garbage": "could not be read as a plain .npy array",
    "zero-bytes": "could not be read as a plain .npy array (EOFError",
    "cut-short": "could not be read as a plain .npy array",
    "npz": "is an .npz archive",
    "no-images": "holds no images",
    "empty-1d": "holds an array of shape (0,)",
    "wrong-ndim": "holds an array of shape (2, 3, 8, 8, 1)",
    "wrong-channels": "needs (N, 3, H, W)",
    "nan": "has 384 NaN and 0 infinite values",
    "one-inf": "has 0 NaN and 1 infinite values",
    "strings": "not real numbers",
    "complex": "not real numbers",
    "out-of-range": "has values in [3, 3]",
    "too-small": "cannot translate the 2x2 images",
}


@pytest.mark.parametrize("kind", sorted(NPY))
def test_a_bad_npy_is_named(run, tmp_path, kind):
    src = _npy(tmp_path / "src.npy", kind)
    result = invoke("cyclegan", "translate", run, src, tmp_path / "dst", "--direction", "b2a")
    refused(result, "gan cyclegan translate: ", f"'{src}'", NPY[kind])
    assert not (tmp_path / "dst").exists()
    assert not (tmp_path / "unpickled").exists()  # nothing unpickled


def test_a_folder_resized_below_what_the_generator_takes_is_a_message(run, tmp_path):
    _folder(tmp_path / "src", truncated_png())
    (tmp_path / "src" / "1-bad.png").unlink()
    result = invoke("cyclegan", "translate", run, tmp_path / "src", tmp_path / "dst", "--direction", "b2a", "--size", 4)
    refused(result, f"'{tmp_path / 'src'}'", "cannot translate the 4x4 images", "trained on 8x8")
    assert not (tmp_path / "dst").exists()


def test_good_sources_still_translate(run, tmp_path):
    """The checks refuse nothing that gan sample writes, nor a folder; other sizes the generator takes still pass."""
    np.save(tmp_path / "ok.npy", np.random.default_rng(0).uniform(-1, 1, (3, 3, 12, 12)).astype(np.float32))
    out = invoke("cyclegan", "translate", run, tmp_path / "ok.npy", tmp_path / "a", "--direction", "b2a")
    assert out.exit_code == 0, out.output
    assert np.load(tmp_path / "a" / "translated.npy").shape == (3, 3, 12, 12)
    _folder(tmp_path / "src", truncated_png())
    (tmp_path / "src" / "1-bad.png").unlink()
    out = invoke("cyclegan", "translate", run, tmp_path / "src", tmp_path / "b", "--direction", "b2a")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "b" / "outputs" / "0-good.png").is_file()


# ------------------------------------------------------------------ item 18: the destination DST


def _good_npy(tmp_path):
    np.save(tmp_path / "ok.npy", np.zeros((2, 3, 8, 8), np.float32))
    return tmp_path / "ok.npy"


def test_a_destination_that_cannot_be_written_is_named_before_any_work(run, tmp_path, monkeypatch):
    """Issue 29 item 18: a folder under a file, a place that takes no files (/proc), a read-only folder (not for
    root, who writes anywhere): checked before the run is loaded, named, nothing written."""
    import gancore.run

    src = _good_npy(tmp_path)
    (tmp_path / "afile").write_text("keep me")
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    targets = [(tmp_path / "afile" / "x", "is a file, not a folder"), (Path("/proc/gancore-translate"), "no file can be made in '/proc'")]
    if os.geteuid() != 0:
        targets.append((readonly / "x", "no file can be made in"))

    def never(*args, **kwargs):
        raise AssertionError("the run was loaded before the destination was checked")

    monkeypatch.setattr(gancore.run.Run, "from_checkpoint", classmethod(never))
    for dst, expect in targets:
        result = invoke("cyclegan", "translate", run, src, dst, "--direction", "b2a")
        refused(result, "the destination DST", f"'{dst}'", expect)
        assert not dst.exists()
    assert (tmp_path / "afile").read_text() == "keep me"
    assert not list(readonly.iterdir())


def test_a_destination_that_is_a_file_is_a_usage_error(run, tmp_path):
    (tmp_path / "afile").write_text("keep me")
    result = invoke("cyclegan", "translate", run, _good_npy(tmp_path), tmp_path / "afile", "--direction", "b2a")
    refused(result, f"'{tmp_path / 'afile'}' is a file")
    assert (tmp_path / "afile").read_text() == "keep me"


@pytest.mark.parametrize("inside", ["outputs", "index.html", "translated.npy"])
def test_what_goes_inside_the_destination_is_checked_first_too(run, tmp_path, inside):
    """DST itself takes files, but DST/outputs is a file (or index.html a folder): named before anything is
    written; what DST held is as it was."""
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "old.txt").write_text("keep me")
    if inside == "outputs":
        (dst / "outputs").write_text("keep me")
    else:
        (dst / inside).mkdir()
    result = invoke("cyclegan", "translate", run, _good_npy(tmp_path), dst, "--direction", "b2a")
    refused(result, f"'{dst / inside}'", "is a file, not a folder" if inside == "outputs" else "is a folder")
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*")) == sorted(["old.txt", inside])


def test_a_write_that_fails_half_way_is_named_and_leaves_no_partial_file(run, tmp_path, monkeypatch):
    """A full disk at the third PNG: the message names the file; no partial file is left beside it."""
    import errno

    import PIL.Image

    save, calls = PIL.Image.Image.save, []

    def full_disk(self, fp, *args, **kwargs):
        calls.append(fp)
        if len(calls) == 3:
            Path(fp).write_bytes(b"half a png")
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(self, fp, *args, **kwargs)

    monkeypatch.setattr(PIL.Image.Image, "save", full_disk)
    dst = tmp_path / "dst"
    result = invoke("cyclegan", "translate", run, _good_npy(tmp_path), dst, "--direction", "b2a")
    refused(result, f"'{dst / 'inputs' / '00001.png'}' could not be written (No space left on device)")
    assert not [p for p in dst.rglob("*") if ".partial" in p.name]
