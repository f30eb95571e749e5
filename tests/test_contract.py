"""The algorithm contract that growing, replaced, two-domain and labelled families rely on:
an EMA that follows the live networks, state in lists and dicts, snapshot/restore/release,
streams with their own sizes, declared capabilities, schedules and lifecycle status."""

from __future__ import annotations

import pytest
import torch
from pydantic import Field
from torch import nn

from gancore import Algorithm, GANAlgorithm, StrictModel, fit, hookimpl
from gancore.algorithm import has_capability
from gancore.schedules import linear_decay, set_lr
from gancore import checkpoint
from gancore.testing import check_resume

QUIET = {"progress": False, "tensorboard": False, "sample_every": 0, "log_every": 1}


class ChangingConfig(StrictModel):
    grow_at: int = Field(3, description="step after which a layer is added to the generator")
    replace_at: int = Field(6, description="step after which the generator is replaced by a new module")
    latent_dim: int = Field(2, description="latent size")


class Changing(GANAlgorithm):
    """A generator that grows a layer at one step and is replaced by a fresh module at another,
    trained to match the real batch's mean (no discriminator: the point is the bookkeeping)."""

    def __init__(self, config, ctx):
        super().__init__(config, ctx)
        self.stage = 0  # 1 after growing, 2 after replacing: a plain int, declared, so saved
        self.history = {"grown": [], "replaced": []}  # plain data in a dict: saved
        self.generator, self.opt = self._fresh(grown=False)
        self.register_state("stage", "history", "generator", "opt")

    def _fresh(self, grown: bool):
        layers = [nn.Linear(self.config.latent_dim, 2)] + ([nn.Linear(2, 2)] if grown else [])
        generator = nn.Sequential(*layers)
        return self.ctx.prepare(generator, torch.optim.Adam(generator.parameters(), lr=0.05))

    def _grow(self):
        self.ctx.unwrap(self.generator).append(nn.Linear(2, 2).to(self.ctx.device))
        self.opt.add_param_group({"params": list(self.ctx.unwrap(self.generator)[-1].parameters())})

    def _replace(self):
        old, old_opt = self.generator, self.opt
        self.generator, self.opt = self._fresh(grown=True)
        self.ctx.unwrap(self.generator).load_state_dict(self.ctx.unwrap(old).state_dict())
        self.ctx.release(old, old_opt)

    def train_step(self, batch, step):
        loss = (self.generator(self.noise(len(batch["x"]), self.config.latent_dim)).mean(0) - batch["x"].mean(0)).pow(2).sum()
        self.ctx.update(self.opt, loss)
        if step == self.config.grow_at:
            self._grow()
            self.stage = 1
            self.history["grown"].append(step)
        if step == self.config.replace_at:
            self._replace()
            self.stage = 2
            self.history["replaced"].append(step)
        return {"loss": loss.detach()}

    def load_state_dict(self, state):
        # Bring the networks to the saved stage first, then load into them.
        stage = state["stage"]
        if stage >= 1 and self.stage == 0:
            self._grow()
        if stage == 2 and self.stage < 2:
            self._replace()
        super().load_state_dict(state)


class ChangingPlugin:
    @hookimpl
    def gan_register_algorithms(self, register):
        register(Algorithm("changing", Changing, ChangingConfig, "test: a growing, replaced generator", defaults={"data": {"name": "ring", "num_samples": 64}}))


RUN = {"plugin": "changing", "algorithm": {"name": "changing"}, "train": {"steps": 8, "batch_size": 8, "ema_decay": 0.9, "checkpoint_every": 2, **QUIET}}


def _live_and_sampled(run):
    live = {k: v.clone() for k, v in run.algorithm.ctx.unwrap(run.algorithm.generator).state_dict().items()}
    with run.sampling():
        sampled = {k: v.clone() for k, v in run.algorithm.ctx.unwrap(run.algorithm.generator).state_dict().items()}
    return live, sampled


def test_ema_follows_a_grown_and_a_replaced_generator(inline_plugin, make_run):
    inline_plugin(ChangingPlugin(), "changing")
    run = make_run(RUN)
    algorithm = run.algorithm
    first = algorithm.generator
    for step in range(1, 9):
        algorithm.train_step(run.next_batch(), step)
        run.ema.update(step)
        live, sampled = _live_and_sampled(run)
        shadow = run.ema.shadow["generator"]
        assert sampled.keys() == live.keys() == shadow.keys(), f"step {step}: the EMA tracks exactly the live parameters"
        assert all(torch.equal(sampled[k], shadow[k]) for k in live), f"step {step}: sampling uses the EMA"
        if step > 1:
            assert any(not torch.equal(sampled[k], live[k]) for k in live), f"step {step}: the EMA is not just the live weights"
        if step == 3:  # the new layer starts from its live value
            assert torch.equal(shadow["1.weight"], live["1.weight"])
        after = {k: v.clone() for k, v in algorithm.ctx.unwrap(algorithm.generator).state_dict().items()}
        assert all(torch.equal(after[k], live[k]) for k in live), "the live weights come back after sampling"
    assert algorithm.generator is not first
    assert not any(m is first for m in run.accelerator._models), "the replaced generator is released"


def test_resume_between_growth_and_replacement_is_exact(inline_plugin, gan, write_config, tmp_path):
    inline_plugin(ChangingPlugin(), "changing")
    check_resume(gan, write_config(RUN), tmp_path, stop_at=4)
    state, meta = checkpoint.load(tmp_path / "half" / "checkpoints" / "step-000008")
    assert state["algorithm"]["history"] == {"grown": [3], "replaced": [6]} and state["algorithm"]["stage"] == 2
    assert "2.weight" not in state["ema"]["shadow"]["generator"] and "1.weight" in state["ema"]["shadow"]["generator"]


class Unsaveable(GANAlgorithm):
    def __init__(self, config, ctx):
        super().__init__(config, ctx)
        generator = nn.Linear(2, 2)
        self.generator, self.opt = ctx.prepare(generator, torch.optim.SGD(generator.parameters(), lr=0.1))
        self.pool = [torch.zeros(2), object()]  # the object cannot be saved
        self.register_state("generator", "opt", "pool")

    def train_step(self, batch, step):
        loss = self.generator(batch["x"]).pow(2).mean()
        self.ctx.update(self.opt, loss)
        return {"loss": loss.detach()}

    def sample(self, n, *, seed=None):
        return self.noise(n, 2, seed)


class UnsaveablePlugin:
    @hookimpl
    def gan_register_algorithms(self, register):
        register(Algorithm("unsaveable", Unsaveable, StrictModel, "test", defaults={"data": {"name": "ring", "num_samples": 64}}))


def test_state_that_cannot_be_saved_fails_the_first_checkpoint_by_name(inline_plugin, gan, tmp_path):
    inline_plugin(UnsaveablePlugin(), "unsaveable")
    out = gan("run", "--plugin", "unsaveable", "--steps", 2, "--output", tmp_path / "r", *[a for k, v in QUIET.items() for a in ("--set", f"train.{k}={v}")])
    assert out.exit_code == 2, out.output
    assert "Unsaveable.pool[1] is a object" in out.output and "state_dict()/load_state_dict()" in out.output
    assert not list((tmp_path / "r" / "checkpoints").glob("step-*")), "no checkpoint is written without that state"


def test_lists_and_dicts_of_state_round_trip(inline_plugin, make_run):
    inline_plugin(ChangingPlugin(), "changing")
    run = make_run(RUN)
    algorithm = run.algorithm
    algorithm.history["grown"].append(7)
    algorithm.pool = [torch.ones(3), {"count": 2, "images": torch.arange(4.0)}]
    algorithm.register_state("pool")
    state = algorithm.state_dict()
    assert state["history"] == {"grown": [7], "replaced": []} and torch.equal(state["pool"][1]["images"], torch.arange(4.0))
    algorithm.history, algorithm.pool = {}, []
    algorithm.load_state_dict(state)
    assert algorithm.history == {"grown": [7], "replaced": []}
    assert torch.equal(algorithm.pool[0], torch.ones(3)) and algorithm.pool[1]["count"] == 2


def test_snapshot_and_restore_roll_back_a_module_and_its_optimizer(inline_plugin, make_run):
    inline_plugin(ChangingPlugin(), "changing")
    run = make_run(RUN)
    algorithm, ctx = run.algorithm, run.algorithm.ctx
    algorithm.train_step(run.next_batch(), 1)  # the optimizer has moments now
    weights, moments = ctx.snapshot(algorithm.generator), ctx.snapshot(algorithm.opt)
    before = [p.detach().clone() for p in algorithm.generator.parameters()]
    for _ in range(2):  # restore twice from the same snapshot: the optimizer must not have changed it
        algorithm.train_step(run.next_batch(), 2)
        ctx.restore(algorithm.generator, weights)
        ctx.restore(algorithm.opt, moments)
        assert all(torch.equal(p, b) for p, b in zip(algorithm.generator.parameters(), before))
        exp_avg = algorithm.opt.state_dict()["state"][0]["exp_avg"]
        assert torch.equal(exp_avg, moments["state"][0]["exp_avg"])


def test_the_first_batch_has_the_size_the_algorithm_asks_for(inline_plugin, make_run):
    sizes = []

    class Staged(Changing):
        def batch_size(self, step):
            return 4 if step <= 2 else 2

        def train_step(self, batch, step):
            sizes.append(len(batch["x"]))
            return super().train_step(batch, step)

    class Plugin:
        @hookimpl
        def gan_register_algorithms(self, register):
            register(Algorithm("staged", Staged, ChangingConfig, "test", defaults={"data": {"name": "ring", "num_samples": 64}}))

    inline_plugin(Plugin(), "staged")
    run = make_run({**RUN, "plugin": "staged", "algorithm": {"name": "staged"}, "train": {**RUN["train"], "steps": 4}})
    fit(run)
    assert sizes == [4, 4, 2, 2]
    assert run.batches.state_dict() == {"positions": {"x": 12}}


def test_linear_decay_holds_at_its_boundaries():
    assert linear_decay(1, total=100, decay_start=50) == 1.0
    assert linear_decay(50, total=100, decay_start=50) == 1.0
    assert linear_decay(75, total=100, decay_start=50) == pytest.approx(0.5)
    assert linear_decay(100, total=100, decay_start=50) == 0.0
    assert linear_decay(150, total=100, decay_start=50) == 0.0, "past the planned end it stays at the final value"
    assert linear_decay(100, total=100, final=0.1) == pytest.approx(0.1)
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    set_lr(optimizer, 2e-4, 0.5)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)


class Previewing(Unsaveable):
    def __init__(self, config, ctx):
        GANAlgorithm.__init__(self, config, ctx)
        generator = nn.Linear(2, 3 * 4 * 4)
        self.generator, self.opt = ctx.prepare(generator, torch.optim.SGD(generator.parameters(), lr=0.1))
        self.register_state("generator", "opt")

    def sample(self, n, *, seed=None):
        return torch.tanh(self.generator(self.noise(n, 2, seed))).view(n, 3, 4, 4)

    def train_step(self, batch, step):
        loss = self.generator(self.noise(4, 2)).pow(2).mean()
        self.ctx.update(self.opt, loss)
        return {"loss": loss.detach()}


class WithPreview(Previewing):
    def preview(self, n, seed):
        big = self.sample(3, seed=seed)
        return [big, torch.nn.functional.avg_pool2d(big, 2)]  # rows of two sizes


def _grid_size(tmp_path, cls, name, inline_plugin, gan):
    class Plugin:
        @hookimpl
        def gan_register_algorithms(self, register):
            register(Algorithm(name, cls, StrictModel, "test", defaults={"data": {"name": "digits", "classes": [0]}}))

    inline_plugin(Plugin(), name)
    out = gan("run", "--plugin", name, "--steps", 1, "--output", tmp_path / name, "--set", "train.sample_count=16", *[a for k, v in QUIET.items() for a in ("--set", f"train.{k}={v}")])
    assert out.exit_code == 0, out.output
    from PIL import Image

    return Image.open(tmp_path / name / "samples" / "step-000001.png").size


def test_the_sample_grid_uses_preview_when_the_family_has_it(inline_plugin, gan, tmp_path):
    assert not has_capability(Previewing, "preview") and has_capability(WithPreview, "preview")
    plain = _grid_size(tmp_path, Previewing, "plain-grid", inline_plugin, gan)
    rows = _grid_size(tmp_path, WithPreview, "preview-grid", inline_plugin, gan)
    assert plain == (4 * 33 + 1, 4 * 33 + 1), "without preview: a square grid of sample_count samples"
    assert rows == (3 * 33 + 1, 2 * 33 + 1), "with preview: one row per entry, scaled to the largest"


def test_lifecycle_hooks_hear_of_any_failure(inline_plugin, gan, tmp_path):
    statuses = []

    class Failing(Previewing):
        def train_step(self, batch, step):
            if step == 2:
                raise RuntimeError("a family's bug")
            return super().train_step(batch, step)

    class Plugin:
        @hookimpl
        def gan_register_algorithms(self, register):
            register(Algorithm("failing", Failing, StrictModel, "test", defaults={"data": {"name": "digits", "classes": [0]}}))

        @hookimpl
        def gan_train_end(self, run, step, status):
            statuses.append((step, status))

    inline_plugin(Plugin(), "failing")
    with pytest.raises(RuntimeError, match="a family's bug"):
        gan("run", "--plugin", "failing", "--steps", 3, "--output", tmp_path / "r", *[a for k, v in QUIET.items() for a in ("--set", f"train.{k}={v}")])
    assert statuses == [(1, "failed")]


def test_a_removed_option_is_an_unknown_key(gan, tmp_path):
    # gradient_accumulation_steps was removed before any release; a config that still has it is refused by name.
    out = gan("run", "--plugin", "gan", "--steps", 1, "--output", tmp_path / "r", "--set", "train.gradient_accumulation_steps=1")
    assert out.exit_code == 2 and "train.gradient_accumulation_steps: unknown key" in out.output


class Classifying(Previewing):
    """classify and encode from a fixed random projection of the image: the metrics only need the methods."""

    def classify(self, x):
        return x.flatten(1) @ torch.ones(x[0].numel(), 10, device=x.device)

    def encode(self, x):
        return x.flatten(1)


def _metric_on(cls, name, make_run, inline_plugin, metric):
    from gancore.metrics import build_metrics
    from gancore.registry import MetricRef

    class Plugin:
        @hookimpl
        def gan_register_algorithms(self, register):
            register(Algorithm(name, cls, StrictModel, "test", defaults={"data": {"name": "digits"}}))

    inline_plugin(Plugin(), name)
    run = make_run({"plugin": name, "algorithm": {"name": name}, "train": QUIET})
    host = run.host
    ref = host.registry.resolve(MetricRef(name=metric, test_data={"name": "digits"}, train_data={"name": "digits"}, num_test=200)
                                if metric == "linear-probe" else MetricRef(name=metric, test_data={"name": "digits"}, num_samples=200), "m")
    ((key, metric),) = build_metrics(host.registry, [ref])
    return metric(run.eval_context())


@pytest.mark.parametrize("metric", ["classifier-accuracy", "linear-probe"])
def test_metrics_use_classify_and_encode_when_the_family_has_them(metric, make_run, inline_plugin):
    from gancore.errors import UserError

    result = _metric_on(Classifying, "with-methods", make_run, inline_plugin, metric)
    assert 0.0 <= result["accuracy"] <= 100.0
    method = "classify" if metric == "classifier-accuracy" else "encode"
    with pytest.raises(UserError, match=f"needs an algorithm with a {method}"):
        _metric_on(Previewing, "without-methods", make_run, inline_plugin, metric)


class Counting(GANAlgorithm):
    """A generator whose learning rate falls with a plain int counter of its updates; ``declare`` says
    whether the counter is declared state."""

    declare = True

    def __init__(self, config, ctx):
        super().__init__(config, ctx)
        generator = nn.Linear(2, 2)
        self.generator, self.opt = ctx.prepare(generator, torch.optim.SGD(generator.parameters(), lr=0.1))
        self.updates = 0
        self.register_state("generator", "opt", *(["updates"] if self.declare else []))

    def train_step(self, batch, step):
        set_lr(self.opt, 0.1, 1.0 / (1 + self.updates))
        loss = (self.generator(self.noise(len(batch["x"]), 2)).mean(0) - batch["x"].mean(0)).pow(2).sum()
        self.ctx.update(self.opt, loss)
        self.updates += 1
        return {"loss_g": loss.detach()}

    def sample(self, n, *, seed=None):
        with self.ctx.evaluating(self.generator) as generator:
            return generator(self.noise(n, 2, seed))


class Forgetting(Counting):
    declare = False


def _counting_plugin(cls, name):
    class Plugin:
        @hookimpl
        def gan_register_algorithms(self, register):
            register(Algorithm(name, cls, StrictModel, "test", defaults={"data": {"name": "ring", "num_samples": 64}}))

    return Plugin()


COUNTING_TRAIN = {"steps": 6, "batch_size": 8, "checkpoint_every": 3, **QUIET}


def test_a_declared_plain_int_counter_is_saved_and_resumed_exactly(inline_plugin, gan, write_config, tmp_path):
    inline_plugin(_counting_plugin(Counting, "counting"), "counting")
    check_resume(gan, write_config({"plugin": "counting", "algorithm": {"name": "counting"}, "train": COUNTING_TRAIN}), tmp_path, stop_at=3)
    state, _ = checkpoint.load(tmp_path / "half" / "checkpoints" / "step-000003")
    assert state["algorithm"]["updates"] == 3 and type(state["algorithm"]["updates"]) is int


def test_check_resume_names_an_attribute_that_is_state_but_not_declared(inline_plugin, gan, write_config, tmp_path):
    inline_plugin(_counting_plugin(Forgetting, "forgetting"), "forgetting")
    config = write_config({"plugin": "forgetting", "algorithm": {"name": "forgetting"}, "train": COUNTING_TRAIN})
    with pytest.raises(AssertionError, match=r"attribute\(s\) updates also differ.*register_state"):
        check_resume(gan, config, tmp_path, stop_at=3)


def test_a_checkpoint_must_hold_exactly_the_declared_state(inline_plugin, make_run):
    from gancore.errors import UserError

    inline_plugin(_counting_plugin(Counting, "counting"), "counting")
    algorithm = make_run({"plugin": "counting", "algorithm": {"name": "counting"}, "train": COUNTING_TRAIN}).algorithm
    state = algorithm.state_dict()
    assert set(state) == {"generator", "opt", "updates"}, "exactly what register_state declared"
    with pytest.raises(UserError, match="lacks updates"):
        algorithm.load_state_dict({k: v for k, v in state.items() if k != "updates"})
    with pytest.raises(UserError, match="holds undeclared extra"):
        algorithm.load_state_dict({**state, "extra": 1})
    algorithm.register_state("missing")
    with pytest.raises(UserError, match="declares state 'missing'.*no attribute"):
        algorithm.state_dict()
