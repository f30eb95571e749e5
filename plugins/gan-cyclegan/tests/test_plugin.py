"""The plugin is installed, discovered through its entry point, and registers what the issue asks for."""

from __future__ import annotations

import json
from importlib import metadata

import yaml

from gancore.testing import check_plugin


def test_plugin_is_installed():
    (ep,) = [ep for ep in metadata.entry_points(group="gancore") if ep.name == "cyclegan"]
    assert ep.value == "gan_cyclegan.plugin"
    assert ep.dist.name == "gan-cyclegan"


def test_gan_plugins_lists_what_it_registers(gan):
    out = gan("plugins", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    (mine,) = [p for p in report["plugins"] if p["name"] == "cyclegan"]
    assert mine["distribution"] == "gan-cyclegan"
    assert mine["registered"] == {
        "algorithms": ["cyclegan"],
        "models": ["cyclegan-resnet-generator", "cyclegan-unet-generator", "patchgan-discriminator"],
        "datasets": ["half"],
        "metrics": ["translation-accuracy"],
        "features": ["lenet-mnist-colored", "lenet-mnist-strokes"],
        "transforms": ["colorize"],
    }
    assert not [b for b in report["broken"] if b["name"] == "cyclegan"]


def test_the_plugin_passes_gancores_conformance_check():
    check_plugin("cyclegan")


def test_default_options_are_the_references(gan):
    out = gan("config", "--plugin", "cyclegan")
    assert out.exit_code == 0, out.output
    algorithm = yaml.safe_load(out.output)["algorithm"]
    assert algorithm["loss"]["name"] == "least-squares"
    assert (algorithm["lr"], algorithm["betas"]) == (2e-4, [0.5, 0.999])
    assert (algorithm["cycle_weight_a"], algorithm["cycle_weight_b"], algorithm["identity_weight"], algorithm["pool_size"]) == (10.0, 10.0, 0.5, 50)
    assert algorithm["lr_constant_steps"] is None  # half of the run, as 100 + 100 epochs


def test_the_quick_default_runs(gan, tmp_path):
    sets = ["train.progress=false", "train.tensorboard=false", "algorithm.generator.channels=4", "algorithm.discriminator.channels=4"]
    out = gan("run", "--plugin", "cyclegan", "--steps", 2, "--output", tmp_path / "r", *[i for s in sets for i in ("--set", s)])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r" / "samples" / "step-000002.png").is_file()
