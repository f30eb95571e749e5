"""Fixtures for gan-wgan's tests: the in-process CLI, tiny run configs, fresh plugins per test."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

# Fresh plugins per test (autouse), the in-process CLI, config files, a set-up run.
from gancore.testing import fresh_host, gan, make_run, write_config  # noqa: F401

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = PLUGIN_ROOT / "examples"

QUIET = {"progress": False, "tensorboard": False, "sample_every": 0, "log_every": 5}

TINY_MLP = {"hidden_dim": 16, "num_layers": 2}
TINY_GRID = {
    "plugin": "wgan",
    "algorithm": {
        "name": "wgan-gp",
        "latent_dim": 2,
        "generator": {"name": "mlp-generator", **TINY_MLP},
        "critic": {"name": "mlp-discriminator", **TINY_MLP},
    },
    "data": {"name": "grid", "num_samples": 1024},
    "train": {"steps": 12, "batch_size": 32, "checkpoint_every": 6, **QUIET},
}
TINY_DIGITS_CLIP = {
    "plugin": "wgan",
    "algorithm": {
        "name": "wgan",
        "latent_dim": 8,
        "generator": {"name": "dcgan-generator", "base_channels": 8},
        "critic": {"name": "dcgan-discriminator", "base_channels": 8},
    },
    "data": {"name": "digits"},
    "train": {"steps": 12, "batch_size": 16, "checkpoint_every": 6, **QUIET},
}


@pytest.fixture
def tiny_grid() -> dict:
    """WGAN-GP with 2x16 MLPs on the 25-Gaussian grid, 12 steps: a copy to change freely."""
    return copy.deepcopy(TINY_GRID)


@pytest.fixture
def tiny_digits_clip() -> dict:
    """WGAN (clipping) with 8-channel DCGAN nets on the 8x8 digits, 12 steps: a copy to change freely."""
    return copy.deepcopy(TINY_DIGITS_CLIP)


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
