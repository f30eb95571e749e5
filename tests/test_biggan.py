"""BigGAN's networks: sizes from the config, attention where asked, spectral norm, orthogonal
initialisation, skip-z, and the two example configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from gancore.config import build_run_config, load_yaml
from gancore.errors import UserError
from gancore.nn.biggan import (
    BigGANDiscriminator,
    BigGANDiscriminatorConfig,
    BigGANGenerator,
    BigGANGeneratorConfig,
    SelfAttention,
)
from gancore.plugins import get_host

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("side, blocks", [(8, 1), (28, 2), (32, 3)])
def test_the_image_side_sets_the_depth_and_the_config_the_widths(side, blocks):
    g = BigGANGenerator(BigGANGeneratorConfig(channels=2, attention_resolution=None), (3, side, side), latent_dim=16, num_classes=4)
    d = BigGANDiscriminator(BigGANDiscriminatorConfig(channels=2, attention_resolution=None), (3, side, side), num_classes=4)
    assert len(g.blocks) == blocks and g.widths == [8] * (blocks + 1)
    labels = torch.tensor([0, 3])
    x = g(torch.randn(2, 16), labels)
    assert x.shape == (2, 3, side, side) and x.abs().max() <= 1
    assert d(x, labels).shape == (2, 1)
    wide = BigGANGenerator(BigGANGeneratorConfig(channels=2, multipliers=[4, 2, 1, 1][: blocks + 1]), (1, side, side), 16)
    assert wide.widths == [2 * m for m in [4, 2, 1, 1][: blocks + 1]]
    with pytest.raises(UserError, match="needs"):
        BigGANGenerator(BigGANGeneratorConfig(multipliers=[1] * (blocks + 3)), (1, side, side), 16)


def test_self_attention_sits_at_the_configured_resolution_in_both_networks():
    g = BigGANGenerator(BigGANGeneratorConfig(channels=2, attention_resolution=16), (1, 32, 32), 16, 10)
    d = BigGANDiscriminator(BigGANDiscriminatorConfig(channels=2, attention_resolution=8), (1, 32, 32), num_classes=10)
    assert list(g.attention) == ["1"]  # after the block that outputs 16x16 (4 -> 8 -> 16)
    kinds = [type(m).__name__ for m in d.blocks]
    assert kinds == ["DiscriminatorBlock", "DiscriminatorBlock", "SelfAttention", "DiscriminatorBlock", "DiscriminatorBlock"]
    assert not any(isinstance(m, SelfAttention) for m in BigGANGenerator(BigGANGeneratorConfig(attention_resolution=None), (1, 32, 32), 16).modules())


def test_spectral_norm_in_both_networks_and_orthogonal_initialisation():
    g = BigGANGenerator(BigGANGeneratorConfig(channels=4), (1, 32, 32), 16, 10)
    d = BigGANDiscriminator(BigGANDiscriminatorConfig(channels=4), (1, 32, 32), num_classes=10)
    for net in (g, d):
        layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        assert layers and all(hasattr(m, "parametrizations") for m in layers)
    # A 1x1 skip convolution of 16 -> 16 channels: an orthogonal matrix.
    w = g.blocks[0].skip.parametrizations.weight.original.flatten(1)
    torch.testing.assert_close(w @ w.t(), torch.eye(16), atol=1e-5, rtol=0)
    plain = BigGANGenerator(BigGANGeneratorConfig(channels=4, spectral_norm=False, orthogonal_init=False), (1, 32, 32), 16, 10)
    assert not any(hasattr(m, "parametrizations") for m in plain.modules() if isinstance(m, nn.Conv2d))


def test_skip_z_sends_a_chunk_of_z_to_every_block():
    g = BigGANGenerator(BigGANGeneratorConfig(channels=2, shared_dim=4), (1, 32, 32), latent_dim=18, num_classes=3).eval()
    assert g.chunk_sizes == [6, 4, 4, 4]
    z, labels = torch.randn(1, 18), torch.tensor([1])
    base = g(z, labels)
    last = z.clone()
    last[0, -1] += 1.0  # only the last block's chunk
    assert not torch.equal(g(last, labels), base)
    no_skip = BigGANGenerator(BigGANGeneratorConfig(channels=2, skip_z=False), (1, 32, 32), latent_dim=18, num_classes=3)
    assert no_skip.chunk_sizes == [18]
    with pytest.raises(UserError, match="at least 4"):
        BigGANGenerator(BigGANGeneratorConfig(), (1, 32, 32), latent_dim=3, num_classes=3)


def test_unconditional_biggan_networks_train_in_the_plain_gan_family(gan, write_config, tmp_path):
    from .conftest import TINY_DIGITS

    cfg = {**TINY_DIGITS, "algorithm": {**TINY_DIGITS["algorithm"], "loss": {"name": "hinge"},
                                        "generator": {"name": "biggan-generator", "channels": 2, "attention_resolution": None},
                                        "discriminator": {"name": "biggan-discriminator", "channels": 2}},
           "train": {**TINY_DIGITS["train"], "steps": 2}}
    out = gan("run", write_config(cfg), "-o", tmp_path / "run")
    assert out.exit_code == 0, out.output


@pytest.mark.parametrize("name", ["biggan-mnist5k.yaml", "biggan-cifar10.yaml"])
def test_the_biggan_examples_validate(name):
    host = get_host()
    config = build_run_config(host.registry, None, load_yaml(EXAMPLES / name), [])
    assert config.algorithm.conditional is True
    assert config.algorithm.generator["name"] == "biggan-generator" and config.algorithm.discriminator["name"] == "biggan-discriminator"
    if name == "biggan-cifar10.yaml":
        assert config.data.name == "cifar10" and config.algorithm.d_steps == 4 and config.train.batch_size == 50
