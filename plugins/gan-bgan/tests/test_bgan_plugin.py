"""gan-bgan from the outside: installed, discovered, configured and run through the ``gan`` command line."""

from __future__ import annotations

import json
from importlib import metadata

import pytest
import torch

from gancore import plugins
from gancore.config import build_run_config, load_yaml
from gancore.testing import check_plugin, check_resume


def test_plugin_is_installed():
    entry_points = {ep.name: ep for ep in metadata.entry_points(group="gancore")}
    assert entry_points["bgan"].value == "gan_bgan.plugin"
    assert entry_points["bgan"].dist.name == "gan-bgan"
    info = plugins.get_host().require("bgan")
    assert info.registered["algorithms"] == ["bgan", "bgan-continuous"]
    assert info.registered["models"] == ["bgan-generator", "bgan-discriminator"]
    assert info.registered["datasets"] == ["palette-folder"]
    assert info.registered["transforms"] == ["binarize", "quantize"]
    assert "gan_register_commands" in info.hooks


def test_gan_plugins_lists_bgan(gan):
    result = gan("plugins", "--json")
    assert result.exit_code == 0
    listed = {p["name"]: p for p in json.loads(result.output)["plugins"]}
    assert listed["bgan"]["registered"]["algorithms"] == ["bgan", "bgan-continuous"]
    assert not [b for b in json.loads(result.output)["broken"] if b["name"] == "bgan"]


def test_default_config_documents_the_options(gan):
    result = gan("config", "--plugin", "bgan")
    assert result.exit_code == 0, result.output
    for text in ("n_mc_samples: 20", "log_prob_reduction: mean", "lr_discriminator:", "instance_noise:", "name: bgan-generator",
                 "norm_position: after", "spectral_norm: false", "name: binarize", "threshold: 0.5", "ema_decay: 0.999"):
        assert text in result.output


@pytest.mark.parametrize("name", ["bgan-binary-digits.yaml", "bgan-binary-mnist5k.yaml", "bgan-quantized-lfw.yaml"])
def test_examples_are_valid_run_configs(name, examples_dir):
    config = build_run_config(plugins.get_host().registry, None, load_yaml(examples_dir / name), [])
    assert config.plugin == "bgan" and config.algorithm.name == "bgan"
    assert config.train.ema_decay is not None


def test_the_quick_default_is_the_digits_example(examples_dir):
    registry = plugins.get_host().registry
    default = build_run_config(registry, "bgan", None, [])
    example = build_run_config(registry, None, load_yaml(examples_dir / "bgan-binary-digits.yaml"), [])
    assert default == example


def test_gan_run_then_sample_gives_binary_images(gan, write_config, tiny_binary, tmp_path):
    run_dir = tmp_path / "run"
    result = gan("run", write_config(tiny_binary), "--output", run_dir)
    assert result.exit_code == 0, result.output
    assert (run_dir / "samples" / "step-000006.png").is_file()
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {"loss_d", "loss_g", "d_real", "d_fake", "ess"} <= set(records[-1])
    result = gan("sample", run_dir, "-n", "10", "-o", tmp_path / "s.pt")
    assert result.exit_code == 0, result.output
    samples = torch.load(tmp_path / "s.pt", weights_only=True)
    assert samples.shape == (10, 1, 8, 8) and set(samples.unique().tolist()) <= {-1.0, 1.0}


def test_resume_continues_bit_for_bit(gan, write_config, tiny_palette, tmp_path):
    final = check_resume(gan, write_config(tiny_palette), tmp_path, stop_at=3)  # weights, optimizers, EMA, RNG
    assert len(final) > 10


def test_the_plugin_passes_gancores_conformance_check():
    check_plugin("bgan")


def test_continuous_data_is_refused_with_a_hint(gan, write_config, tiny_binary, tmp_path):
    tiny_binary["data"]["transforms"] = []
    result = gan("run", write_config(tiny_binary), "--output", tmp_path / "run")
    assert result.exit_code == 2
    assert "binarize" in result.output and "bgan-continuous" in result.output


def test_bgan_continuous_runs_from_the_command_line(gan, write_config, tmp_path):
    config = {
        "plugin": "bgan",
        "algorithm": {"name": "bgan-continuous", "latent_dim": 2,
                      "generator": {"name": "mlp-generator", "hidden_dim": 16, "num_layers": 2},
                      "discriminator": {"name": "mlp-discriminator", "hidden_dim": 16, "num_layers": 2}},
        "data": {"name": "ring", "num_samples": 1024},
        "train": {"steps": 6, "batch_size": 32, "progress": False, "tensorboard": False, "sample_every": 0, "log_every": 3},
    }
    result = gan("run", write_config(config), "--output", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "samples" / "step-000006.png").is_file()


def test_a_misspelt_option_is_reported_with_its_path(gan, write_config, tiny_binary, tmp_path):
    tiny_binary["algorithm"]["n_mc_sample"] = 5
    result = gan("run", write_config(tiny_binary), "--output", tmp_path / "run")
    assert result.exit_code == 2
    assert "algorithm.n_mc_sample" in result.output


def test_the_wheel_holds_the_plugin_and_its_entry_point(tmp_path):
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(root)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("gan_bgan-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "gan_bgan/plugin.py" in names and "gan_bgan/quantize.py" in names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[gancore]" in entry_points and "bgan = gan_bgan.plugin" in entry_points
