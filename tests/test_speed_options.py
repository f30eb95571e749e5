"""train.compile and train.channels_last: the same training, other kernels; checkpoints stay plain."""

from __future__ import annotations

import torch

from gancore.testing import checkpoint_tensors

from .conftest import TINY_DIGITS, TINY_RING, run_gan_subprocess


def _quick(base: dict, steps: int = 6) -> dict:
    return {**base, "train": {**base["train"], "steps": steps, "checkpoint_every": 0, "sample_every": 0}}


def _train_alike(gan, path, tmp_path, option: str, name: str) -> tuple[dict, dict]:
    """Run ``path`` as it is and with ``--set option`` (into ``tmp_path / name``); assert the two end with the
    same tensors up to rounding. Returns the JSON states of both."""
    assert gan("run", path, "--output", tmp_path / "default").exit_code == 0
    out = gan("run", path, "--output", tmp_path / name, "--set", option)
    assert out.exit_code == 0, out.output
    _, a, state_a = checkpoint_tensors(tmp_path / "default")
    _, b, state_b = checkpoint_tensors(tmp_path / name)
    for key in a:
        assert torch.allclose(a[key], b[key], rtol=1e-4, atol=1e-5), f"{key} differs beyond rounding"
    return state_a, state_b


def test_compiled_training_matches_eager_and_checkpoints_plain_weights(gan, write_config, tmp_path):
    path = write_config(_quick(TINY_RING))
    state_eager, state_compiled = _train_alike(gan, path, tmp_path, "train.compile=true", "compiled")
    # The same state names (no torch.compile "_orig_mod." prefixes), so either kind of run resumes the other.
    assert state_eager == state_compiled

    out = gan("run", path, "--output", tmp_path / "compiled", "--resume", "--steps", 8, "--set", "train.compile=false")
    assert out.exit_code == 0, out.output
    assert checkpoint_tensors(tmp_path / "compiled")[0] == "step-000008"


def test_channels_last_networks_and_batches(make_run):
    cfg = _quick(TINY_DIGITS)
    run = make_run(cfg, ["train.channels_last=true"])
    networks = [run.algorithm.generator, run.algorithm.discriminator]
    conv = next(m for net in networks for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
                and m.weight.shape[1] > 1 and m.weight.shape[-1] > 1)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()
    batch = run.next_batch()
    assert batch["x"].dim() == 4 and batch["x"].is_contiguous(memory_format=torch.channels_last)
    # The optimizers still hold the networks' parameters (the format changes in place).
    optimized = {id(p) for opt in (run.algorithm.opt_g, run.algorithm.opt_d) for group in opt.param_groups for p in group["params"]}
    assert id(conv.weight) in optimized


def test_channels_last_trains_like_the_default_layout(gan, write_config, tmp_path):
    _train_alike(gan, write_config(_quick(TINY_DIGITS)), tmp_path, "train.channels_last=true", "cl")


def test_a_failing_compile_is_a_clear_error(write_config, tmp_path):
    """No C++ compiler (or Triton): one paragraph naming the option, exit 2, no traceback.
    A fresh process with an empty kernel cache, so that no compiled kernel can stand in for the compiler."""
    out = run_gan_subprocess(
        "run", write_config(_quick(TINY_RING)), "--output", tmp_path / "r", "--set", "train.compile=true",
        env={"CXX": "/no/such/compiler", "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "kernels")},
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert "train.compile: torch.compile failed in step 1" in out.stderr
    assert "--set train.compile=false" in out.stderr and "Traceback" not in out.stderr


def test_deterministic_algorithms_on_request_and_an_exact_resume(gan, write_config, tmp_path, inline_plugin, monkeypatch):
    from gancore import hookimpl
    from gancore.testing import check_resume

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    seen = []

    class Watch:
        @hookimpl
        def gan_train_start(self, run):
            seen.append((torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark))

    inline_plugin(Watch(), "watch")
    cfg = {**TINY_DIGITS, "train": {**TINY_DIGITS["train"], "deterministic": True}}
    check_resume(gan, write_config(cfg), tmp_path, stop_at=6)
    assert seen and all(s == (True, True, False) for s in seen), seen
    import os

    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8", "cuBLAS reads it when it starts, so it is set before any CUDA work"
    seen.clear()
    assert gan("run", write_config(TINY_DIGITS), "--output", tmp_path / "plain").exit_code == 0
    assert seen == [(False, False, False)], "without the option, torch's defaults"


def test_mixed_precision_no_from_the_command_line(gan, tmp_path):
    # YAML reads a bare `no` as false; the option takes it as "no".
    out = gan("run", "--plugin", "gan", "--set", "train.mixed_precision=no", "--steps", 2, "--set", "data={name: ring, num_samples: 64}",
              "--set", "algorithm.generator={name: mlp-generator, hidden_dim: 8}", "--set", "algorithm.discriminator={name: mlp-discriminator, hidden_dim: 8}",
              "--set", "train.progress=false", "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    assert "mixed_precision: 'no'" in (tmp_path / "r" / "config.yaml").read_text()


def test_fused_optimizers_train_like_the_default_ones(make_run):
    plain, fused = make_run(TINY_DIGITS), make_run(TINY_DIGITS, ["train.fused_optimizers=true"])
    for opt in (fused.algorithm.opt_g, fused.algorithm.opt_d):
        assert all(group["fused"] for group in opt.param_groups), "every group of every prepared Adam is fused"
    assert not any(group.get("fused") for group in plain.algorithm.opt_d.param_groups)
    for run in (plain, fused):
        torch.manual_seed(0)  # the same noise for both
        for step in (1, 2, 3):
            run.algorithm.train_step(run.next_batch(), step)
    assert fused.algorithm.opt_d.state_dict()["state"][0]["step"].device == fused.accelerator.device, "fused keeps its step on the device"
    for a, b in zip(plain.algorithm.generator.parameters(), fused.algorithm.generator.parameters()):
        assert torch.allclose(a, b, atol=1e-5), "the fused update computes the same Adam"
