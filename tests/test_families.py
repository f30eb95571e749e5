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
