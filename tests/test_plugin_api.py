"""The plugin API version: a plugin written for another API is listed as incompatible, with both versions."""

from __future__ import annotations

import json
import types

import pytest

import gancore
from gancore import Algorithm, GANAlgorithm, hookimpl


def _plugin(api):
    module = types.ModuleType("gan_old.plugin")

    @hookimpl
    def gan_register_algorithms(register):
        register(Algorithm("old", GANAlgorithm, description="an old family", defaults={"data": {"name": "ring"}}))

    module.gan_register_algorithms = gan_register_algorithms
    if api is not None:
        module.gancore_api = api
    return module


def test_gancore_declares_its_plugin_api():
    assert isinstance(gancore.PLUGIN_API, int) and gancore.PLUGIN_API in gancore.SUPPORTED_PLUGIN_APIS


def test_an_incompatible_plugin_is_listed_with_both_versions_and_not_loaded(inline_plugin, gan):
    inline_plugin(_plugin(1), "old")
    out = gan("plugins", "--json")
    report = json.loads(out.output)
    (broken,) = [b for b in report["broken"] if b["name"] == "old"]
    assert broken["error"].startswith("IncompatiblePluginAPI: written for gancore plugin API 1")
    assert f"has plugin API {gancore.PLUGIN_API}" in broken["error"]
    assert "old" not in {p["name"] for p in report["plugins"]}
    listed = gan("plugins").output
    assert "BROKEN old" in listed and "plugin API 1" in listed
    ran = gan("run", "--plugin", "old", "--steps", "1")
    assert ran.exit_code == 2 and "plugin API 1" in ran.output


@pytest.mark.parametrize("api", [None, gancore.PLUGIN_API])
def test_a_plugin_for_this_api_or_with_no_declaration_loads(inline_plugin, gan, api):
    inline_plugin(_plugin(api), "old")
    report = json.loads(gan("plugins", "--json").output)
    assert "old" in {p["name"] for p in report["plugins"]} and not report["broken"]
