"""``gan bgan quantize``: k-means palette PNGs that the image-folder dataset reads back as colour indices."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from gan_bgan import plugin
from gan_bgan.quantize import quantize_folder
from gancore import plugins
from gancore.registry import DatasetRef


def _smooth_image(rng: np.random.Generator, width: int, height: int, grey: bool) -> Image.Image:
    """A random colour gradient plus a little noise: many distinct colours."""
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    channels = 1 if grey else 3
    a, b, c = rng.random((3, channels))
    image = (a * xx[..., None] + b * yy[..., None] + c * 0.5 + 0.05 * rng.standard_normal((height, width, channels))) % 1.0
    array = (image * 255).astype(np.uint8)
    return Image.fromarray(array[..., 0] if grey else array)


@pytest.fixture
def image_folder(tmp_path):
    """SRC with two class folders of RGB images of different sizes and formats."""
    rng = np.random.default_rng(0)
    src = tmp_path / "src"
    for label, suffix in (("cats", ".png"), ("dogs", ".jpg")):
        (src / label).mkdir(parents=True)
        for i in range(6):
            _smooth_image(rng, 20 + i, 24, grey=False).save(src / label / f"{i}{suffix}")
    return src


def _load(root):
    return plugins.get_registry().build(DatasetRef(name="image-folder", root=str(root)), "data")


def test_quantize_round_trips_through_image_folder(image_folder, tmp_path):
    dst = tmp_path / "dst"
    report = quantize_folder(image_folder, dst, num_colors=5, size=16, fit_images=8, fit_pixels=1000)
    written = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*.png"))
    assert written == [f"{label}/{i}.png" for label in ("cats", "dogs") for i in range(6)]
    for path in dst.rglob("*.png"):
        with Image.open(path) as image:
            assert image.mode == "P" and image.size == (16, 16)
            assert len(image.getpalette()) // 3 == len(report.palette) <= 5
            assert np.asarray(image).max() < len(report.palette)

    data = _load(dst)
    palette = data.info["palette"]
    assert palette.shape == (len(report.palette), 3)
    assert torch.allclose(palette, torch.from_numpy(report.palette).float() / 255 * 2 - 1)
    index = data.tensors["index"]
    assert index.shape == (12, 16, 16) and index.dtype == torch.long and int(index.max()) < len(palette)
    assert torch.equal(data.tensors["x"], palette[index].permute(0, 3, 1, 2))
    assert data.tensors["y"].tolist() == [0] * 6 + [1] * 6


def test_pixels_get_their_nearest_palette_colour(image_folder, tmp_path):
    from gan_bgan.quantize import read_image

    dst = tmp_path / "dst"
    quantize_folder(image_folder, dst, num_colors=6, size=16, fit_images=12)
    data = _load(dst)
    palette = data.info["palette"]
    original = read_image(image_folder / "cats" / "0.png", 16, 3)  # (3, 16, 16)
    distances = torch.cdist(original.permute(1, 2, 0).reshape(-1, 3), palette)
    expected = distances.argmin(dim=1).view(16, 16)
    agree = (expected == data.tensors["index"][0]).float().mean()
    assert agree > 0.99  # ties and the 8-bit rounding of the palette may flip a rare pixel


def test_grey_images_get_a_grey_palette(tmp_path):
    rng = np.random.default_rng(1)
    src = tmp_path / "grey"
    src.mkdir()
    for i in range(5):
        _smooth_image(rng, 12, 12, grey=True).save(src / f"{i}.png")
    report = quantize_folder(src, tmp_path / "dst", num_colors=4, size=8)
    assert report.channels == 1
    assert (report.palette == report.palette[:, :1]).all()  # R = G = B
    assert len(_load(tmp_path / "dst").info["palette"]) == len(report.palette) <= 4


def test_bgan_trains_on_the_quantized_folder(image_folder, tmp_path, make_trainer):
    quantize_folder(image_folder, tmp_path / "dst", num_colors=4, size=8, fit_images=12)
    config = {
        "plugin": "bgan",
        "algorithm": {"name": "bgan", "latent_dim": 4, "n_mc_samples": 3,
                      "generator": {"name": "bgan-generator", "base_channels": 4},
                      "discriminator": {"name": "bgan-discriminator", "base_channels": 4}},
        "data": {"name": "image-folder", "root": str(tmp_path / "dst")},
        "train": {"steps": 1, "batch_size": 4, "progress": False, "tensorboard": False},
    }
    trainer = make_trainer(config)
    assert trainer.algorithm.space.kind == "palette" and trainer.algorithm.space.num_colors <= 4
    trainer.algorithm.train_step(next(trainer.batches), 1)
    index = trainer.algorithm.sample_indices(3, seed=0)
    assert index.shape == (3, 8, 8) and int(index.max()) < trainer.algorithm.space.num_colors


def test_the_command_line(image_folder, tmp_path):
    group = click.Group()
    plugin.gan_register_commands(group)
    runner = CliRunner()
    dst = tmp_path / "dst"
    result = runner.invoke(group, ["bgan", "quantize", "--num-colors", "3", "--size", "8", str(image_folder), str(dst)])
    assert result.exit_code == 0, result.output
    assert "wrote 12 palette PNGs with 3 RGB colours" in result.output
    again = runner.invoke(group, ["bgan", "quantize", str(image_folder), str(dst)])
    assert again.exit_code != 0 and "--overwrite" in str(again.exception or again.output)
    too_many = runner.invoke(group, ["bgan", "quantize", "--num-colors", "300", str(image_folder), str(tmp_path / "x")])
    assert too_many.exit_code == 2 and "256" in too_many.output


def test_gan_bgan_quantize_is_a_gan_command(image_folder, tmp_path):
    # The real entry point: `gan` loads the plugin's commands through gan_register_commands.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("GANCORE_DISABLE_PLUGINS", None)
    result = subprocess.run(
        [sys.executable, "-m", "gancore.cli", "bgan", "quantize", "--num-colors", "4", "--size", "8", str(image_folder), str(tmp_path / "dst")],
        capture_output=True, text=True, env=env, timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 12 palette PNGs" in result.stdout
    assert len(list((tmp_path / "dst").rglob("*.png"))) == 12
