"""On a CUDA GPU: every family's step makes no host sync and no copy from the host, in-memory data live on
the GPU, and with ``train.deterministic`` a stopped and resumed run ends bit for bit like an uninterrupted one.

All are marked ``gpu``: skipped, with the reason, where there is no GPU (the CPU checks of the same things are
``tests/test_families.py``'s meta-device dry run and host-read watcher).
"""

from __future__ import annotations

import pytest
import torch

from gancore import hookimpl
from gancore.testing import check_resume

from .conftest import TINY_DIGITS
from .test_families import ALGORITHMS, SMALL, TINY

pytestmark = pytest.mark.gpu

# E-GAN's selection reads the children's fitness on the host: its one documented sync per step.
WITH_HOST_DECISION = {"egan"}


class StrictSteps:
    """Between two log records (steps ``first`` to ``last``), any synchronising CUDA call raises
    (``torch.cuda.set_sync_debug_mode("error")``), and the CUDA copies from the host are counted."""

    def __init__(self, first: int, last: int) -> None:
        self.first, self.last, self.copies = first, last, None
        self.profiler = None

    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        if step == self.first - 1:
            torch.cuda.synchronize()
            self.profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA])
            self.profiler.__enter__()
            torch.cuda.set_sync_debug_mode("error")
        elif step == self.last:
            torch.cuda.set_sync_debug_mode(0)
            torch.cuda.synchronize()
            self.profiler.__exit__(None, None, None)
            self.copies = [e.name for e in self.profiler.events() if "HtoD" in e.name]


@pytest.mark.parametrize("plugin,algorithm,overrides", ALGORITHMS, ids=[a for _, a, _ in ALGORITHMS])
def test_a_step_on_the_gpu_waits_for_nothing_and_copies_nothing_from_the_host(plugin, algorithm, overrides, gan, inline_plugin, tmp_path):
    if algorithm in WITH_HOST_DECISION:
        pytest.skip(f"{algorithm} takes a host decision in every step (its selection), documented in its algorithm")
    strict = inline_plugin(StrictSteps(first=3, last=9), "strict-steps")
    sets = [a for item in [*TINY, "train.log_every=10", "train.batch_size=32", *SMALL.get(algorithm, []), *overrides]
            for a in ("--set", item)]
    out = gan("run", "--plugin", plugin, "--set", f"algorithm.name={algorithm}", "--steps", 12, "--output", tmp_path / "r", *sets)
    torch.cuda.set_sync_debug_mode(0)
    assert out.exit_code == 0, out.output
    assert strict.copies == [], f"copies from the host in steps 3-9: {strict.copies}"


def test_in_memory_data_and_their_order_live_on_the_gpu(make_run):
    run = make_run(TINY_DIGITS)
    assert run.accelerator.device.type == "cuda"
    assert all(t.device.type == "cuda" for t in run.data.tensors.values())
    batch = run.next_batch()
    assert batch["x"].device.type == "cuda" and batch["y"].device.type == "cuda"
    assert all(p.device.type == "cuda" for order in run.batches.orders.values() for p in order._perms.values())


@pytest.mark.parametrize("plugin,algorithm", [("gan", "gan"), ("wgan", "wgan-gp"), ("cyclegan", "cyclegan")])
def test_deterministic_runs_resume_bit_for_bit_on_the_gpu(plugin, algorithm, gan, write_config, tmp_path):
    from gancore.config import default_run_dict
    from gancore.plugins import get_host

    config = default_run_dict(get_host().registry, plugin, algorithm)
    config["train"] = {**config.get("train", {}), "steps": 8, "batch_size": 16, "checkpoint_every": 4, "sample_every": 0,
                       "progress": False, "tensorboard": False, "deterministic": True}
    config["eval"] = {"metrics": []}
    check_resume(gan, write_config(config), tmp_path, stop_at=4, sets=SMALL.get(algorithm, []))
