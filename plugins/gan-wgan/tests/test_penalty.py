"""The gradient penalty against values worked out by hand: WGAN-GP's is gancore's GradientPenalty, with target 1."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_wgan.algorithm import gradient_penalty, scores_and_penalty, unweighted_penalty
from gancore.losses import GradientPenalty, interpolates


@pytest.mark.parametrize("shape", [(2,), (1, 4, 4)], ids=["points", "images"])
def test_penalty_matches_the_analytic_value_on_a_linear_critic(shape):
    # D(x) = w·x + b has ∇D = w everywhere, so ‖∇D(x̂)‖ = ‖w‖ and the penalty is λ(‖w‖ − 1)².
    torch.manual_seed(0)
    dim = int(torch.tensor(shape).prod())
    critic = nn.Sequential(nn.Flatten(), nn.Linear(dim, 1))
    with torch.no_grad():
        critic[1].weight.copy_(torch.arange(1.0, dim + 1).view(1, dim) / dim)
    w_norm = critic[1].weight.norm().item()
    real, fake = torch.randn(64, *shape), torch.randn(64, *shape)

    penalty = gradient_penalty(10.0)
    real_scores, fake_scores, weighted = scores_and_penalty(critic, real, fake, penalty)
    norms = penalty.last_norms
    assert torch.allclose(norms, torch.full((64,), w_norm), atol=1e-5)
    assert unweighted_penalty(norms).item() == pytest.approx((w_norm - 1) ** 2, rel=1e-5)
    assert weighted.item() == pytest.approx(10 * (w_norm - 1) ** 2, rel=1e-5)
    assert torch.allclose(real_scores, critic(real).flatten()) and torch.allclose(fake_scores, critic(fake).flatten())


def test_penalty_is_gancores_with_target_1_on_interpolates():
    penalty = gradient_penalty(0.1)
    assert isinstance(penalty, GradientPenalty)
    assert (penalty.weight, penalty.target, penalty.at, penalty.every) == (0.1, 1.0, "interpolates", 1)


def test_penalty_is_differentiable_in_the_critic_weights():
    # d/dw (‖w‖ − 1)² = 2 (‖w‖ − 1) w / ‖w‖: the double backward reaches the weights.
    critic = nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[2.0, 0.0, 0.0]]))
    gradient_penalty(1.0).penalty(critic, torch.randn(8, 3), torch.randn(8, 3)).backward()
    assert torch.allclose(critic.weight.grad, torch.tensor([[2.0, 0.0, 0.0]]))


def test_penalty_uses_each_interpolate_gradient():
    # D(x) = ½‖x‖² has ∇D(x̂) = x̂: the norms are those of the interpolates themselves.
    class Quadratic(nn.Module):
        def forward(self, x):
            return 0.5 * (x.flatten(1) ** 2).sum(dim=1, keepdim=True)

    real, fake = torch.randn(16, 1, 3, 3), torch.randn(16, 1, 3, 3)
    penalty = gradient_penalty(1.0)
    torch.manual_seed(2)
    penalty.penalty(Quadratic(), real, fake)
    torch.manual_seed(2)
    x_hat = interpolates(real, fake)  # the same draw of α
    assert torch.allclose(penalty.last_norms, x_hat.flatten(1).norm(dim=1), atol=1e-6)


def test_interpolates_use_one_alpha_per_sample_not_per_pixel():
    torch.manual_seed(1)
    real, fake = torch.randn(32, 3, 5, 5), torch.randn(32, 3, 5, 5)
    x_hat = interpolates(real, fake)
    alpha = (x_hat - fake) / (real - fake)  # x̂ = fake + α (real − fake)
    per_sample = alpha.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample), atol=1e-4), "one α for all pixels of a sample"
    assert ((per_sample[:, 0] >= 0) & (per_sample[:, 0] <= 1)).all()
    assert per_sample[:, 0].std() > 0.1, "α differs between samples"
