"""The K+1 losses written with log-sum-exp against the explicit softmax over K+1 logits, the last fixed at 0."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan_semisup import losses


def explicit_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """softmax over [l_1..l_K, 0] in float64: column K is p(fake | x)."""
    return torch.softmax(torch.cat([logits, torch.zeros(len(logits), 1, dtype=logits.dtype)], dim=1), dim=1)


@pytest.mark.parametrize("scale", [0.1, 3.0, 12.0])
def test_unsupervised_loss_equals_the_explicit_softmax_form(scale):
    torch.manual_seed(0)
    real, fake = (scale * torch.randn(64, 10, dtype=torch.float64) for _ in range(2))
    p_real_fake_class = explicit_probabilities(real)[:, -1]
    p_fake_fake_class = explicit_probabilities(fake)[:, -1]
    # −E_real[log p(y ≤ K | x)] − E_fake[log p(y = K+1 | G(z))]
    expected = -torch.log1p(-p_real_fake_class).mean() - torch.log(p_fake_fake_class).mean()
    got = losses.unsupervised_loss(real, fake)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_discriminator_probability_is_z_over_z_plus_one():
    logits = torch.tensor([[0.0, 0.0], [1.0, -2.0], [5.0, 5.0]], dtype=torch.float64)
    z = logits.exp().sum(dim=1)
    d = torch.sigmoid(losses.real_log_odds(logits).double())
    assert torch.allclose(d, z / (z + 1), atol=1e-6)
    assert torch.allclose(d, 1 - explicit_probabilities(logits)[:, -1], atol=1e-6)


def test_generator_loss_is_minus_log_d_of_the_fakes():
    torch.manual_seed(1)
    fake = 4 * torch.randn(32, 10, dtype=torch.float64)
    expected = -torch.log(1 - explicit_probabilities(fake)[:, -1]).mean()
    assert losses.generator_loss(fake).item() == pytest.approx(expected.item(), rel=1e-5)


def test_supervised_loss_is_cross_entropy_over_the_k_classes_only():
    torch.manual_seed(2)
    logits, labels = torch.randn(16, 10), torch.randint(0, 10, (16,))
    expected = -(logits.gather(1, labels[:, None]).squeeze(1) - torch.logsumexp(logits, dim=1)).mean()
    assert losses.supervised_loss(logits, labels).item() == pytest.approx(expected.item(), rel=1e-5)
    # p(y | x, real) ignores the fake class: adding a constant to every class logit changes nothing
    assert losses.supervised_loss(logits + 7.0, labels).item() == pytest.approx(expected.item(), rel=1e-4)


def test_losses_stay_finite_and_exact_where_the_naive_form_overflows():
    # exp(1000) overflows: the explicit probabilities would be nan; the log-sum-exp form is exact.
    real = torch.tensor([[1000.0, -1000.0], [-1000.0, -1000.0]])
    fake = torch.tensor([[-1000.0, -1000.0], [1000.0, 1000.0]])
    naive = real.exp().sum(1) / (real.exp().sum(1) + 1)
    assert torch.isnan(naive).any()
    value = losses.unsupervised_loss(real, fake)
    # real 1: D = 1, loss 0; real 2: lse ≈ −999.3, −log D ≈ 999.3; fake 1: log(1 − D) ≈ 0; fake 2: lse ≈ 1000.7
    expected = (0 + (1000 - torch.log(torch.tensor(2.0)).item())) / 2 + (0 + 1000 + torch.log(torch.tensor(2.0)).item()) / 2
    assert torch.isfinite(value) and value.item() == pytest.approx(expected, rel=1e-5)
    grads = torch.autograd.functional.jacobian(lambda r: losses.unsupervised_loss(r, fake), real)
    assert torch.isfinite(grads).all()


def test_with_fake_logit_appends_a_zero_column():
    logits = torch.randn(5, 10)
    full = losses.with_fake_logit(logits)
    assert full.shape == (5, 11) and torch.equal(full[:, :10], logits) and torch.equal(full[:, 10], torch.zeros(5))


def test_feature_matching_loss_is_the_squared_distance_of_the_means_and_ignores_the_real_gradient():
    fake = torch.randn(8, 4, requires_grad=True)
    real = torch.randn(8, 4, requires_grad=True)
    loss = losses.feature_matching_loss(fake, real)
    assert loss.item() == pytest.approx(F.mse_loss(fake.mean(0), real.mean(0)).item(), rel=1e-6)
    loss.backward()
    assert real.grad is None and fake.grad is not None
