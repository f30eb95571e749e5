"""Fixtures for gan-bgan's tests: the in-process CLI, tiny run configs, fresh plugins per test."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

# Fresh plugins per test (autouse), the in-process CLI, config files, a set-up run.
from gancore.testing import fresh_host, gan, make_run, write_config  # noqa: F401

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = PLUGIN_ROOT / "examples"

QUIET = {"progress": False, "tensorboard": False, "sample_every": 0, "log_every": 3}
TINY_NETS = {
    "latent_dim": 8,
    "n_mc_samples": 4,
    "generator": {"name": "bgan-generator", "base_channels": 8},
    "discriminator": {"name": "bgan-discriminator", "base_channels": 8},
}
TINY_BINARY = {
    "plugin": "bgan",
    "algorithm": {"name": "bgan", **TINY_NETS},
    "data": {"name": "digits", "transforms": [{"name": "binarize", "threshold": 0.5}]},
    "train": {"steps": 6, "batch_size": 16, "checkpoint_every": 3, **QUIET},
}
TINY_PALETTE = {
    "plugin": "bgan",
    "algorithm": {"name": "bgan", **TINY_NETS},
    "data": {"name": "digits", "transforms": [{"name": "quantize", "num_colors": 4, "fit_images": 100, "fit_pixels": 2000}]},
    "train": {"steps": 6, "batch_size": 16, "checkpoint_every": 3, **QUIET},
}


@pytest.fixture
def tiny_binary() -> dict:
    """bgan with 8-channel networks and m = 4 on the binarized 8x8 digits, 6 steps: a copy to change freely."""
    return copy.deepcopy(TINY_BINARY)


@pytest.fixture
def tiny_palette() -> dict:
    """bgan with 8-channel networks and m = 4 on the 8x8 digits quantized to 4 grey levels, 6 steps."""
    return copy.deepcopy(TINY_PALETTE)


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
