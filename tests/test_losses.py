"""The four builtin objectives: the right direction, and a short run of each on the ring."""

from __future__ import annotations

import json

import pytest
import torch

from gancore import losses

from .conftest import TINY_RING

NAMES = ["minimax", "non-saturating", "hinge", "least-squares"]


def _build(name):
    from gancore.plugins import get_registry
    from gancore.registry import LossRef

    return get_registry().build(LossRef(name=name))


@pytest.mark.parametrize("name", NAMES)
def test_discriminator_loss_is_lower_when_it_is_right(name):
    loss = _build(name)
    right = loss.discriminator_loss(torch.full((8, 1), 3.0), torch.full((8, 1), -3.0))
    wrong = loss.discriminator_loss(torch.full((8, 1), -3.0), torch.full((8, 1), 3.0))
    assert right < wrong


@pytest.mark.parametrize("name", NAMES)
def test_generator_loss_falls_as_fakes_look_real(name):
    loss = _build(name)
    assert loss.generator_loss(torch.full((8, 1), 2.0)) < loss.generator_loss(torch.full((8, 1), -2.0))


def test_minimax_saturates_where_non_saturating_does_not():
    fake = torch.full((4, 1), -8.0, requires_grad=True)  # D is confident the fakes are fake
    (g_mm,) = torch.autograd.grad(_build("minimax").generator_loss(fake), fake)
    (g_ns,) = torch.autograd.grad(_build("non-saturating").generator_loss(fake), fake)
    assert g_mm.abs().max() < 1e-3 < g_ns.abs().max()


def test_label_smoothing_moves_the_real_target():
    plain = losses.NonSaturating(losses.SmoothingConfig())
    smooth = losses.NonSaturating(losses.SmoothingConfig(label_smoothing=0.1))
    very_confident = torch.full((4, 1), 10.0)
    assert smooth.discriminator_loss(very_confident, -very_confident) > plain.discriminator_loss(very_confident, -very_confident)


@pytest.mark.parametrize("name", NAMES)
def test_short_run_of_each_loss_on_ring(name, gan, write_config, tmp_path):
    cfg = {
        **TINY_RING,
        "algorithm": {**TINY_RING["algorithm"], "loss": {"name": name}},
        "train": {**TINY_RING["train"], "steps": 40},
        "eval": {"metrics": [{"name": "mode-coverage", "num_samples": 500}]},
    }
    out = gan("run", write_config(cfg), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    losses_logged = [r for r in records if "loss_d" in r]
    assert len(losses_logged) == 8
    assert all(torch.isfinite(torch.tensor([r["loss_d"], r["loss_g"]])).all() for r in losses_logged)
    coverage = records[-1]
    assert coverage["mode-coverage/num_modes"] == 8 and 0 <= coverage["mode-coverage/high_quality"] <= 100
