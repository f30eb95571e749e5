"""Shared fixtures: a CLI runner, inline plugins, tiny configs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from gancore import plugins
from gancore.cli import cli

# Two test processes share two cores: one torch thread each, or they thrash.
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]

TINY_RING = {
    "plugin": "gan",
    "algorithm": {
        "name": "gan",
        "latent_dim": 4,
        "generator": {"name": "mlp-generator", "hidden_dim": 32, "num_layers": 2},
        "discriminator": {"name": "mlp-discriminator", "hidden_dim": 32, "num_layers": 2},
    },
    "data": {"name": "ring", "num_samples": 2048},
    "train": {"steps": 20, "batch_size": 32, "log_every": 5, "sample_every": 0, "checkpoint_every": 10, "progress": False, "tensorboard": False},
}

TINY_DIGITS = {
    "plugin": "gan",
    "algorithm": {
        "name": "gan",
        "latent_dim": 8,
        "generator": {"name": "dcgan-generator", "base_channels": 8},
        "discriminator": {"name": "dcgan-discriminator", "base_channels": 8},
    },
    "data": {"name": "digits"},
    "train": {"steps": 12, "batch_size": 16, "log_every": 4, "sample_every": 6, "checkpoint_every": 6, "progress": False, "tensorboard": False},
}


@pytest.fixture(scope="session")
def testplugin_path(tmp_path_factory):
    """Install the shipped test distribution into a private folder, as pip installs any plugin;
    put it on PYTHONPATH of a subprocess to make its entry points visible."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(ROOT / "tests" / "plugins" / "gan-testplugin")],
        check=True,
        capture_output=True,
    )
    return str(target)


@pytest.fixture(autouse=True)
def fresh_host(monkeypatch):
    """Each test sees freshly loaded plugins (tests change env vars and register inline plugins)."""
    monkeypatch.delenv("GANCORE_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("GANCORE_LOAD_PLUGINS", raising=False)
    plugins.reset_host()
    yield
    plugins.reset_host()


@pytest.fixture
def gan():
    """Invoke the ``gan`` CLI in-process: ``gan("run", "--plugin", "gan", ...)``."""
    runner = CliRunner()

    def invoke(*args: str):
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
def inline_plugin():
    """Register a plugin object for one test: ``inline_plugin(module_or_class, "name")``."""
    registered = []

    def add(obj, name: str):
        plugins.get_host().register_plugin(obj, name)
        registered.append(name)
        return obj

    yield add
    for name in registered:
        plugins.get_host().unregister_plugin(name)


def run_gan_subprocess(*args: str, env: dict | None = None, timeout: float = 240, **kwargs) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gancore.cli", *map(str, args)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
