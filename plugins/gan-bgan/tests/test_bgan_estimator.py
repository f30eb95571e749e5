"""The discrete BGAN estimator: sampling, log-likelihoods, importance weights, and the batched m-sample pass."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_bgan import estimator
from gan_bgan.models import BGANDiscriminator, BGANDiscriminatorConfig


def test_importance_weights_sum_to_one_for_each_z():
    scores = torch.randn(20, 7) * 5
    scores[:, 0] = torch.tensor([1000.0] + [-1000.0] * 19)  # extreme logits stay finite
    weights = estimator.importance_weights(scores)
    assert weights.shape == (20, 7)
    assert torch.allclose(weights.sum(dim=0), torch.ones(7), atol=1e-6)
    assert (weights >= 0).all() and torch.isfinite(weights).all()
    assert weights[0, 0] == pytest.approx(1.0)


def test_importance_weights_are_normalised_d_over_one_minus_d():
    d = torch.rand(5, 3) * 0.98 + 0.01
    logits = torch.log(d) - torch.log1p(-d)
    ratio = d / (1 - d)
    assert torch.allclose(estimator.importance_weights(logits), ratio / ratio.sum(dim=0), atol=1e-6)


def test_importance_weights_carry_no_gradient():
    scores = torch.randn(4, 3, requires_grad=True)
    weights = estimator.importance_weights(scores)
    assert not weights.requires_grad
    log_probs = torch.randn(4, 3, requires_grad=True)
    estimator.generator_loss(weights, log_probs).backward()
    assert scores.grad is None
    assert torch.allclose(log_probs.grad, -weights / 3)


def test_the_baseline_removes_the_mean_score_and_nothing_else():
    torch.manual_seed(0)
    weights = estimator.importance_weights(torch.randn(5, 3))
    log_probs = torch.randn(5, 3, requires_grad=True)
    estimator.generator_loss(weights, log_probs, baseline=True).backward()
    assert torch.allclose(log_probs.grad, -(weights - 1 / 5) / 3)
    # When D scores the m samples alike there is nothing to learn: no gradient at all.
    log_probs.grad = None
    estimator.generator_loss(torch.full((5, 3), 1 / 5), log_probs, baseline=True).backward()
    assert torch.count_nonzero(log_probs.grad) == 0


def test_the_baseline_keeps_the_expected_gradient():
    # One Bernoulli pixel with logit θ; D prefers 1. The two estimators' mean gradients over many draws agree.
    torch.manual_seed(0)
    theta = torch.tensor([0.3], requires_grad=True)
    grads = {False: [], True: []}
    for _ in range(400):
        logits = theta.view(1, 1, 1, 1).expand(64, 1, 1, 1)
        bits = estimator.draw_bits(logits, 8)
        weights = estimator.importance_weights(2.0 * bits.view(8, 64).float())
        for baseline in (False, True):
            loss = estimator.generator_loss(weights, estimator.log_prob_bits(logits, bits), baseline=baseline)
            (g,) = torch.autograd.grad(loss, theta)
            grads[baseline].append(float(g))
    plain, centred = torch.tensor(grads[False]), torch.tensor(grads[True])
    assert plain.mean() < 0 and centred.mean() < 0  # both raise the logit of the preferred value
    assert abs(float(plain.mean() - centred.mean())) < 3 * float((plain - centred).std() / 20)


def test_bits_follow_the_bernoulli_probabilities():
    torch.manual_seed(0)
    logits = torch.tensor([-2.0, 0.0, 1.5]).view(1, 3, 1, 1)
    bits = estimator.draw_bits(logits, 20_000)
    assert bits.shape == (20_000, 1, 3, 1, 1) and set(bits.unique().tolist()) <= {0, 1}
    assert torch.allclose(bits.float().mean(dim=0).flatten(), torch.sigmoid(logits).flatten(), atol=0.015)


def test_colours_follow_the_softmax_probabilities():
    torch.manual_seed(0)
    logits = torch.tensor([0.0, 2.0, -1.0, 1.0]).view(1, 4, 1, 1)
    index = estimator.draw_colors(logits, 20_000)
    assert index.shape == (20_000, 1, 1, 1) and index.dtype == torch.long
    freq = torch.bincount(index.flatten(), minlength=4).float() / 20_000
    assert torch.allclose(freq, torch.softmax(logits.flatten(), 0), atol=0.015)


def test_a_uniform_at_the_top_of_the_cdf_stays_a_valid_colour():
    logits = torch.randn(2, 5, 3, 3)
    index = estimator.draw_colors(logits, 1, torch.ones(1, 2, 3, 3))
    assert index.max() == 4


def test_log_probabilities_match_torch_distributions():
    torch.manual_seed(0)
    logits = torch.randn(3, 6, 4, 4)
    index = estimator.draw_colors(logits, 5)
    expected = torch.distributions.Categorical(logits=logits.permute(0, 2, 3, 1)).log_prob(index).flatten(2)
    assert torch.allclose(estimator.log_prob_colors(logits, index, "sum"), expected.sum(2), atol=1e-5)
    assert torch.allclose(estimator.log_prob_colors(logits, index, "mean"), expected.mean(2), atol=1e-6)

    bit_logits = torch.randn(3, 2, 4, 4)
    bits = estimator.draw_bits(bit_logits, 5)
    expected = torch.distributions.Bernoulli(logits=bit_logits).log_prob(bits.float()).flatten(2)
    assert torch.allclose(estimator.log_prob_bits(bit_logits, bits, "sum"), expected.sum(2), atol=1e-5)
    assert torch.allclose(estimator.log_prob_bits(bit_logits, bits, "mean"), expected.mean(2), atol=1e-6)


def test_mean_reduction_keeps_the_loss_scale_across_resolutions():
    # The same per-pixel distribution at 8x8 and 32x32: the mean log-likelihood agrees, the sum grows 16x.
    torch.manual_seed(0)
    small, large = torch.full((64, 1, 8, 8), 0.7), torch.full((64, 1, 32, 32), 0.7)
    mean_small = estimator.log_prob_bits(small, estimator.draw_bits(small, 8), "mean").mean()
    mean_large = estimator.log_prob_bits(large, estimator.draw_bits(large, 8), "mean").mean()
    assert mean_small == pytest.approx(float(mean_large), rel=0.02)
    sum_small = estimator.log_prob_bits(small, estimator.draw_bits(small, 8), "sum").mean()
    sum_large = estimator.log_prob_bits(large, estimator.draw_bits(large, 8), "sum").mean()
    assert float(sum_large / sum_small) == pytest.approx(16, rel=0.02)


@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
def test_the_batched_m_sample_pass_equals_a_loop_over_m(norm):
    torch.manual_seed(0)
    m, n, k = 6, 5, 4
    discriminator = BGANDiscriminator(BGANDiscriminatorConfig(base_channels=8, norm=norm), (k, 8, 8))
    if norm == "batch":
        # Batch norm couples the samples of a batch; its running statistics (eval mode) do not.
        discriminator(torch.rand(32, k, 8, 8))
        discriminator.eval()
    logits = torch.randn(n, k, 8, 8, requires_grad=True)
    index = estimator.draw_colors(logits, m)
    inputs = estimator.one_hot(index, k)

    # One batched pass over m*N samples ...
    scores = estimator.score(discriminator, inputs)
    weights = estimator.importance_weights(scores)
    loss = estimator.generator_loss(weights, estimator.log_prob_colors(logits, index, "mean"))
    (grad,) = torch.autograd.grad(loss, logits)

    # ... equals m passes of N samples, one per Monte-Carlo draw.
    looped_scores = torch.stack([discriminator(inputs[j]).flatten() for j in range(m)])
    looped_weights = torch.softmax(looped_scores.detach(), dim=0)
    looped_loss = -sum(
        (looped_weights[j] * estimator.log_prob_colors(logits, index[j : j + 1], "mean")[0]).mean() for j in range(m)
    )
    (looped_grad,) = torch.autograd.grad(looped_loss, logits)

    assert torch.allclose(scores, looped_scores, atol=1e-5)
    assert torch.allclose(weights, looped_weights, atol=1e-6)
    assert torch.allclose(loss, looped_loss, atol=1e-6)
    assert torch.allclose(grad, looped_grad, atol=1e-7)


def test_the_batched_pass_calls_the_discriminator_once():
    calls = []

    class Counting(nn.Module):
        def forward(self, x):
            calls.append(x.shape[0])
            return x.flatten(1).sum(1, keepdim=True)

    scores = estimator.score(Counting(), torch.randn(20, 3, 1, 4, 4))
    assert calls == [60] and scores.shape == (20, 3)


def test_effective_sample_size_runs_from_one_to_m():
    assert float(estimator.effective_sample_size(torch.full((8, 2), 1 / 8))) == pytest.approx(8)
    peaked = torch.zeros(8, 2)
    peaked[3] = 1
    assert float(estimator.effective_sample_size(peaked)) == pytest.approx(1)


def test_one_hot_puts_the_colours_on_the_channel_axis():
    index = torch.randint(0, 5, (3, 2, 4, 6))
    expected = torch.nn.functional.one_hot(index, 5).permute(0, 1, 4, 2, 3).float()
    assert torch.equal(estimator.one_hot(index, 5), expected)
    assert estimator.one_hot(index, 5).is_contiguous()
