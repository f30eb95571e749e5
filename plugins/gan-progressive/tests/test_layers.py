"""Equalized learning rate, pixel norm and the minibatch-stddev layer the networks use."""

from __future__ import annotations

import math

import pytest
import torch

from gancore.nn import EqualizedConv2d, EqualizedLinear, PixelNorm
from gan_progressive.models import NetworkConfig, ProgressiveDiscriminator, ProgressiveGenerator
from gancore.nn import MinibatchStdDev


@pytest.mark.parametrize("layer,fan_in", [(EqualizedLinear(100, 7), 100), (EqualizedConv2d(6, 5, 3), 54), (EqualizedConv2d(12, 3, 1), 12)])
def test_runtime_scale_is_hes_constant_for_the_fan_in(layer, fan_in):
    assert layer.scale == pytest.approx(math.sqrt(2.0 / fan_in), rel=1e-12)
    # the layer computes with weight * scale: a plain layer holding those weights gives the same output
    x = torch.randn(4, 100) if isinstance(layer, EqualizedLinear) else torch.randn(2, layer.weight.shape[1], 5, 5)
    if isinstance(layer, EqualizedLinear):
        expected = x @ (layer.weight * layer.scale).T + layer.bias
    else:
        expected = torch.nn.functional.conv2d(x, layer.weight * layer.scale, layer.bias, padding=layer.weight.shape[-1] // 2)
    assert torch.allclose(layer(x), expected, atol=1e-6)


def test_every_layer_of_both_networks_scales_by_its_own_fan_in():
    config = NetworkConfig(fmap_base=64, fmap_max=32)
    generator, discriminator = ProgressiveGenerator(config, 3, 3, latent_dim=16), ProgressiveDiscriminator(config, 3, 3)
    layers = [m for net in (generator, discriminator) for m in net.modules() if isinstance(m, (EqualizedLinear, EqualizedConv2d))]
    assert len(layers) > 15
    gains = {math.sqrt(2.0), math.sqrt(2.0) / 4, 1.0}  # leaky-ReLU layers; the generator's first dense; toRGB and the output
    for layer in layers:
        fan_in = layer.weight[0].numel()
        assert any(layer.scale == pytest.approx(g / math.sqrt(fan_in), rel=1e-12) for g in gains)
    to_rgb = generator.to_rgb[2]
    assert to_rgb.scale == pytest.approx(1.0 / math.sqrt(to_rgb.weight[0].numel()))
    assert generator.dense.scale == pytest.approx(math.sqrt(2.0) / 4 / math.sqrt(16))


def test_weights_are_stored_standard_normal_and_biases_zero():
    torch.manual_seed(0)
    layer = EqualizedConv2d(64, 64, 3)
    assert abs(layer.weight.mean().item()) < 0.01 and layer.weight.std().item() == pytest.approx(1.0, abs=0.01)
    assert torch.count_nonzero(layer.bias) == 0


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.randn(3, 16, 5, 5) * torch.rand(3, 1, 5, 5) * 10
    y = PixelNorm()(x)
    assert torch.allclose(y.pow(2).mean(dim=1), torch.ones(3, 5, 5), atol=1e-5)
    # the direction of each pixel's feature vector is kept
    assert torch.allclose(torch.nn.functional.cosine_similarity(x, y, dim=1), torch.ones(3, 5, 5), atol=1e-5)


def test_minibatch_stddev_appends_the_mean_std_over_groups_of_four():
    x = torch.randn(8, 3, 4, 4)
    y = MinibatchStdDev(4)(x)
    assert y.shape == (8, 4, 4, 4) and torch.equal(y[:, :3], x)
    grouped = x.reshape(4, 2, 3, 4, 4)  # sample g*2+m is member g of group m, as in the reference
    expected = grouped.std(dim=0, unbiased=False).mean(dim=(1, 2, 3))
    assert torch.allclose(y[:, 3, 0, 0], expected.repeat(4), atol=1e-5)
