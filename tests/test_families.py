"""What every family shares, run on each: the names of the algorithm contract, so that one hook works for all.

The early-stopping example of ``gan_train_step_end`` (the hookspec's own, taken from its docstring so that it
cannot drift) is run on every algorithm of every installed family, with its thresholds brought into a
few steps' reach: it reads ``logs["loss_d"]``, which every family logs, and stops the run.
"""

from __future__ import annotations

import inspect
import json
import re
import types

import pytest

from gancore import hookspecs
from gancore.plugins import get_host

from .test_hookspecs_documented import _example

# (plugin, algorithm, overrides that keep it to a few seconds)
TINY = ["train.batch_size=8", "train.sample_every=0", "train.checkpoint_every=0", "train.progress=false",
        "train.tensorboard=false", "train.log_every=1", "eval.metrics=[]"]
ALGORITHMS = [
    ("gan", "gan", []),
    ("wgan", "wgan", []),
    ("wgan", "wgan-gp", []),
    ("bgan", "bgan", []),
    ("bgan", "bgan-continuous", []),
    ("cyclegan", "cyclegan", []),
    ("progressive", "progressive", []),
    ("evolutionary", "egan", []),
    ("semisup", "sgan", []),
    ("semisup", "fm-gan", []),
    ("semisup", "supervised-only", []),
    ("semisup", "bigan", []),
    ("semisup", "bigbigan", []),
]


def early_stopping(after: int):
    """The hookspec's early-stopping example, as a plugin object, stopping from step ``after`` whatever the loss."""
    source = _example(inspect.getdoc(hookspecs.gan_train_step_end))
    assert 'float(logs["loss_d"])' in source, "the example reads loss_d"
    source = source.replace("step >= 1000", f"step >= {after}").replace("step % 100 == 0", "True").replace("< 1e-4", "< float('inf')")
    namespace = {"hookimpl": __import__("gancore").hookimpl}
    exec(compile(source, "gan_train_step_end example", "exec"), namespace)
    return types.SimpleNamespace(gan_train_step_end=namespace["gan_train_step_end"])


def test_every_installed_family_is_covered():
    host = get_host()
    registered = {(entry.plugin, name) for name, entry in host.registry.entries["algorithm"].items()}
    assert registered == {(plugin, algorithm) for plugin, algorithm, _ in ALGORITHMS}


@pytest.mark.parametrize("plugin,algorithm,overrides", ALGORITHMS, ids=[a for _, a, _ in ALGORITHMS])
def test_the_early_stopping_example_stops_every_family(plugin, algorithm, overrides, gan, inline_plugin, tmp_path):
    inline_plugin(early_stopping(after=2), "early-stopping")
    sets = [a for item in [*TINY, *overrides] for a in ("--set", item)]
    out = gan("run", "--plugin", plugin, "--set", f"algorithm.name={algorithm}", "--steps", 6, "--output", tmp_path / "r", *sets)
    assert out.exit_code == 0, out.output
    assert "hook raised" not in out.output, out.output
    assert "run interrupted at step 2" in out.output, out.output
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2] and all("loss_d" in r for r in records)
    assert (tmp_path / "r" / "checkpoints" / "step-000002").is_dir()
    assert re.search(r'"status": "interrupted"', (tmp_path / "r" / "run.json").read_text())


# ------------------------------------------------------------------ devices and host syncs, on the CPU

# E-GAN's selection is the one host decision a family makes per step (documented in its algorithm).
HOST_DECISIONS = {"egan": ("gan_evolutionary.algorithm.select",)}
SMALL = {  # networks small enough for a dry run in a second
    "cyclegan": ["algorithm.generator.residual_blocks=1", "algorithm.generator.channels=4", "algorithm.discriminator.channels=4"],
}


def _run(make_run, plugin, algorithm):
    from gancore.config import default_run_dict

    config = default_run_dict(get_host().registry, plugin, algorithm)
    return make_run(config, [*TINY, "train.steps=4", *SMALL.get(algorithm, [])])


@pytest.mark.parametrize("plugin,algorithm,overrides", ALGORITHMS, ids=[a for _, a, _ in ALGORITHMS])
def test_a_step_makes_its_tensors_on_the_run_device_and_reads_none_on_the_host(plugin, algorithm, overrides, make_run, monkeypatch):
    from gancore.testing import check_step_devices, no_host_sync

    run = _run(make_run, plugin, algorithm)
    with no_host_sync(allow=HOST_DECISIONS.get(algorithm, ())):
        for step in (1, 2):
            run.algorithm.train_step(run.next_batch(size=run.algorithm.batch_size(step)), step)
    run.step = 2
    if algorithm == "egan":  # its host decision cannot be taken on meta tensors, which have no values
        import gan_evolutionary.algorithm as egan

        monkeypatch.setattr(egan, "select", lambda fitness, count: list(range(count)))
    check_step_devices(run, steps=2)


class _Planted:
    """A tiny family whose step does one wrong thing, chosen by ``mistake``: a tensor made on the CPU, a value
    read on the host, or a generator of one device drawing on another."""

    @staticmethod
    def algorithm(mistake):
        import torch

        from gancore import GANAlgorithm

        class Planted(GANAlgorithm):
            def __init__(self, config, ctx):
                super().__init__(config, ctx)
                generator = torch.nn.Linear(2, 2)
                self.generator, self.opt = ctx.prepare(generator, torch.optim.Adam(generator.parameters()))
                self.register_state("generator", "opt")

            def train_step(self, batch, step):
                fake = self.generator(self.noise(len(batch["x"]), 2))
                loss = (fake - batch["x"]).pow(2).mean()
                if mistake == "cpu tensor":
                    loss = loss + (fake * torch.ones(len(fake), 1)).mean()  # no device=: made on the CPU
                elif mistake == "host read":
                    loss = loss * (2.0 if loss.item() > 1 else 1.0)
                self.ctx.update(self.opt, loss)
                return {"loss_d": loss.detach(), "loss_g": loss.detach()}

        return Planted


@pytest.mark.parametrize("mistake", ["cpu tensor", "host read", None])
def test_the_device_checks_fail_on_a_planted_cpu_tensor_and_a_host_read(mistake, inline_plugin, make_run):
    from gancore import Algorithm, StrictModel, hookimpl
    from gancore.testing import check_step_devices, no_host_sync

    class Plugin:
        @hookimpl
        def gan_register_algorithms(self, register):
            register(Algorithm("planted", _Planted.algorithm(mistake), StrictModel, "test", defaults={"data": {"name": "ring", "num_samples": 64}}))

    inline_plugin(Plugin(), "planted")
    run = make_run({"plugin": "planted", "algorithm": {"name": "planted"}, "train": {"batch_size": 8}})
    if mistake is None:  # the same family without the mistake passes both
        with no_host_sync():
            run.algorithm.train_step(run.next_batch(), 1)
        check_step_devices(run)
        return
    expected = {"cpu tensor": r"torch\.ones at .*test_families\.py", "host read": r"Tensor\.item at .*test_families\.py"}[mistake]
    with pytest.raises(AssertionError, match=expected):
        with no_host_sync():
            run.algorithm.train_step(run.next_batch(), 1)
    on_meta = {"cpu tensor": "Tensor on device cpu is not on the expected device meta", "host read": "cannot be called on meta tensors"}[mistake]
    with pytest.raises(AssertionError, match=rf"step \d of Planted on the meta device: .*{on_meta}.*test_families\.py"):
        check_step_devices(run)
