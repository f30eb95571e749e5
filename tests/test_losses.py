"""The four builtin objectives: the right direction, and a short run of each on the ring."""

from __future__ import annotations

import json

import pytest
import torch

from gancore import losses

from .conftest import TINY_RING

NAMES = ["minimax", "non-saturating", "hinge", "least-squares"]


def _build(name):
    from gancore.plugins import get_host
    from gancore.registry import LossRef

    return get_host().registry.build(LossRef(name=name))


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


def test_least_squares_on_the_probability_squares_sigmoid_and_saturates_like_minimax():
    from gancore.plugins import get_host
    from gancore.registry import LossRef

    on_logit, on_probability = _build("least-squares"), get_host().registry.build(LossRef(name="least-squares", output="probability"))
    real, fake = torch.tensor([[2.0], [0.5]]), torch.tensor([[-1.0], [3.0]])
    p_real, p_fake = torch.sigmoid(real), torch.sigmoid(fake)
    assert torch.allclose(on_probability.discriminator_loss(real, fake), 0.5 * ((p_real - 1) ** 2).mean() + 0.5 * (p_fake**2).mean())
    assert torch.allclose(on_probability.generator_loss(fake), 0.5 * ((p_fake - 1) ** 2).mean())
    assert torch.allclose(on_logit.generator_loss(fake), 0.5 * ((fake - 1) ** 2).mean())
    # Where D rejects the fakes outright, the squares of the probability give G almost nothing, those of the logit a lot.
    rejected = torch.full((4, 1), -8.0, requires_grad=True)
    (g_probability,) = torch.autograd.grad(on_probability.generator_loss(rejected), rejected)
    (g_logit,) = torch.autograd.grad(on_logit.generator_loss(rejected), rejected)
    assert g_probability.abs().max() < 1e-3 < 1.0 < g_logit.abs().max()


def test_least_squares_output_must_be_logit_or_probability(gan, write_config, tmp_path):
    cfg = {**TINY_RING, "algorithm": {**TINY_RING["algorithm"], "loss": {"name": "least-squares", "output": "sigmoid"}}}
    out = gan("run", write_config(cfg), "--output", tmp_path / "r")
    assert out.exit_code == 2 and "algorithm.loss.output" in out.output and "probability" in out.output, out.output


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
