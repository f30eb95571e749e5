"""`gan --help` and `gan --version` load every plugin but import no torch (measured in benchmarks/startup.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
sys.argv = ["gan", *sys.argv[1:]]
from gancore.cli import main
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in ("torch", "accelerate", "numpy") if m in sys.modules)
print("IMPORTED:" + ",".join(heavy))
"""


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_listing_commands_imports_no_torch(argv):
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    imported = out.stdout.strip().splitlines()[-1].removeprefix("IMPORTED:")
    assert "torch" not in imported.split(","), f"gan {' '.join(argv)} imported torch"
    if argv == ["--help"]:
        # Every installed family's commands are listed, without loading them.
        for command in ("bgan", "cyclegan", "egan", "progressive", "train-features", "new-plugin"):
            assert f"  {command} " in out.stdout


def test_a_lazy_command_runs_and_shows_its_own_help(gan):
    result = gan("bgan", "quantize", "--help")
    assert result.exit_code == 0 and "Usage: gan bgan quantize" in result.output


def test_a_lazy_command_with_a_bad_target_is_a_clear_error():
    import click

    from gancore import LazyCommand, UserError

    group = click.Group("gan")
    group.add_command(LazyCommand("broken", "gancore.no_such_module:add_commands", "a command that cannot load"))
    ctx = click.Context(group)
    assert group.get_command(ctx, "broken").get_short_help_str() == "a command that cannot load"
    with pytest.raises(UserError, match="the command 'gan broken' could not be loaded from gancore.no_such_module:add_commands"):
        group.get_command(ctx, "broken").make_context("broken", [])
