"""Bad inputs and hostile files (issue 29, items 5, 6 and 14-20): each one is a message and exit status 2,
never a traceback, a hang, code run from a data file, markup from a file name, or lost output.

Most cases use one tiny run of 8x8 digits, trained once per module (``trained``)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from .conftest import run_gan_subprocess

TINY = {
    "plugin": "gan",
    "algorithm": {
        "name": "gan",
        "latent_dim": 8,
        "generator": {"name": "dcgan-generator", "base_channels": 8},
        "discriminator": {"name": "dcgan-discriminator", "base_channels": 8},
    },
    "data": {"name": "digits"},
    "train": {"steps": 4, "batch_size": 16, "log_every": 2, "sample_every": 2, "checkpoint_every": 2,
              "progress": False, "tensorboard": False},
}


def invoke(*args):
    """The CLI in-process; an uncaught exception is kept in ``result.exception`` (and is a failure below)."""
    from gancore.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def refused(result, *needles: str) -> str:
    """Exit status 2, one message saying each of ``needles``, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, (needle, result.output)
    return result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished tiny run (digits, DCGAN, 4 steps): checkpoints at steps 2 and 4, two sample grids."""
    from gancore import plugins

    folder = tmp_path_factory.mktemp("trained")
    config = folder / "run.yaml"
    config.write_text(yaml.safe_dump(TINY))
    torch.set_num_threads(1)
    plugins.reset_host()
    result = invoke("run", config, "--output", folder / "run")
    assert result.exit_code == 0, result.output
    plugins.reset_host()
    return folder / "run"


# ------------------------------------------------------- 5. pickled data


class _Payload:
    """Unpickling this creates the folder ``marker``: proof that a data file ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _cifar_folder(root: Path, payload_marker: Path | None = None) -> dict[str, str]:
    """Batches in torchvision's CIFAR-10 layout; with ``payload_marker``, data_batch_1 carries a payload. The md5s."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    md5s = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (4, 3072)).astype(np.uint8), "labels": [1, 2, 3, 4]}
        if payload_marker is not None and name == "data_batch_1":
            batch["extra"] = _Payload(payload_marker)
        (folder / name).write_bytes(pickle.dumps(batch))
        md5s[name] = hashlib.md5((folder / name).read_bytes()).hexdigest()
    return md5s


def _list_md5s(monkeypatch, md5s: dict[str, str]) -> None:
    """Make torchvision list these md5s, as it lists the published files' (the files are then 'the real ones')."""
    from torchvision.datasets import CIFAR10

    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", md5s[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5s["test_batch"]]])


def test_a_cifar_batch_that_fails_its_md5_is_never_unpickled(tmp_path):
    """5: a __reduce__ payload in data_batch_1 does not run; the file is named, with its md5."""
    marker = tmp_path / "payload-ran"
    _cifar_folder(tmp_path / "data", marker)
    out = invoke("run", "--plugin", "gan", "--steps", 1, "--output", tmp_path / "r", "--set", "data.name=cifar10",
                 "--set", f"data.root={tmp_path / 'data'}", "--set", "train.progress=false", "--set", "train.tensorboard=false")
    refused(out, "data_batch_1", "md5", "not loaded")
    assert not marker.exists(), "the pickle payload ran"


def test_cifar_batches_with_the_listed_md5s_load(tmp_path, monkeypatch):
    """5: copies prepared elsewhere load when they are the real files (here: files whose md5s torchvision lists)."""
    from gancore.plugins import get_host
    from gancore.registry import DatasetRef

    _list_md5s(monkeypatch, _cifar_folder(tmp_path / "data"))
    data = get_host().registry.build(DatasetRef(name="cifar10", root=str(tmp_path / "data")), "data")
    assert data.sample_shape == (3, 32, 32) and len(data) == 20
    (tmp_path / "data" / "cifar-10-batches-py" / "data_batch_3").unlink()
    out = invoke("run", "--plugin", "gan", "--steps", 1, "--output", tmp_path / "r", "--set", "data.name=cifar10",
                 "--set", f"data.root={tmp_path / 'data'}")
    refused(out, "incomplete", "data_batch_3")
