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
