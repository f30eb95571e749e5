"""The gradient penalty against values worked out by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_wgan.algorithm import gradient_norms, gradient_penalty, interpolate, scores_and_gradient_norms


@pytest.mark.parametrize("shape", [(2,), (1, 4, 4)], ids=["points", "images"])
def test_penalty_matches_the_analytic_value_on_a_linear_critic(shape):
    # D(x) = w·x + b has ∇D = w everywhere, so ‖∇D(x̂)‖ = ‖w‖ and the penalty is (‖w‖ − 1)².
    torch.manual_seed(0)
    dim = int(torch.tensor(shape).prod())
    critic = nn.Sequential(nn.Flatten(), nn.Linear(dim, 1))
    with torch.no_grad():
        critic[1].weight.copy_(torch.arange(1.0, dim + 1).view(1, dim) / dim)
    w_norm = critic[1].weight.norm().item()
    real, fake = torch.randn(64, *shape), torch.randn(64, *shape)

    real_scores, fake_scores, norms = scores_and_gradient_norms(critic, real, fake)
    assert torch.allclose(norms, torch.full((64,), w_norm), atol=1e-5)
    assert gradient_penalty(norms).item() == pytest.approx((w_norm - 1) ** 2, rel=1e-5)
    assert torch.allclose(real_scores, critic(real).flatten()) and torch.allclose(fake_scores, critic(fake).flatten())


def test_penalty_is_differentiable_in_the_critic_weights():
    # d/dw (‖w‖ − 1)² = 2 (‖w‖ − 1) w / ‖w‖: the double backward reaches the weights.
    critic = nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[2.0, 0.0, 0.0]]))
    norms = gradient_norms(critic, torch.randn(8, 3))
    gradient_penalty(norms).backward()
    assert torch.allclose(critic.weight.grad, torch.tensor([[2.0, 0.0, 0.0]]))


def test_penalty_uses_each_interpolate_gradient():
    # D(x) = ½‖x‖² has ∇D(x̂) = x̂: the norms are those of the interpolates themselves.
    class Quadratic(nn.Module):
        def forward(self, x):
            return 0.5 * (x.flatten(1) ** 2).sum(dim=1, keepdim=True)

    x_hat = torch.randn(16, 1, 3, 3)
    assert torch.allclose(gradient_norms(Quadratic(), x_hat), x_hat.flatten(1).norm(dim=1), atol=1e-6)


def test_interpolates_use_one_alpha_per_sample_not_per_pixel():
    torch.manual_seed(1)
    real, fake = torch.randn(32, 3, 5, 5), torch.randn(32, 3, 5, 5)
    x_hat = interpolate(real, fake)
    alpha = (x_hat - fake) / (real - fake)  # x̂ = fake + α (real − fake)
    per_sample = alpha.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample), atol=1e-4), "one α for all pixels of a sample"
    assert ((per_sample[:, 0] >= 0) & (per_sample[:, 0] <= 1)).all()
    assert per_sample[:, 0].std() > 0.1, "α differs between samples"
