"""The fitness F = F_q + γ·F_d against values worked out by hand; F_d is a gradient with respect to the
discriminator's parameters (not its input); the loop and the vmapped scoring agree and change nothing."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gan_evolutionary.algorithm import select
from gan_evolutionary.fitness import SCORERS, diversity_fitness
from gancore import losses
from gancore.nn.dcgan import DCGANDiscriminator, DCGANDiscriminatorConfig, DCGANGenerator, DCGANGeneratorConfig


def _linear_setup():
    torch.manual_seed(0)
    generator = nn.Linear(2, 2)  # G(z) = A z + c
    discriminator = nn.Linear(2, 1)  # D(x) = w·x + b
    with torch.no_grad():
        discriminator.weight.copy_(torch.tensor([[1.5, -0.5]]))
        discriminator.bias.fill_(0.25)
    child = {k: v.detach().clone() for k, v in generator.state_dict().items()}
    return generator, discriminator, child, torch.randn(64, 2), torch.randn(64, 2) + 1.0


@pytest.mark.parametrize("scoring", ["loop", "vmap"])
def test_fitness_matches_the_hand_computed_value_and_uses_parameter_gradients(scoring):
    generator, discriminator, child, z, real = _linear_setup()
    fake = z @ child["weight"].T + child["bias"]
    w, b = discriminator.weight.detach(), discriminator.bias.detach()
    d_real, d_fake = (real @ w.T + b).flatten(), (fake @ w.T + b).flatten()
    # Minimax L_D = mean softplus(−D(r)) + mean softplus(D(f)):
    # ∂L/∂w = mean[−σ(−D(r)) r] + mean[σ(D(f)) f],  ∂L/∂b = mean[−σ(−D(r))] + mean[σ(D(f))].
    grad_w = (-torch.sigmoid(-d_real)[:, None] * real).mean(0) + (torch.sigmoid(d_fake)[:, None] * fake).mean(0)
    grad_b = -torch.sigmoid(-d_real).mean() + torch.sigmoid(d_fake).mean()
    expected_fd = -0.5 * math.log(grad_w.pow(2).sum().item() + grad_b.item() ** 2)
    expected_fq = torch.sigmoid(d_fake).mean().item()

    quality, diversity = SCORERS[scoring](generator, discriminator, [child], z, real, losses.Minimax(losses.SmoothingConfig()))
    assert quality.item() == pytest.approx(expected_fq, rel=1e-6)
    assert diversity.item() == pytest.approx(expected_fd, rel=1e-5)

    # Against the input instead, the gradient would be ∂L/∂x = (∂L/∂D)·w per sample: another number.
    x = torch.cat([real, fake]).requires_grad_(True)
    logits = discriminator(x)
    by_input = F.softplus(-logits[:64]).mean() + F.softplus(logits[64:]).mean()
    (input_gradient,) = torch.autograd.grad(by_input, x)
    assert abs(-math.log(input_gradient.norm().item()) - expected_fd) > 0.1


def test_diversity_fitness_is_minus_log_or_log_of_the_norm_of_all_gradients_together():
    gradients = [torch.tensor([3.0]), torch.tensor([[4.0, 0.0]])]
    assert diversity_fitness(gradients).item() == pytest.approx(-math.log(5.0))
    assert diversity_fitness(gradients, "negative-log").item() == pytest.approx(-math.log(5.0))
    assert diversity_fitness(gradients, "log").item() == pytest.approx(math.log(5.0))


@pytest.mark.parametrize("scoring", ["loop", "vmap"])
def test_the_sign_decides_whether_a_rejected_child_with_a_vanishing_gradient_wins(scoring):
    # D(x) = 20·x₀ accepts the real points (x₀ = 2, D = 40) outright. Child 0 puts its samples at x₀ = −2, where D
    # rejects them outright (D = −40): every term of ∇_θD L_D carries σ(−40) ≈ 4e-18, the gradient all but vanishes.
    # Child 1 puts them on the real points, which D calls real: a gradient of norm ≈ √5.
    generator, discriminator = nn.Linear(2, 2), nn.Linear(2, 1)
    with torch.no_grad():
        discriminator.weight.copy_(torch.tensor([[20.0, 0.0]]))
        discriminator.bias.zero_()
    rejected = {"weight": torch.zeros(2, 2), "bias": torch.tensor([-2.0, 0.0])}
    accepted = {"weight": torch.zeros(2, 2), "bias": torch.tensor([2.0, 0.0])}
    z, real = torch.randn(32, 2), torch.tensor([[2.0, 0.0]]).repeat(32, 1)
    loss, gamma = losses.Minimax(losses.SmoothingConfig()), 0.05

    quality, paper = SCORERS[scoring](generator, discriminator, [rejected, accepted], z, real, loss, "negative-log")
    quality_too, code = SCORERS[scoring](generator, discriminator, [rejected, accepted], z, real, loss, "log")
    assert torch.equal(quality, quality_too) and quality[0] < 1e-8 < 0.99 < quality[1]
    assert torch.allclose(code, -paper)
    # The paper's sign scores the vanishing gradient as very diverse (−log 1.7e-17 ≈ 38.6), which with γ = 0.05
    # outweighs F_q ≈ 0 against the other child's ≈ 1; the code's sign scores it as the least diverse.
    assert paper[0] > 35 and code[0] < -35 and abs(paper[1]) < 2
    assert select(quality + gamma * paper, 1) == [0]
    assert select(quality + gamma * code, 1) == [1]


def _children(generator: nn.Module, count: int) -> list[dict[str, torch.Tensor]]:
    torch.manual_seed(1)
    children = []
    for _ in range(count):
        state = {k: v.detach().clone() for k, v in generator.state_dict().items()}
        for k, v in state.items():
            if v.is_floating_point():
                v.add_(0.05 * torch.randn_like(v))
        children.append(state)
    return children


@pytest.mark.parametrize("networks", ["mlp", "dcgan-batch-norm"])
def test_loop_and_vmap_scoring_agree_and_leave_every_network_as_it_was(networks):
    torch.manual_seed(0)
    if networks == "mlp":
        generator = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
        discriminator = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
        z, real = torch.randn(48, 2), torch.randn(48, 2)
    else:  # batch norm in both: their running statistics must not move while children are scored
        generator = DCGANGenerator(DCGANGeneratorConfig(base_channels=4), (1, 16, 16), latent_dim=4)
        discriminator = DCGANDiscriminator(DCGANDiscriminatorConfig(base_channels=4, norm="batch"), (1, 16, 16))
        z, real = torch.randn(12, 4), torch.rand(12, 1, 16, 16) * 2 - 1
    children = _children(generator, 3)
    before = copy.deepcopy((generator.state_dict(), discriminator.state_dict(), children))
    loss = losses.LeastSquares(losses.LeastSquaresConfig())

    loop = SCORERS["loop"](generator, discriminator, children, z, real, loss)
    vmapped = SCORERS["vmap"](generator, discriminator, children, z, real, loss)
    for a, b in zip(loop, vmapped):
        assert a.shape == (3,) and torch.allclose(a, b, rtol=1e-4, atol=1e-5), (a, b)
    assert len(set(loop[1].tolist())) == 3, "different children, different fitness"
    after = (generator.state_dict(), discriminator.state_dict(), children)
    for old, new in zip(before[:2], after[:2]):
        assert all(torch.equal(old[k], new[k]) for k in old)
    assert all(torch.equal(o[k], n[k]) for o, n in zip(before[2], after[2]) for k in o)
