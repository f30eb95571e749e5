"""The training steps: which batches each network sees, feature matching, BiGAN's pairs, resume."""

from __future__ import annotations

import pytest
import torch

from gan_semisup import losses
from gancore.errors import UserError
from gancore.testing import check_resume


def _spy_batches(ctx) -> list[tuple]:
    """Record (size, stream, keys) of every batch the algorithm draws itself."""
    calls, original = [], ctx.next_batch

    def spy(size=None, stream=None):
        batch = original(size=size, stream=stream)
        calls.append((size, stream, sorted(batch)))
        return batch

    ctx.next_batch = spy
    return calls


@pytest.mark.parametrize("name", ["fm-gan", "sgan", "supervised-only"])
def test_the_unlabelled_stream_carries_no_labels(make_run, semisup_config, name):
    run = make_run(semisup_config(name))
    data = run.algorithm.ctx.data
    assert data.streams["x"] == ["x"] and data.streams["labeled"] == ["x_labeled", "y_labeled"]
    assert "y" not in data.tensors, "the unlabelled split keeps no labels at all"
    batch = run.next_batch()
    assert sorted(batch) == ["x"]
    calls = _spy_batches(run.algorithm.ctx)
    run.algorithm.train_step(batch, 1)
    # Labels reach the algorithm only from the labelled stream, in its own batch size.
    assert (12, "labeled", ["x_labeled", "y_labeled"]) in calls
    assert all(keys == ["x"] for size, stream, keys in calls if stream != "labeled")
    expected_unlabelled = {"fm-gan": 1, "sgan": 0, "supervised-only": 0}[name]  # fm-gan: a second batch for G
    assert sum(stream is None for _, stream, _ in calls) == expected_unlabelled


def test_discriminator_loss_is_labelled_cross_entropy_plus_weighted_real_fake_loss(make_run, tiny_semisup):
    run = make_run(tiny_semisup, ("algorithm.name=sgan", "algorithm.unlabeled_weight=0.7"))
    alg = run.algorithm
    seen = []
    alg.ctx.update = (lambda update: lambda opt, loss: (seen.append((opt, loss.detach())), update(opt, loss)))(alg.ctx.update)
    logs = alg.train_step(run.next_batch(), 1)
    (opt_d, loss_d), (opt_g, loss_g) = seen
    assert opt_d is alg.opt_d and opt_g is alg.opt_g
    assert loss_d.item() == pytest.approx(logs["loss_lab"].item() + 0.7 * logs["loss_unl"].item(), rel=1e-5)
    assert loss_d.item() == pytest.approx(logs["loss_d"].item()), "loss_d is what the discriminator's optimizer minimised"
    assert loss_g.item() == pytest.approx(logs["loss_g"].item())


def test_feature_matching_moves_the_generators_feature_mean_toward_the_real_one(make_run, tiny_semisup):
    # No noise in D, so that the features are a fixed function; a fixed real batch and fixed latents.
    run = make_run(tiny_semisup, ("algorithm.discriminator.input_noise=0", "algorithm.discriminator.hidden_noise=0", "algorithm.lr_generator=0.001"))
    alg = run.algorithm
    torch.manual_seed(0)
    real = run.next_batch()["x"]
    z = alg.latents(len(real))
    alg.ctx.next_batch = lambda size=None, stream=None: {"x": real}
    alg.latents = lambda n, seed=None: z
    d_before = {k: v.clone() for k, v in alg.discriminator.state_dict().items()}

    def gap() -> float:
        with torch.no_grad():
            return (alg.discriminator.features(alg.generator(z)).mean(0) - alg.discriminator.features(real).mean(0)).norm().item()

    gaps = [gap()]
    for _ in range(5):
        loss = alg.generator_step(len(real))
        gaps.append(gap())
        assert loss.item() == pytest.approx(gaps[-2] ** 2 / alg.discriminator.features(real).shape[1], rel=1e-3)
    assert all(b < a for a, b in zip(gaps, gaps[1:])), gaps
    assert all(torch.equal(v, alg.discriminator.state_dict()[k]) for k, v in d_before.items()), "the generator step leaves D alone"


def test_classify_gives_the_k_class_logits_and_the_loss_adds_the_fake_logit_at_zero(make_run, tiny_semisup):
    alg = make_run(tiny_semisup).algorithm
    x = alg.ctx.data.tensors["x"][:5]
    logits = alg.classify(x)
    assert logits.shape == (5, 10), "exactly the data's K classes: the implicit fake class is none of them"
    full = losses.with_fake_logit(logits)  # the K+1 logits the losses are written for
    assert full.shape == (5, 11) and torch.equal(full[:, :10], logits) and torch.equal(full[:, 10], torch.zeros(5, device=logits.device))
    assert torch.equal(logits, alg.classify(x)), "eval mode: no noise"


def test_bigan_discriminator_sees_x_with_e_of_x_and_g_of_z_with_z(make_run, tiny_bigan):
    run = make_run(tiny_bigan)
    alg = run.algorithm
    unwrap = alg.ctx.unwrap
    pairs, encoded, generated = [], [], []
    unwrap(alg.discriminator).register_forward_hook(lambda m, args, out: pairs.append([a.detach().clone() for a in args]))
    unwrap(alg.encoder).register_forward_hook(lambda m, args, out: encoded.append((args[0].detach().clone(), out.detach().clone())))
    unwrap(alg.generator).register_forward_hook(lambda m, args, out: generated.append((args[0].detach().clone(), out.detach().clone())))
    batch = run.next_batch()
    d_steps, ge_steps = [], []
    # The torch optimizers inside Accelerate's wrappers: ctx.update steps them directly when the wrapper adds nothing.
    opt_d, opt_g = (getattr(opt, "optimizer", opt) for opt in (alg.opt_d, alg.opt_g))
    opt_d.step = (lambda step: lambda *a, **k: (d_steps.append(len(pairs)), step(*a, **k))[1])(opt_d.step)
    opt_g.step = (lambda step: lambda *a, **k: (ge_steps.append(len(pairs)), step(*a, **k))[1])(opt_g.step)
    alg.train_step(batch, 1)

    (x_in, e_of_x), = encoded
    (z, g_of_z), = generated
    assert torch.equal(x_in, batch["x"])
    assert len(pairs) == 4 and d_steps == [2] and ge_steps == [4], "D's step on two pairs, then G and E's step on the same two"
    for real_pair, fake_pair in (pairs[0:2], pairs[2:4]):
        assert torch.equal(real_pair[0], batch["x"]) and torch.equal(real_pair[1], e_of_x)  # (x, E(x))
        assert torch.equal(fake_pair[0], g_of_z) and torch.equal(fake_pair[1], z)  # (G(z), z)


def test_bigan_generator_and_encoder_learn_together_and_leave_d_alone(make_run, tiny_bigan):
    run = make_run(tiny_bigan)
    alg = run.algorithm
    before = {name: {k: v.clone() for k, v in getattr(alg, name).state_dict().items()} for name in ("generator", "encoder", "discriminator")}
    d_after_its_step = {}
    opt_d = getattr(alg.opt_d, "optimizer", alg.opt_d)  # the torch optimizer ctx.update steps
    original = opt_d.step

    def d_step(*a, **k):
        result = original(*a, **k)
        d_after_its_step.update({k: v.clone() for k, v in alg.discriminator.state_dict().items()})
        return result

    opt_d.step = d_step
    alg.train_step(run.next_batch(), 1)
    assert d_after_its_step, "D took its step"
    for name in ("generator", "encoder"):
        assert any(not torch.equal(v, getattr(alg, name).state_dict()[k]) for k, v in before[name].items()), f"{name} did not move"
    assert all(torch.equal(v, alg.discriminator.state_dict()[k]) for k, v in d_after_its_step.items()), "G and E's step changed D"


def test_bigan_encode_and_preview(make_run, tiny_bigan):
    alg = make_run(tiny_bigan).algorithm
    x = alg.ctx.data.tensors["x"][:6]
    assert alg.encode(x).shape == (6, 4)
    rows = alg.preview(16, seed=3)
    assert len(rows) == 4 and all(r.shape == (4, 1, 8, 8) for r in rows)
    assert torch.allclose(rows[1], alg.reconstruct(rows[0])), "each real row is followed by its reconstructions G(E(x))"
    assert torch.equal(rows[0], alg.preview(16, seed=3)[0]) and not torch.equal(rows[0], alg.preview(16, seed=4)[0])


def test_supervised_only_has_no_generator_and_its_grid_shows_the_labelled_samples(gan, write_config, semisup_config, tmp_path, make_run):
    config = semisup_config("supervised-only")
    alg = make_run(config).algorithm
    assert not hasattr(alg, "generator")
    with pytest.raises(UserError, match="no generator"):
        alg.sample(4)
    rows = alg.preview(20, seed=0)
    assert len(rows) == 10 and all(len(r) == 2 for r in rows)
    out = gan("run", write_config(config), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r" / "samples" / "step-000012.png").is_file()


@pytest.mark.parametrize(
    "name,sets",
    [
        ("fm-gan", ["algorithm.lr_decay_start=4", "algorithm.discriminator.minibatch_kernels=4"]),
        ("fm-gan", ["algorithm.augment={policy: [translation, cutout]}"]),
        ("sgan", []),
        ("supervised-only", ["algorithm.augment={policy: [translation]}"]),
        ("bigan", ["algorithm.lr_decay_start=4"]),
    ],
)
def test_resumed_run_equals_an_uninterrupted_one(gan, write_config, semisup_config, tiny_bigan, tmp_path, name, sets):
    cfg = tiny_bigan if name == "bigan" else semisup_config(name)
    cfg["train"].update(ema_decay=0.9)
    final = check_resume(gan, write_config(cfg), tmp_path, stop_at=6, sets=sets)
    assert len(final) > 20


def test_classifier_is_averaged_only_when_asked(make_run, tiny_semisup):
    on = make_run(tiny_semisup).algorithm.ema_modules()
    off = make_run(tiny_semisup, ("algorithm.average_classifier=false",)).algorithm.ema_modules()
    assert sorted(on) == ["discriminator", "generator"] and sorted(off) == ["generator"]


def test_fm_gan_needs_a_discriminator_with_features_and_head(make_run, tiny_semisup):
    # mlp- and dcgan-discriminator both have them: feature matching works with gancore's networks too.
    run = make_run(tiny_semisup, ("algorithm.discriminator={name: mlp-discriminator, hidden_dim: 16, num_layers: 2}",))
    logs = run.algorithm.train_step(run.next_batch(), 1)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in logs.values())
    assert losses.with_fake_logit(torch.zeros(1, 10)).shape == (1, 11)


def test_augmentation_shifts_every_classifier_input_and_fills_with_the_background(make_run, tiny_semisup, semisup_config):
    run = make_run(tiny_semisup, ("algorithm.augment={policy: [translation], translation: 0.25}",))
    algorithm = run.algorithm
    x = -torch.ones(64, 1, 8, 8, device=algorithm.ctx.device)  # on the device, as the classifier's batches are
    x[:, :, 3:5, 3:5] = 1.0  # a bright square on the black background, away from the border
    shifted = algorithm.augmented(x)
    assert set(shifted.unique().tolist()) == {-1.0, 1.0}  # the fill is black, not mid-grey (0)
    assert torch.equal((shifted == 1.0).flatten(1).sum(1), torch.full((64,), 4, device=x.device))  # moved whole, never cut
    assert (shifted != x).flatten(1).any(1).float().mean() > 0.5  # most samples moved, each its own way
    assert torch.equal(make_run(tiny_semisup).algorithm.augmented(x), x)  # off by default
    # Every image the classifier trains on goes through it: the labelled, unlabelled and generated batches.
    seen = []
    algorithm.augmented = lambda batch: seen.append(batch.shape[0]) or batch
    algorithm.train_step(run.next_batch(), 1)
    assert seen == [12, 16, 16, 16, 16]  # D: labelled, unlabelled, generated; G (feature matching): real, generated
    baseline = make_run(semisup_config("supervised-only"), ("algorithm.augment={policy: [translation]}",)).algorithm
    seen.clear()
    baseline.augmented = lambda batch: seen.append(batch.shape[0]) or batch
    baseline.train_step(run.next_batch(), 1)
    assert seen == [12]



def test_augmentation_is_at_a_fixed_probability(gan, write_config, semisup_config, tmp_path):
    cfg = semisup_config("supervised-only")
    cfg["algorithm"]["augment"] = {"policy": ["translation"], "adaptive": True}
    out = gan("run", write_config(cfg), "--output", tmp_path / "r")
    assert out.exit_code == 2 and "fixed probability" in out.output, out.output


@pytest.mark.parametrize("name", ["fm-gan", "sgan", "supervised-only", "bigan"])
def test_every_algorithm_logs_loss_d_and_the_gans_loss_g(make_run, semisup_config, tiny_bigan, name):
    run = make_run(tiny_bigan if name == "bigan" else semisup_config(name))
    logs = run.algorithm.train_step(run.next_batch(), 1)
    assert "loss_d" in logs and ("loss_g" in logs) == (name != "supervised-only")
    assert "loss_ge" not in logs and not hasattr(run.algorithm, "opt_ge"), "BiGAN's generator side is loss_g and opt_g"
    if name == "supervised-only":
        assert "loss_lab" not in logs, "its classifier's loss is loss_d"
    optimizers = ("opt_d",) if name == "supervised-only" else ("opt_d", "opt_g")
    assert {n for n in run.algorithm.state_names if n.startswith("opt")} == set(optimizers)


@pytest.mark.parametrize("name", ["fm-gan", "bigan"])
def test_latents_come_from_the_cores_noise_so_truncation_applies_to_them(make_run, semisup_config, tiny_bigan, name):
    from gancore.algorithm import draw_samples

    alg = make_run(tiny_bigan if name == "bigan" else semisup_config(name)).algorithm
    cfg = alg.config
    assert torch.equal(alg.latents(7, seed=3), alg.noise(7, cfg.latent_dim, 3, distribution=cfg.latent_distribution))
    latents = []
    alg.ctx.unwrap(alg.generator).register_forward_pre_hook(lambda module, args: latents.append(args[0].detach().clone()))
    plain = draw_samples(alg, 256, seed=0)
    truncated = draw_samples(alg, 256, seed=0, truncation=0.3)
    assert latents[0].abs().max() > 0.3 and latents[1].abs().max() <= 0.3, "every value beyond the threshold drawn again"
    assert not torch.equal(plain, truncated)
    assert torch.equal(truncated, draw_samples(alg, 256, seed=0, truncation=0.3)), "the same samples for the same seed"
