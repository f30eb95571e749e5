"""Options that torch, numpy or Python check again are bounded in the config models (issue 29, item 14).

``train.seed: -1`` or ``99999999999999`` and ``algorithm.betas: [2, 3]`` were torch's and numpy's ``ValueError``s
with a traceback once the run had started; they are now the usual "invalid configuration" message naming the option,
exit status 2. The generic test below reads every registered entry's options (every installed family) by their
names, learning rates, betas, epsilons, seeds, decays, dropouts, probabilities..., and checks that an out-of-range
value is refused by a bound, not merely by its type, so a new unbounded ``lr_foo: float`` fails it."""

from __future__ import annotations

import random
import re
import types
import typing
from typing import Any

import numpy as np
import pytest
import torch
from pydantic import BaseModel, Field, ValidationError

from gancore import plugins
from gancore.bounds import SEED_LIMIT, AdamBetas, Seed
from gancore.config import EvalConfig, TrainConfig, build_run_config
from gancore.errors import UserError
from gancore.registry import Ref, StrictModel
from gancore.testing import assert_refused
from gancore.testing import invoke_gan as invoke

from .conftest import TINY_RING


def refused(result, *needles: str) -> str:
    """A refusal (``gancore.testing.assert_refused``) that does not pass torch's or numpy's ValueError on."""
    output = assert_refused(result, *needles)
    assert "ValueError" not in output
    return output


# ------------------------------------------------------------------ the issue's probes, through the CLI


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("train.seed", "-1", "train.seed: Input should be greater than or equal to 0 (got -1)"),
        ("train.seed", "99999999999999", f"train.seed: Input should be less than {SEED_LIMIT} (got 99999999999999)"),
        ("algorithm.betas", "[2, 3]", "algorithm.betas.0: Input should be less than 1 (got 2)"),
        ("algorithm.betas", "[0.5, 1]", "algorithm.betas.1: Input should be less than 1 (got 1)"),
        ("algorithm.betas", "[-0.1, 0.9]", "algorithm.betas.0: Input should be greater than or equal to 0"),
    ],
)
def test_the_issues_probes_are_a_config_error_naming_the_option(tmp_path, option, value, message):
    out = refused(invoke("run", "--plugin", "gan", "--set", f"{option}={value}", "--set", "train.steps=2", "--output", tmp_path / "run"),
                  "invalid configuration", message)
    assert len(out.strip().splitlines()) <= 3, out  # the message and its option lines, nothing else
    assert not (tmp_path / "run").exists()  # refused before anything was written


def _algorithms_with_betas() -> list[tuple[str, str]]:
    registry = plugins.get_host().registry
    return sorted((e.plugin, e.name) for e in registry.entries["algorithm"].values() if "betas" in e.config.model_fields)


def test_every_family_has_algorithms_with_betas():
    assert {plugin for plugin, _ in _algorithms_with_betas()} >= {"gan", "wgan", "bgan", "cyclegan", "evolutionary", "progressive", "semisup"}


@pytest.mark.parametrize(("plugin", "algorithm"), _algorithms_with_betas())
def test_betas_out_of_range_are_refused_in_every_family(tmp_path, plugin, algorithm):
    refused(
        invoke("run", "--plugin", plugin, "--set", f"algorithm.name={algorithm}", "--set", "algorithm.betas=[2, 3]",
               "--set", "train.steps=2", "--output", tmp_path / "run"),
        "invalid configuration", "algorithm.betas.0: Input should be less than 1 (got 2)", "algorithm.betas.1",
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [("data.data_seed", -1), ("data.data_seed", 2**32), ("train.seed", SEED_LIMIT)],
)
def test_other_seeds_are_refused_out_of_range(option, value):
    with pytest.raises(UserError, match=re.escape(option)):
        build_run_config(plugins.get_host().registry, None, TINY_RING, [f"{option}={value}"])


def test_the_extreme_seeds_are_accepted():
    registry = plugins.get_host().registry
    config = build_run_config(registry, None, TINY_RING, ["train.seed=0", f"data.data_seed={SEED_LIMIT - 1}"])
    assert config.train.seed == 0
    config = build_run_config(registry, None, TINY_RING, [f"train.seed={SEED_LIMIT - 1}"])
    assert config.train.seed == SEED_LIMIT - 1


def test_the_largest_seed_leaves_room_for_what_gancore_adds_to_it():
    """numpy's legacy seeding takes 0 .. 2**32 - 1, and each process seeds with train.seed plus its index; torch's
    generators take up to 2**64 - 1, and gancore seeds them with the seed plus offsets, or times 1_000_003."""
    largest = SEED_LIMIT - 1
    np.random.seed(largest + 4096)  # 4,096 processes
    random.seed(largest + 4096)
    torch.Generator().manual_seed(largest * 1_000_003 + 2**40)  # a transform's generator for sample 2**40
    torch.Generator().manual_seed(largest + 1000 * 2**20)  # SWD at a side of 2**20


def test_a_run_at_the_largest_seed_trains(gan, write_config, tmp_path):
    data = {**TINY_RING, "train": {**TINY_RING["train"], "steps": 2, "checkpoint_every": 0, "seed": SEED_LIMIT - 1}}
    out = gan("run", write_config(data), "--output", tmp_path / "run")
    assert out.exit_code == 0, out.output


# ------------------------------------------------------------------ every option of every family, by its name

# name pattern -> (values that must be refused by a bound, values that must be accepted); a value is given for one
# number, and is repeated for a tuple or list field
RULES: list[tuple[str, re.Pattern, list, list]] = [
    ("learning rate", re.compile(r"(^|_)lr($|_)"), [-1], []),
    ("beta", re.compile(r"beta"), [2, 1, -0.1], [0.0, 0.9]),
    ("epsilon", re.compile(r"(^|_)eps($|_)|epsilon"), [-1], []),
    ("seed", re.compile(r"seed"), [-1, 2**32, 99999999999999], [0, SEED_LIMIT - 1]),
    ("decay", re.compile(r"decay"), [-1], []),
    ("momentum", re.compile(r"momentum"), [-1], []),
    ("dropout", re.compile(r"dropout"), [-0.1, 1.5], [0.0, 0.5]),
    ("probability", re.compile(r"(^|_)prob"), [-0.1, 1.5], [0.0, 1.0]),
    ("clip", re.compile(r"clip"), [-1], []),
    ("temperature", re.compile(r"temperature"), [-1], []),
    ("threshold", re.compile(r"threshold"), [-1], []),
    ("steps", re.compile(r"(^|_)steps$|n_critic"), [-1], []),
    ("size", re.compile(r"(_size|_dim|(^|_)channels|hidden|multipliers)$"), [-1], []),
    ("weight", re.compile(r"weights?($|_)"), [-1], []),
]
BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "value_error", "multiple_of"}


def _numbers(annotation: Any) -> tuple[str, int] | None:
    """('scalar'|'tuple'|'list', length) for a field holding int/float numbers (bool excluded); None otherwise."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is bool:
        return None
    if annotation in (int, float):
        return ("scalar", 1)
    if origin is typing.Annotated:
        return _numbers(args[0])
    if origin is tuple and args and Ellipsis not in args and all(_numbers(a) == ("scalar", 1) for a in args):
        return ("tuple", len(args))
    if origin is list and args and _numbers(args[0]) == ("scalar", 1):
        return ("list", 1)
    if origin in (typing.Union, types.UnionType):
        shapes = {_numbers(a) for a in args} - {None}
        return shapes.pop() if len(shapes) == 1 else None
    return None


def _shaped(value: Any, shape: tuple[str, int]) -> Any:
    kind, length = shape
    return value if kind == "scalar" else [value] * length


def _errors_at(model: type[BaseModel], name: str, value: Any) -> list[dict]:
    try:
        model.model_validate({name: value})
    except ValidationError as exc:
        return [e for e in exc.errors() if e["loc"][:1] == (name,) or (e["loc"] == () and name in e["msg"])]
    return []


def unbounded(model: type[BaseModel]) -> list[str]:
    """What is wrong with ``model``'s bounds: a field named like a rule whose out-of-range value is accepted or
    refused only for its type, or whose in-range value is refused."""
    problems = []
    for name, field in model.model_fields.items():
        shape = _numbers(field.annotation)
        if shape is None:
            continue
        for what, pattern, bad, good in RULES:
            if not pattern.search(name.lower()):
                continue
            for value in bad:
                errors = _errors_at(model, name, _shaped(value, shape))
                if not any(e["type"] in BOUND_ERRORS for e in errors):
                    problems.append(f"{model.__module__}.{model.__qualname__}.{name} ({what}): {_shaped(value, shape)!r} is not refused by a bound "
                                    f"({[e['type'] for e in errors] or 'accepted'})")
            for value in good:
                if _errors_at(model, name, _shaped(value, shape)):
                    problems.append(f"{model.__module__}.{model.__qualname__}.{name} ({what}): {_shaped(value, shape)!r} is refused")
    return problems


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [] if issubclass(annotation, Ref) else [annotation]  # a Ref's options are an entry's own config
    return [m for a in typing.get_args(annotation) for m in _nested(a)]


def config_models() -> dict[type[BaseModel], str]:
    """Every config model reachable from the registry (every entry of every kind, of every installed plugin) and the
    run file's own sections, with the plain pydantic sections inside them (algorithm.augment...)."""
    registry = plugins.get_host().registry
    found: dict[type[BaseModel], str] = {}
    todo = [(e.config, f"{kind} {name} ({e.plugin})") for kind, table in registry.entries.items() for name, e in table.items()]
    todo += [(TrainConfig, "train"), (EvalConfig, "eval")]
    while todo:
        model, where = todo.pop()
        if model in found:
            continue
        found[model] = where
        todo += [(sub, f"{where}.{name}") for name, field in model.model_fields.items() for sub in _nested(field.annotation)]
    return found


def test_every_option_named_like_a_checked_one_has_a_bound_in_every_family():
    models = config_models()
    problems = [p for model in models for p in unbounded(model)]
    assert problems == [], "\n".join(problems)


def test_the_generic_check_sees_every_family_and_the_options_it_is_about():
    models = config_models()
    modules = {m.__module__.split(".")[0] for m in models}
    assert modules >= {"gancore", "gan_wgan", "gan_bgan", "gan_cyclegan", "gan_evolutionary", "gan_progressive", "gan_semisup"}
    names = [(m, name) for m in models for name in m.model_fields]
    checked = {what: sum(1 for m, n in names if pattern.search(n.lower()) and _numbers(m.model_fields[n].annotation))
               for what, pattern, _, _ in RULES}
    # 13 algorithms with betas; train.seed, four toy data_seeds, transform_seed, the metrics' seeds, half's seed
    assert checked["beta"] >= 13 and checked["seed"] >= 10 and checked["learning rate"] >= 20, checked
    assert checked["epsilon"] >= 3 and checked["decay"] >= 3 and checked["dropout"] >= 1 and checked["probability"] >= 2, checked


class Unbounded(StrictModel):
    lr_foo: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 0
    eps: float = 1e-8
    ema_decay: float | None = None
    dropout: float = 0.0
    probability: float = 0.5
    hidden: list[int] = Field(default_factory=lambda: [8])
    clip_value: float = 0.01


class Bounded(StrictModel):
    lr_foo: float = Field(1e-3, gt=0)
    betas: AdamBetas = (0.5, 0.999)
    seed: Seed = 0
    eps: float = Field(1e-8, gt=0)
    ema_decay: float | None = Field(None, ge=0, lt=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    probability: float = Field(0.5, ge=0, le=1)
    hidden: list[typing.Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [8])
    clip_value: float = Field(0.01, gt=0)
    seed_like_name: str = "a string is not checked"
    weight_norm: bool = True


def test_the_generic_check_fails_on_an_unbounded_option():
    problems = unbounded(Unbounded)
    for name in Unbounded.model_fields:
        assert any(f".{name} (" in p for p in problems), (name, problems)
    assert unbounded(Bounded) == []


def test_the_generic_check_fails_on_a_bound_that_refuses_good_values():
    class TooTight(StrictModel):
        seed: int = Field(0, ge=0, lt=1000)
        betas: tuple[typing.Annotated[float, Field(gt=0, lt=1)], typing.Annotated[float, Field(gt=0, lt=1)]] = (0.5, 0.9)

    problems = unbounded(TooTight)
    assert any(".seed (seed)" in p and "is refused" in p for p in problems), problems
    assert any(".betas (beta)" in p and "is refused" in p for p in problems), problems


# ------------------------------------------------------------------ the lists of widths and multipliers


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["algorithm.generator.name=biggan-generator", "algorithm.generator.multipliers=[4, 0]"], "algorithm.generator.multipliers.1"),
        (["algorithm.discriminator.name=biggan-discriminator", "algorithm.discriminator.multipliers=[-1, 4]"], "algorithm.discriminator.multipliers.0"),
    ],
)
def test_biggan_multipliers_are_positive(overrides, message):
    with pytest.raises(UserError, match=re.escape(message)):
        build_run_config(plugins.get_host().registry, "gan", None, overrides)


def test_the_run_file_schema_has_the_bounds():
    """Editors that check run files against `gan config --schema` see the same bounds."""
    from .test_schema import errors

    assert errors("gan", {"plugin": "gan", "algorithm": {"betas": [0.0, 0.999]}, "train": {"seed": SEED_LIMIT - 1}}) == []
    found = errors("gan", {"plugin": "gan", "algorithm": {"betas": [2, 0.5]}, "train": {"seed": -1}})
    assert any(e.startswith("train.seed:") for e in found), found
    assert any(e.startswith("algorithm") for e in found), found
    assert errors("gan", {"plugin": "gan", "train": {"seed": SEED_LIMIT}}) != []


def test_the_cli_seed_options_take_the_configs_seeds(gan, tmp_path):
    """``gan sample --seed -1`` (or 2**31) is a usage error naming the range, like ``train.seed``."""
    from gancore import cli
    from gancore.bounds import SEED_LIMIT

    assert (cli.SEED.min, cli.SEED.max) == (0, SEED_LIMIT - 1)
    for seed in (-1, SEED_LIMIT):
        out = gan("sample", tmp_path / "no-run", "-n", 4, "-o", tmp_path / "s.png", "--seed", seed)
        assert out.exit_code == 2 and "--seed" in out.output and "Traceback" not in out.output, out.output
