"""Fixtures for gan-cyclegan's tests: the in-process CLI, a tiny two-domain run, fresh plugins per test."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

# Fresh plugins per test (autouse), the in-process CLI, config files, a set-up run.
from gancore.testing import fresh_host, gan, inline_plugin, make_run, write_config  # noqa: F401

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = PLUGIN_ROOT / "examples"

QUIET = {"progress": False, "tensorboard": False, "sample_every": 0, "log_every": 3}
# Grey 8x8 digits (3 identical channels) <-> the same digits painted in random colours, from
# disjoint halves; 4-channel networks; jitter on (resize to 12, crop 8, flip); a pool of 4.
TINY_DIGITS = {
    "plugin": "cyclegan",
    "algorithm": {
        "name": "cyclegan",
        "generator": {"name": "cyclegan-resnet-generator", "channels": 4, "residual_blocks": 1},
        "discriminator": {"name": "patchgan-discriminator", "channels": 4, "layers": 1},
        "pool_size": 4,
        "load_size": 12,
        "crop_size": 8,
        "flip": True,
    },
    "data": {
        "name": "unpaired",
        # image_size: null, because the plugin's quick default (16 px digits) would otherwise merge in.
        "a": {"name": "half", "half": "first", "of": {"name": "digits", "image_size": None, "channels": 3}},
        "b": {"name": "half", "half": "second", "of": {"name": "digits", "image_size": None, "transforms": [{"name": "colorize", "mode": "random"}]}},
    },
    "train": {"steps": 12, "batch_size": 4, "checkpoint_every": 6, **QUIET},
}


@pytest.fixture
def tiny_digits() -> dict:
    """cyclegan with 4-channel networks on grey <-> coloured 8x8 digits, 12 steps: a copy to change freely."""
    return copy.deepcopy(TINY_DIGITS)


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture
def gan_cli():
    """``gan_cli(...)``: the ``gan`` command line with this plugin's commands, as ``gan`` builds it, in-process."""
    from click.testing import CliRunner

    from gan_cyclegan import plugin
    from gancore.cli import GanGroup, cli

    group = GanGroup(name="gan", commands=dict(cli.commands))
    plugin.gan_register_commands(group)
    runner = CliRunner()
    return lambda *args: runner.invoke(group, [str(a) for a in args], catch_exceptions=False)
