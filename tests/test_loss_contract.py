"""The loss contract: relativistic losses, the R1 regulariser, and losses an algorithm cannot drive
refused when the run config is resolved (see gancore.losses)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from gancore import Algorithm, GANAlgorithm, Loss, LossRef, StrictModel, UserError, hookimpl, losses
from gancore.config import build_run_config
from gancore.plugins import get_host

from .conftest import TINY_RING


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


# real logits mean 2, fake logits mean -0.5: d_r = real - mean(fake) = [1.5, 3.5], d_f = fake - mean(real) = [-2, -3].
REAL, FAKE = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [-1.0]])


def _relativistic(variant: str):
    return get_host().registry.build(LossRef(name="relativistic", variant=variant))


def test_relativistic_standard_matches_hand_computed_ragan():
    loss = _relativistic("standard")
    # L_D = mean -log σ(d_r) + mean -log(1 - σ(d_f)); L_G swaps the roles of d_r and d_f.
    d = (softplus(-1.5) + softplus(-3.5)) / 2 + (softplus(-2) + softplus(-3)) / 2
    g = (softplus(2) + softplus(3)) / 2 + (softplus(1.5) + softplus(3.5)) / 2
    assert loss.discriminator_loss(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert loss.generator_loss(FAKE, REAL).item() == pytest.approx(g, rel=1e-6)


def test_relativistic_least_squares_matches_hand_computed_ralsgan():
    loss = _relativistic("least-squares")
    # L_D = mean (d_r - 1)² + mean (d_f + 1)² = (0.25 + 6.25)/2 + (1 + 4)/2
    assert loss.discriminator_loss(REAL, FAKE).item() == pytest.approx(3.25 + 2.5)
    # L_G = mean (d_f - 1)² + mean (d_r + 1)² = (9 + 16)/2 + (6.25 + 20.25)/2
    assert loss.generator_loss(FAKE, REAL).item() == pytest.approx(12.5 + 13.25)


def test_relativistic_declares_it_needs_real_logits():
    assert get_host().registry.get("loss", "relativistic").requires == {"real_logits"}
    assert get_host().registry.get("loss", "hinge").requires == frozenset()
    assert get_host().registry.get("algorithm", "gan").provides == {"real_logits", "regularizer"}
    with pytest.raises(TypeError, match="real logits"):
        _relativistic("standard").generator_loss(FAKE)


def test_r1_is_half_gamma_times_the_squared_input_gradient_on_real_data():
    discriminator = torch.nn.Linear(3, 1)
    with torch.no_grad():
        discriminator.weight.copy_(torch.tensor([[1.0, 2.0, 2.0]]))  # ∇ₓD = w everywhere, ‖w‖² = 9
    r1 = get_host().registry.build(LossRef(name="r1", gamma=4.0))
    penalty = r1.regularizer(discriminator, torch.randn(5, 3), torch.randn(5, 3))
    assert penalty.item() == pytest.approx(4.0 / 2 * 9)
    penalty.backward()  # the penalty trains D: d/dw (γ/2 ‖w‖²) = γ w
    assert torch.allclose(discriminator.weight.grad, 4.0 * discriminator.weight.detach())
    assert get_host().registry.build(LossRef(name="r1", gamma=0.0)).regularizer(discriminator, torch.randn(5, 3), None) is None


def test_r1_of_a_nonlinear_discriminator_equals_per_sample_gradients():
    torch.manual_seed(0)
    discriminator = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    real = torch.randn(6, 2)
    expected = 0.0
    for x in real:  # one sample at a time, so no sample's gradient can leak into another's
        x = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(discriminator(x[None]).sum(), x)
        expected += grad.pow(2).sum().item() / len(real)
    penalty = losses.r1(losses.R1Config(gamma=10.0)).regularizer(discriminator, real, real)
    assert penalty.item() == pytest.approx(5.0 * expected, rel=1e-5)


def test_loss_requires_comes_from_the_factory_unless_the_entry_says():
    assert Loss("a", losses.Relativistic).requires == {"real_logits"}
    assert Loss("b", lambda cfg: None).requires == frozenset()
    assert Loss("c", lambda cfg: None, requires="real_logits").requires == {"real_logits"}
    assert Algorithm("d", GANAlgorithm, provides=["regularizer"]).provides == {"regularizer"}


@pytest.mark.parametrize("variant,regularizer", [("standard", None), ("least-squares", {"name": "r1", "gamma": 1.0})])
def test_gan_trains_with_the_relativistic_loss(variant, regularizer, gan, write_config, tmp_path):
    cfg = {
        **TINY_RING,
        "algorithm": {**TINY_RING["algorithm"], "loss": {"name": "relativistic", "variant": variant}, "regularizer": regularizer},
        "train": {**TINY_RING["train"], "steps": 3, "log_every": 1},
    }
    out = gan("run", write_config(cfg), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in records if "loss_d" in r]
    assert [r["step"] for r in logged] == [1, 2, 3]
    keys = ["loss_d", "loss_g"] + (["reg_r1"] if regularizer else [])
    assert all(math.isfinite(r[k]) for r in logged for k in keys)
    if regularizer:
        assert all(r["reg_r1"] > 0 for r in logged)


# ------------------------------------------------ refused at config time


class _PlainConfig(StrictModel):
    loss: LossRef = LossRef(name="non-saturating")
    extra_losses: list[LossRef] = []


class _PlainPlugin:
    """A third-party algorithm that calls generator_loss(fake) only, and so provides nothing."""

    @hookimpl
    def gan_register_algorithms(self, register):
        register(Algorithm("plain", GANAlgorithm, _PlainConfig, "an algorithm that gives its losses nothing extra"))


def _plain_run(**algorithm):
    return {"plugin": "plain", "algorithm": {"name": "plain", **algorithm}, "data": {"name": "ring"}}


def test_a_loss_the_algorithm_cannot_drive_is_refused_before_training(inline_plugin, gan, write_config, tmp_path):
    inline_plugin(_PlainPlugin(), "plain")
    out = gan("run", write_config(_plain_run(loss={"name": "relativistic"})), "--output", tmp_path / "r")
    assert out.exit_code == 2, out.output
    text = " ".join(out.output.split())
    assert "algorithm 'plain' (plugin 'plain') cannot drive loss 'relativistic'" in text
    assert "at algorithm.loss" in text and "needs real_logits" in text and "provides: nothing" in text
    assert "hinge" in text and "provides={'real_logits'}" in text  # what to do instead
    assert "Traceback" not in out.output and not (tmp_path / "r").exists()


def test_losses_nested_in_lists_are_checked_too(inline_plugin):
    inline_plugin(_PlainPlugin(), "plain")
    with pytest.raises(UserError) as refused:
        build_run_config(get_host().registry, None, _plain_run(extra_losses=[{"name": "hinge"}, {"name": "r1"}]), [])
    text = " ".join(str(refused.value).split())
    assert "loss 'r1'" in text and "at algorithm.extra_losses.1" in text and "needs regularizer" in text


def test_losses_the_algorithm_can_drive_pass(inline_plugin):
    inline_plugin(_PlainPlugin(), "plain")
    config = build_run_config(get_host().registry, None, _plain_run(loss={"name": "hinge"}, extra_losses=[{"name": "wasserstein"}]), [])
    assert config.algorithm.options["loss"]["name"] == "hinge"


def test_gan_refuses_a_regulariser_as_its_objective(gan, write_config, tmp_path):
    cfg = {**TINY_RING, "algorithm": {**TINY_RING["algorithm"], "loss": {"name": "r1"}}}
    out = gan("run", write_config(cfg), "--output", tmp_path / "r")
    assert out.exit_code == 2, out.output
    assert "regulariser, not an objective" in out.output


def test_a_third_party_loss_needs_only_the_two_methods_and_its_requires():
    import torch.nn.functional as F

    class Paired(losses.AdversarialLoss):  # relativistic pairing (RpGAN), as a plugin would write it
        requires = frozenset({losses.REAL_LOGITS})

        def discriminator_loss(self, real, fake):
            return F.softplus(fake - real).mean()

        def generator_loss(self, fake, real=None):
            return F.softplus(real - fake).mean()

    entry = Loss("paired", Paired)
    loss = entry.factory(entry.config())
    assert entry.requires == {"real_logits"} and loss.regularizer(None, REAL, FAKE) is None
    assert loss.generator_loss(FAKE, REAL).item() == pytest.approx((softplus(1) + softplus(4)) / 2)
