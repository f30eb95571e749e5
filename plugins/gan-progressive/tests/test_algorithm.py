"""Training steps: the batch size per resolution, the losses, the logs, sampling and resume mid-fade."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from gancore.testing import check_resume


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


def test_wgan_gp_loss_is_critic_objective_plus_penalty_plus_drift(make_trainer, tiny_digits):
    trainer = make_trainer(tiny_digits)
    alg = trainer.algorithm
    logs = alg.train_step(trainer._next_batch(size=16), 1)
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


def test_sample_is_at_the_datas_resolution_and_preview_at_the_stages(make_trainer, tiny_digits):
    trainer = make_trainer(tiny_digits)
    alg = trainer.algorithm
    native = alg.sample_native(6, seed=1)
    assert native.shape == (6, 1, 4, 4) and native.abs().max() <= 1
    samples = alg.sample(6, seed=1)
    assert samples.shape == (6, 1, 8, 8)
    assert torch.equal(samples, F.interpolate(native, scale_factor=2, mode="nearest"))
    assert torch.equal(alg.sample(6, seed=1), samples), "seeded samples repeat"
    rows = alg.preview(16, seed=0)
    assert len(rows) == 4 and all(r.shape == (4, 1, 4, 4) for r in rows)
    for step in range(1, 9):
        alg.train_step(trainer._next_batch(size=16), step)
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


def test_mid_fade_checkpoint_holds_the_image_counter(make_trainer, tiny_digits):
    trainer = make_trainer(tiny_digits)
    alg = trainer.algorithm
    for step in range(1, 7):
        alg.train_step(trainer._next_batch(size=alg.batch_size(step)), step)
    point = alg.point()
    assert point.fading and point.alpha == 0.5
    state = alg.state_dict()
    assert state["images_shown"] == 96
    other = make_trainer(tiny_digits).algorithm
    other.load_state_dict(state)
    assert other.point() == point


def test_after_a_stage_ends_samples_show_that_stage_not_the_next_fade_in(make_trainer, tiny_digits):
    trainer = make_trainer(tiny_digits)
    alg = trainer.algorithm
    for step in range(1, 5):  # the whole 4x4 stage
        alg.train_step(trainer._next_batch(size=16), step)
    assert (alg.point().stage, alg.point().alpha) == (1, 0.0), "the next step starts the 8x8 fade-in"
    assert alg.sampling_point().stage == 0 and alg.sample_native(2, seed=0).shape[-1] == 4
    assert all(r.shape[-1] == 4 for r in alg.preview(4, seed=0))
    # a checkpoint without the saved clock (0.1.0 before it was saved) replays it
    state = alg.state_dict()
    assert state["trained_images"] == 48
    del state["trained_images"]
    other = make_trainer(tiny_digits).algorithm
    other.load_state_dict(state)
    assert other.trained_images == 48 and other.sampling_point() == alg.sampling_point()
