"""Fixtures for gan-semisup's tests: the in-process CLI, tiny run configs, fresh plugins per test."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

# Fresh plugins per test (autouse), the in-process CLI, config files, a set-up run.
from gancore.testing import fresh_host, gan, make_run, write_config  # noqa: F401

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = PLUGIN_ROOT / "examples"

QUIET = {"progress": False, "tensorboard": False, "sample_every": 0, "log_every": 3}

TINY_CLASSIFIER = {"name": "improved-gan-discriminator", "hidden": [32, 16]}
TINY_SEMISUP = {
    "plugin": "semisup",
    "algorithm": {
        "name": "fm-gan",
        "latent_dim": 8,
        "generator": {"name": "improved-gan-generator", "hidden": [32]},
        "discriminator": TINY_CLASSIFIER,
        "labeled_batch_size": 12,
        "init_samples": 64,
    },
    "data": {"name": "digits", "transforms": [{"name": "labeled-subset", "per_class": 2}]},
    "train": {"steps": 12, "batch_size": 16, "checkpoint_every": 6, **QUIET},
}
TINY_BIGAN = {
    "plugin": "semisup",
    "algorithm": {
        "name": "bigan",
        "latent_dim": 4,
        "generator": {"name": "bigan-generator", "hidden_dim": 16},
        "encoder": {"name": "bigan-encoder", "hidden_dim": 16},
        "discriminator": {"name": "bigan-discriminator", "hidden_dim": 16},
    },
    "data": {"name": "digits"},
    "train": {"steps": 12, "batch_size": 16, "checkpoint_every": 6, **QUIET},
}


@pytest.fixture
def tiny_semisup() -> dict:
    """fm-gan with tiny MLPs on the 8x8 digits with 2 labels per class, 12 steps: a copy to change freely."""
    return copy.deepcopy(TINY_SEMISUP)


@pytest.fixture
def tiny_bigan() -> dict:
    """BiGAN with 16-unit networks on the 8x8 digits, 12 steps: a copy to change freely."""
    return copy.deepcopy(TINY_BIGAN)


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture
def semisup_config(tiny_semisup):
    """``semisup_config(name)``: the tiny digits config for fm-gan, sgan or supervised-only (which has no generator)."""

    def make(name: str) -> dict:
        cfg = copy.deepcopy(tiny_semisup)
        cfg["algorithm"]["name"] = name
        if name == "supervised-only":
            for key in ("latent_dim", "generator"):
                cfg["algorithm"].pop(key)
        return cfg

    return make
