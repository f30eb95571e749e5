"""The plugin is installed, discovered through its entry point, and registers what the issue asks for."""

from __future__ import annotations

import json
from importlib import metadata

import yaml

from gancore.testing import check_plugin


def test_plugin_is_installed():
    (ep,) = [ep for ep in metadata.entry_points(group="gancore") if ep.name == "progressive"]
    assert ep.value == "gan_progressive.plugin"
    assert ep.dist.name == "gan-progressive"


def test_the_plugin_passes_gancores_conformance_check():
    check_plugin("progressive")


def test_gan_plugins_lists_what_it_registers(gan):
    out = gan("plugins", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    (mine,) = [p for p in report["plugins"] if p["name"] == "progressive"]
    assert mine["distribution"] == "gan-progressive"
    assert mine["registered"] == {"algorithms": ["progressive"], "metrics": ["stage-swd"]}


def test_algorithm_defaults_are_the_references():
    from gan_progressive.config import ProgressiveConfig

    cfg = ProgressiveConfig()
    assert (cfg.lr_generator, cfg.lr_discriminator, cfg.betas, cfg.adam_epsilon) == (1e-3, 1e-3, (0.0, 0.99), 1e-8)
    assert (cfg.loss, cfg.penalty_weight, cfg.penalty_target, cfg.drift_weight, cfg.d_steps) == ("wgan-gp", 10.0, 1.0, 0.001, 1)
    assert (cfg.fade_in_images, cfg.stabilize_images, cfg.latent_dim) == (800_000, 800_000, 512)
    assert (cfg.network.fmap_base, cfg.network.fmap_max, cfg.network.mbstd_group_size) == (8192, 512, 4)


def test_default_run_config_is_a_quick_digits_run(gan):
    out = gan("config", "--plugin", "progressive")
    assert out.exit_code == 0, out.output
    config = yaml.safe_load(out.output)
    assert config["algorithm"]["name"] == "progressive" and config["data"]["name"] == "digits"
    assert config["train"]["ema_decay"] == 0.999, "the reference's G smoothing"
