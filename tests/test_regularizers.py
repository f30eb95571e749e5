"""The gradient penalty (on interpolates, and as R1, lazy as in StyleGAN2) and bCR: the core's regularisers."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn

from gancore import LossRef, losses
from gancore.augment import AugmentConfig, Augmenter, consistency_penalty

from gancore.plugins import get_host

from .conftest import TINY_DIGITS


def _critic() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 8), nn.Softplus(), nn.Linear(8, 1))


def test_r1_is_gamma_half_the_squared_input_gradient_norm_on_real_data():
    critic, real = _critic(), torch.randn(6, 2, 4, 4)
    penalty = losses.r1(losses.R1Config(gamma=3.0)).regularizer(critic, real, torch.randn(6, 2, 4, 4))
    x = real.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    expected = 1.5 * (grad.flatten(1).norm(dim=1) ** 2).mean()
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-5)
    penalty.backward()  # it is a loss for D: its parameters get a gradient
    assert all(layer.weight.grad.abs().sum() > 0 for layer in (critic[1], critic[3]))


def test_lazy_r1_runs_every_kth_call_scaled_by_k_and_its_count_is_state():
    critic, real = _critic(), torch.randn(6, 2, 4, 4)
    every_call = losses.r1(losses.R1Config(gamma=2.0)).regularizer(critic, real, None).item()
    lazy = losses.r1(losses.R1Config(gamma=2.0, every=3))
    terms = [lazy.regularizer(critic, real, None) for _ in range(3)]
    assert terms[0] is None and terms[1] is None and terms[2].item() == pytest.approx(3 * every_call, rel=1e-6)
    state = copy.deepcopy(lazy.state_dict())
    resumed = losses.r1(losses.R1Config(gamma=2.0, every=3))
    resumed.load_state_dict(state)
    assert [resumed.regularizer(critic, real, None) is None for _ in range(3)] == [True, True, False]


def test_the_gradient_penalty_on_interpolates_is_the_papers_two_sided_penalty():
    critic, real, fake = _critic(), torch.randn(6, 2, 4, 4), torch.randn(6, 2, 4, 4)
    penalty = losses.GradientPenalty(losses.GradientPenaltyConfig(weight=10.0, target=1.0, at="interpolates"))
    torch.manual_seed(3)
    term = penalty.regularizer(critic, real, fake)
    torch.manual_seed(3)  # the same α per sample, drawn on the samples' device
    alpha = torch.rand(6, 1, 1, 1)
    x_hat = (fake + alpha * (real - fake)).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    norms = grad.flatten(1).norm(dim=1)
    assert term.item() == pytest.approx(10.0 * ((norms - 1) ** 2).mean().item(), rel=1e-5)
    assert torch.allclose(penalty.last_norms, norms, rtol=1e-5), "the norms are kept for logging"
    term.backward()
    assert all(layer.weight.grad.abs().sum() > 0 for layer in (critic[1], critic[3]))


def test_r1_is_the_gradient_penalty_at_real_data_with_target_zero():
    r1 = losses.r1(losses.R1Config(gamma=4.0, every=2))
    assert (r1.weight, r1.target, r1.at, r1.every) == (2.0, 0.0, "real", 2)
    registered = get_host().registry.build(LossRef(name="gradient-penalty", weight=2.0, target=0.0, at="real"))
    critic, real = _critic(), torch.randn(6, 2, 4, 4)
    assert torch.equal(registered.regularizer(critic, real, None), losses.r1(losses.R1Config(gamma=4.0)).regularizer(critic, real, None))


def test_bcr_is_the_squared_difference_to_an_augmented_copy():
    critic, x = _critic(), torch.randn(6, 2, 4, 4)
    aug = Augmenter(AugmentConfig(policy=["translation", "cutout"], probability=0.0), seed=5)
    logits = critic(x)
    term = consistency_penalty(critic, x, logits, aug)
    twin = Augmenter(AugmentConfig(policy=["translation", "cutout"]), seed=5)  # the same draws, always applied
    expected = ((critic(twin(x)) - logits) ** 2).sum(1).mean()
    assert term.item() == pytest.approx(expected.item(), rel=1e-6) and term.item() > 0
    term.backward()
    assert all(layer.weight.grad.abs().sum() > 0 for layer in (critic[1], critic[3]))
    constant = nn.Sequential(nn.Flatten(), nn.Linear(32, 1))
    nn.init.zeros_(constant[1].weight)
    assert consistency_penalty(constant, x, constant(x), aug).item() == 0.0  # a D that ignores its input is consistent


def test_gan_logs_r1_only_on_lazy_steps_at_k_times_the_weight(gan, write_config, tmp_path):
    cfg = copy.deepcopy(TINY_DIGITS)
    cfg["algorithm"]["regularizer"] = {"name": "r1", "gamma": 1.0, "every": 2}
    cfg["train"].update(steps=4, log_every=1, sample_every=0, checkpoint_every=0)
    result = gan("run", write_config(cfg), "--output", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps_with_r1 = [r["step"] for r in records if "reg_r1" in r]
    assert steps_with_r1 == [2, 4]
