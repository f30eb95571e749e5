"""Every example validates and runs: 12 steps each, with the networks shrunk so that the test takes seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
QUIET = ["train.progress=false", "train.tensorboard=false", "train.sample_every=6", "train.checkpoint_every=0", "train.log_every=6"]
SMALL_MLP = ["algorithm.generator.hidden_dim=16", "algorithm.discriminator.hidden_dim=16", "train.batch_size=32", "algorithm.eval_size=32",
             "train.eval_every=12", "eval.metrics=[{name: mode-coverage, num_samples: 200}]"]
SHRINK = {
    "egan-ring.yaml": SMALL_MLP,
    "egan-grid.yaml": SMALL_MLP,
    "egan-mnist5k.yaml": ["algorithm.latent_dim=8", "algorithm.generator.base_channels=4", "algorithm.discriminator.base_channels=4",
                          "train.batch_size=8", "algorithm.eval_size=8", "algorithm.d_steps=1", "eval.metrics=[]"],
}


def test_every_example_has_a_smoke_test():
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted(SHRINK)


@pytest.mark.parametrize("example", sorted(SHRINK))
def test_example_runs_12_steps(gan, tmp_path, example):
    sets = [item for o in QUIET + SHRINK[example] for item in ("--set", o)]
    out = gan("run", EXAMPLES / example, "--output", tmp_path / "r", "--steps", 12, *sets)
    assert out.exit_code == 0, out.output
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in records if "loss_d" in r]
    assert [r["step"] for r in logged] == [6, 12]
    for r in logged:
        shares = [r[f"won_{m}"] for m in ("non-saturating", "minimax", "least-squares")]
        assert sum(shares) == pytest.approx(1.0)
        assert all(f"{kind}_{m}" in r for kind in ("fq", "fd", "fitness") for m in ("non-saturating", "minimax", "least-squares"))
    assert (tmp_path / "r" / "samples" / "step-000012.png").is_file()
    assert (tmp_path / "r" / "mutations.png").is_file()
    if example != "egan-mnist5k.yaml":
        assert [r["step"] for r in records if "mode-coverage/modes" in r] == [12]
    if example == "egan-ring.yaml":  # the trained run serves gan sample and gan eval
        out = gan("sample", tmp_path / "r", "-n", 10, "-o", tmp_path / "samples.pt")
        assert out.exit_code == 0, out.output
        assert torch.load(tmp_path / "samples.pt", weights_only=True).shape == (10, 2)
        out = gan("eval", tmp_path / "r", "--metric", "mode-coverage", "-n", 100, "--json")
        assert out.exit_code == 0, out.output
        report, _ = json.JSONDecoder().raw_decode(out.output[out.output.index("{"):])  # stderr notes share the output
        assert report["metrics"]["mode-coverage/num_modes"] == 8
