"""WGAN and WGAN-GP with gancore's differentiable augmentation (algorithm.augment)."""

from __future__ import annotations

import torch

from gancore.testing import check_resume


def test_the_critic_sees_augmented_batches_and_the_generator_gets_gradients_through_them(make_run, tiny_digits_clip):
    tiny_digits_clip["algorithm"].update(name="wgan-gp", critic={"name": "dcgan-discriminator", "base_channels": 8, "norm": "layer"})
    run = make_run(tiny_digits_clip, ("algorithm.augment={policy: [translation, cutout]}",))
    alg = run.algorithm
    seen = []
    alg.critic.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    before = [p.detach().clone() for p in alg.generator.parameters()]
    batch = run.next_batch()
    alg.train_step(batch, 1)
    # Cutout zeroes a square of every image: the critic's real inputs hold zeros the data (±1 and between) rarely has.
    real_seen = seen[0][: len(batch["x"])]
    assert ((real_seen == 0).flatten(1).sum(1) >= 4).all()
    assert any(not torch.equal(a, b) for a, b in zip(before, alg.generator.parameters()))


def test_ada_is_refused_for_a_critic(gan, write_config, tiny_digits_clip, tmp_path):
    tiny_digits_clip["algorithm"]["augment"] = {"policy": ["translation"], "adaptive": True}
    result = gan("run", write_config(tiny_digits_clip), "--output", tmp_path / "run")
    assert result.exit_code == 2 and "no centre" in result.output


def test_resume_is_exact_with_augmentation(gan, write_config, tiny_digits_clip, tmp_path):
    tiny_digits_clip["algorithm"]["augment"] = {"policy": ["color", "translation", "cutout"], "probability": 0.5}
    final = check_resume(gan, write_config(tiny_digits_clip), tmp_path, stop_at=6)
    assert len(final) > 10
