"""The ``binarize`` and ``quantize`` transforms give the data the old core's options gave for the same seed.

The expected values are computed here from the formulas of the core's ``binarize`` and ``quantize``
options before they moved into this plugin (gancore 88abe90, ``gancore/data/transforms.py`` and
``pipeline.py``), not from the plugin's code."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gancore import DatasetRef, LoaderData, plugins


def _build(**options):
    return plugins.get_host().registry.build(DatasetRef(**options), "data")


def _digits() -> torch.Tensor:
    return _build(name="digits").tensors["x"]


def old_fit_palette(images: torch.Tensor, num_colors: int, fit_images: int, fit_pixels: int, seed: int) -> torch.Tensor:
    """The old core's fit_palette."""
    from sklearn.cluster import KMeans

    g = torch.Generator().manual_seed(seed)
    subset = images[torch.randperm(len(images), generator=g)[:fit_images]]
    pixels = subset.permute(0, 2, 3, 1).reshape(-1, subset.shape[1])
    pixels = pixels[torch.randperm(len(pixels), generator=g)[:fit_pixels]]
    k = min(num_colors, len(torch.unique(pixels, dim=0)))
    centers = torch.from_numpy(KMeans(n_clusters=k, n_init=3, random_state=seed).fit(pixels.double().numpy()).cluster_centers_).float().clamp(-1, 1)
    return centers[centers.sum(dim=1).argsort()]


def old_nearest(x: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
    pixels = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
    return torch.cdist(pixels, palette).argmin(dim=1).view(x.shape[0], x.shape[2], x.shape[3])


def test_the_transforms_are_registered_by_bgan():
    registry = plugins.get_host().registry
    assert registry.get("transform", "binarize").plugin == "bgan"
    assert registry.get("transform", "quantize").plugin == "bgan"


@pytest.mark.parametrize("threshold", [0.5, 0.2, 0.0, 1.0])
def test_binarize_thresholds_intensity(threshold):
    x = _digits()
    data = _build(name="digits", transforms=[{"name": "binarize", "threshold": threshold}])
    expected = ((x + 1) / 2 > threshold).float() * 2 - 1
    assert torch.equal(data.tensors["x"], expected)
    assert torch.equal(data.tensors["y"], _build(name="digits").tensors["y"])


@pytest.mark.parametrize("seed", [0, 7])
def test_stochastic_binarize_draws_from_the_transform_seed(seed):
    x = _digits()
    data = _build(name="digits", transform_seed=seed, transforms=[{"name": "binarize", "threshold": "stochastic"}])
    generator = torch.Generator().manual_seed(seed)  # the old core: one generator seeded by transform_seed
    expected = (torch.rand(x.shape, generator=generator) < (x + 1) / 2).float() * 2 - 1
    assert torch.equal(data.tensors["x"], expected)
    assert torch.equal(_build(name="digits", transform_seed=seed, transforms=[{"name": "binarize", "threshold": "stochastic"}]).tensors["x"], expected)


def test_binarize_options_are_checked(gan, write_config, tiny_binary, tmp_path):
    tiny_binary["data"]["transforms"] = [{"name": "binarize", "threshold": 1.5}]
    result = gan("run", write_config(tiny_binary), "--output", tmp_path / "run")
    assert result.exit_code == 2 and "data.transforms.0.threshold" in result.output


def test_quantize_learns_the_old_palette_and_maps_every_pixel_to_its_nearest_colour():
    x = _digits()
    data = _build(name="digits", transform_seed=3, transforms=[{"name": "quantize", "num_colors": 5, "fit_images": 300, "fit_pixels": 4000}])
    palette = old_fit_palette(x, 5, 300, 4000, seed=3)
    assert torch.equal(data.info["palette"], palette)
    index = old_nearest(x, palette)
    assert torch.equal(data.tensors["index"], index)
    assert torch.equal(data.tensors["x"], palette[index].permute(0, 3, 1, 2))
    assert set(data.tensors) == {"x", "y", "index"}


def test_binarize_then_quantize_share_the_generator_in_order():
    x = _digits()
    data = _build(name="digits", transform_seed=1, transforms=[
        {"name": "binarize", "threshold": "stochastic"}, {"name": "quantize", "num_colors": 2, "fit_images": 100, "fit_pixels": 1000}])
    bits = (torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) < (x + 1) / 2).float() * 2 - 1
    palette = old_fit_palette(bits, 2, 100, 1000, seed=1)
    assert torch.equal(palette, torch.tensor([[-1.0], [1.0]]))
    assert torch.equal(data.tensors["x"], bits) and torch.equal(data.tensors["index"], (bits[:, 0] > 0).long())


@pytest.fixture
def grey_folder(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "grey"
    root.mkdir()
    for i in range(7):
        Image.fromarray(rng.integers(0, 256, (6, 6), dtype=np.uint8)).save(root / f"{i}.png")
    return root


@pytest.mark.parametrize("in_memory", [True, False])
def test_images_read_from_files_are_transformed_as_the_old_core_did(grey_folder, in_memory):
    plain = _build(name="image-folder", root=str(grey_folder)).tensors["x"]  # (7, 1, 6, 6)
    # quantize: the palette is learnt on the first fit_images images (the old from_reader), then each file mapped.
    quantized = _build(name="image-folder", root=str(grey_folder), in_memory=in_memory, num_workers=0, transform_seed=2,
                       transforms=[{"name": "quantize", "num_colors": 3, "fit_images": 5, "fit_pixels": 100}])
    palette = old_fit_palette(plain[:5], 3, 5, 100, seed=2)
    assert isinstance(quantized, LoaderData) != in_memory
    assert torch.equal(quantized.info["palette"], palette)
    assert torch.equal(_all(quantized, "index"), old_nearest(plain, palette))
    # stochastic binarize: item i draws from a generator seeded by transform_seed * 1_000_003 + i.
    bits = _build(name="image-folder", root=str(grey_folder), in_memory=in_memory, num_workers=0, transform_seed=2,
                  transforms=[{"name": "binarize", "threshold": "stochastic"}])
    expected = torch.stack([
        (torch.rand((1, 1, 6, 6), generator=torch.Generator().manual_seed(2 * 1_000_003 + i)) < (plain[i : i + 1] + 1) / 2).float()[0] * 2 - 1
        for i in range(7)
    ])
    assert torch.equal(_all(bits, "x"), expected)


def _all(data, key: str) -> torch.Tensor:
    """Tensor ``key`` of every item, in memory or read through the dataset one item at a time."""
    if isinstance(data, LoaderData):
        return torch.stack([data.dataset[i][key] for i in range(len(data))])
    return data.tensors[key]


def test_bgan_trains_on_a_quantized_dataset_read_through_a_dataloader(grey_folder, make_run):
    config = {
        "plugin": "bgan",
        "algorithm": {"name": "bgan", "latent_dim": 4, "n_mc_samples": 3,
                      "generator": {"name": "bgan-generator", "base_channels": 4},
                      "discriminator": {"name": "bgan-discriminator", "base_channels": 4}},
        "data": {"name": "image-folder", "root": str(grey_folder), "image_size": 8, "in_memory": False, "num_workers": 0,
                 "transforms": [{"name": "quantize", "num_colors": 3, "fit_images": 7, "fit_pixels": 100}]},
        "train": {"steps": 1, "batch_size": 4, "progress": False, "tensorboard": False},
    }
    run = make_run(config)
    assert run.algorithm.space.kind == "palette" and run.algorithm.space.num_colors == 3
    batch = run.next_batch()
    assert batch["index"].shape == (4, 8, 8) and batch["index"].device == batch["x"].device
    logs = run.algorithm.train_step(batch, 1)
    assert torch.isfinite(logs["loss_g"])


def test_an_unknown_transform_name_says_which_there_are(gan, write_config, tiny_binary, tmp_path):
    tiny_binary["data"]["transforms"] = [{"name": "binarise"}]
    result = gan("run", write_config(tiny_binary), "--output", tmp_path / "run")
    assert result.exit_code == 2 and "binarize" in result.output


def test_quantize_fits_before_it_transforms():
    from gan_bgan.transforms import Quantize, QuantizeConfig

    with pytest.raises(RuntimeError, match="fit"):
        Quantize(QuantizeConfig())({"x": torch.zeros(1, 1, 2, 2)}, torch.Generator())
