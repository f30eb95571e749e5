"""Two real CPU processes (torchrun, gloo): every rank scores the children on its own samples, and the
fitness averaged over processes makes them keep the same child, so their generators stay identical."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

HELPER = Path(__file__).resolve().parent / "two_processes.py"


def _run_two_ranks(config: Path, run_dir: Path, *flags: str) -> tuple[dict, dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(HELPER), str(config), str(run_dir), *flags]
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return load_file(str(run_dir / "generator-rank0.safetensors")), load_file(str(run_dir / "generator-rank1.safetensors"))


@pytest.mark.slow
def test_both_ranks_keep_the_same_child(write_config, tiny_ring, tmp_path):
    # Two samples per child make each rank's own fitness noisy: unaveraged, the ranks disagree.
    tiny_ring["algorithm"]["eval_size"] = 2
    tiny_ring["train"].update(steps=10, checkpoint_every=0, cpu=True)
    config = write_config(tiny_ring)
    rank0, rank1 = _run_two_ranks(config, tmp_path / "averaged")
    assert rank0.keys() == rank1.keys() and all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    assert (tmp_path / "averaged" / "mutations.png").is_file(), "the main process drew the plot"

    rank0, rank1 = _run_two_ranks(config, tmp_path / "own", "--no-reduce")
    assert not all(torch.equal(rank0[k], rank1[k]) for k in rank0), "each rank kept its own choice"
