"""Every example runs: 20 steps each, with the networks shrunk so that the test takes seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
QUIET = ["train.progress=false", "train.tensorboard=false", "train.sample_every=10", "train.checkpoint_every=0", "train.log_every=10"]
SHRINK = {
    "wgan-gp-grid.yaml": ["algorithm.generator.hidden_dim=16", "algorithm.critic.hidden_dim=16", "train.batch_size=64", "train.eval_every=10"],
    "wgan-gp-mnist5k.yaml": ["algorithm.latent_dim=16", "algorithm.generator.base_channels=8", "algorithm.critic.base_channels=8", "train.batch_size=16"],
    # The reference schedule would make these 20 steps 1,900 critic steps; test_algorithm covers it.
    "wgan-clip-digits.yaml": ["algorithm.latent_dim=16", "algorithm.generator.base_channels=8", "algorithm.critic.base_channels=8", "train.batch_size=16",
                              "algorithm.reference_schedule=false"],
}


def test_every_example_has_a_smoke_test():
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted(SHRINK)


@pytest.mark.parametrize("example", sorted(SHRINK))
def test_example_runs_20_steps(gan, tmp_path, example):
    sets = [item for o in QUIET + SHRINK[example] for item in ("--set", o)]
    out = gan("run", EXAMPLES / example, "--output", tmp_path / "r", "--steps", 20, *sets)
    assert out.exit_code == 0, out.output
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    losses = [r for r in records if "wasserstein" in r]
    assert [r["step"] for r in losses] == [10, 20]
    assert all({"grad_norm", "penalty", "loss_d", "loss_g"} <= set(r) for r in losses)
    assert (tmp_path / "r" / "samples" / "step-000020.png").is_file()
    assert (tmp_path / "r" / "checkpoints" / "step-000020").is_dir()
    if example == "wgan-gp-grid.yaml":
        coverage = [r for r in records if "mode-coverage/modes" in r]
        assert [r["step"] for r in coverage] == [10, 20]
