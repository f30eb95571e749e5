"""The CycleGAN step: loss terms, identity generators, the learning-rate schedule, jitter, resume."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from gan_cyclegan.augment import jitter
from gancore.testing import check_resume, checkpoint_tensors, no_host_sync


def _batches(run):
    """A batch of each domain, as train_step gets them."""
    return run.next_batch()["x"], run.next_batch(stream="b")["x_b"]


def test_cycle_and_identity_losses_are_zero_for_identity_generators(make_run, tiny_digits):
    run = make_run(tiny_digits)
    algorithm = run.algorithm
    real_a, real_b = _batches(run)
    _, logs, _, _ = algorithm.generator_objective(real_a, real_b)
    assert logs["cycle_a"] > 0 and logs["cycle_b"] > 0 and logs["identity_a"] > 0, "trained generators are not the identity"
    algorithm.generator_ab, algorithm.generator_ba = nn.Identity(), nn.Identity()
    total, logs, fake_a, fake_b = algorithm.generator_objective(real_a, real_b)
    assert logs["cycle_a"] == 0 and logs["cycle_b"] == 0
    assert logs["identity_a"] == 0 and logs["identity_b"] == 0
    assert torch.equal(fake_b, real_a) and torch.equal(fake_a, real_b)
    # What is left is the adversarial part, weighted 2 for least squares (the reference's (D-1)² is twice the registry's).
    assert total.item() == pytest.approx(2 * (logs["adversarial_a2b"] + logs["adversarial_b2a"]).item(), rel=1e-6)


def test_the_generator_loss_is_the_weighted_sum_of_its_logged_terms(make_run, tiny_digits):
    run = make_run(tiny_digits, ["algorithm.loss={name: non-saturating}", "algorithm.cycle_weight_a=7", "algorithm.cycle_weight_b=2", "algorithm.identity_weight=0.3"])
    algorithm = run.algorithm
    real_a, real_b = _batches(run)
    total, logs, _, _ = algorithm.generator_objective(real_a, real_b)
    # As the reference pairs them: |F(a) - a| weighted with λ_A, |G(b) - b| with λ_B.
    expected = (logs["adversarial_a2b"] + logs["adversarial_b2a"]) + 7 * logs["cycle_a"] + 2 * logs["cycle_b"] + 0.3 * (7 * logs["identity_a"] + 2 * logs["identity_b"])
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    assert logs["loss_g"] == total.detach()


def test_identity_weights_can_be_set_apart_per_direction(make_run, tiny_digits, gan, write_config, tmp_path):
    overrides = ["algorithm.cycle_weight_a=7", "algorithm.cycle_weight_b=2", "algorithm.identity_weight=0.3", "algorithm.identity_weight_a=4"]
    run = make_run(tiny_digits, overrides)
    algorithm = run.algorithm
    assert algorithm.config.identity_weights() == pytest.approx((7 * 4, 2 * 0.3))
    real_a, real_b = _batches(run)
    total, logs, _, _ = algorithm.generator_objective(real_a, real_b)
    expected = 2 * (logs["adversarial_a2b"] + logs["adversarial_b2a"]) + 7 * logs["cycle_a"] + 2 * logs["cycle_b"] + 28 * logs["identity_a"] + 0.6 * logs["identity_b"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    # G's identity alone switched off: F's still counts, so the terms are still logged.
    total, logs, _, _ = make_run(tiny_digits, ["algorithm.identity_weight_b=0"]).algorithm.generator_objective(real_a, real_b)
    assert "identity_b" in logs and total.item() > 0
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r", "--set", "algorithm.identity_weight_b=-1")
    assert out.exit_code == 2 and "identity_weight_b" in out.output and "Traceback" not in out.output


def test_a_step_logs_every_term_and_updates_all_four_networks(make_run, tiny_digits):
    run = make_run(tiny_digits)
    algorithm = run.algorithm
    nets = [algorithm.generator_ab, algorithm.generator_ba, algorithm.discriminator_a, algorithm.discriminator_b]
    before = [[p.detach().clone() for p in net.parameters()] for net in nets]
    logs = algorithm.train_step(run.next_batch(), 1)
    assert set(logs) == {"adversarial_a2b", "adversarial_b2a", "cycle_a", "cycle_b", "identity_a", "identity_b",
                         "loss_g", "loss_d", "loss_d_a", "loss_d_b", "lr"}
    assert torch.equal(logs["loss_d"], logs["loss_d_a"] + logs["loss_d_b"])  # what opt_d minimised
    for net, old in zip(nets, before):
        assert any(not torch.equal(p, q) for p, q in zip(net.parameters(), old))
    assert algorithm.pool_a.count == algorithm.pool_b.count == 4


def test_identity_loss_needs_the_same_channels(gan, write_config, tiny_digits, tmp_path):
    tiny_digits["data"]["a"]["of"]["channels"] = None  # grey A (1 channel), coloured B (3)
    path = write_config(tiny_digits)
    out = gan("run", path, "--output", tmp_path / "r")
    assert out.exit_code == 2 and "identity" in out.output and "channels" in out.output and "Traceback" not in out.output
    assert gan("run", path, "--output", tmp_path / "ok", "--set", "algorithm.identity_weight=0", "--steps", 2).exit_code == 0


def test_a_single_domain_dataset_is_refused(gan, write_config, tiny_digits, tmp_path):
    tiny_digits["data"] = {"name": "digits"}
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r")
    assert out.exit_code == 2 and "unpaired" in out.output


@pytest.mark.parametrize("constant,expected", [
    (None, {1: 1.0, 6: 1.0, 7: 5 / 6, 9: 3 / 6, 12: 0.0}),  # null: half of train.steps (12) at the full rate
    (3, {1: 1.0, 3: 1.0, 4: 8 / 9, 12: 0.0}),
    (0, {1: 11 / 12, 12: 0.0}),
])
def test_the_learning_rate_holds_then_decays_linearly_to_zero(make_run, tiny_digits, constant, expected):
    run = make_run(tiny_digits, [f"algorithm.lr_constant_steps={'null' if constant is None else constant}"])
    algorithm = run.algorithm
    for step, factor in expected.items():
        assert algorithm.learning_rate_factor(step) == pytest.approx(factor)
    logs = algorithm.train_step(run.next_batch(), 7)
    rate = 2e-4 * algorithm.learning_rate_factor(7)
    assert logs["lr"] == pytest.approx(rate)
    for optimizer in (algorithm.opt_g, algorithm.opt_d):
        assert all(group["lr"] == pytest.approx(rate) for group in optimizer.param_groups)


def test_jitter_crops_and_flips_each_image_from_the_training_rng():
    x = torch.arange(2 * 3 * 10 * 10, dtype=torch.float32).view(2, 3, 10, 10) / 600 - 1
    torch.manual_seed(0)
    once = jitter(x, None, 6, True)
    torch.manual_seed(0)
    assert torch.equal(jitter(x, None, 6, True), once), "the same RNG state gives the same crops"
    assert once.shape == (2, 3, 6, 6)
    for image, crop in zip(x, once):  # every output is a window of its own image, maybe mirrored
        windows = [image[:, i : i + 6, j : j + 6] for i in range(5) for j in range(5)]
        assert any(torch.equal(crop, w) or torch.equal(crop, w.flip(-1)) for w in windows)
    flips = [torch.equal(jitter(x[:1], None, None, True), x[:1].flip(-1)) for _ in range(200)]
    assert 60 < sum(flips) < 140
    assert jitter(x, 14, 12, False).shape == (2, 3, 12, 12)


def test_stopped_and_resumed_run_ends_bit_for_bit_like_an_uninterrupted_one(gan, write_config, tiny_digits, tmp_path):
    # Pools of 4 are full after the first step, so by the stop at step 6 they are swapping images;
    # jitter, pool swaps and the EMA of both generators must all resume exactly.
    tiny_digits["train"]["ema_decay"] = 0.9
    final = check_resume(gan, write_config(tiny_digits), tmp_path, stop_at=6)
    assert final
    _, tensors, state = checkpoint_tensors(tmp_path / "half", step=6)
    algorithm = dict((k, v) for k, v in state["__dict__"])["algorithm"]
    pool = dict((k, v) for k, v in dict((k, v) for k, v in algorithm["__dict__"])["pool_a"]["__dict__"])
    assert pool["count"] == 4 and tensors[pool["images"]["__tensor__"]].shape == (4, 3, 8, 8)
    records = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "cycle_a" in r] == [3, 6, 9, 12]
    assert {"loss_g", "loss_d", "loss_d_a", "loss_d_b"} <= set(records[-1])
    assert records[-1]["loss_d"] == pytest.approx(records[-1]["loss_d_a"] + records[-1]["loss_d_b"], rel=1e-6)


def test_a_step_reads_no_tensor_on_the_host(make_run, tiny_digits):
    # Jitter, both pools (filling at step 1, swapping after) and the losses stay on the device: a GPU never waits in a step.
    run = make_run(tiny_digits)
    for step in range(1, 5):
        batch = run.next_batch()
        with no_host_sync():
            logs = run.algorithm.train_step(batch, step)
    assert run.algorithm.pool_a.count == 4
    assert all(isinstance(v, torch.Tensor) for k, v in logs.items() if k != "lr")
