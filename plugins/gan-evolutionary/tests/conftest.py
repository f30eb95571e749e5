"""Fixtures for gan-evolutionary's tests: the in-process CLI, tiny run configs, fresh plugins per test."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

# Fresh plugins per test (autouse), the in-process CLI, config files, a set-up run.
from gancore.testing import fresh_host, gan, make_run, write_config  # noqa: F401

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = PLUGIN_ROOT / "examples"

QUIET = {"progress": False, "tensorboard": False, "sample_every": 0, "log_every": 4}
TINY_MLP = {"hidden_dim": 16, "num_layers": 2}
TINY_RING = {
    "plugin": "evolutionary",
    "algorithm": {
        "name": "egan",
        "latent_dim": 2,
        "generator": {"name": "mlp-generator", **TINY_MLP},
        "discriminator": {"name": "mlp-discriminator", **TINY_MLP},
        "d_steps": 1,
        "eval_size": 64,
        "lr_generator": 1e-2,
        "lr_discriminator": 1e-2,
    },
    "data": {"name": "ring", "num_samples": 256},
    "train": {"steps": 12, "batch_size": 32, "checkpoint_every": 6, **QUIET},
}
# DCGAN networks with batch norm in both (8x8 digits): the generator's running statistics are state too.
TINY_DIGITS = {
    "plugin": "evolutionary",
    "algorithm": {
        "name": "egan",
        "latent_dim": 8,
        "generator": {"name": "dcgan-generator", "base_channels": 8},
        "discriminator": {"name": "dcgan-discriminator", "base_channels": 4, "norm": "batch"},
        "d_steps": 2,
        "eval_size": 24,
    },
    "data": {"name": "digits", "image_size": 16},
    "train": {"steps": 6, "batch_size": 16, "checkpoint_every": 3, **QUIET},
}


@pytest.fixture
def tiny_ring() -> dict:
    """E-GAN with 2x16 MLPs on a 256-point ring, 12 steps: a copy to change freely."""
    return copy.deepcopy(TINY_RING)


@pytest.fixture
def tiny_digits() -> dict:
    """E-GAN with batch-norm DCGAN networks (4-8 channels) on 16x16 digits, 6 steps: a copy to change freely."""
    return copy.deepcopy(TINY_DIGITS)


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
