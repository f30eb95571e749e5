"""train.compile and train.channels_last: the same training, other kernels; checkpoints stay plain."""

from __future__ import annotations

import torch

from gancore.testing import checkpoint_tensors

from .conftest import TINY_DIGITS, TINY_RING


def _quick(base: dict, steps: int = 6) -> dict:
    return {**base, "train": {**base["train"], "steps": steps, "checkpoint_every": 0, "sample_every": 0}}


def test_compiled_training_matches_eager_and_checkpoints_plain_weights(gan, write_config, tmp_path):
    path = write_config(_quick(TINY_RING))
    assert gan("run", path, "--output", tmp_path / "eager").exit_code == 0
    out = gan("run", path, "--output", tmp_path / "compiled", "--set", "train.compile=true")
    assert out.exit_code == 0, out.output
    _, eager, state_eager = checkpoint_tensors(tmp_path / "eager")
    _, compiled, state_compiled = checkpoint_tensors(tmp_path / "compiled")
    # The same state names (no torch.compile "_orig_mod." prefixes), so either kind of run resumes the other.
    assert state_eager == state_compiled
    for key in eager:
        assert torch.allclose(eager[key], compiled[key], rtol=1e-4, atol=1e-5), f"{key} differs beyond rounding"

    out = gan("run", path, "--output", tmp_path / "compiled", "--resume", "--steps", 8, "--set", "train.compile=false")
    assert out.exit_code == 0, out.output
    assert checkpoint_tensors(tmp_path / "compiled")[0] == "step-000008"


def test_channels_last_networks_and_batches(make_trainer):
    cfg = _quick(TINY_DIGITS)
    trainer = make_trainer(cfg, ["train.channels_last=true"])
    networks = [trainer.algorithm.generator, trainer.algorithm.discriminator]
    conv = next(m for net in networks for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
                and m.weight.shape[1] > 1 and m.weight.shape[-1] > 1)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()
    batch = trainer._next_batch()
    assert batch["x"].dim() == 4 and batch["x"].is_contiguous(memory_format=torch.channels_last)
    # The optimizers still hold the networks' parameters (the format changes in place).
    optimized = {id(p) for opt in (trainer.algorithm.opt_g, trainer.algorithm.opt_d) for group in opt.param_groups for p in group["params"]}
    assert id(conv.weight) in optimized


def test_channels_last_trains_like_the_default_layout(gan, write_config, tmp_path):
    path = write_config(_quick(TINY_DIGITS))
    assert gan("run", path, "--output", tmp_path / "default").exit_code == 0
    out = gan("run", path, "--output", tmp_path / "cl", "--set", "train.channels_last=true")
    assert out.exit_code == 0, out.output
    _, a, _ = checkpoint_tensors(tmp_path / "default")
    _, b, _ = checkpoint_tensors(tmp_path / "cl")
    for key in a:
        assert torch.allclose(a[key], b[key], rtol=1e-4, atol=1e-5), f"{key} differs beyond rounding"


def test_a_failing_compile_is_a_clear_error(gan, write_config, tmp_path, monkeypatch):
    """No C++ compiler (or Triton): one paragraph naming the option, exit 2, no traceback."""
    import torch._inductor.config as inductor

    monkeypatch.setattr(inductor.cpp, "cxx", ("/no/such/compiler",))
    monkeypatch.setattr(inductor, "fx_graph_cache", False)  # a cached kernel would need no compiler
    torch._dynamo.reset()
    cfg = _quick(TINY_RING)
    cfg["algorithm"] = {**cfg["algorithm"], "generator": {**cfg["algorithm"]["generator"], "hidden_dim": 24}}  # not compiled before
    out = gan("run", write_config(cfg), "--output", tmp_path / "r", "--set", "train.compile=true")
    torch._dynamo.reset()
    assert out.exit_code == 2, out.output
    assert "train.compile: torch.compile failed in step 1" in out.output
    assert "--set train.compile=false" in out.output and "Traceback" not in out.output
