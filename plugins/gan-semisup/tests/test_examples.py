"""Every example validates and runs: a few steps each, with the networks shrunk so that the test takes seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gancore.config import build_run_config
from gancore.plugins import get_host

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
QUIET = ["train.progress=false", "train.tensorboard=false", "train.sample_every=4", "train.checkpoint_every=0", "train.log_every=4", "train.eval_every=4"]
SMALL_CLASSIFIER = ["algorithm.discriminator.hidden=[16, 8]", "algorithm.init_samples=32", "algorithm.labeled_batch_size=10", "train.batch_size=16"]
SMALL_GAN = [*SMALL_CLASSIFIER, "algorithm.generator.hidden=[16]", "algorithm.latent_dim=8"]
SMALL_BIGBIGAN = ["algorithm.generator.channels=2", "algorithm.encoder.channels=2", "algorithm.encoder.hidden_dim=8",
                  "algorithm.discriminator.channels=2", "algorithm.discriminator.hidden_dim=8", "train.batch_size=16"]
SMALL_BIGAN = ["algorithm.generator.hidden_dim=16", "algorithm.encoder.hidden_dim=16", "algorithm.discriminator.hidden_dim=16", "train.batch_size=16"]
# The whole metric list: `--set eval.metrics.0.x=...` would replace the list by a mapping (gancore's overrides
# do not descend into a list that a dict holds).
PROBE = ["eval.metrics=[{name: linear-probe, train_data: {name: digits}, test_data: {name: digits}, labels_per_class: 5, num_test: 100}]"]
ACCURACY = ["eval.metrics=[{name: classifier-accuracy, test_data: {name: digits}, num_samples: 100}]"]
PROBE_MNIST = ["eval.metrics=[{name: linear-probe, train_data: {name: mnist5k, split: train}, test_data: {name: mnist5k, split: test}, labels_per_class: 5, num_test: 100}]"]
ACCURACY_MNIST = ["eval.metrics=[{name: classifier-accuracy, test_data: {name: mnist5k, split: test}, num_samples: 100}]"]
SHRINK = {
    "fm-gan-digits.yaml": SMALL_GAN + ACCURACY,
    "sgan-digits.yaml": SMALL_GAN + ACCURACY,
    "supervised-only-digits.yaml": SMALL_CLASSIFIER + ACCURACY,
    "bigan-digits.yaml": SMALL_BIGAN + PROBE,
    "fm-gan-mnist5k-100.yaml": SMALL_GAN + ACCURACY_MNIST,
    "sgan-mnist5k-100.yaml": SMALL_GAN + ACCURACY_MNIST,
    "supervised-only-mnist5k-100.yaml": SMALL_CLASSIFIER + ACCURACY_MNIST,
    "bigan-mnist5k.yaml": SMALL_BIGAN + PROBE_MNIST,
    "bigbigan-mnist5k.yaml": SMALL_BIGBIGAN + PROBE_MNIST,
}


def test_every_example_has_a_smoke_test():
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted(SHRINK)


@pytest.mark.parametrize("example", sorted(SHRINK))
def test_example_validates(example):
    config = build_run_config(get_host().registry, None, yaml.safe_load((EXAMPLES / example).read_text()), [])
    assert config.plugin == "semisup"
    transforms = [dict(t) for t in config.data.options.get("transforms", [])]
    if config.algorithm.name not in ("bigan", "bigbigan"):
        assert transforms == [{"name": "labeled-subset", "per_class": 10, "keep_unlabeled_labels": False}]
    else:
        assert transforms == [], "BiGAN learns without labels"


@pytest.mark.parametrize("example", sorted(SHRINK))
def test_example_runs_8_steps(gan, tmp_path, example):
    sets = [item for o in QUIET + SHRINK[example] for item in ("--set", o)]
    out = gan("run", EXAMPLES / example, "--output", tmp_path / "r", "--steps", 8, *sets)
    assert out.exit_code == 0, out.output
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    metric = "linear-probe/accuracy" if "bigan" in example else "classifier-accuracy/accuracy"
    assert [r["step"] for r in records if metric in r] == [4, 8]
    assert (tmp_path / "r" / "samples" / "step-000008.png").is_file()
