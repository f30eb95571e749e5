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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_on_one_machine_end_like_one_node_with_two_processes(write_config, tmp_path):
    """The multi-machine path the README documents, with both machines on 127.0.0.1: torchrun --nnodes 2, one
    process each, gloo on the CPU. It must end with exactly the weights of one node running two processes."""
    import os
    import subprocess
    import sys

    cfg = write_config({**TINY_RING, "train": {**TINY_RING["train"], "steps": 8, "log_every": 4, "checkpoint_every": 0, "sample_every": 0}})
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("GANCORE_LOAD_PLUGINS", None)
    one_node = run_gan_subprocess("run", cfg, "--output", tmp_path / "one", "--num-processes", 2)
    assert one_node.returncode == 0, one_node.stderr[-3000:]

    port = _free_port()
    nodes = [
        subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node_rank", str(rank), "--nproc_per_node", "1",
                          "--master_addr", "127.0.0.1", "--master_port", str(port), "-m", "gancore.cli", "run", str(cfg),
                          "--output", str(tmp_path / "two")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=300) for node in nodes]
    for node, (out, err) in zip(nodes, outputs):
        assert node.returncode == 0, err[-3000:]
    assert outputs[0][0].count("run completed at step 8") == 1 and "run completed" not in outputs[1][0], "node 0's rank 0 reports"

    one = load_file(str(tmp_path / "one" / "checkpoints" / "step-000008" / "tensors.safetensors"))
    two = load_file(str(tmp_path / "two" / "checkpoints" / "step-000008" / "tensors.safetensors"))
    assert one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one), "two nodes train exactly as one"
    meta = json.loads((tmp_path / "two" / "checkpoints" / "step-000008" / "state.json").read_text())["meta"]
    assert meta["num_processes"] == 2


def test_more_processes_than_gpus_is_refused(gan, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    out = gan("run", "--plugin", "gan", "--num-processes", 4, "--output", tmp_path / "r")
    assert out.exit_code == 2
    assert "--num-processes 4, but this machine has 2 GPUs" in out.output and "one process per GPU" in out.output
    assert not (tmp_path / "r").exists(), "refused before anything is written"
