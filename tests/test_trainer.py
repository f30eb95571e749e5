"""The training loop: resume equality, signals, the NaN guard, samples, EMA, overwrite protection."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from gancore import Algorithm, GANAlgorithm, hookimpl
from gancore import checkpoint as ckpt
from gancore.testing import check_resume, checkpoint_tensors

from .conftest import TINY_DIGITS, TINY_RING, run_gan_subprocess


@pytest.mark.parametrize("base", [TINY_RING, TINY_DIGITS], ids=["mlp-ring", "dcgan-digits"])
def test_resume_at_half_equals_uninterrupted_run(base, gan, write_config, tmp_path):
    cfg = {**base, "train": {**base["train"], "steps": 12, "checkpoint_every": 6, "ema_decay": 0.9},
           "algorithm": {**base["algorithm"], "d_steps": 2}}
    final = check_resume(gan, write_config(cfg), tmp_path, stop_at=6)
    assert len(final) > 10


def test_a_run_stopped_by_steps_resumes_to_the_same_end(gan, write_config, tmp_path):
    """`--steps 6` then `--resume` (the full 12): no schedule depends on the planned steps here."""
    cfg = {**TINY_RING, "train": {**TINY_RING["train"], "steps": 12, "checkpoint_every": 6}}
    path = write_config(cfg)
    assert gan("run", path, "--output", tmp_path / "full").exit_code == 0
    assert gan("run", path, "--output", tmp_path / "half", "--steps", 6).exit_code == 0
    out = gan("run", path, "--output", tmp_path / "half", "--resume")
    assert out.exit_code == 0, out.output
    name_a, full, state_a = checkpoint_tensors(tmp_path / "full")
    name_b, resumed, state_b = checkpoint_tensors(tmp_path / "half")
    assert name_a == name_b == "step-000012"
    assert all(torch.equal(full[k], resumed[k]) for k in full) and state_a == state_b


def test_a_checkpoint_from_before_an_option_existed_resumes_and_a_changed_option_is_refused(gan, write_config, tmp_path):
    """A checkpoint written before an option was added (here least-squares' ``output``, dropped from its saved
    config) resumes with the same config: the option is at its default, the old behaviour. Set otherwise, or with
    any other option changed, the algorithm differs and resuming is refused."""
    cfg = {**TINY_RING, "algorithm": {**TINY_RING["algorithm"], "loss": {"name": "least-squares"}},
           "train": {**TINY_RING["train"], "steps": 12, "checkpoint_every": 6}}
    path = write_config(cfg)
    run = tmp_path / "r"
    assert gan("run", path, "--output", run, "--steps", 6).exit_code == 0
    state = run / "checkpoints" / "step-000006" / "state.json"
    body = json.loads(state.read_text())
    assert body["meta"]["config"]["algorithm"]["loss"].pop("output") == "logit"
    body["meta"]["config"]["train"]["an_option_removed_since"] = 1  # not compared: must not spoil the rest
    state.write_text(json.dumps(body))
    ckpt.seal(state.parent)  # as the older gancore wrote it: its checksums match its config
    for changed in ("algorithm.loss.output=probability", "algorithm.lr_generator=0.01"):
        out = gan("run", path, "--output", run, "--resume", "--set", changed)
        assert out.exit_code == 2 and "the 'algorithm' section differs" in out.output, (changed, out.output)
    out = gan("run", path, "--output", run, "--resume")
    assert out.exit_code == 0, out.output
    assert (run / "checkpoints" / "step-000012").is_dir()


def test_checkpoint_is_safetensors_plus_json_with_config(gan, write_config, tmp_path):
    assert gan("run", write_config(TINY_RING), "--output", tmp_path / "r").exit_code == 0
    folder = tmp_path / "r" / "checkpoints" / "step-000020"
    assert sorted(p.name for p in folder.iterdir()) == ["state.json", "tensors.safetensors"]
    meta = json.loads((folder / "state.json").read_text())["meta"]
    assert meta["step"] == 20 and meta["config"]["algorithm"]["generator"]["hidden_dim"] == 32
    assert meta["config"]["algorithm"]["generator"]["activation"] == "relu", "the resolved config, defaults included"
    assert not list((tmp_path / "r" / "checkpoints").glob(".*")), "no temporary folders left behind"


def test_keep_last_k_checkpoints(gan, write_config, tmp_path):
    cfg = {**TINY_RING, "train": {**TINY_RING["train"], "steps": 25, "checkpoint_every": 5, "keep_checkpoints": 2}}
    assert gan("run", write_config(cfg), "--output", tmp_path / "r").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "r" / "checkpoints").iterdir()) == ["step-000020", "step-000025"]


def test_resume_skips_a_corrupt_newest_checkpoint(gan, write_config, tmp_path):
    path = write_config(TINY_RING)
    assert gan("run", path, "--output", tmp_path / "r").exit_code == 0
    (tmp_path / "r" / "checkpoints" / "step-000020" / "tensors.safetensors").write_bytes(b"garbage")
    out = gan("run", path, "--output", tmp_path / "r", "--resume", "--steps", 22)
    assert out.exit_code == 0, out.output
    assert "skipped a damaged checkpoint" in out.output
    assert (tmp_path / "r" / "checkpoints" / "step-000022").is_dir()


def test_resume_with_only_corrupt_checkpoints_is_a_clear_error(gan, write_config, tmp_path):
    cfg = {**TINY_RING, "train": {**TINY_RING["train"], "keep_checkpoints": 1}}
    path = write_config(cfg)
    assert gan("run", path, "--output", tmp_path / "r").exit_code == 0
    (tmp_path / "r" / "checkpoints" / "step-000020" / "state.json").write_text("{not json")
    out = gan("run", path, "--output", tmp_path / "r", "--resume")
    assert out.exit_code == 2
    assert "found no valid checkpoint" in out.output and "damaged" in out.output and "Traceback" not in out.output


def test_resume_without_checkpoint_is_an_error(gan, write_config, tmp_path):
    out = gan("run", write_config(TINY_RING), "--output", tmp_path / "nothing", "--resume")
    assert out.exit_code == 2
    assert "has no checkpoints to resume from" in out.output


def test_existing_run_is_not_overwritten(gan, write_config, tmp_path):
    path = write_config(TINY_RING)
    assert gan("run", path, "--output", tmp_path / "r").exit_code == 0
    before = (tmp_path / "r" / "metrics.jsonl").read_text()
    out = gan("run", path, "--output", tmp_path / "r")
    assert out.exit_code == 2 and "already holds a run" in out.output and "--overwrite" in out.output
    assert (tmp_path / "r" / "metrics.jsonl").read_text() == before
    assert gan("run", path, "--output", tmp_path / "r", "--overwrite", "--steps", 5).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "r" / "checkpoints").iterdir()) == ["step-000005"]


def test_sigterm_writes_a_checkpoint_then_exits(write_config, tmp_path):
    cfg = {**TINY_RING, "train": {**TINY_RING["train"], "steps": 1_000_000, "checkpoint_every": 0, "log_every": 1}}
    run_dir = tmp_path / "r"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gancore.cli", "run", str(write_config(cfg)), "--output", str(run_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.time() + 120
    while not (run_dir / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err and "--resume" in err
    folders = list((run_dir / "checkpoints").iterdir())
    assert len(folders) == 1
    step = int(folders[0].name[5:])
    assert step > 0
    logged = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert max(logged) == step


class _Exploding(GANAlgorithm):
    """Fine for a few steps, then its loss is NaN."""

    def __init__(self, config, ctx):
        super().__init__(config, ctx)
        self.generator = torch.nn.Linear(2, 2)

    def train_step(self, batch, step):
        return {"loss": torch.tensor(float("nan") if step >= 8 else 1.0)}

    @torch.no_grad()
    def sample(self, n, *, seed=None):
        return self.generator(self.noise(n, 2, seed))


class _ExplodingPlugin:
    @hookimpl
    def gan_register_algorithms(self, register):
        register(Algorithm("exploding", _Exploding, defaults={"data": {"name": "ring"}, "train": {"progress": False, "tensorboard": False}}))


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(inline_plugin, gan, tmp_path):
    inline_plugin(_ExplodingPlugin(), "exploding")
    out = gan("run", "--plugin", "exploding", "--output", tmp_path / "r", "--set", "train.checkpoint_every=5",
              "--set", "train.log_every=2", "--steps", 100)
    assert out.exit_code == 2
    assert "loss became NaN or Inf by step 8" in out.output and "step-000005" in out.output
    assert "Traceback" not in out.output
    assert sorted(p.name for p in (tmp_path / "r" / "checkpoints").iterdir()) == ["step-000005"]


def test_sample_grid_is_written_from_fixed_noise(gan, write_config, tmp_path):
    assert gan("run", write_config(TINY_DIGITS), "--output", tmp_path / "r").exit_code == 0
    grids = sorted((tmp_path / "r" / "samples").glob("step-*.png"))
    assert [g.name for g in grids] == ["step-000006.png", "step-000012.png"]
    image = Image.open(grids[-1])
    assert image.size == (8 * 33 + 1, 8 * 33 + 1), "an 8x8 grid of 8x8 digits shown 4x, with 1px padding"
    # fixed noise: the same checkpoint gives the same picture
    out_a, out_b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert gan("sample", tmp_path / "r", "-n", 10, "-o", out_a).exit_code == 0
    assert gan("sample", tmp_path / "r", "-n", 10, "-o", out_b).exit_code == 0
    a, b = np.load(out_a), np.load(out_b)
    assert a.shape == (10, 1, 8, 8) and np.array_equal(a, b)
    assert a.min() >= -1 and a.max() <= 1


def test_points_get_a_scatter_plot(gan, write_config, tmp_path):
    cfg = {**TINY_RING, "train": {**TINY_RING["train"], "sample_every": 10}}
    assert gan("run", write_config(cfg), "--output", tmp_path / "r").exit_code == 0
    plot = Image.open(tmp_path / "r" / "samples" / "step-000010.png")
    assert plot.size == (500, 500)


def test_gan_sample_formats_and_checkpoint_choice(gan, write_config, tmp_path):
    assert gan("run", write_config(TINY_RING), "--output", tmp_path / "r").exit_code == 0
    assert gan("sample", tmp_path / "r", "-n", 7, "-o", tmp_path / "s.pt").exit_code == 0
    assert torch.load(tmp_path / "s.pt", weights_only=True).shape == (7, 2)
    assert gan("sample", tmp_path / "r", "-n", 300, "-o", tmp_path / "s.png").exit_code == 0
    assert (tmp_path / "s.png").stat().st_size > 1000
    early = tmp_path / "r" / "checkpoints" / "step-000010"
    out = gan("sample", tmp_path / "r", "-n", 7, "-o", tmp_path / "e.npy", "--checkpoint", early)
    assert out.exit_code == 0
    assert not np.array_equal(np.load(tmp_path / "e.npy"), torch.load(tmp_path / "s.pt").numpy())
    bad = gan("sample", tmp_path / "r", "-n", 7, "-o", tmp_path / "s.txt")
    assert bad.exit_code == 2 and ".png, .npy, .pt" in bad.output


def test_ema_generator_is_used_for_sampling(gan, write_config, tmp_path):
    cfg = {**TINY_RING, "train": {**TINY_RING["train"], "ema_decay": 0.5}}
    assert gan("run", write_config(cfg), "--output", tmp_path / "r").exit_code == 0
    _, tensors, state = checkpoint_tensors(tmp_path / "r")
    assert "ema" in json.dumps(state)
    from gancore import Run

    run = Run.from_checkpoint(tmp_path / "r")
    live = run.algorithm.sample(5, seed=1)
    with run.sampling():
        averaged = run.algorithm.sample(5, seed=1)
    assert not torch.equal(live, averaged), "sampling swaps in the EMA weights"
    assert torch.equal(run.algorithm.sample(5, seed=1), live), "and swaps the live weights back"


def test_tensorboard_and_jsonl_logs(gan, write_config, tmp_path):
    cfg = {**TINY_RING, "train": {**TINY_RING["train"], "tensorboard": True}}
    assert gan("run", write_config(cfg), "--output", tmp_path / "r").exit_code == 0
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    assert all(np.isfinite(r["loss_d"]) and r["steps_per_second"] > 0 for r in records)
    assert list((tmp_path / "r" / "tensorboard").rglob("events.out.tfevents.*"))


def test_default_job_runs_without_a_config_file(tmp_path):
    out = run_gan_subprocess("run", "--plugin", "gan", "--steps", 4, "--set", "train.progress=false", "--output", tmp_path / "r")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "r" / "samples" / "step-000004.png").is_file()
    assert (tmp_path / "r" / "checkpoints" / "step-000004").is_dir()
