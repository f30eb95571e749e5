"""Every example validates, and runs a few steps with its networks shrunk (the folders one on tiny folders)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from gancore import plugins
from gancore.config import build_run_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
QUIET = ["train.progress=false", "train.tensorboard=false", "train.sample_every=2", "train.checkpoint_every=0", "train.log_every=2"]
SHRINK_NETS = ["algorithm.generator.channels=4", "algorithm.generator.residual_blocks=1", "algorithm.discriminator.channels=4"]


def _images(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(len(folder.name))
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (40, 36, 3), dtype=np.uint8)).save(folder / f"{i}.jpg")
    return folder


SHRINK = {
    # The whole list: gancore's --set eval.metrics.0.num_samples=50 would replace the list by a mapping.
    "cyclegan-mnist-colored.yaml": ["train.batch_size=2", "eval.metrics=[{name: translation-accuracy, classifier_a: lenet-mnist, "
                                    "classifier_b: lenet-mnist-strokes, num_samples: 50, test_a: {name: mnist5k, split: test, channels: 3}, "
                                    "test_b: {name: mnist5k, split: test, transforms: [{name: colorize, mode: random}]}}]"],
    "cyclegan-folders.yaml": ["train.batch_size=2", "algorithm.load_size=36", "algorithm.crop_size=32", "algorithm.discriminator.layers=2",
                              "data.a.image_size=32", "data.b.image_size=32", "eval.metrics=[]", "algorithm.lr_constant_steps=2"],
}


def test_every_example_has_a_test():
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted(SHRINK)


@pytest.mark.parametrize("example", sorted(SHRINK))
def test_every_example_validates(example):
    config = build_run_config(plugins.get_host().registry, None, yaml.safe_load((EXAMPLES / example).read_text()), [])
    assert config.algorithm.name == "cyclegan" and config.data.name == "unpaired"


@pytest.mark.parametrize("example", sorted(SHRINK))
def test_example_runs_4_steps(gan, tmp_path, example):
    sets = QUIET + SHRINK_NETS + SHRINK[example]
    if example == "cyclegan-folders.yaml":
        sets += [f"data.a.root={_images(tmp_path / 'trainA', 3)}", f"data.b.root={_images(tmp_path / 'trainB', 4)}"]
    out = gan("run", EXAMPLES / example, "--output", tmp_path / "r", "--steps", 4, *[i for s in sets for i in ("--set", s)])
    assert out.exit_code == 0, out.output
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "cycle_a" in r] == [2, 4]
    assert (tmp_path / "r" / "samples" / "step-000004.png").is_file()
    if example == "cyclegan-mnist-colored.yaml":
        (result,) = [r for r in records if "translation-accuracy/a2b" in r]
        assert {"translation-accuracy/b2a", "translation-accuracy/classifier_a", "translation-accuracy/classifier_b"} <= set(result)
        assert result["translation-accuracy/classifier_b"] > 95  # lenet-mnist-strokes on coloured test digits
