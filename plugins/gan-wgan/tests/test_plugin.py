"""The plugin is installed, discovered through its entry point, and registers what the issue asks for."""

from __future__ import annotations

import json
from importlib import metadata

import yaml

from gancore.testing import check_plugin


def test_plugin_is_installed():
    (ep,) = [ep for ep in metadata.entry_points(group="gancore") if ep.name == "wgan"]
    assert ep.value == "gan_wgan.plugin"
    assert ep.dist.name == "gan-wgan"


def test_gan_plugins_lists_what_it_registers(gan):
    out = gan("plugins", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    (wgan,) = [p for p in report["plugins"] if p["name"] == "wgan"]
    assert wgan["distribution"] == "gan-wgan"
    assert wgan["registered"] == {"algorithms": ["wgan", "wgan-gp"], "models": ["sngan-resnet-generator", "sngan-resnet-critic"]}
    assert not [b for b in report["broken"] if b["name"] == "wgan"]


def test_default_config_is_the_clipping_wgan(gan):
    out = gan("config", "--plugin", "wgan")
    assert out.exit_code == 0, out.output
    config = yaml.safe_load(out.output)
    algorithm = config["algorithm"]
    assert algorithm["name"] == "wgan" and algorithm["optimizer"] == "rmsprop" and algorithm["lr_critic"] == 5e-5
    assert algorithm["clip_value"] == 0.01 and algorithm["n_critic"] == 5
    assert config["data"]["name"] == "digits"


def test_algorithm_name_selects_wgan_gp(gan, write_config, tmp_path):
    path = write_config({"plugin": "wgan", "algorithm": {"name": "wgan-gp"}})
    out = gan("run", path, "--output", tmp_path / "r", "--steps", 1, "--set", "train.progress=false", "--set", "train.tensorboard=false")
    assert out.exit_code == 0, out.output
    saved = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["algorithm"]
    assert saved["name"] == "wgan-gp" and saved["penalty_weight"] == 10 and saved["betas"] == [0.5, 0.9]
    assert saved["critic"]["norm"] == "layer" and "clip_value" not in saved


def test_the_plugin_passes_gancores_conformance_check():
    check_plugin("wgan")
