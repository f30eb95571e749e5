"""Differentiable augmentation (gancore.augment): gradients, independent draws, ADA's p, state, resume."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from pydantic import ValidationError
from torch import nn

from gancore.augment import AugmentConfig, Augmenter
from gancore.testing import check_resume

from .conftest import TINY_DIGITS, TINY_RING


def augmenter(seed: int = 0, **options) -> Augmenter:
    return Augmenter(AugmentConfig(**options), "cpu", seed=seed, images_per_step=16)


@pytest.mark.parametrize("policy", ["color", "translation", "cutout"])
def test_each_transform_passes_gradients_to_the_generator(policy):
    torch.manual_seed(0)
    generator = nn.Sequential(nn.Linear(4, 2 * 8 * 8), nn.Tanh(), nn.Unflatten(1, (2, 8, 8)))
    discriminator = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 1))
    fake = generator(torch.randn(16, 4))
    augmented = augmenter(policy=[policy])(fake)
    assert augmented.shape == fake.shape and not torch.equal(augmented, fake)
    discriminator(augmented).mean().backward()
    for p in generator.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def _shifts(x: torch.Tensor, most: int) -> list[torch.Tensor]:
    """Every translation of the image x (C, H, W) by up to ``most`` pixels, zeros coming in."""
    out = []
    h, w = x.shape[-2:]
    for dy in range(-most, most + 1):
        for dx in range(-most, most + 1):
            padded = nn.functional.pad(x, (most, most, most, most))
            out.append(padded[:, most + dy : most + dy + h, most + dx : most + dx + w])
    return out


def test_real_and_fake_get_the_same_transform_with_independent_draws():
    aug = augmenter(policy=["translation"], translation=0.25)
    x = torch.rand(1, 1, 8, 8).expand(32, 1, 8, 8).contiguous() * 2 - 1  # one image, 32 times
    real, fake = aug(x), aug(x)
    candidates = _shifts(x[0], 2)
    for batch in (real, fake):  # every output is one of the image's translations
        for image in batch:
            assert any(torch.equal(image, c) for c in candidates)
    assert not torch.equal(real, fake)  # two calls, two draws
    assert len({tuple(im.flatten().tolist()) for im in real}) > 1  # a draw per sample, not per batch

    holes = augmenter(policy=["cutout"], cutout=0.5)(torch.ones(32, 1, 8, 8))
    zeros = (holes == 0).flatten(1).sum(1)
    assert set(holes.unique().tolist()) <= {0.0, 1.0} and zeros.min() >= 4 and zeros.max() <= 16  # a square, at most 4x4


def test_probability_zero_is_the_identity_and_a_seed_fixes_the_draws():
    x = torch.randn(8, 3, 8, 8)
    assert torch.equal(augmenter(policy=["color", "translation", "cutout"], probability=0.0)(x), x)
    assert torch.equal(augmenter(policy=[])(x), x)
    assert torch.equal(augmenter(3, policy=["color", "cutout"])(x), augmenter(3, policy=["color", "cutout"])(x))
    assert not torch.equal(augmenter(3, policy=["color", "cutout"])(x), augmenter(4, policy=["color", "cutout"])(x))
    half = augmenter(policy=["cutout"], probability=0.5)(torch.ones(256, 1, 8, 8))
    changed = (half != 1).flatten(1).any(1).float().mean()
    assert 0.3 < changed < 0.7  # about half the samples


def test_state_dict_replays_the_same_draws():
    aug = augmenter(policy=["color", "translation", "cutout"], probability=0.7, adaptive=True)
    x = torch.randn(8, 1, 8, 8)
    aug(x)
    saved = copy.deepcopy(aug.state_dict())
    first = aug(x)
    other = augmenter(seed=99, policy=["color", "translation", "cutout"], probability=0.7, adaptive=True)
    other.load_state_dict(saved)
    assert torch.equal(other(x), first)


def test_ada_probability_rises_when_d_overfits_and_falls_otherwise():
    aug = augmenter(policy=["translation"], adaptive=True, probability=0.5, target=0.6, interval=2, adjust_images=320)
    step_size = 16 * 2 / 320  # images per adjustment / images from 0 to 1
    for step in (1, 2):
        aug.observe(torch.full((16, 1), 3.0))  # D sure every real image is real: r_t = 1 > 0.6
        logs = aug.update(step)
    assert float(logs["augment_rt"]) == 1.0 and float(aug.p) == pytest.approx(0.5 + step_size)
    for step in (3, 4):
        aug.observe(torch.cat([torch.ones(8, 1), -torch.ones(8, 1)]))  # r_t = 0 < 0.6
        aug.update(step)
    assert float(aug.p) == pytest.approx(0.5)
    for step in range(5, 200):  # p stays in [0, 1]
        aug.observe(-torch.ones(16, 1))
        aug.update(step)
    assert float(aug.p) == 0.0


def test_bad_options_are_refused():
    with pytest.raises(ValidationError, match="rotate"):
        AugmentConfig(policy=["rotate"])
    with pytest.raises(ValidationError, match="more than once"):
        AugmentConfig(policy=["cutout", "cutout"])
    with pytest.raises(ValidationError, match="needs a policy"):
        AugmentConfig(adaptive=True)
    with pytest.raises(ValueError, match="image batches"):
        augmenter(policy=["cutout"])(torch.randn(4, 2))


def test_gan_refuses_augmentation_of_points_and_bcr_without_a_policy(gan, write_config, tmp_path):
    ring = copy.deepcopy(TINY_RING)
    ring["algorithm"]["augment"] = {"policy": ["translation"]}
    result = gan("run", write_config(ring), "--output", str(tmp_path / "a"), "--set", "train.steps=1")
    assert result.exit_code == 2 and "are not images" in result.output
    digits = copy.deepcopy(TINY_DIGITS)
    digits["algorithm"]["consistency_real"] = 1.0
    result = gan("run", write_config(digits), "--output", str(tmp_path / "b"), "--set", "train.steps=1")
    assert result.exit_code == 2 and "give algorithm.augment.policy" in result.output
    result = gan("run", write_config(TINY_DIGITS), "--output", str(tmp_path / "c"), "--set", "algorithm.augment.policy=[rotate]")
    assert result.exit_code == 2 and "algorithm.augment.policy" in result.output and "rotate" in result.output


def test_resume_is_exact_with_augmentation_ada_lazy_r1_and_bcr(gan, write_config, tmp_path):
    cfg = copy.deepcopy(TINY_DIGITS)
    cfg["algorithm"].update(
        augment={"policy": ["color", "translation", "cutout"], "adaptive": True, "probability": 0.3, "interval": 2, "adjust_images": 500},
        regularizer={"name": "r1", "gamma": 1.0, "every": 4},
        consistency_real=1.0,
        consistency_fake=1.0,
    )
    check_resume(gan, write_config(cfg), tmp_path, stop_at=6)
    records = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    moved = [r["augment_p"] for r in records if "augment_p" in r]
    assert moved and moved[-1] != pytest.approx(0.3)  # ADA moved p during the run
    assert any("bcr_real" in r and "bcr_fake" in r and "reg_r1" in r for r in records)
