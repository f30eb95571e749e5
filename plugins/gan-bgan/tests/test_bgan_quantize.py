"""``gan bgan quantize``: k-means palette PNGs that the palette-folder dataset reads back as colour indices."""

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


def _load(root, **options):
    return plugins.get_host().registry.build(DatasetRef(name="palette-folder", root=str(root), **options), "data")


def test_quantize_round_trips_through_palette_folder(image_folder, tmp_path):
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
    data = _load(tmp_path / "dst")
    assert len(data.info["palette"]) == len(report.palette) <= 4
    # A grey palette gives grey images (channels: null), or three equal channels when asked for.
    assert data.info["palette"].shape[1] == 1 and data.tensors["x"].shape[1:] == (1, 8, 8)
    rgb = _load(tmp_path / "dst", channels=3)
    assert torch.equal(rgb.tensors["x"], data.tensors["x"].expand(-1, 3, -1, -1))
    assert torch.equal(rgb.tensors["index"], data.tensors["index"])


def test_bgan_trains_on_the_quantized_folder(image_folder, tmp_path, make_run):
    quantize_folder(image_folder, tmp_path / "dst", num_colors=4, size=8, fit_images=12)
    config = {
        "plugin": "bgan",
        "algorithm": {"name": "bgan", "latent_dim": 4, "n_mc_samples": 3,
                      "generator": {"name": "bgan-generator", "base_channels": 4},
                      "discriminator": {"name": "bgan-discriminator", "base_channels": 4}},
        "data": {"name": "palette-folder", "root": str(tmp_path / "dst")},
        "train": {"steps": 1, "batch_size": 4, "progress": False, "tensorboard": False},
    }
    run = make_run(config)
    assert run.algorithm.space.kind == "palette" and run.algorithm.space.num_colors <= 4
    run.algorithm.train_step(run.next_batch(), 1)
    index = run.algorithm.sample_indices(3, seed=0)
    assert index.shape == (3, 8, 8) and int(index.max()) < run.algorithm.space.num_colors


def test_the_command_line(image_folder, tmp_path):
    group = click.Group()
    plugin.gan_register_commands(group)
    runner = CliRunner()
    dst = tmp_path / "dst"
    result = runner.invoke(group, ["bgan", "quantize", "--num-colors", "3", "--size", "8", str(image_folder), str(dst)])
    assert result.exit_code == 0, result.output
    assert "wrote 12 palette PNGs with 3 RGB colours" in result.output
    assert f"gan run --plugin bgan --set data.name=palette-folder --set data.root={dst}" in result.output
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


def test_the_printed_command_trains_on_the_folder(image_folder, tmp_path, gan):
    dst = tmp_path / "dst"
    quantize_folder(image_folder, dst, num_colors=4, size=8, fit_images=12)
    small = ["algorithm.latent_dim=4", "algorithm.n_mc_samples=3", "algorithm.generator.base_channels=4",
             "algorithm.discriminator.base_channels=4", "train.batch_size=4", "train.progress=false", "train.sample_every=0"]
    # What `gan bgan quantize` prints, with a short run's settings: the default data's transforms are dropped with its name.
    result = gan("run", "--plugin", "bgan", "--set", "data.name=palette-folder", "--set", f"data.root={dst}", "--steps", 2,
                 "--output", tmp_path / "run", *[item for s in small for item in ("--set", s)])
    assert result.exit_code == 0, result.output
    saved = (tmp_path / "run" / "config.yaml").read_text()
    assert "palette-folder" in saved and "binarize" not in saved


def test_a_palette_folder_read_through_a_dataloader_gives_the_same_items(image_folder, tmp_path):
    from gancore import LoaderData

    quantize_folder(image_folder, tmp_path / "dst", num_colors=4, size=8, fit_images=12)
    memory = _load(tmp_path / "dst", in_memory=True)
    loader = _load(tmp_path / "dst", in_memory=False, num_workers=0)
    assert isinstance(loader, LoaderData) and len(loader) == 12 and loader.sample_shape == (3, 8, 8)
    assert torch.equal(loader.info["palette"], memory.info["palette"])
    for i in (0, 7, 11):
        item = loader.dataset[i]
        assert item.keys() == {"x", "index", "y"}
        for key in item:
            assert torch.equal(item[key], memory.tensors[key][i])


def test_palette_folder_refuses_what_it_cannot_read(image_folder, tmp_path):
    from gancore import UserError

    with pytest.raises(UserError, match="not a palette PNG.*gan bgan quantize"):
        _load(image_folder / "cats")  # ordinary RGB PNGs
    with pytest.raises(UserError, match="no PNG files"):
        (tmp_path / "empty").mkdir()
        _load(tmp_path / "empty")
    with pytest.raises(UserError, match="not a folder"):
        _load(tmp_path / "missing")

    dst = tmp_path / "dst"
    quantize_folder(image_folder, dst, num_colors=4, size=8, fit_images=12)
    with pytest.raises(UserError, match="not grey"):
        _load(dst, channels=1)
    other = tmp_path / "other"
    quantize_folder(image_folder / "dogs", other, num_colors=3, size=8)
    (other / "0.png").replace(dst / "cats" / "0.png")  # a file with another palette among the others
    with pytest.raises(UserError, match="another palette"):
        _load(dst)
