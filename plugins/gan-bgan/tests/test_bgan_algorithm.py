"""The ``bgan`` and ``bgan-continuous`` algorithms inside a real run: what a step does, and what sampling returns."""

from __future__ import annotations

import pytest
import torch

from gancore.testing import no_host_sync
from pydantic import Field
from torch import nn

from gancore import Model, StrictModel, hookimpl
from gancore import plugins as gancore_plugins


class FixedPreferenceConfig(StrictModel):
    channel: int = Field(0, description="input channel looked at")
    row: int = Field(3, description="pixel row")
    col: int = Field(3, description="pixel column")
    centre: float = Field(0.0, description="the logit is strength * (x[channel, row, col] - centre)")
    strength: float = Field(4.0, description="slope of the logit")


class FixedPreference(nn.Module):
    """A discriminator whose logit looks at one input value only: it prefers that value high."""

    def __init__(self, config: FixedPreferenceConfig) -> None:
        super().__init__()
        self.config = config
        self.strength = nn.Parameter(torch.tensor(config.strength))  # trained with lr ~ 0: fixed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        value = x[:, c.channel, c.row, c.col] if x.dim() == 4 else x[:, c.channel]
        return (self.strength * (value - c.centre)).unsqueeze(1)


class FixedDiscriminatorPlugin:
    @hookimpl
    def gan_register_models(self, register):
        register(Model("fixed-preference", lambda config, **_: FixedPreference(config), FixedPreferenceConfig, "test discriminator"))


@pytest.fixture
def fixed_discriminator():
    host = gancore_plugins.get_host()
    host.register_plugin(FixedDiscriminatorPlugin(), "fixed-discriminator")
    yield
    host.unregister_plugin("fixed-discriminator")


def _log_prob_of(algorithm, channel: int, value: int) -> float:
    """Mean log-probability, over 256 fixed latents, that pixel (3, 3) takes ``value``."""
    probs = algorithm.probabilities(256, seed=7)[:, channel, 3, 3]
    return float((probs if value == 1 else probs).clamp_min(1e-12).log().mean())


@pytest.mark.parametrize("kind, baseline", [("binary", False), ("palette", False), ("binary", True), ("palette", True)])
def test_a_generator_step_raises_the_log_probability_of_the_value_d_prefers(kind, baseline, tiny_binary, tiny_palette, make_run, fixed_discriminator):
    torch.manual_seed(0)
    config = tiny_binary if kind == "binary" else tiny_palette
    # Binary: D sees ±1 pixels and prefers pixel (3, 3) on. Palette: D sees one-hot colours and prefers colour 1 there.
    channel = 0 if kind == "binary" else 1
    config["algorithm"].update(
        n_mc_samples=20, lr_generator=5e-3, lr_discriminator=1e-12, baseline=baseline,
        generator={"name": "bgan-generator", "base_channels": 8, "norm": "none"},
        discriminator={"name": "fixed-preference", "channel": channel},
    )
    run = make_run(config)
    algorithm = run.algorithm
    before = _log_prob_of(algorithm, channel, 1)
    for step in range(1, 9):
        logs = algorithm.train_step(run.next_batch(), step)
    after = _log_prob_of(algorithm, channel, 1)
    assert after > before + 0.1, (before, after)
    assert 1.0 <= float(logs["ess"]) <= 20.0


@pytest.mark.parametrize("mode, calls", [("one", [16, 16, 4 * 16]), ("all", [16, 4 * 16])])
def test_a_step_scores_the_m_samples_in_one_discriminator_pass(mode, calls, tiny_binary, make_run):
    tiny_binary["algorithm"]["discriminator_samples"] = mode
    run = make_run(tiny_binary)
    seen = []
    run.algorithm.discriminator.register_forward_hook(lambda module, args, out: seen.append(args[0].shape[0]))
    run.algorithm.train_step(run.next_batch(), 1)
    assert seen == calls  # real batch, [one sample per z,] then all m*N samples at once


def test_samples_are_exactly_binary(tiny_binary, make_run):
    algorithm = make_run(tiny_binary).algorithm
    bits = algorithm.sample_indices(32, seed=3)
    images = algorithm.sample(32, seed=3)
    assert bits.shape == (32, 1, 8, 8) and bits.dtype == torch.long
    assert set(bits.unique().tolist()) <= {0, 1}
    assert images.shape == (32, 1, 8, 8) and images.dtype == torch.float32
    assert set(images.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(images, bits.float() * 2 - 1)


@pytest.mark.parametrize("mode", ["random", "most-likely"])
def test_samples_are_exactly_palette_indices(mode, tiny_palette, make_run):
    tiny_palette["algorithm"]["sample_mode"] = mode
    run = make_run(tiny_palette)
    algorithm = run.algorithm
    index = algorithm.sample_indices(32, seed=3)
    images = algorithm.sample(32, seed=3)
    # data.info holds the palette as the dataset made it (on the CPU); the samples are on the run's device.
    palette = run.data.info["palette"].to(index.device)
    assert palette.shape == (4, 1)
    assert index.device == images.device and index.device.type == run.accelerator.device.type
    assert index.shape == (32, 8, 8) and index.dtype == torch.long
    assert index.min() >= 0 and index.max() < 4
    assert images.shape == (32, 1, 8, 8)
    assert torch.equal(images, palette[index].permute(0, 3, 1, 2))
    assert set(images.unique().tolist()) <= set(palette.flatten().tolist())


def test_seeded_samples_repeat_and_leave_the_global_rng_alone(tiny_binary, make_run):
    algorithm = make_run(tiny_binary).algorithm
    state = torch.get_rng_state()
    first, second = algorithm.sample(16, seed=5), algorithm.sample(16, seed=5)
    assert torch.equal(first, second)
    assert torch.equal(state, torch.get_rng_state())
    assert not torch.equal(first, algorithm.sample(16, seed=6))


def test_palette_discriminator_sees_one_hot_or_colours(tiny_palette, make_run):
    one_hot = make_run(tiny_palette).algorithm
    assert one_hot.space.input_channels == 4 and one_hot.space.logit_channels == 4
    tiny_palette["algorithm"]["discriminator_input"] = "colors"
    colours = make_run(tiny_palette).algorithm
    assert colours.space.input_channels == 1
    batch = make_run(tiny_palette).next_batch()
    assert torch.equal(colours.space.real_input(batch), batch["x"])


@pytest.mark.parametrize("option", [{"discriminator_samples": "all"}, {"log_prob_reduction": "sum"}, {"instance_noise": 0.1, "instance_noise_steps": 4}])
def test_options_train(option, tiny_binary, make_run):
    tiny_binary["algorithm"].update(option)
    run = make_run(tiny_binary)
    for step in range(1, 4):
        logs = run.algorithm.train_step(run.next_batch(), step)
    assert all(torch.isfinite(torch.as_tensor(v)).all() for v in logs.values())


def test_instance_noise_falls_to_zero(tiny_binary, make_run):
    tiny_binary["algorithm"].update(instance_noise=0.2, instance_noise_steps=10)
    algorithm = make_run(tiny_binary).algorithm
    assert algorithm.noise_std(1) == pytest.approx(0.2)
    assert algorithm.noise_std(6) == pytest.approx(0.1)
    assert algorithm.noise_std(11) == 0 and algorithm.noise_std(100) == 0


def test_network_options_build(tiny_binary, make_run):
    tiny_binary["algorithm"]["generator"].update(activation="relu", norm_position="before", spectral_norm=True)
    tiny_binary["algorithm"]["discriminator"].update(activation="elu", norm="batch", norm_position="before", spectral_norm=True)
    run = make_run(tiny_binary)
    generator, discriminator = run.algorithm.generator, run.algorithm.discriminator
    kinds = [type(m).__name__ for m in generator.blocks]
    assert kinds[:2] == ["BatchNorm2d", "ReLU"]
    assert any(isinstance(m, nn.ELU) for m in discriminator.modules())
    assert any("parametrizations" in name for name, _ in discriminator.named_modules())
    run.algorithm.train_step(run.next_batch(), 1)


def test_continuous_bgan_seeks_the_decision_boundary(make_run, fixed_discriminator):
    # D(x) = sigmoid(4 (x - 1)) is fixed. Minimising ½·logit² puts the samples on its boundary, x = 1
    # (a non-saturating generator would push them ever further to the right).
    torch.manual_seed(0)
    config = {
        "plugin": "bgan",
        "algorithm": {
            "name": "bgan-continuous", "latent_dim": 2, "lr_generator": 1e-2, "lr_discriminator": 1e-12,
            "generator": {"name": "mlp-generator", "hidden_dim": 16, "num_layers": 2},
            "discriminator": {"name": "fixed-preference", "channel": 0, "centre": 1.0},
        },
        "data": {"name": "gaussian-1d", "num_samples": 512},
        "train": {"steps": 1, "batch_size": 64, "progress": False, "tensorboard": False},
    }
    run = make_run(config)
    algorithm = run.algorithm
    for step in range(1, 301):
        logs = algorithm.train_step(run.next_batch(), step)
    samples = algorithm.sample(1000, seed=0)
    assert float(samples.mean()) == pytest.approx(1.0, abs=0.1)
    logit = 4.0 * (samples - 1.0)
    d = torch.sigmoid(logit)
    assert float(logs["loss_g"]) < 0.05
    assert torch.allclose(0.5 * (d.log() - (1 - d).log()) ** 2, 0.5 * logit**2, atol=1e-4)


def test_continuous_images_run(make_run):
    config = {
        "plugin": "bgan",
        "algorithm": {
            "name": "bgan-continuous", "latent_dim": 8, "instance_noise": 0.05,
            "generator": {"name": "dcgan-generator", "base_channels": 8},
            "discriminator": {"name": "bgan-discriminator", "base_channels": 8},
        },
        "data": {"name": "digits"},
        "train": {"steps": 1, "batch_size": 16, "progress": False, "tensorboard": False},
    }
    run = make_run(config)
    for step in range(1, 3):
        logs = run.algorithm.train_step(run.next_batch(), step)
    assert set(logs) == {"loss_d", "loss_g", "d_real", "d_fake"}
    assert run.algorithm.sample(4, seed=0).shape == (4, 1, 8, 8)


@pytest.mark.parametrize("data, option", [
    ("binary", {}), ("palette", {}), ("binary", {"discriminator_samples": "all", "baseline": True, "instance_noise": 0.1, "instance_noise_steps": 4}),
    ("binary", {"augment": {"policy": ["translation", "cutout"], "adaptive": True, "interval": 1}}),
])
def test_a_step_reads_no_tensor_on_the_host(data, option, tiny_binary, tiny_palette, make_run):
    # The m-sample draw, the scores, the weights and the palette one-hot stay on the device: a GPU never waits in a step.
    config = tiny_binary if data == "binary" else tiny_palette
    config["algorithm"].update(option)
    run = make_run(config)
    for step in range(1, 4):
        batch = run.next_batch()
        with no_host_sync():
            logs = run.algorithm.train_step(batch, step)
    assert all(isinstance(v, torch.Tensor) for v in logs.values())


def test_a_continuous_step_reads_no_tensor_on_the_host(make_run):
    config = {"plugin": "bgan", "algorithm": {"name": "bgan-continuous", "latent_dim": 8, "instance_noise": 0.05,
              "generator": {"name": "dcgan-generator", "base_channels": 8}, "discriminator": {"name": "bgan-discriminator", "base_channels": 8}},
              "data": {"name": "digits"}, "train": {"steps": 1, "batch_size": 16, "progress": False, "tensorboard": False}}
    run = make_run(config)
    batch = run.next_batch()
    with no_host_sync():
        run.algorithm.train_step(batch, 1)
