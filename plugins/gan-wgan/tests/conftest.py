"""Fixtures for gan-wgan's tests: the in-process CLI, tiny run configs, fresh plugins per test."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from gancore import plugins
from gancore.cli import cli

# Test processes share the cores: one torch thread each, or they thrash.
torch.set_num_threads(1)

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


@pytest.fixture(autouse=True)
def fresh_host(monkeypatch):
    """Each test loads plugins afresh, with no allow or deny lists from the environment."""
    monkeypatch.delenv("GANCORE_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("GANCORE_LOAD_PLUGINS", raising=False)
    plugins.reset_host()
    yield
    plugins.reset_host()


@pytest.fixture
def gan():
    """Invoke the ``gan`` CLI in-process: ``gan("run", "--plugin", "wgan", ...)``."""
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def write_config(tmp_path):
    def write(data: dict, name: str = "run.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data))
        return path

    return write


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


@pytest.fixture
def make_trainer(tmp_path):
    """A set-up ``Trainer`` for a run-config dict, to drive ``train_step`` by hand."""
    from gancore.config import build_run_config
    from gancore.trainer import Trainer

    def make(config: dict, overrides: tuple[str, ...] = ()):
        host = plugins.get_host()
        trainer = Trainer(build_run_config(host.registry, None, config, list(overrides)), tmp_path / "run", host)
        trainer.setup()
        return trainer

    return make
