"""Two real CPU processes (torchrun, gloo): identical weights, one writer, metrics equal to one process."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from .conftest import TINY_RING, run_gan_subprocess


def test_two_processes_train_in_step_and_only_rank_0_writes(testplugin_path, write_config, tmp_path):
    cfg = {**TINY_RING, "train": {**TINY_RING["train"], "steps": 12, "log_every": 4, "checkpoint_every": 6, "sample_every": 6},
           "eval": {"metrics": [{"name": "test-moments", "num_samples": 600}]}}
    run_dir = tmp_path / "r"
    env = {"PYTHONPATH": testplugin_path, "GAN_TESTPLUGIN_DUMP": "1"}
    out = run_gan_subprocess("run", write_config(cfg), "--output", run_dir, "--num-processes", 2, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("run completed at step") == 1, "only the main process reports"

    rank0 = load_file(str(run_dir / "generator-rank0.safetensors"))
    rank1 = load_file(str(run_dir / "generator-rank1.safetensors"))
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0), "both ranks hold the same generator after K steps"
    initial_like = load_file(str(run_dir / "checkpoints" / "step-000006" / "tensors.safetensors"))
    assert initial_like, "checkpoints were written"

    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss_d" in r] == [4, 6, 8, 12], "one process logs: every 4 steps and before each checkpoint"
    assert [r["test-moments/processes"] for r in records if "test-moments/mean" in r] == [2.0]
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step-000006", "step-000012"]
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["step-000006.png", "step-000012.png"]
    meta = json.loads((run_dir / "checkpoints" / "step-000012" / "state.json").read_text())["meta"]
    assert meta["num_processes"] == 2

    # The metric over 2 processes equals the single-process value on the same samples.
    single = run_gan_subprocess("eval", run_dir, "--metric", "test-moments", "-n", 1300, "--json", env=env)
    double = run_gan_subprocess("eval", run_dir, "--metric", "test-moments", "-n", 1300, "--json", "--num-processes", 2, env=env)
    assert single.returncode == 0, single.stderr[-3000:]
    assert double.returncode == 0, double.stderr[:4000]  # the first failing rank's own error comes first
    one, two = json.loads(single.stdout)["metrics"], json.loads(double.stdout)["metrics"]
    assert one.pop("test-moments/processes") == 1 and two.pop("test-moments/processes") == 2
    assert one["test-moments/mean"] != 0 and one == two
