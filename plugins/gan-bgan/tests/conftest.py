"""Fixtures for gan-bgan's tests: the in-process CLI, tiny run configs, fresh plugins per test."""

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
    "data": {"name": "digits", "binarize": 0.5},
    "train": {"steps": 6, "batch_size": 16, "checkpoint_every": 3, **QUIET},
}
TINY_PALETTE = {
    "plugin": "bgan",
    "algorithm": {"name": "bgan", **TINY_NETS},
    "data": {"name": "digits", "binarize": None, "quantize": {"num_colors": 4, "fit_images": 100, "fit_pixels": 2000}},
    "train": {"steps": 6, "batch_size": 16, "checkpoint_every": 3, **QUIET},
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
    """Invoke the ``gan`` CLI in-process: ``gan("run", "--plugin", "bgan", ...)``."""
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
def tiny_binary() -> dict:
    """bgan with 8-channel networks and m = 4 on the binarized 8x8 digits, 6 steps: a copy to change freely."""
    return copy.deepcopy(TINY_BINARY)


@pytest.fixture
def tiny_palette() -> dict:
    """bgan with 8-channel networks and m = 4 on the 8x8 digits quantized to 4 grey levels, 6 steps."""
    return copy.deepcopy(TINY_PALETTE)


@pytest.fixture
def build_trainer(tmp_path):
    """A ``Trainer`` set up (networks, optimizers, data) from a run-config dict, not trained."""
    from gancore.config import build_run_config
    from gancore.trainer import Trainer

    def build(data: dict):
        host = plugins.get_host()
        config = build_run_config(host.registry, data.get("plugin"), data, [])
        trainer = Trainer(config, tmp_path / "run", host)
        trainer.setup()
        return trainer

    return build


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
