"""The Improved-GAN and BiGAN networks: the reference layout, noise, weight norm, the data-dependent init,
minibatch discrimination."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_semisup.bigan_models import BiGANDiscriminator, BiGANDiscriminatorConfig, BiGANEncoder, BiGANGenerator, BiGANNetworkConfig
from gan_semisup.models import (
    GaussianNoise,
    ImprovedGANDiscriminator,
    ImprovedGANDiscriminatorConfig,
    ImprovedGANGenerator,
    ImprovedGANGeneratorConfig,
    MinibatchDiscrimination,
)


def _linears(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def test_discriminator_defaults_are_the_reference_mnist_model():
    d = ImprovedGANDiscriminator(ImprovedGANDiscriminatorConfig(), (1, 28, 28), out_features=10)
    assert [(m.in_features, m.out_features) for m in _linears(d)] == [(784, 1000), (1000, 500), (500, 250), (250, 250), (250, 250), (250, 10)]
    assert all(hasattr(m, "parametrizations") for m in _linears(d)), "every layer is weight-normalised"
    sigmas = [m.sigma for m in d.modules() if isinstance(m, GaussianNoise)]
    assert sigmas == [0.6, 0.5, 0.5, 0.5, 0.5, 0.5], "input noise, then after each of the five hidden layers"
    trainable_scales = [m.parametrizations.weight.original0.requires_grad for m in _linears(d)]
    assert trainable_scales == [False] * 5 + [True], "hidden scales are fixed, the output layer's trains"
    assert d.features(torch.zeros(3, 1, 28, 28)).shape == (3, 250)
    assert d(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_noise_only_in_training_mode():
    d = ImprovedGANDiscriminator(ImprovedGANDiscriminatorConfig(hidden=[16, 8]), (1, 8, 8), out_features=10)
    x = torch.randn(4, 1, 8, 8)
    d.eval()
    assert torch.equal(d(x), d(x))
    d.train()
    assert not torch.equal(d(x), d(x))


def test_data_dependent_init_gives_unit_pre_activations_on_the_init_batch():
    torch.manual_seed(0)
    d = ImprovedGANDiscriminator(ImprovedGANDiscriminatorConfig(hidden=[32, 16]), (1, 8, 8), out_features=10)
    x = torch.rand(200, 1, 8, 8) * 2 - 1
    d.init_from_data(x)
    h = x.flatten(1)
    with torch.no_grad():
        for layer in [*d.hidden, d.head[-1]]:
            pre = layer(h)
            assert torch.allclose(pre.mean(0), torch.zeros(pre.shape[1]), atol=1e-4)
            assert torch.allclose(pre.std(0, unbiased=False), torch.ones(pre.shape[1]), atol=1e-3)
            h = torch.relu(pre)


def test_minibatch_discrimination_tells_a_collapsed_batch_from_a_varied_one():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=6, kernels=3, kernel_dim=2)
    varied = torch.randn(8, 6) * 10
    collapsed = varied[:1].expand(8, 6)
    out_varied, out_collapsed = layer(varied), layer(collapsed)
    assert out_varied.shape == (8, 9) and torch.equal(out_varied[:, :6], varied)
    # identical samples: every other sample is at distance 0, so each kernel counts 7 neighbours
    assert torch.allclose(out_collapsed[:, 6:] - layer.bias, torch.full((8, 3), 7.0))
    assert (out_varied[:, 6:] < out_collapsed[:, 6:]).all()
    d = ImprovedGANDiscriminator(ImprovedGANDiscriminatorConfig(hidden=[16], minibatch_kernels=5), (1, 8, 8), out_features=10)
    assert d(torch.randn(4, 1, 8, 8)).shape == (4, 10)


def test_generator_is_the_reference_layout():
    g = ImprovedGANGenerator(ImprovedGANGeneratorConfig(), (1, 28, 28), latent_dim=100)
    assert [(m.in_features, m.out_features) for m in _linears(g)] == [(100, 500), (500, 500), (500, 784)]
    norms = [m for m in g.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(norms) == 2 and not any(n.weight.requires_grad for n in norms), "batch norm shifts but does not scale"
    assert any(isinstance(m, nn.Softplus) for m in g.modules())
    x = g(torch.rand(5, 100))
    assert x.shape == (5, 1, 28, 28) and x.abs().max() <= 1


def test_bigan_networks_shapes():
    config = BiGANNetworkConfig(hidden_dim=32)
    x, z = torch.randn(5, 1, 28, 28), torch.randn(5, 50)
    encoder = BiGANEncoder(config, (1, 28, 28), 50)
    assert encoder(x).shape == (5, 50) and encoder.features(x).shape == (5, 32)
    assert BiGANGenerator(config, (1, 28, 28), 50)(z).shape == (5, 1, 28, 28)
    discriminator = BiGANDiscriminator(BiGANDiscriminatorConfig(hidden_dim=32), (1, 28, 28), 50)
    assert discriminator(x, z).shape == (5, 1)
    assert _linears(discriminator)[0].in_features == 784 + 50
    assert not any(isinstance(m, nn.BatchNorm1d) for m in discriminator.modules())


def test_noisy_init_leaves_the_clean_signal_smaller_beside_the_noise():
    x = torch.rand(300, 1, 8, 8) * 2 - 1
    stds = {}
    for noisy in (False, True):
        torch.manual_seed(0)
        d = ImprovedGANDiscriminator(ImprovedGANDiscriminatorConfig(hidden=[32, 16], noisy_init=noisy), (1, 8, 8), out_features=10)
        d.init_from_data(x)
        with torch.no_grad():
            stds[noisy] = d.hidden[0](x.flatten(1)).std(0, unbiased=False).mean().item()
    assert stds[False] == pytest.approx(1.0, abs=1e-3)
    # signal variance v, noise 0.6² on 64 inputs: the init divides by sqrt(v + noise), so the clean std is below 1
    assert 0.3 < stds[True] < 0.95


def test_feature_matching_features_are_the_last_hidden_layer_with_noise_below_it_and_none_after():
    # The reference matches layers[-3] of its discriminator: the last hidden layer's ReLU output, taken in training
    # mode (noise on the input and after every earlier hidden layer), before the noise that precedes the output layer.
    torch.manual_seed(0)
    d = ImprovedGANDiscriminator(ImprovedGANDiscriminatorConfig(hidden=[32, 16, 8], input_noise=0.6, hidden_noise=0.5), (1, 8, 8), out_features=10)
    x = torch.rand(64, 1, 8, 8) * 2 - 1
    d.train()
    with torch.no_grad():
        torch.manual_seed(1)
        features = d.features(x)
        torch.manual_seed(1)  # the same noise draws, by hand: input, after hidden 0, after hidden 1, none after hidden 2
        h = x.flatten(1) + 0.6 * torch.randn(64, 64)
        h = torch.relu(d.hidden[0](h))
        h = h + 0.5 * torch.randn_like(h)
        h = torch.relu(d.hidden[1](h))
        h = h + 0.5 * torch.randn_like(h)
        by_hand = torch.relu(d.hidden[2](h))
    assert torch.allclose(features, by_hand, atol=1e-6)
    assert (features >= 0).all(), "no noise after the matched layer's ReLU"
    assert isinstance(d.head[0], GaussianNoise) and d.head[0].sigma == 0.5, "that layer's noise is applied by the head, before the logits"
