"""Training steps: the batch size per resolution, the losses, the logs, sampling and resume mid-fade."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from gancore.errors import UserError
from gancore.losses import GradientPenalty
from gancore.testing import check_resume, no_host_sync


def _records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_trainer_hands_each_resolution_its_batch_size_and_steps_log_stage_alpha_resolution(gan, write_config, tiny_digits, tmp_path):
    tiny_digits["algorithm"]["batch_sizes"] = {4: 8, 8: 32}  # 8 steps of 8 at 4x4, then 2 fading and 2 stable of 32
    tiny_digits["train"].update(steps=12, log_every=1, checkpoint_every=0)
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    losses = [r for r in _records(tmp_path / "r") if "loss_d" in r]
    seen = [(r["stage"], r["alpha"], r["resolution"], round(r["kimg"] * 1000)) for r in losses]
    assert seen == [
        *[(0.0, 1.0, 4.0, 8 * i) for i in range(1, 9)],
        (1.0, 0.0, 8.0, 96), (1.0, 0.5, 8.0, 128), (1.0, 1.0, 8.0, 160), (1.0, 1.0, 8.0, 192),
    ]  # fmt: skip
    assert all({"wasserstein", "grad_norm", "penalty", "drift", "loss_g"} <= set(r) for r in losses)


def test_wgan_gp_loss_is_critic_objective_plus_penalty_plus_drift(make_run, tiny_digits):
    run = make_run(tiny_digits)
    alg = run.algorithm
    logs = alg.train_step(run.next_batch(size=16), 1)
    expected = -logs["wasserstein"] + 10 * logs["penalty"] + 0.001 * logs["drift"]
    assert logs["loss_d"].item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-6)
    assert logs["penalty"] >= 0 and logs["drift"] >= 0


def test_least_squares_option_trains_without_a_penalty(gan, write_config, tiny_digits, tmp_path):
    tiny_digits["algorithm"]["loss"] = "least-squares"
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    losses = [r for r in _records(tmp_path / "r") if "loss_d" in r]
    assert losses and not any("penalty" in r for r in losses)
    assert all(r["loss_d"] >= 0 for r in losses), "least-squares losses are sums of squares"


def test_sample_is_at_the_datas_resolution_and_preview_at_the_stages(make_run, tiny_digits):
    run = make_run(tiny_digits)
    alg = run.algorithm
    native = alg.sample_native(6, seed=1)
    assert native.shape == (6, 1, 4, 4) and native.abs().max() <= 1
    samples = alg.sample(6, seed=1)
    assert samples.shape == (6, 1, 8, 8)
    assert torch.equal(samples, F.interpolate(native, scale_factor=2, mode="nearest"))
    assert torch.equal(alg.sample(6, seed=1), samples), "seeded samples repeat"
    rows = alg.preview(16, seed=0)
    assert len(rows) == 4 and all(r.shape == (4, 1, 4, 4) for r in rows)
    for step in range(1, 9):
        alg.train_step(run.next_batch(size=16), step)
    assert alg.sample_native(3, seed=1).shape == (3, 1, 8, 8) and alg.sample(3, seed=1).shape == (3, 1, 8, 8)


def test_sample_grid_is_written_from_the_preview(gan, write_config, tiny_digits, tmp_path):
    tiny_digits["train"].update(steps=6, sample_every=3, checkpoint_every=0)
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r" / "samples" / "step-000003.png").is_file() and (tmp_path / "r" / "samples" / "step-000006.png").is_file()


@pytest.mark.parametrize(
    "sets",
    [["train.ema_decay=0.9"], ["algorithm.batch_sizes={4: 8, 8: 16}", "algorithm.d_steps=2", "algorithm.reset_optimizer_on_growth=true"]],
    ids=["ema", "batch-sizes-d-steps-reset"],
)
def test_a_run_stopped_mid_fade_and_resumed_ends_bit_for_bit_like_one_run(gan, write_config, tiny_digits, tmp_path, sets):
    # 64 images at 4x4, then 8x8 fades in over 64: the stop at step 6 falls inside the fade-in.
    tiny_digits["train"].update(steps=12, checkpoint_every=6)
    final = check_resume(gan, write_config(tiny_digits), tmp_path, stop_at=6, sets=sets)
    assert len(final) > 20
    stopped = json.loads((tmp_path / "half" / "checkpoints" / "step-000006" / "state.json").read_text())["state"]
    text = json.dumps(stopped)
    assert '"images_shown"' in text


def test_mid_fade_checkpoint_holds_the_image_counter(make_run, tiny_digits):
    run = make_run(tiny_digits)
    alg = run.algorithm
    for step in range(1, 7):
        alg.train_step(run.next_batch(size=alg.batch_size(step)), step)
    point = alg.point()
    assert point.fading and point.alpha == 0.5
    state = alg.state_dict()
    assert state["images_shown"] == 96
    other = make_run(tiny_digits).algorithm
    other.load_state_dict(state)
    assert other.point() == point


def test_after_a_stage_ends_samples_show_that_stage_not_the_next_fade_in(make_run, tiny_digits):
    run = make_run(tiny_digits)
    alg = run.algorithm
    for step in range(1, 5):  # the whole 4x4 stage
        alg.train_step(run.next_batch(size=16), step)
    assert (alg.point().stage, alg.point().alpha) == (1, 0.0), "the next step starts the 8x8 fade-in"
    assert alg.sampling_point().stage == 0 and alg.sample_native(2, seed=0).shape[-1] == 4
    assert all(r.shape[-1] == 4 for r in alg.preview(4, seed=0))
    # the checkpoint holds that clock, so a resumed run samples the same stage
    state = alg.state_dict()
    assert state["trained_images"] == 48
    other = make_run(tiny_digits).algorithm
    other.load_state_dict(state)
    assert other.trained_images == 48 and other.sampling_point() == alg.sampling_point()
    # a checkpoint without it is refused, naming what it lacks (no replay of older checkpoints: plugin API 3)
    del state["trained_images"]
    with pytest.raises(UserError, match="lacks trained_images"):
        make_run(tiny_digits).algorithm.load_state_dict(state)


def test_counters_are_declared_plain_ints(make_run, tiny_digits):
    run = make_run(tiny_digits)
    alg = run.algorithm
    for step in range(1, 3):
        alg.train_step(run.next_batch(size=16), step)
    assert {"images_shown", "trained_images", "phase"} <= set(alg.state_names)
    state = alg.state_dict()
    assert (state["images_shown"], state["trained_images"], state["phase"]) == (32, 16, 0)
    assert all(type(state[k]) is int for k in ("images_shown", "trained_images", "phase"))


def test_accelerator_options_reach_accelerate(make_run, tiny_digits):
    # With several processes DDP must expect the layers of inactive stages to get no gradient.
    run = make_run(tiny_digits)
    assert run.accelerator.ddp_handler is not None and run.accelerator.ddp_handler.find_unused_parameters is True


def test_the_penalty_is_gancores_with_target_gamma_and_weight_lambda_over_gamma_squared(make_run, tiny_digits):
    run = make_run(tiny_digits, ("algorithm.penalty_weight=6", "algorithm.penalty_target=2"))
    alg = run.algorithm
    assert isinstance(alg.penalty, GradientPenalty)
    assert (alg.penalty.weight, alg.penalty.target, alg.penalty.at) == (6 / 4, 2.0, "interpolates")
    logs = alg.train_step(run.next_batch(size=16), 1)
    norms = alg.penalty.last_norms
    assert logs["grad_norm"].item() == pytest.approx(norms.mean().item())
    assert logs["penalty"].item() == pytest.approx((((norms - 2) ** 2).mean() / 4).item(), rel=1e-6)
    expected = -logs["wasserstein"] + 6 * logs["penalty"] + 0.001 * logs["drift"]
    assert logs["loss_d"].item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-6)
    assert make_run(tiny_digits, ("algorithm.loss=least-squares",)).algorithm.penalty is None


@pytest.mark.parametrize("loss", ["wgan-gp", "least-squares"])
def test_a_step_makes_no_host_sync_and_no_cpu_tensor(make_run, tiny_digits, loss):
    # On a GPU a step must not wait for the device (values to log stay tensors) nor make tensors on the CPU:
    # steps 1-4 at 4x4, then the fade-in (α a tensor), with two discriminator steps and optimizer resets.
    run = make_run(tiny_digits, (f"algorithm.loss={loss}", "algorithm.d_steps=2", "algorithm.reset_optimizer_on_growth=true"))
    alg = run.algorithm
    for step in range(1, 4):
        batch = run.next_batch(size=alg.batch_size(step))
        with no_host_sync():
            logs = alg.train_step(batch, step)
        assert all(v.device == run.accelerator.device for v in logs.values() if isinstance(v, torch.Tensor))
        assert all(isinstance(logs[k], torch.Tensor) for k in ("loss_d", "loss_g"))
    assert alg.point().fading
