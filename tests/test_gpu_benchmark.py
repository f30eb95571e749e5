"""benchmarks/gpu.py on a machine without a GPU: its plain loops train, leave the run alone, and a CUDA
request is refused. (The timings themselves need a GPU: `python benchmarks/gpu.py` there.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


@pytest.fixture(scope="module")
def gpu_bench():
    sys.path.insert(0, str(BENCH))
    try:
        import gpu
        import gpu_plain

        yield gpu, gpu_plain
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize("row", ["dcgan-fast", "wgan-gp", "biggan", "cyclegan"])
def test_each_rows_plain_loop_trains_its_own_networks_and_leaves_the_runs_rng(gpu_bench, row, tmp_path):
    gpu, gpu_plain = gpu_bench
    from gancore.config import build_run_config, load_yaml
    from gancore.plugins import get_host
    from gancore.run import Run

    host = get_host()
    config_file, sets, _ = gpu.ROWS[row]
    overrides = [*gpu.COMMON_SETS, *sets, "train.cpu=true", "train.batch_size=4", "train.steps=2"]
    config = build_run_config(host.registry, None, load_yaml(ROOT / config_file), overrides)
    run = Run.from_config(config, host, tmp_path / "run", training=True)
    loop = gpu_plain.plain_loop(run, gpu_plain.Options())
    nets = [m for m in vars(loop).values() if isinstance(m, nn.Module)]
    assert nets, f"{row}: the plain loop holds no network"
    before = [[p.detach().clone() for p in net.parameters()] for net in nets]
    run_nets = [m for m in vars(run.algorithm).values() if isinstance(m, nn.Module)]
    run_params = [p.detach().clone() for net in run_nets for p in net.parameters()]
    assert run_params and not any(net is mine for net in run_nets for mine in nets)
    rng = torch.get_rng_state()
    for _ in range(2):
        loop.step()
    assert torch.equal(rng, torch.get_rng_state()), f"{row}: the plain loop drew from the run's RNG"
    for net, old in zip(nets, before):
        new = list(net.parameters())
        assert all(torch.isfinite(p).all() for p in new), f"{row}: non-finite weights"
    changed = [any(not torch.equal(p, q) for p, q in zip(net.parameters(), old)) for net, old in zip(nets, before)]
    assert any(changed), f"{row}: two plain steps changed no weight"
    now = [p for net in run_nets for p in net.parameters()]
    assert all(torch.equal(p, q) for p, q in zip(now, run_params)), f"{row}: the plain loop trained the run's networks"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_cuda_request_without_a_gpu_is_refused_in_one_line():
    proc = subprocess.run([sys.executable, str(BENCH / "gpu.py"), "--device", "cuda", "--rows", "dcgan-fast"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "sees no CUDA device" in proc.stderr and "Traceback" not in proc.stderr
