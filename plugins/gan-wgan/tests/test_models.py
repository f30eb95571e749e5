"""The SN-GAN ResNet generator and critic: shapes, the CIFAR layout, and a short run."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_wgan.models import ResNetCritic, ResNetCriticConfig, ResNetGenerator, ResNetGeneratorConfig
from gancore.errors import UserError


def test_cifar_sized_networks_have_the_sngan_layout():
    generator = ResNetGenerator(ResNetGeneratorConfig(), (3, 32, 32), latent_dim=128)
    critic = ResNetCritic(ResNetCriticConfig(), (3, 32, 32))
    assert (generator.start, len(generator.blocks), generator.width) == (4, 3, 256), "4x4 -> 8 -> 16 -> 32, 256 channels"
    assert len(critic.blocks) == 4, "two down-blocks (32 -> 8) and two plain blocks, 128 channels"
    assert [b.down for b in critic.blocks] == [True, True, False, False]
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())
    z = torch.randn(2, 128)
    images = generator(z)
    assert images.shape == (2, 3, 32, 32) and images.abs().max() <= 1
    assert critic(images).shape == (2, 1)


@pytest.mark.parametrize("shape,down", [((1, 8, 8), 2), ((1, 28, 28), 2), ((3, 16, 16), 3)])
def test_other_sizes(shape, down):
    generator = ResNetGenerator(ResNetGeneratorConfig(channels=8), shape, latent_dim=4)
    critic = ResNetCritic(ResNetCriticConfig(channels=8, downsample_blocks=down, extra_blocks=1, norm="layer", pooling="mean"), shape)
    assert generator(torch.randn(3, 4)).shape == (3, *shape)
    assert critic(torch.randn(3, *shape)).shape == (3, 1)


def test_spectral_norm_option():
    critic = ResNetCritic(ResNetCriticConfig(channels=8, spectral_norm=True), (3, 32, 32))
    assert any("parametrizations" in name for name, _ in critic.named_parameters())


def test_sizes_that_do_not_fit_are_user_errors():
    with pytest.raises(UserError, match="cannot be halved"):
        ResNetCritic(ResNetCriticConfig(downsample_blocks=3), (1, 28, 28))
    with pytest.raises(UserError, match="square images"):
        ResNetGenerator(ResNetGeneratorConfig(), (2,), latent_dim=2)


def test_wgan_gp_trains_the_resnets_by_name(gan, write_config, tiny_digits_clip, tmp_path):
    tiny_digits_clip["algorithm"] = {
        "name": "wgan-gp",
        "latent_dim": 8,
        "generator": {"name": "sngan-resnet-generator", "channels": 8},
        "critic": {"name": "sngan-resnet-critic", "channels": 8},
        "n_critic": 2,
    }
    tiny_digits_clip["train"]["steps"] = 4
    out = gan("run", write_config(tiny_digits_clip), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
