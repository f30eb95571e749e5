"""Every example validates; the CPU ones grow through all their stages in a shrunk 24-step run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gancore.config import build_run_config, load_yaml
from gancore.plugins import get_host

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
QUIET = ["train.progress=false", "train.tensorboard=false", "train.sample_every=12", "train.checkpoint_every=0", "train.log_every=1"]
# 4 steps of 8 images per phase: 4x4 for 4 steps, then each of 8, 16 and 32 fades in over 4 and stabilises over 4.
SHRINK = ["algorithm.network.fmap_base=16", "algorithm.network.fmap_max=4", "algorithm.latent_dim=8", "algorithm.fade_in_images=32",
          "algorithm.stabilize_images=32", "algorithm.batch_sizes={}", "train.batch_size=8"]  # fmt: skip
CPU_EXAMPLES = ["progressive-mnist5k.yaml", "progressive-lfw.yaml"]


def test_every_example_is_covered():
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted([*CPU_EXAMPLES, "progressive-celeba.yaml"])


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_example_validates(example):
    config = build_run_config(get_host().registry, None, load_yaml(EXAMPLES / example), [])
    assert config.plugin == "progressive" and config.algorithm.name == "progressive"
    options = get_host().registry.validate(config.algorithm, "algorithm")
    assert options.batch_sizes, "each example sets a batch size per resolution"


def test_celeba_recipe_is_the_references():
    config = build_run_config(get_host().registry, None, load_yaml(EXAMPLES / "progressive-celeba.yaml"), [])
    options = get_host().registry.validate(config.algorithm, "algorithm")
    assert (options.fade_in_images, options.stabilize_images, options.latent_dim) == (800_000, 800_000, 512)
    assert (options.network.fmap_base, options.network.fmap_max) == (8192, 512)
    assert set(options.batch_sizes.values()) == {16} and config.train.ema_decay == 0.999
    assert config.data.name == "celeba" and config.data.options["image_size"] == 128


@pytest.mark.parametrize("example", CPU_EXAMPLES)
def test_cpu_example_grows_to_32x32(gan, tmp_path, example):
    sets = [item for o in QUIET + SHRINK for item in ("--set", o)]
    out = gan("run", EXAMPLES / example, "--output", tmp_path / "r", "--steps", 24, *sets)
    assert out.exit_code == 0, out.output
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    resolutions = [r["resolution"] for r in records if "resolution" in r]
    assert resolutions == [4.0] * 4 + [8.0] * 8 + [16.0] * 8 + [32.0] * 4
    assert (tmp_path / "r" / "samples" / "step-000024.png").is_file()
