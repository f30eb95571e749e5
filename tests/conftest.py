"""Shared fixtures: tiny configs, the test plugin distribution, a subprocess runner; the rest come from gancore.testing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The fixtures every plugin's tests use too: fresh plugins per test (autouse), the in-process CLI,
# config files, a set-up run, inline plugins.
from gancore.testing import fresh_host, gan, inline_plugin, make_run, write_config  # noqa: F401

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

# The fault tests' run: 2x16 MLPs on 64 ring points, a checkpoint every 10 steps.
TINY_FAULTS = {
    "plugin": "gan",
    "algorithm": {
        "name": "gan",
        "latent_dim": 2,
        "generator": {"name": "mlp-generator", "hidden_dim": 16, "num_layers": 2},
        "discriminator": {"name": "mlp-discriminator", "hidden_dim": 16, "num_layers": 2},
    },
    "data": {"name": "ring", "num_samples": 64},
    "train": {"steps": 20, "batch_size": 16, "log_every": 5, "sample_every": 0, "checkpoint_every": 10,
              "progress": False, "tensorboard": False},
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
    # Built from a copy: test processes that install it at the same time would share its build/ folder.
    source = tmp_path_factory.mktemp("source") / "gan-testplugin"
    shutil.copytree(ROOT / "tests" / "plugins" / "gan-testplugin", source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), str(source)],
        check=True,
        capture_output=True,
    )
    return str(target)


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
