"""The plugin is installed, discovered through its entry point, registers ``egan`` with the reference's
defaults, and refuses bad mutation lists with a one-paragraph error."""

from __future__ import annotations

import json
from importlib import metadata

import yaml

from gancore.testing import check_plugin


def test_plugin_is_installed():
    (ep,) = [ep for ep in metadata.entry_points(group="gancore") if ep.name == "evolutionary"]
    assert ep.value == "gan_evolutionary.plugin"
    assert ep.dist.name == "gan-evolutionary"


def test_the_plugin_passes_gancores_conformance_check():
    check_plugin("evolutionary")


def test_gan_plugins_lists_what_it_registers(gan):
    out = gan("plugins", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    (plugin,) = [p for p in report["plugins"] if p["name"] == "evolutionary"]
    assert plugin["distribution"] == "gan-evolutionary"
    assert plugin["registered"] == {"algorithms": ["egan"]}
    assert not [b for b in report["broken"] if b["name"] == "evolutionary"]


def test_default_config_follows_the_reference_script(gan):
    # WANG-Chaoyue/EvolutionaryGAN-pytorch, scripts/train_egan_cifar10.sh: g_loss_mode nsgan vanilla lsgan,
    # d_loss_mode vanilla, lambda_f 0.05, candi_num 1, D_iters 3, eval_size 256, batch 32, lr 2e-4, betas (0.5, 0.999).
    out = gan("config", "--plugin", "evolutionary")
    assert out.exit_code == 0, out.output
    config = yaml.safe_load(out.output)
    algorithm = config["algorithm"]
    assert algorithm["name"] == "egan"
    assert [m["name"] for m in algorithm["mutations"]] == ["non-saturating", "minimax", "least-squares"]
    assert algorithm["discriminator_loss"]["name"] == "minimax"
    assert (algorithm["parents"], algorithm["gamma"], algorithm["d_steps"], algorithm["eval_size"]) == (1, 0.05, 3, 256)
    assert algorithm["diversity"] == "log", "the code's Fd = log(norm(grad)), not the paper's −log (see config.py)"
    assert (algorithm["lr_generator"], algorithm["lr_discriminator"], algorithm["betas"]) == (2e-4, 2e-4, [0.5, 0.999])
    assert config["train"]["batch_size"] == 32


def test_a_repeated_mutation_is_a_config_error(gan, write_config, tiny_ring, tmp_path):
    tiny_ring["algorithm"]["mutations"] = [{"name": "minimax"}, {"name": "least-squares"}, {"name": "minimax"}]
    out = gan("run", write_config(tiny_ring), "--output", tmp_path / "r")
    assert out.exit_code == 2
    assert "algorithm.mutations" in out.output and "repeated: minimax" in out.output and "Traceback" not in out.output


def test_an_unknown_or_unusable_mutation_is_refused_before_training(gan, write_config, tiny_ring, tmp_path):
    tiny_ring["algorithm"]["mutations"] = [{"name": "non-saturating"}, {"name": "least-squared"}]
    out = gan("run", write_config(tiny_ring), "--output", tmp_path / "typo")
    assert out.exit_code == 2 and "least-squares" in out.output, out.output  # the registry suggests the name
    # r1 is a regulariser: it needs an algorithm that calls regularizer(), which egan does not.
    tiny_ring["algorithm"]["mutations"] = [{"name": "non-saturating"}, {"name": "r1"}]
    out = gan("run", write_config(tiny_ring, "r1.yaml"), "--output", tmp_path / "r1")
    assert out.exit_code == 2 and "r1" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "r1" / "checkpoints").exists()


def test_a_relativistic_mutation_gets_the_real_logits(gan, write_config, tiny_ring, tmp_path):
    tiny_ring["algorithm"]["mutations"] = [{"name": "non-saturating"}, {"name": "relativistic"}]
    tiny_ring["train"].update(steps=4, checkpoint_every=0)
    out = gan("run", write_config(tiny_ring), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    record = json.loads((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()[0])
    assert {"won_non-saturating", "won_relativistic", "fd_relativistic"} <= set(record)
