"""Fixtures for gan-progressive's tests: the in-process CLI, a tiny growing run, fresh plugins per test."""

from __future__ import annotations

import copy
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from torch.overrides import TorchFunctionMode

import gan_progressive
import gancore

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


# --------------------------------------------------------------- no host sync in a step

WATCHED = tuple(str(Path(m.__file__).parent) for m in (gan_progressive, gancore))  # the code a step runs besides torch's
READS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__")  # each waits for the device
FROM_HOST = {torch.tensor, torch.as_tensor, torch.from_numpy}  # host data copied to the device, which waits for it
FACTORIES = {torch.zeros, torch.ones, torch.empty, torch.full, torch.rand, torch.randn, torch.randint, torch.randperm,
             torch.arange, torch.linspace, torch.eye, torch.scalar_tensor}  # on the CPU unless given a device


def _caller(depth: int = 2) -> str | None:
    """'file:line' of the caller of the caller, when it is this plugin's or gancore's code."""
    frame = sys._getframe(depth)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame.f_code.co_filename.startswith(WATCHED) else None


class _Factories(TorchFunctionMode):
    def __init__(self, found: list[str]) -> None:
        super().__init__()
        self.found = found

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FROM_HOST or (func in FACTORIES and kwargs.get("device") is None):
            where = _caller()
            if where:
                self.found.append(f"torch.{func.__name__} at {where}")
        return func(*args, **kwargs)


@pytest.fixture
def host_sync_free(monkeypatch):
    """``with host_sync_free(): ...`` fails if this plugin's or gancore's code inside reads a tensor's value on
    the host (``.item()``, ``.cpu()``, ``float(t)``, ``if t``...: each waits for the device), makes a tensor
    without a device (it lands on the CPU) or from host data (a copy to the device that waits for it)."""
    found: list[str] = []

    def watched(name):
        original = getattr(torch.Tensor, name)

        def read(self, *args, **kwargs):
            where = _caller()
            if where:
                found.append(f"Tensor.{name} at {where}")
            return original(self, *args, **kwargs)

        return read

    @contextmanager
    def check():
        with monkeypatch.context() as patch:
            for name in READS:
                patch.setattr(torch.Tensor, name, watched(name))
            with _Factories(found):
                yield
        assert not found, "host syncs or CPU tensors in a step: " + "; ".join(found)

    return check
