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

from gancore.testing import assert_refused as refused
from gancore.testing import invoke_gan as invoke

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


# ------------------------------------------------------- 6. report.html

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"
TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "section", "table", "thead", "tbody", "tr",
        "th", "td", "code", "figure", "img", "figcaption", "a", "div", "pre"}


class _Markup:
    """Every tag, attribute and piece of text of a page."""

    def __init__(self, text: str) -> None:
        from html.parser import HTMLParser

        self.tags, self.attributes, self.text = [], [], []
        parser = HTMLParser(convert_charrefs=True)
        parser.handle_starttag = lambda tag, attrs: (self.tags.append(tag), self.attributes.extend(attrs))
        parser.handle_startendtag = parser.handle_starttag
        parser.handle_data = self.text.append
        parser.feed(text)
        self.text = "".join(self.text)


def test_report_escapes_a_hostile_string_in_every_field(trained, tmp_path):
    """6: the run folder's name, run.json's fields, metrics.jsonl's keys, config.yaml and a sample file's name
    are shown as text; the page has only its own tags, no event handler, and links only to files."""
    run = tmp_path / "run-<svg onload=alert(1)>"
    shutil.copytree(trained, run)
    record = json.loads((run / "run.json").read_text())
    record.update(status=HOSTILE, planned_steps=HOSTILE)
    session = record["sessions"][0]
    session.update(started=HOSTILE, ended=HOSTILE, from_step=HOSTILE, to_step=HOSTILE, status=HOSTILE, resumed=HOSTILE)
    (run / "run.json").write_text(json.dumps(record))
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"step": 4, HOSTILE: 1.5, f"metric/{HOSTILE}": 2.5, "steps_per_second": 3.0, "note": HOSTILE}) + "\n")
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["plugin"], config["algorithm"]["name"], config["data"]["name"] = HOSTILE, HOSTILE, HOSTILE
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    shutil.copy(run / "samples" / "step-000004.png", run / "samples" / "step-<svg onload=alert(3)>.png")

    out = invoke("report", run)
    assert out.exit_code == 0, (out.output, out.exception)
    page = _Markup((run / "report.html").read_text())
    assert set(page.tags) <= TAGS, set(page.tags) - TAGS
    assert not [name for name, _ in page.attributes if name.startswith("on")]
    from urllib.parse import unquote

    for name, value in page.attributes:
        if name == "src":
            assert value.startswith("data:image/png;base64,")
        if name == "href":  # a relative URL to the file, percent-encoded: no scheme, no markup
            assert ":" not in value and "<" not in value and (run / unquote(value)).is_file()
    assert ("href", "samples/step-%3Csvg%20onload%3Dalert%283%29%3E.png") in page.attributes
    shown = page.text
    for field in ("run-<svg onload=alert(1)>", HOSTILE, "<svg onload=alert(3)>", f"metric/{HOSTILE}"):
        assert field in shown, field


# ---------------------------------------------------- 19. truncation


def _unbounded(z, threshold, draw):
    """The truncation trick as it was before the rounds were bounded: the reference for converging thresholds."""
    z = z.clone()
    beyond = z.abs() > threshold
    while beyond.any():
        z[beyond] = draw(int(beyond.sum())).to(z.dtype)
        beyond = z.abs() > threshold
    return z


@pytest.mark.parametrize("threshold", [0.04, 0.5, 2.0])
def test_truncation_draws_are_unchanged_for_thresholds_that_converge(threshold):
    """19: bounding the redraws changes nothing where redrawing ends."""
    from gancore.nn.conditional import resample_beyond

    z = torch.randn(256, 64, generator=torch.Generator().manual_seed(0))
    draws = []
    for _ in range(2):
        rng = torch.Generator().manual_seed(1)
        draws.append((resample_beyond if not draws else _unbounded)(z, threshold, lambda n, rng=rng: torch.randn(n, generator=rng)))
    assert torch.equal(draws[0], draws[1]) and draws[0].abs().max() <= threshold


def test_a_tiny_truncation_is_clamped_with_a_warning(trained, tmp_path):
    """19: --truncation 1e-30 ends (it looped forever), warns, and writes finite samples; NaN is refused."""
    out = run_gan_subprocess("sample", trained, "-n", 4, "--truncation", "1e-30", "-o", tmp_path / "s.npy", timeout=120)
    assert out.returncode == 0, out.stderr
    assert "truncation 1e-30" in out.stderr and "clamped" in out.stderr and "Traceback" not in out.stderr
    assert np.isfinite(np.load(tmp_path / "s.npy")).all()
    refused(invoke("sample", trained, "-n", 4, "--truncation", "nan", "-o", tmp_path / "n.npy"), "positive threshold")
    assert not (tmp_path / "n.npy").exists()


# ------------------------------------------------ 17. feature networks


def _lenet_file(path: Path, damage: str) -> Path:
    from safetensors.torch import save_file

    from gancore.metrics.features import LeNet

    state = {k: v.contiguous() for k, v in LeNet().state_dict().items()}
    if damage == "nan":
        state["head.weight"][0, 0] = float("nan")
    save_file(state, str(path))
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff garbage" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    return path


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "nan"])
def test_a_damaged_feature_network_file_is_named(trained, tmp_path, damage):
    """17: features: bad.safetensors (a LeNet from gan train-features) is a message naming the file."""
    path = _lenet_file(tmp_path / "bad.safetensors", damage)
    out = invoke("eval", trained, "--metric", f"{{name: fid, features: '{path}', num_samples: 16}}")
    refused(out, str(path), "NaN or Inf" if damage == "nan" else "damaged or not a safetensors file", "gan train-features")


def test_damaged_shipped_lenet_weights_are_named(trained, tmp_path, monkeypatch):
    """17: the shipped lenet-digits weights, damaged in the installation, are named with the way to restore them."""
    from gancore.metrics import features

    weights = tmp_path / "weights"
    weights.mkdir()
    _lenet_file(weights / "lenet-digits.safetensors", "truncated")
    monkeypatch.setattr(features, "WEIGHTS_DIR", weights)
    monkeypatch.setattr(features, "_cache", {})
    out = invoke("eval", trained, "--metric", "{name: fid, features: lenet-digits, num_samples: 16}")
    refused(out, str(weights / "lenet-digits.safetensors"), "damaged", "Reinstall gancore")
