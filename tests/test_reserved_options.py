"""A config field named like a run file's own keys (``name``; a metric's ``label``) is refused when it is
registered, with a message that says why and what to do, instead of a TypeError deep in config resolution."""

from __future__ import annotations

import json

import pytest
from pydantic import Field

from gancore import Algorithm, GANAlgorithm, Metric, StrictModel, hookimpl
from gancore.testing import check_plugin


class NamedConfig(StrictModel):
    name: str = Field("mine", description="a natural thing to write, and the key that chooses the entry")
    latent_dim: int = Field(8, description="size of the latent")


class LabelledConfig(StrictModel):
    label: str = Field("x", description="clashes with eval.metrics' label")


class NamedPlugin:
    @hookimpl
    def gan_register_algorithms(self, register):
        register(Algorithm("named", GANAlgorithm, NamedConfig, "an algorithm with a name option", defaults={"data": {"name": "ring"}}))


class LabelledPlugin:
    @hookimpl
    def gan_register_metrics(self, register):
        register(Metric("labelled", lambda config: (lambda ctx: {}), LabelledConfig, "a metric with a label option"))


@pytest.mark.parametrize("plugin,kind,option", [(NamedPlugin, "algorithm", "'name'"), (LabelledPlugin, "metric", "'label'")])
def test_a_reserved_option_breaks_only_its_plugin_with_a_clear_message(inline_plugin, gan, plugin, kind, option):
    inline_plugin(plugin(), "reserved")
    out = gan("plugins", "--json")
    assert out.exit_code == 0, out.output
    (broken,) = [b for b in json.loads(out.output)["broken"] if b["name"] == "reserved"]
    assert f"{kind} '" in broken["error"] and option in broken["error"] and "Rename the option" in broken["error"]
    with pytest.raises(AssertionError, match="Rename the option"):
        check_plugin("reserved")
    assert gan("config", "--plugin", "gan").exit_code == 0, "the other plugins keep working"


def test_gan_config_names_the_problem_instead_of_a_type_error(inline_plugin, gan):
    inline_plugin(NamedPlugin(), "reserved")
    out = gan("config", "--plugin", "reserved")
    assert out.exit_code == 2
    assert "option named 'name'" in out.output and "multiple values" not in out.output
