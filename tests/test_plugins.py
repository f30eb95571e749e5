"""Discovery through real entry points, broken-plugin isolation, duplicates, allow/deny lists."""

from __future__ import annotations

import json

import pytest

from gancore import Dataset, Model, TensorData, hookimpl
from gancore.plugins import get_host
from gancore.testing import check_plugin

from .conftest import run_gan_subprocess


def test_plugin_is_discovered_through_its_entry_point(testplugin_path):
    out = run_gan_subprocess("plugins", "--json", env={"PYTHONPATH": testplugin_path})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    found = {p["name"]: p for p in report["plugins"]}
    assert found["testplug"]["distribution"] == "gan-testplugin"
    assert found["testplug"]["version"] == "0.0.1"
    assert found["testplug"]["registered"] == {"datasets": ["test-line"], "metrics": ["test-moments"]}
    assert "gan_register_commands" in found["testplug"]["hooks"]
    assert {"gan", "datasets", "metrics"} <= set(found)


def test_broken_plugins_are_reported_and_isolated(testplugin_path):
    env = {"PYTHONPATH": testplugin_path}
    report = json.loads(run_gan_subprocess("plugins", "--json", env=env).stdout)
    broken = {b["name"]: b for b in report["broken"]}
    assert "ImportError" in broken["testbroken"]["error"] and broken["testbroken"]["distribution"] == "gan-testplugin"
    assert "gan_register_models raised RuntimeError: badhook cannot build its models" in broken["testbadhook"]["error"]

    # Everything else keeps working: listing, a plugin command, and a run that does not need them.
    assert "test-line" in run_gan_subprocess("list", "datasets", env=env).stdout
    assert "hello from testplug" in run_gan_subprocess("testplug-hello", env=env).stdout
    text = run_gan_subprocess("plugins", env=env).stdout
    assert "BROKEN testbroken" in text and "BROKEN testbadhook" in text

    # Asking for the broken one is a clear error, exit 2, no traceback.
    out = run_gan_subprocess("run", "--plugin", "testbroken", env=env)
    assert out.returncode == 2
    assert "plugin 'testbroken' (distribution gan-testplugin 0.0.1) is installed but failed to load" in out.stderr
    assert "Traceback" not in out.stderr


def test_disable_and_allow_lists(testplugin_path):
    env = {"PYTHONPATH": testplugin_path, "GANCORE_DISABLE_PLUGINS": "testbroken,testbadhook"}
    report = json.loads(run_gan_subprocess("plugins", "--json", env=env).stdout)
    assert report["broken"] == [] and "testplug" in {p["name"] for p in report["plugins"]}

    env = {"PYTHONPATH": testplugin_path, "GANCORE_LOAD_PLUGINS": "testplug"}
    report = json.loads(run_gan_subprocess("plugins", "--json", env=env).stdout)
    names = {p["name"] for p in report["plugins"]}
    assert "testplug" in names and report["broken"] == []
    assert {"gan", "datasets", "metrics"} <= names, "builtins are not subject to the allow-list"


def test_disabled_plugin_error_says_so(monkeypatch, gan):
    monkeypatch.setenv("GANCORE_DISABLE_PLUGINS", "gan")
    out = gan("run", "--plugin", "gan")
    assert out.exit_code == 2
    assert "unknown plugin 'gan' (it is disabled by GANCORE_DISABLE_PLUGINS)" in out.output


def test_duplicate_entry_names_both_plugins(inline_plugin, gan):
    class Twin:
        @hookimpl
        def gan_register_datasets(self, register):
            register(Dataset("ring", lambda cfg: TensorData({"x": None}, "points")))

    inline_plugin(Twin(), "twin")
    expected = "dataset 'ring' is registered twice: by plugin 'datasets' and by plugin 'twin'"
    assert get_host().registry.get("dataset", "ring").plugin == "datasets", "the first registration stays"
    assert "twin" not in get_host().broken, "only the clashing entry is refused (issue 10, item 12)"
    assert expected in get_host().clashes[0].message()
    assert f"CLASH {expected}" in gan("plugins").output


def test_unknown_plugin_suggests_a_name(gan):
    out = gan("run", "--plugin", "gam")
    assert out.exit_code == 2
    assert "unknown plugin 'gam'; installed: " in out.output
    assert all(name in out.output for name in ("datasets", "gan", "metrics"))
    assert out.output.rstrip().endswith("did you mean 'gan'?")


@pytest.mark.parametrize("name", ["gan", "datasets", "metrics"])
def test_builtin_plugins_pass_the_conformance_check(name):
    check_plugin(name)


def test_the_conformance_check_catches_an_undocumented_option(inline_plugin):
    from pydantic import BaseModel

    class Options(BaseModel):
        width: int = 4  # no description: `gan config` would show nothing for it

    class Undocumented:
        @hookimpl
        def gan_register_models(self, register):
            register(Model(name="bare-net", factory=lambda config, **_: None, config=Options, description="a network"))

    inline_plugin(Undocumented(), "undocumented")
    with pytest.raises(AssertionError, match="option width of model 'bare-net' has no description"):
        check_plugin("undocumented")


class _RaisesInRegistry:
    @hookimpl
    def gan_register_models(self, register):
        raise RuntimeError("no luck today")


class _RaisesInCommands:
    @hookimpl
    def gan_register_commands(self, cli):
        raise RuntimeError("no luck today")


@pytest.mark.parametrize("plugin,hook", [(_RaisesInRegistry, "gan_register_models"), (_RaisesInCommands, "gan_register_commands")])
def test_a_raising_hook_marks_its_plugin_broken_with_its_traceback(inline_plugin, plugin, hook):
    import click

    inline_plugin(plugin(), "raising")
    host = get_host()
    host.registry
    host.register_commands(click.Group())
    bad = host.broken["raising"]
    assert "raising" not in host.info
    assert bad.error == f"{hook} raised RuntimeError: no luck today"
    assert (bad.distribution, bad.version) == ("<in-process>", "")
    assert "no luck today" in bad.details and "Traceback" in bad.details
