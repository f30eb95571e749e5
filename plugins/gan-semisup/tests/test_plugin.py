"""The plugin is installed, discovered through its entry point, and registers what the issue asks for."""

from __future__ import annotations

import json
from importlib import metadata

import yaml

from gancore.testing import check_plugin


def test_plugin_is_installed():
    (ep,) = [ep for ep in metadata.entry_points(group="gancore") if ep.name == "semisup"]
    assert ep.value == "gan_semisup.plugin"
    assert ep.dist.name == "gan-semisup"


def test_gan_plugins_lists_what_it_registers(gan):
    out = gan("plugins", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    (semisup,) = [p for p in report["plugins"] if p["name"] == "semisup"]
    assert semisup["distribution"] == "gan-semisup"
    assert semisup["registered"] == {
        "algorithms": ["fm-gan", "sgan", "supervised-only", "bigan", "bigbigan"],
        "models": ["improved-gan-discriminator", "improved-gan-generator", "bigan-generator", "bigan-encoder", "bigan-discriminator",
                   "bigbigan-encoder", "bigbigan-discriminator"],
        "transforms": ["labeled-subset"],
    }
    assert not [b for b in report["broken"] if b["name"] == "semisup"]


def test_the_plugin_passes_gancores_conformance_check():
    check_plugin("semisup")


def test_fm_gan_defaults_are_the_improved_gan_mnist_model(gan, write_config, tmp_path):
    path = write_config({"plugin": "semisup", "algorithm": {"name": "fm-gan"}, "data": {"name": "digits", "transforms": [{"name": "labeled-subset", "per_class": 10}]}})
    out = gan("run", path, "--output", tmp_path / "r", "--steps", 1, "--set", "train.progress=false", "--set", "train.tensorboard=false")
    assert out.exit_code == 0, out.output
    saved = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["algorithm"]
    assert saved["lr_discriminator"] == saved["lr_generator"] == 0.003 and saved["betas"] == [0.5, 0.999]
    assert saved["latent_dim"] == 100 and saved["labeled_batch_size"] == 100
    assert saved["discriminator"]["name"] == "improved-gan-discriminator" and saved["generator"]["name"] == "improved-gan-generator"


def test_data_without_labelled_stream_is_a_clear_error(gan, write_config, tmp_path):
    for name in ("fm-gan", "sgan", "supervised-only"):
        # Each algorithm's own defaults ask for the labeled-subset transform; a user who takes it away gets told how to add it.
        path = write_config({"plugin": "semisup", "algorithm": {"name": name}, "data": {"name": "digits", "transforms": []}})
        out = gan("run", path, "--output", tmp_path / name, "--steps", 1, "--set", "train.progress=false")
        assert out.exit_code == 2, out.output
        assert "{name: labeled-subset, per_class: 10}" in out.output and "Traceback" not in out.output


def test_the_plugin_runs_fm_gan_when_no_algorithm_is_named(gan):
    out = gan("config", "--plugin", "semisup")
    assert out.exit_code == 0, out.output
    assert yaml.safe_load(out.output)["algorithm"]["name"] == "fm-gan"
