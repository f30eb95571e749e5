"""Bad input is one clear paragraph and exit status 2; the schedule command shows the phases."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gan_progressive import plugin
from gancore.cli import GanGroup


@pytest.mark.parametrize(
    "sets,expected",
    [
        (["data.name=ring"], "image dataset"),
        (["data.name=digits", "data.image_size=12"], "data.pad=2"),
        (["algorithm.start_resolution=16"], "start_resolution"),
        (["algorithm.start_resolution=12"], "power of two"),
        (["algorithm.batch_sizes={6: 8}"], "resolutions 4, 8, 16"),
    ],
    ids=["points", "side-not-4-times-a-power-of-two", "start-above-data", "start-not-power", "bad-batch-key"],
)
def test_bad_input_is_a_user_error(gan, write_config, tiny_digits, tmp_path, sets, expected):
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r", *[x for s in sets for x in ("--set", s)])
    assert out.exit_code == 2, out.output
    assert expected in out.output and "Traceback" not in out.output


def _plugin_cli():
    group = GanGroup()
    plugin.gan_register_commands(group)
    return group


def test_schedule_command_prints_every_phase(write_config, tiny_digits):
    tiny_digits["algorithm"]["batch_sizes"] = {4: 8}
    out = CliRunner().invoke(_plugin_cli(), ["progressive", "schedule", str(write_config(tiny_digits))])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[1].split() == ["0", "4", "stable", "8", "1-8", "0.0"]
    assert lines[2].split() == ["1", "8", "fade-in", "16", "9-12", "0.1"]
    assert len(lines) == 4, "12 steps end with the fade-in: no stable phase yet, and a note"
    assert "ends before the 8x8 stage has stabilised (16 steps would)" in out.output


def test_schedule_command_on_data_it_cannot_grow_is_a_user_error(write_config, tiny_digits):
    tiny_digits["data"]["image_size"] = 12
    out = CliRunner().invoke(_plugin_cli(), ["progressive", "schedule", str(write_config(tiny_digits))])
    assert out.exit_code == 2 and "4 times a power of two" in out.output
