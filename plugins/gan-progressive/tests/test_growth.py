"""Growth: the schedule, fade-in blending, and what survives a growth (weights, Adam moments, EMA)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan_progressive.algorithm import fade_reals
from gan_progressive.models import NetworkConfig, ProgressiveDiscriminator, ProgressiveGenerator
from gan_progressive.schedule import Schedule

CONFIG = NetworkConfig(fmap_base=32, fmap_max=16)


def test_schedule_stabilises_then_alternates_fade_in_and_stable():
    plan = Schedule(0, 3, fade_in_images=100, stabilize_images=50)  # 4x4 .. 32x32
    seen = {n: (p.stage, p.alpha, p.resolution) for n in (0, 49, 50, 75, 149, 150, 199, 200, 350, 399, 400, 450, 10_000) for p in [plan.at(n)]}
    assert seen == {
        0: (0, 1.0, 4), 49: (0, 1.0, 4),                    # 4x4 stabilises first
        50: (1, 0.0, 8), 75: (1, 0.25, 8), 149: (1, 0.99, 8),  # 8x8 fades in over 100 images
        150: (1, 1.0, 8), 199: (1, 1.0, 8),                 # then stabilises over 50
        200: (2, 0.0, 16), 350: (3, 0.0, 32), 399: (3, 0.49, 32),
        400: (3, 0.5, 32), 450: (3, 1.0, 32), 10_000: (3, 1.0, 32),  # the last stage trains on
    }  # fmt: skip
    assert [plan.stage_end(s) for s in range(4)] == [50, 200, 350, 500]
    assert plan.steps_until(200, lambda res: {4: 10, 8: 20}[res]) == 5 + 8  # 50 images at 10, 150 at 20
    starting_at_8 = Schedule(1, 3, 100, 50)
    assert (starting_at_8.at(0).resolution, starting_at_8.at(50).resolution, starting_at_8.at(50).alpha) == (8, 16, 0.0)
    assert Schedule(3, 3, 100, 50).at(0).resolution == 32  # no growth: trained at the data's size


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_generator_fade_in_at_alpha_0_is_the_previous_stage_upsampled_and_at_1_the_new_block(stage):
    torch.manual_seed(0)
    generator, z = ProgressiveGenerator(CONFIG, 3, 3, latent_dim=8), torch.randn(5, 8)
    previous = generator(z, stage - 1)
    at_0 = generator(z, stage, torch.tensor(0.0))
    assert at_0.shape[-1] == 2 * previous.shape[-1]
    assert torch.equal(at_0, F.interpolate(previous, scale_factor=2, mode="nearest"))
    alone = generator(z, stage)  # no α: the new block alone
    assert torch.equal(generator(z, stage, torch.tensor(1.0)), alone)
    assert not torch.allclose(alone, at_0)
    half = generator(z, stage, torch.tensor(0.5))
    assert torch.allclose(half, (alone + at_0) / 2, atol=1e-6)


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_discriminator_fade_in_at_alpha_0_sees_the_downsampled_image_with_the_previous_stage(stage):
    torch.manual_seed(0)
    discriminator = ProgressiveDiscriminator(CONFIG, 3, 3)
    x = torch.randn(8, 3, 4 * 2**stage, 4 * 2**stage)
    assert torch.equal(discriminator(x, stage, torch.tensor(0.0)), discriminator(F.avg_pool2d(x, 2), stage - 1))
    assert torch.equal(discriminator(x, stage, torch.tensor(1.0)), discriminator(x, stage))
    assert not torch.allclose(discriminator(x, stage), discriminator(F.avg_pool2d(x, 2), stage - 1))


def test_real_images_fade_like_the_generator():
    x = torch.randn(2, 1, 8, 8)
    coarse = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
    assert torch.equal(fade_reals(x, torch.tensor(0.0)), coarse)
    assert torch.equal(fade_reals(x, torch.tensor(1.0)), x)


def _named(module):
    return dict(module.named_parameters())


def test_growth_keeps_old_weights_and_adam_moments_and_leaves_inactive_layers_untouched(make_run, tiny_digits):
    run = make_run(tiny_digits)
    alg = run.algorithm
    generator, opt_g = alg.ctx.unwrap(alg.generator), alg.opt_g
    params = _named(generator)
    start = {k: v.detach().clone() for k, v in params.items()}
    inactive = [k for k in params if k.startswith(("blocks.0.", "to_rgb.1."))]  # the 8x8 layers
    assert inactive
    for step in range(1, 5):  # the 4x4 stage: 4 steps of 16 images
        alg.train_step(run.next_batch(), step)
        assert alg.point().stage == (0 if step < 4 else 1)
        for k in inactive:
            assert params[k].grad is None, f"{k} got a gradient before its stage"
            assert torch.equal(params[k], start[k]), f"{k} changed before its stage"
            assert params[k] not in opt_g.state, f"Adam holds moments for {k} before its stage"
    old = {k: v for k, v in params.items() if k.startswith(("dense.", "base.", "to_rgb.0."))}
    before = {k: (opt_g.state[p]["step"].item(), opt_g.state[p]["exp_avg_sq"].clone(), p.detach().clone()) for k, p in old.items()}

    alg.train_step(run.next_batch(), 5)  # the first step of the 8x8 fade-in
    assert alg.point().fading
    beta2 = opt_g.param_groups[0]["betas"][1]
    for k, p in old.items():
        steps, exp_avg_sq, weight = before[k]
        state = opt_g.state[p]
        assert state["step"].item() == steps + 1, f"{k}: Adam's step count restarted at growth"
        # the second moment went on from its old value: v' = β2 v + (1 − β2) g²
        assert torch.allclose(state["exp_avg_sq"], beta2 * exp_avg_sq + (1 - beta2) * p.grad**2, rtol=1e-5, atol=1e-12), k
        # the old weights are kept: one Adam step from them (|Δ| ≈ lr), not a re-initialisation (N(0, 1))
        assert (p - weight).abs().max() <= 10 * opt_g.param_groups[0]["lr"], f"{k} was not kept across the growth"
    for k in inactive:  # the new layers joined: gradients and fresh moments
        assert params[k].grad is not None and opt_g.state[params[k]]["step"].item() == 1


def test_reset_optimizer_on_growth_clears_the_moments_as_the_reference_does(make_run, tiny_digits):
    run = make_run(tiny_digits, ("algorithm.reset_optimizer_on_growth=true",))
    alg = run.algorithm
    dense = alg.ctx.unwrap(alg.generator).dense.weight
    for step in range(1, 6):
        alg.train_step(run.next_batch(), step)
    assert alg.opt_g.state[dense]["step"].item() == 1, "the fade-in started with a fresh Adam state"


def test_ema_follows_growth_new_layers_start_from_their_live_values(make_run, tiny_digits):
    run = make_run(tiny_digits, ("train.ema_decay=0.9",))
    alg, ema = run.algorithm, run.ema
    live = alg.ctx.unwrap(alg.generator).state_dict()
    for step in range(1, 5):
        alg.train_step(run.next_batch(), step)
        ema.update(step)
    (shadow,) = ema.shadow.values()
    for key in ("blocks.0.1.weight", "to_rgb.1.weight"):  # 8x8 layers, not trained yet: their average is the live value
        assert torch.equal(shadow[key], live[key])
    assert not torch.equal(shadow["dense.weight"], live["dense.weight"]), "trained layers are averaged"
    for step in range(5, 9):
        alg.train_step(run.next_batch(), step)
        ema.update(step)
    assert not torch.equal(shadow["blocks.0.1.weight"], live["blocks.0.1.weight"]), "the new block is averaged once it trains"
