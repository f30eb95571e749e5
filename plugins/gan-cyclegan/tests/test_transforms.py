"""The ``colorize`` transform paints the digits the old core's ``colorize`` option painted for the same seed.

The expected images are computed here from the old core's formula (gancore 88abe90,
``gancore/data/transforms.py``: one generator seeded by ``transform_seed``, a foreground then a
background colour per image, ``torch.rand(n, 3, generator=...)`` each), not from the plugin's code."""

from __future__ import annotations

import pytest
import torch

from gancore import DatasetRef, ImageTransform, StrictModel, Transform, UserError, hookimpl, plugins


def _build(**options):
    return plugins.get_host().registry.build(DatasetRef(**options), "data")


def _grey() -> torch.Tensor:
    return _build(name="digits").tensors["x"]


def painted(x: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor) -> torch.Tensor:
    weight = (x + 1) / 2
    return (weight * fg[:, :, None, None] + (1 - weight) * bg[:, :, None, None]) * 2 - 1


def test_colorize_is_registered_by_cyclegan():
    assert plugins.get_host().registry.get("transform", "colorize").plugin == "cyclegan"


@pytest.mark.parametrize("seed", [0, 5])
def test_random_colours_come_from_the_transform_seed_foreground_first(seed):
    x = _grey()
    data = _build(name="digits", transform_seed=seed, transforms=[{"name": "colorize", "mode": "random"}])
    generator = torch.Generator().manual_seed(seed)
    fg = torch.rand(len(x), 3, generator=generator)
    bg = torch.rand(len(x), 3, generator=generator)
    assert data.tensors["x"].shape == (len(x), 3, 8, 8)
    assert torch.equal(data.tensors["x"], painted(x, fg, bg))
    assert torch.equal(data.tensors["y"], _build(name="digits").tensors["y"])


def test_fixed_colours_paint_every_image_alike():
    x = _grey()
    data = _build(name="digits", transforms=[{"name": "colorize", "mode": "fixed", "foreground": [1, 0, 0], "background": [0, 0, 1]}])
    fg, bg = torch.tensor([1.0, 0.0, 0.0]).expand(len(x), 3), torch.tensor([0.0, 0.0, 1.0]).expand(len(x), 3)
    assert torch.equal(data.tensors["x"], painted(x, fg, bg))
    assert torch.equal(data.tensors["x"][:, 1], torch.full_like(x[:, 0], -1.0))  # no green anywhere


def test_colour_images_and_colours_outside_the_unit_cube_are_refused(gan, write_config, tiny_digits, tmp_path):
    with pytest.raises(UserError, match="grey images"):
        _build(name="digits", channels=3, transforms=[{"name": "colorize"}])
    tiny_digits["data"]["b"]["of"]["transforms"] = [{"name": "colorize", "mode": "fixed", "foreground": [2, 0, 0]}]
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r")
    assert out.exit_code == 2 and "data.b.of.transforms.0.foreground" in out.output


class Noise(ImageTransform):
    """Adds the generator's next numbers to the images: shows where in the generator's stream it was called."""

    def __call__(self, items, generator):
        return {**items, "x": items["x"] + torch.rand(items["x"].shape, generator=generator)}


class NoisePlugin:
    @hookimpl
    def gan_register_transforms(self, register):
        register(Transform("test-noise", lambda config: Noise(), StrictModel, "test transform"))


def test_a_transform_after_colorize_draws_after_its_colours(inline_plugin):
    # Colorize then binarize shared one generator in the old core, in that order: colorize takes 2·n·3 numbers.
    inline_plugin(NoisePlugin(), "test-noise")
    x = _grey()
    data = _build(name="digits", transform_seed=2, transforms=[{"name": "colorize"}, {"name": "test-noise"}])
    generator = torch.Generator().manual_seed(2)
    fg, bg = torch.rand(len(x), 3, generator=generator), torch.rand(len(x), 3, generator=generator)
    expected = painted(x, fg, bg)
    assert torch.equal(data.tensors["x"], expected + torch.rand(expected.shape, generator=generator))


def test_items_read_from_files_get_their_own_colours(tmp_path):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (5, 5), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    plain = _build(name="image-folder", root=str(tmp_path)).tensors["x"]
    data = _build(name="image-folder", root=str(tmp_path), transform_seed=3, in_memory=True, transforms=[{"name": "colorize"}])
    for i in range(4):  # item i: a generator seeded by transform_seed * 1_000_003 + i, as the old core's DataLoader items
        generator = torch.Generator().manual_seed(3 * 1_000_003 + i)
        fg, bg = torch.rand(1, 3, generator=generator), torch.rand(1, 3, generator=generator)
        assert torch.equal(data.tensors["x"][i : i + 1], painted(plain[i : i + 1], fg, bg))
