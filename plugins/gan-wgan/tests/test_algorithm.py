"""WGAN and WGAN-GP training steps: clipping, the critic schedule, logs, resume, learning rates."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from gan_wgan.algorithm import REFERENCE_CRITIC_STEPS
from gancore.losses import GradientPenalty
from gancore.testing import check_resume, no_host_sync


def _count_calls(obj, name: str) -> list[int]:
    # An optimizer prepared by Accelerate wraps a torch one; ctx.update steps the torch optimizer itself
    # when the wrapper adds nothing, so the calls are counted there.
    obj = getattr(obj, "optimizer", obj)
    calls = []
    original = getattr(obj, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    setattr(obj, name, counted)
    return calls


def test_every_critic_weight_stays_within_the_clip_after_each_critic_step(make_run, tiny_digits_clip):
    # A large learning rate would carry the weights far outside [-c, c] without clipping.
    c = 0.02
    run = make_run(tiny_digits_clip, (f"algorithm.clip_value={c}", "algorithm.lr_critic=0.05", "algorithm.n_critic=3"))
    algorithm = run.algorithm
    critic = algorithm.critic
    largest = []  # the largest |parameter| each time the critic is used

    def record(module, inputs):
        largest.append(max(p.detach().abs().max().item() for p in module.parameters()))

    # Every use of the critic comes after it was built or after a critic step (the generator
    # step uses it too, after the last critic step), so this sees the weights after each step.
    critic.register_forward_pre_hook(record)
    critic_steps = _count_calls(algorithm.opt_d, "step")
    for step in range(1, 5):
        algorithm.train_step(run.next_batch(), step)
    assert len(critic_steps) == 4 * 3
    assert largest and max(largest) <= c
    saturated = sum(int((p.abs() == c).sum()) for p in critic.parameters())
    assert saturated > 0, "with this learning rate some weights sit on the clip"


def test_clipped_weights_in_the_checkpoint(gan, write_config, tiny_digits_clip, tmp_path):
    out = gan("run", write_config(tiny_digits_clip), "--output", tmp_path / "r", "--set", "algorithm.lr_critic=0.05")
    assert out.exit_code == 0, out.output
    tensors = load_file(str(tmp_path / "r" / "checkpoints" / "step-000012" / "tensors.safetensors"))
    state = json.loads((tmp_path / "r" / "checkpoints" / "step-000012" / "state.json").read_text())["state"]
    critic_keys = {v["__tensor__"] for k, v in _critic_tensors(state)}
    assert critic_keys and max(tensors[k].abs().max().item() for k in critic_keys if tensors[k].is_floating_point()) <= 0.01


def _critic_tensors(state):
    """(name, {"__tensor__": key}) pairs of the critic's weights in a decoded-free checkpoint state."""
    algorithm = dict((k, v) for k, v in state["__dict__"])["algorithm"]
    critic = dict((k, v) for k, v in algorithm["__dict__"])["critic"]
    return [(k, v) for k, v in critic["__dict__"] if isinstance(v, dict) and "__tensor__" in v and "num_batches_tracked" not in k]


@pytest.mark.parametrize("algorithm", ["wgan", "wgan-gp"])
@pytest.mark.parametrize("n_critic", [1, 3])
def test_n_critic_is_honoured(make_run, tiny_grid, algorithm, n_critic):
    run = make_run(tiny_grid, (f"algorithm.name={algorithm}", f"algorithm.n_critic={n_critic}"))
    alg = run.algorithm
    critic_steps = _count_calls(alg.opt_d, "step")
    generator_steps = _count_calls(alg.opt_g, "step")
    extra_batches = _count_calls(alg.ctx, "next_batch")
    for step in range(1, 4):
        alg.train_step(run.next_batch(), step)
        assert len(critic_steps) == n_critic * step
        assert len(generator_steps) == step
        assert len(extra_batches) == (n_critic - 1) * step, "each critic step after the first draws a fresh batch"


def test_reference_schedule(make_run, tiny_grid):
    run = make_run(tiny_grid, ("algorithm.name=wgan", "algorithm.reference_schedule=true", "algorithm.n_critic=5"))
    alg = run.algorithm
    schedule = {step: alg.critic_steps(step) for step in (1, 2, 25, 26, 27, 500, 501, 502, 1000, 1001, 1501)}
    assert schedule == {1: 100, 2: 100, 25: 100, 26: 5, 27: 5, 500: 5, 501: 100, 502: 5, 1000: 5, 1001: 100, 1501: 100}
    critic_steps = _count_calls(alg.opt_d, "step")
    alg.train_step(run.next_batch(), 1)
    assert len(critic_steps) == REFERENCE_CRITIC_STEPS
    off = make_run(tiny_grid, ("algorithm.name=wgan", "algorithm.n_critic=5")).algorithm
    assert {off.critic_steps(s) for s in (1, 25, 501)} == {5}


@pytest.mark.parametrize("algorithm", ["wgan", "wgan-gp"])
def test_each_step_logs_the_wasserstein_estimate_gradient_norm_and_penalty(make_run, tiny_grid, algorithm):
    run = make_run(tiny_grid, (f"algorithm.name={algorithm}",))
    alg = run.algorithm
    batch = run.next_batch()
    torch.manual_seed(3)
    logs = alg.train_step(batch, 1)
    assert {"wasserstein", "grad_norm", "penalty", "loss_d", "loss_g"} <= set(logs)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in logs.values())
    assert logs["grad_norm"] >= 0 and logs["penalty"] >= 0
    if algorithm == "wgan-gp":  # the critic loss is −estimate + λ·penalty (λ = 10)
        assert logs["loss_d"].item() == pytest.approx(-logs["wasserstein"].item() + 10 * logs["penalty"].item(), rel=1e-4, abs=1e-5)
    else:
        assert logs["loss_d"].item() == pytest.approx(-logs["wasserstein"].item(), rel=1e-5, abs=1e-7)


def test_wasserstein_estimate_is_mean_real_score_minus_mean_fake_score(make_run, tiny_grid):
    run = make_run(tiny_grid, ("algorithm.n_critic=1",))
    alg = run.algorithm
    real = run.next_batch()["x"]
    torch.manual_seed(5)
    with torch.no_grad():
        fake = alg.generator(alg.noise(len(real), alg.config.latent_dim))
        expected = alg.critic(real).mean() - alg.critic(fake).mean()
    torch.manual_seed(5)
    logs = alg.train_step({"x": real}, 1)
    assert logs["wasserstein"].item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize(
    "base,name,overrides",
    [
        ("grid", "wgan", ["algorithm.reference_schedule=true", "algorithm.lr_decay=linear"]),
        ("grid", "wgan-gp", ["algorithm.lr_decay=linear", "algorithm.lr_final_fraction=0.1"]),
        ("digits", "wgan", []),
        ("digits", "wgan-gp", ["algorithm.critic.norm=layer"]),
    ],
    ids=["wgan-grid", "wgan-gp-grid", "wgan-digits", "wgan-gp-digits"],
)
def test_resumed_run_equals_an_uninterrupted_one(gan, write_config, tiny_grid, tiny_digits_clip, tmp_path, base, name, overrides):
    cfg = tiny_grid if base == "grid" else tiny_digits_clip
    cfg["algorithm"]["name"] = name
    cfg["train"].update(steps=12, checkpoint_every=6, ema_decay=0.9)
    # Stopped after step 6 as an interruption would: the run still plans 12 steps (the learning-rate
    # decay depends on it), writes a checkpoint and ends; resumed, it must end as the run done in one go.
    final = check_resume(gan, write_config(cfg), tmp_path, stop_at=6, sets=overrides)
    assert len(final) > 10


def test_linear_learning_rate_decay(make_run, tiny_grid):
    run = make_run(tiny_grid, ("algorithm.lr_decay=linear", "algorithm.lr_final_fraction=0.25", "train.steps=10",
                                       "algorithm.lr_generator=0.001", "algorithm.lr_critic=0.002"))
    alg = run.algorithm
    seen = []
    for step in (1, 6, 11):
        alg.train_step(run.next_batch(), step)
        seen.append((alg.opt_g.param_groups[0]["lr"], alg.opt_d.param_groups[0]["lr"]))
    assert seen[0] == pytest.approx((0.001, 0.002))
    assert seen[1] == pytest.approx((0.001 * (1 - 0.75 * 0.5), 0.002 * (1 - 0.75 * 0.5)))
    assert seen[2] == pytest.approx((0.00025, 0.0005))


def test_optimizers_follow_the_papers(make_run, tiny_grid):
    clip = make_run(tiny_grid, ("algorithm.name=wgan",)).algorithm
    assert isinstance(clip.opt_d.optimizer, torch.optim.RMSprop) and clip.opt_d.param_groups[0]["lr"] == 5e-5
    assert clip.config.clip_value == 0.01 and clip.config.n_critic == 5
    gp = make_run(tiny_grid).algorithm
    assert isinstance(gp.opt_d.optimizer, torch.optim.Adam)
    assert gp.opt_d.param_groups[0]["betas"] == (0.5, 0.9) and gp.config.penalty_weight == 10 and gp.config.n_critic == 5


def test_wgan_gp_refuses_a_batch_norm_critic(gan, write_config, tiny_digits_clip, tmp_path):
    path = write_config(tiny_digits_clip)
    tiny_digits_clip["algorithm"].update(name="wgan-gp")
    gp_path = write_config(tiny_digits_clip, "gp.yaml")
    batch_norm = ("--set", "algorithm.critic.norm=batch", "--set", "data.image_size=16")  # 16x16: a second conv, with a norm
    out = gan("run", gp_path, "--output", tmp_path / "r", *batch_norm)
    assert out.exit_code == 2
    assert "batch norm" in out.output and "algorithm.critic.norm=layer" in out.output and "Traceback" not in out.output
    # the clipping WGAN keeps the reference code's batch-norm critic
    assert gan("run", path, "--output", tmp_path / "ok", *batch_norm, "--steps", 2).exit_code == 0


def test_wgan_gp_trains_under_torch_compile(gan, write_config, tiny_grid, tmp_path):
    # torch.compile cannot differentiate a gradient: the penalty's pass runs on the eager critic.
    tiny_grid["train"].update(steps=4, log_every=2, checkpoint_every=0, compile=True)
    out = gan("run", write_config(tiny_grid), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    losses = [r for r in records if "penalty" in r]
    assert [r["step"] for r in losses] == [2, 4]
    assert all(torch.isfinite(torch.tensor([r["penalty"], r["grad_norm"], r["wasserstein"]])).all() for r in losses)
    assert all(r["penalty"] > 0 for r in losses)


@pytest.mark.parametrize("algorithm", ["wgan", "wgan-gp"])
def test_a_step_makes_no_host_sync_and_no_cpu_tensor(make_run, tiny_digits_clip, algorithm):
    # On a GPU a step must not wait for the device (values to log stay tensors) nor make tensors on the CPU.
    tiny_digits_clip["algorithm"].update(name=algorithm, critic={"name": "dcgan-discriminator", "base_channels": 8, "norm": "layer"})
    run = make_run(tiny_digits_clip, ("algorithm.n_critic=2", "algorithm.lr_decay=linear", "algorithm.augment={policy: [translation, cutout]}"))
    alg = run.algorithm
    for step in (1, 2):
        batch = run.next_batch()
        with no_host_sync():
            logs = alg.train_step(batch, step)
        assert all(isinstance(v, torch.Tensor) and v.device == run.accelerator.device for v in logs.values())


def test_wgan_gp_penalty_is_gancores_gradient_penalty_with_the_configured_weight(make_run, tiny_grid):
    run = make_run(tiny_grid, ("algorithm.penalty_weight=0.5",))
    alg = run.algorithm
    assert isinstance(alg.penalty, GradientPenalty)
    assert (alg.penalty.weight, alg.penalty.target, alg.penalty.at) == (0.5, 1.0, "interpolates")
    assert "penalty" in alg.state_names
    torch.manual_seed(4)
    logs = alg.train_step(run.next_batch(), 1)
    assert logs["grad_norm"].item() == pytest.approx(alg.penalty.last_norms.mean().item())
    assert logs["loss_d"].item() == pytest.approx(-logs["wasserstein"].item() + 0.5 * logs["penalty"].item(), rel=1e-4, abs=1e-5)
