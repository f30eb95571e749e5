"""For the whole repository's tests (core and plugins): tests marked ``gpu`` need a CUDA GPU and are skipped,
saying so, where there is none (``.gpu/check.sh`` runs them on a GPU machine)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    gpu_tests = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_tests:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU: torch.cuda.is_available() is False on this machine")
    for item in gpu_tests:
        item.add_marker(skip)
