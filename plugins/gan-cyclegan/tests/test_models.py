"""The reference's networks: ResNet generator layout and size, the PatchGAN's 70x70 patches, the U-Net."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_cyclegan.models import (
    PatchGANConfig, ResNetGeneratorConfig, UNetGeneratorConfig, build_patchgan, build_resnet_generator, build_unet_generator, receptive_field,
)
from gancore import UserError


def _millions(net: nn.Module) -> float:
    return round(sum(p.numel() for p in net.parameters()) / 1e6, 3)


def test_default_networks_have_the_references_size():
    # The reference prints these when it starts: G_A 11.378 M (resnet_9blocks), D_A 2.765 M (basic, 3 layers).
    assert _millions(build_resnet_generator(ResNetGeneratorConfig(), in_channels=3, out_channels=3)) == 11.378
    assert _millions(build_patchgan(PatchGANConfig(), data_shape=(3, 256, 256))) == 2.765


def test_resnet_generator_layout():
    net = build_resnet_generator(ResNetGeneratorConfig(channels=8, residual_blocks=3, downsamplings=2), in_channels=1, out_channels=3)
    layers = list(net.model)
    assert isinstance(layers[0], nn.ReflectionPad2d) and layers[1].kernel_size == (7, 7)
    assert sum(isinstance(m, nn.Conv2d) and m.stride == (2, 2) for m in layers) == 2
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in layers) == 2
    assert sum(type(m).__name__ == "ResidualBlock" for m in layers) == 3
    norms = [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and not any(m.affine or m.track_running_stats for m in norms)
    out = net(torch.randn(2, 1, 28, 28))
    assert out.shape == (2, 3, 28, 28) and out.abs().max() <= 1


def test_resize_upsampling_paints_no_checkerboard_on_a_flat_map():
    def first_step_up(upsampling):
        net = build_resnet_generator(ResNetGeneratorConfig(channels=4, residual_blocks=1, downsamplings=2, upsampling=upsampling), in_channels=3, out_channels=3)
        assert net(torch.randn(2, 3, 28, 28)).shape == (2, 3, 28, 28)
        layers = list(net.model)
        start = next(i for i, m in enumerate(layers) if isinstance(m, (nn.Upsample, nn.ConvTranspose2d)))
        end = next(i for i in range(start, len(layers)) if isinstance(layers[i], nn.InstanceNorm2d))
        return nn.Sequential(*layers[start:end]), layers

    resize, layers = first_step_up("resize")
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in layers)
    transposed, _ = first_step_up("transposed")
    flat = torch.ones(1, 16, 7, 7)
    with torch.no_grad():
        inside = lambda up: up(flat)[..., 2:-2, 2:-2]  # noqa: E731  (away from the borders)
        assert inside(resize).std(dim=(2, 3)).max() < 1e-6
        assert inside(transposed).std(dim=(2, 3)).max() > 1e-4  # uneven overlaps: a period-2 pattern


def test_patchgan_scores_70x70_patches():
    assert receptive_field(3) == 70 and receptive_field(1) == 16 and receptive_field(2) == 34
    net = build_patchgan(PatchGANConfig(channels=4, norm="none"), data_shape=(1, 128, 128))
    x = torch.randn(1, 1, 128, 128, requires_grad=True)
    scores = net(x)
    assert scores.shape == (1, 1, 14, 14)
    scores[0, 0, 7, 7].backward()
    seen = x.grad[0, 0].abs() > 0
    rows, cols = seen.any(dim=1).nonzero().flatten(), seen.any(dim=0).nonzero().flatten()
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (70, 70)


def test_unet_generator():
    net = build_unet_generator(UNetGeneratorConfig(channels=4, downsamplings=5), in_channels=3, out_channels=1, image_size=32)
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 1, 32, 32) and out.abs().max() <= 1
    assert sum(isinstance(m, nn.Conv2d) and m.stride == (2, 2) for m in net.modules()) == 5


@pytest.mark.parametrize("build,kwargs,match", [
    (build_resnet_generator, {"config": ResNetGeneratorConfig(downsamplings=3), "image_size": 28}, "divisible by 8"),
    (build_unet_generator, {"config": UNetGeneratorConfig(downsamplings=8), "image_size": 32}, "divisible by 256"),
])
def test_sizes_that_do_not_fit_are_user_errors(build, kwargs, match):
    with pytest.raises(UserError, match=match):
        build(in_channels=3, out_channels=3, **kwargs)
    with pytest.raises(UserError, match="lower algorithm.discriminator.layers"):
        build_patchgan(PatchGANConfig(layers=3), data_shape=(3, 16, 16))
