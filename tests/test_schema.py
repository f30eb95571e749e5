"""The run-file JSON Schema (gancore.schema): valid JSON Schema with no dangling $ref, accepts every example
config in the repository and `gan config`'s own output, describes the chosen entries' options, and refuses
what gancore refuses (unknown keys at any depth, wrong types, unknown entry names, another entry's options)."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from gancore import plugins
from gancore.config import build_run_config
from gancore.schema import check_refs, run_config_schema

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted([*ROOT.glob("examples/*.yaml"), *ROOT.glob("plugins/*/examples/*.yaml")])
_SCHEMAS: dict[str, dict] = {}


def schema_for(plugin: str, overrides: tuple[str, ...] = ()) -> dict:
    key = f"{plugin} {overrides}"
    if key not in _SCHEMAS:
        registry = plugins.get_host().registry
        _SCHEMAS[key] = run_config_schema(registry, plugin, build_run_config(registry, plugin, None, list(overrides)))
        jsonschema.Draft202012Validator.check_schema(_SCHEMAS[key])
        check_refs(_SCHEMAS[key])
    return _SCHEMAS[key]


def errors(plugin: str, data: dict, overrides: tuple[str, ...] = ()) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema_for(plugin, overrides))
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def test_the_repository_has_examples_of_every_plugin():
    assert len(EXAMPLES) >= 20
    assert {yaml.safe_load(p.read_text())["plugin"] for p in EXAMPLES} >= {"gan", "wgan", "bgan"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_every_example_config_validates(path):
    data = yaml.safe_load(path.read_text())
    assert errors(data["plugin"], data) == []


def test_gan_config_output_validates_for_every_plugin(gan):
    for plugin in sorted(p for p in plugins.get_host().info if plugins.get_host().registry.entries["algorithm"]
                         and any(e.plugin == p for e in plugins.get_host().registry.entries["algorithm"].values())):
        out = gan("config", "--plugin", plugin)
        assert out.exit_code == 0, out.output
        assert errors(plugin, yaml.safe_load(out.output)) == [], plugin


GOOD = {
    "plugin": "gan",
    "algorithm": {"name": "gan", "generator": {"name": "mlp-generator", "hidden_dim": 8}, "loss": {"name": "hinge"}},
    "data": {"name": "digits", "classes": [0, 1]},
    "train": {"steps": 10},
    "eval": {"metrics": [{"name": "fid", "features": "lenet-digits"}, {"name": "fid", "label": "fid-2"}]},
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("train", "stepz", 3), "Additional properties are not allowed ('stepz'"),
        (("train", "steps", "lots"), "'lots' is not of type 'integer'"),
        (("data", "name", "no-such-data"), "data"),
        (("data", "classez", [1]), "data"),
        (("algorithm", "lr_generatr", 1.0), "algorithm"),
        (("algorithm", "generator", {"name": "mlp-generator", "base_channels": 8}), "algorithm"),  # a DCGAN option on an MLP
        (("algorithm", "loss", {"name": "hinge", "gamma": 1}), "algorithm"),
        (("plugin", None, "wgan"), "'wgan' is not one of ['gan']"),
    ],
)
def test_what_gancore_refuses_the_schema_refuses(change, expected):
    assert errors("gan", GOOD) == []
    data = copy.deepcopy(GOOD)
    section, key, value = change
    if key is None:
        data[section] = value
    else:
        data[section][key] = value
    found = errors("gan", data)
    assert found and any(expected in e for e in found), found


def test_the_default_entries_may_omit_their_names_and_others_may_not():
    assert errors("gan", {"data": {"n_components": 3}}) != []  # digits has no such option
    assert errors("gan", {"algorithm": {"generator": {"base_channels": 8}}, "data": {"classes": [3]}}) == []  # defaults: dcgan, digits
    assert errors("gan", {"algorithm": {"generator": {"hidden_dim": 8}}}) != []  # an MLP option without the MLP's name


def test_the_chosen_algorithms_options_are_in_algorithm_ref():
    schema = schema_for("gan")
    assert schema["properties"]["algorithm"] == {"$ref": "#/$defs/AlgorithmRef"}
    chosen = schema["$defs"]["AlgorithmRef"]["anyOf"][0]
    assert chosen["title"] == "algorithm 'gan'" and "lr_generator" in chosen["properties"]


def test_the_chosen_entries_options_are_described():
    schema = schema_for("gan", ("data.name=ring",))
    defs = schema["$defs"]
    ring = defs["dataset:ring"]
    assert ring["properties"]["name"] == {"const": "ring", "description": ring["properties"]["name"]["description"]}
    assert all("description" in prop for name, prop in ring["properties"].items()), ring
    assert "num_samples" in ring["properties"]
    assert errors("gan", {"data": {"num_samples": 100}}, ("data.name=ring",)) == []  # ring is the default here
    generator = defs["model:dcgan-generator"]["properties"]
    assert {"base_channels", "max_channels"} <= set(generator) and generator["base_channels"]["description"]
