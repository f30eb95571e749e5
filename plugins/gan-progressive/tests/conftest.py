"""Fixtures for gan-progressive's tests: the in-process CLI, a tiny growing run, fresh plugins per test."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

# Fresh plugins per test (autouse), the in-process CLI, config files, a set-up run.
from gancore.testing import fresh_host, gan, make_run, write_config  # noqa: F401

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = PLUGIN_ROOT / "examples"

QUIET = {"progress": False, "tensorboard": False, "sample_every": 0, "log_every": 2}
# The 8x8 digits grow 4 -> 8: 4 steps at 4x4, 4 steps fading in 8x8, then 8x8 stable (batch 16).
TINY_DIGITS = {
    "plugin": "progressive",
    "algorithm": {
        "name": "progressive",
        "latent_dim": 8,
        "network": {"fmap_base": 16, "fmap_max": 8},
        "fade_in_images": 64,
        "stabilize_images": 64,
    },
    "data": {"name": "digits"},
    "train": {"steps": 12, "batch_size": 16, "checkpoint_every": 6, **QUIET},
}


@pytest.fixture
def tiny_digits() -> dict:
    """progressive with 8-channel networks on the 8x8 digits, 12 steps (4 at 4x4, 4 fading, 4 at 8x8)."""
    return copy.deepcopy(TINY_DIGITS)


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
