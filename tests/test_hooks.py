"""Every hook is documented, and each has a test named test_hook_<name>."""

from __future__ import annotations

import inspect
import re

import pytest
import torch

from gancore import (
    Algorithm,
    Dataset,
    DatasetRef,
    FeatureNetwork,
    GANAlgorithm,
    ImageTransform,
    Loss,
    Metric,
    Model,
    StrictModel,
    TensorData,
    Transform,
    hookimpl,
    hookspecs,
)
from gancore.plugins import get_host

from .conftest import TINY_RING

HOOKS = [name for name, fn in vars(hookspecs).items() if name.startswith("gan_") and callable(fn)]


def test_every_hook_is_documented_with_params_return_and_example():
    assert len(HOOKS) == 12
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        params = inspect.signature(getattr(hookspecs, name)).parameters
        for param in params:
            assert f":param {param}:" in doc, f"{name} does not document {param}"
        assert ":return:" in doc and "Example::" in doc and "@hookimpl" in doc, name


def test_every_hook_has_a_test():
    tests = set(globals())
    missing = [name for name in HOOKS if f"test_hook_{name}" not in tests]
    assert not missing, f"hooks without a test: {missing}"


def test_misspelled_hook_is_rejected_as_broken_plugin(inline_plugin):
    class Typo:
        @hookimpl
        def gan_register_modles(self, register):  # noqa: D102
            pass

    inline_plugin(Typo(), "typo")
    host = get_host()
    assert "typo" in host.broken and "gan_register_modles" in host.broken["typo"].error


class _Opts(StrictModel):
    width: int = 3


def test_hook_gan_register_models(inline_plugin):
    class P:
        @hookimpl
        def gan_register_models(self, register):
            register(Model("test-linear", lambda cfg, data_shape, **_: torch.nn.Linear(data_shape[0], cfg.width), _Opts))

    inline_plugin(P(), "p")
    registry = get_host().registry
    assert registry.get("model", "test-linear").plugin == "p"
    from gancore.registry import ModelRef

    net = registry.build(ModelRef(name="test-linear", width=5), data_shape=(2,))
    assert net(torch.zeros(1, 2)).shape == (1, 5)


def test_hook_gan_register_losses(inline_plugin):
    class Zero:
        def __init__(self, cfg):
            pass

        def discriminator_loss(self, real, fake):
            return (real * 0).mean()

        def generator_loss(self, fake):
            return (fake * 0).mean()

    class P:
        @hookimpl
        def gan_register_losses(self, register):
            register(Loss("test-zero", Zero))

    inline_plugin(P(), "p")
    assert get_host().registry.get("loss", "test-zero").plugin == "p"


def test_hook_gan_register_datasets(inline_plugin, gan, tmp_path):
    class P:
        @hookimpl
        def gan_register_datasets(self, register):
            register(Dataset("test-blob", lambda cfg, ctx: TensorData({"x": torch.randn(256, 2) * 0.1}, "points")))

    inline_plugin(P(), "p")
    out = gan("run", "--plugin", "gan", "--set", "data={name: test-blob}", "--set", "algorithm.generator={name: mlp-generator}",
              "--set", "algorithm.discriminator={name: mlp-discriminator}", "--steps", 3, "--set", "train.batch_size=16",
              "--set", "train.progress=false", "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r" / "checkpoints" / "step-000003").is_dir()


def test_hook_gan_register_metrics(inline_plugin, gan, tmp_path, write_config):
    class MeanNorm:
        def __init__(self, cfg, ctx):
            pass

        def __call__(self, ctx):
            return {"norm": ctx.generate(100).norm(dim=1).mean().item()}

    class P:
        @hookimpl
        def gan_register_metrics(self, register):
            register(Metric("test-norm", MeanNorm))

    inline_plugin(P(), "p")
    cfg = {**TINY_RING, "eval": {"metrics": [{"name": "test-norm"}]}}
    out = gan("run", write_config(cfg), "--output", tmp_path / "r", "--steps", 5)
    assert out.exit_code == 0, out.output
    assert '"test-norm/norm"' in (tmp_path / "r" / "metrics.jsonl").read_text()


class _Constant(GANAlgorithm):
    """A 'family' whose generator is one learnable point: enough to exercise the contract."""

    def __init__(self, config, ctx):
        super().__init__(config, ctx)
        generator = torch.nn.Linear(1, ctx.data.sample_shape[0])
        self.generator, self.opt = ctx.prepare(generator, torch.optim.SGD(generator.parameters(), lr=0.1))
        self.register_state("generator", "opt")

    def train_step(self, batch, step):
        loss = (self.generator(torch.ones(1, 1, device=self.ctx.device)) - batch["x"].mean(0)).pow(2).sum()
        self.ctx.update(self.opt, loss)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def sample(self, n, *, seed=None):
        return self.generator(torch.ones(n, 1, device=self.ctx.device))


class _Brightness:
    """A feature network of one feature: the mean pixel (samples in data space)."""

    name, num_features = "test-brightness", 1

    def features(self, x):
        return x.flatten(1).mean(1, keepdim=True)

    def logits(self, x):
        raise NotImplementedError


def test_hook_gan_register_features(inline_plugin, gan, tmp_path, write_config):
    class P:
        @hookimpl
        def gan_register_features(self, register):
            register(FeatureNetwork("test-brightness", lambda options: _Brightness(), description="test: the mean pixel"))

    inline_plugin(P(), "p")
    out = gan("list", "features")
    assert out.exit_code == 0 and re.search(r"^test-brightness +\[p\]  test: the mean pixel$", out.output, re.M)
    cfg = {"plugin": "gan", "data": {"name": "digits"}, "train": {"steps": 2, "batch_size": 8, "progress": False, "tensorboard": False},
           "algorithm": {"name": "gan", "generator": {"name": "dcgan-generator", "base_channels": 4},
                         "discriminator": {"name": "dcgan-discriminator", "base_channels": 4}},
           "eval": {"metrics": [{"name": "fid", "features": "test-brightness", "num_samples": 50}]}}
    out = gan("run", write_config(cfg), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    assert '"fid/fid"' in (tmp_path / "r" / "metrics.jsonl").read_text()
    out = gan("run", write_config({**cfg, "eval": {"metrics": [{"name": "fid", "features": "nonesuch"}]}}), "--output", tmp_path / "s")
    assert out.exit_code == 2 and "unknown feature network 'nonesuch'" in out.output and "test-brightness" in out.output


def test_a_feature_network_registered_twice_is_a_clash_naming_both_plugins(inline_plugin, gan):
    class Mine:
        @hookimpl
        def gan_register_features(self, register):
            register(FeatureNetwork("lenet-mnist", lambda options: _Brightness(), description="test: a second lenet-mnist"))

    inline_plugin(Mine(), "mine")
    host = get_host()
    entry = host.registry.get("features", "lenet-mnist")
    assert entry.plugin == "metrics", "the first registration is kept"
    assert [(c.kind, c.name, c.first, c.second) for c in host.clashes] == [("features", "lenet-mnist", "metrics", "mine")]
    out = gan("plugins", "--check")
    assert out.exit_code == 1 and "CLASH features 'lenet-mnist' is registered twice: by plugin 'metrics' and by plugin 'mine'" in out.output


class _Negative(ImageTransform):
    def __call__(self, items, generator):
        return {**items, "x": -items["x"]}


def test_hook_gan_register_transforms(inline_plugin, gan):
    class P:
        @hookimpl
        def gan_register_transforms(self, register):
            register(Transform("test-negative", lambda config: _Negative(), description="test: white on black"))

    inline_plugin(P(), "p")
    registry = get_host().registry
    plain = registry.build(DatasetRef(name="digits"), "data")
    negative = registry.build(DatasetRef(name="digits", transforms=[{"name": "test-negative"}]), "data")
    assert torch.equal(negative.tensors["x"], -plain.tensors["x"])
    out = gan("list", "transforms")
    assert out.exit_code == 0 and re.search(r"^test-negative +\[p\]  test: white on black$", out.output, re.M)


def test_hook_gan_register_algorithms(inline_plugin, gan, tmp_path):
    class P:
        @hookimpl
        def gan_register_algorithms(self, register):
            register(Algorithm("constant", _Constant, defaults={"data": {"name": "ring"}, "train": {"progress": False}}))

    inline_plugin(P(), "constant")
    out = gan("run", "--plugin", "constant", "--steps", 30, "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    losses = [line for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines() if '"loss"' in line]
    assert losses, "the algorithm's losses were logged"


class _Recorder:
    def __init__(self):
        self.calls = []

    @hookimpl
    def gan_train_start(self, run):
        self.calls.append(("start", run.step))

    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        self.calls.append(("step", step, sorted(logs)))
        if step == 7:
            run.should_stop = True

    @hookimpl
    def gan_eval_end(self, run, step, metrics):
        self.calls.append(("eval", step, sorted(metrics)))

    @hookimpl
    def gan_train_end(self, run, step, status):
        self.calls.append(("end", step, status))


@pytest.fixture
def recorded_run(inline_plugin, gan, tmp_path, write_config):
    recorder = inline_plugin(_Recorder(), "recorder")
    cfg = {**TINY_RING, "train": {**TINY_RING["train"], "eval_every": 5}, "eval": {"metrics": [{"name": "mode-coverage", "num_samples": 100}]}}
    out = gan("run", write_config(cfg), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    return recorder.calls


def test_hook_gan_train_start(recorded_run):
    assert recorded_run[0] == ("start", 0)


def test_hook_gan_train_step_end(recorded_run):
    steps = [c[1] for c in recorded_run if c[0] == "step"]
    assert steps == list(range(1, 8)), "called after every step, and should_stop ends the run"
    assert all(c[2] == ["loss_d", "loss_g"] for c in recorded_run if c[0] == "step")


def test_hook_gan_eval_end(recorded_run):
    evals = [c for c in recorded_run if c[0] == "eval"]
    assert evals[0][1] == 5 and "mode-coverage/modes" in evals[0][2]


def test_hook_gan_train_end(recorded_run):
    assert recorded_run[-1] == ("end", 7, "interrupted")


def test_hook_gan_register_commands(inline_plugin, gan):
    import click

    from gancore.cli import cli

    class P:
        @hookimpl
        def gan_register_commands(self, cli):
            @cli.command(name="hello-test")
            def hello():
                click.echo("hi from a plugin command")

    inline_plugin(P(), "p")
    get_host().register_commands(cli)
    try:
        assert "hi from a plugin command" in gan("hello-test").output
    finally:
        cli.commands.pop("hello-test", None)
