"""Fixtures for gan-bgan's tests: the in-process CLI, tiny run configs, fresh plugins per test."""

from __future__ import annotations

import copy
import os
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


READS = ("item", "tolist", "cpu", "numpy", "nonzero", "__bool__", "__int__", "__float__", "__index__")


@pytest.fixture
def no_host_reads(monkeypatch):
    """Inside ``with no_host_reads():`` a tensor's value read on the host (``.item()``, ``.tolist()``, ``bool()``,
    ``int()``...) by any code but torch's own (its CPU optimizers read their step counters) fails the test:
    on a GPU each such read is a wait for the device (issue 26)."""
    import inspect
    from contextlib import contextmanager

    import torch

    @contextmanager
    def guard():
        original = {name: getattr(torch.Tensor, name) for name in READS}

        def reader(name):
            def read(self, *args, **kwargs):
                caller = inspect.stack()[1]
                if f"site-packages{os.sep}torch" not in caller.filename:
                    raise AssertionError(f"a step read a tensor's value on the host: {name} at {caller.filename}:{caller.lineno}")
                return original[name](self, *args, **kwargs)
            return read

        for name in READS:
            monkeypatch.setattr(torch.Tensor, name, reader(name))
        try:
            yield
        finally:
            for name in READS:
                monkeypatch.setattr(torch.Tensor, name, original[name])

    return guard
