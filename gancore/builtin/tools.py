"""Builtin plugin ``tools``: everyday commands.

Commands: ``gan new-plugin NAME`` (a plugin distribution that works at once),
``gan runs [DIR]`` (the runs under a folder) and ``gan report RUN`` (one HTML
page with curves, sample grids, the config and timings). Both read
``RUN/run.json``, which the core keeps (``gancore.runs``: status, steps, wall and
CPU time of each session), and ``metrics.jsonl``; a folder whose files are
damaged is listed as damaged, its unreadable lines counted.

Nothing heavy is imported here: the commands import what they need when run.
"""

from __future__ import annotations

import json

import click

from gancore import hookimpl


@hookimpl
def gan_register_commands(cli):
    cli.add_command(new_plugin)
    cli.add_command(runs_command)
    cli.add_command(report_command)


@click.command(name="new-plugin")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False), help="where to write it (default: ./NAME)")
@click.option("--force", is_flag=True, help="write into a folder that is not empty")
def new_plugin(name, directory, force):
    """Write a complete plugin distribution gan-NAME: pyproject, package, example, tests, README.

    Then: pip install -e DIR && pytest DIR && gan run --plugin NAME --steps 20"""
    from gancore.scaffold import names, write_plugin

    folder, written = write_plugin(name, directory, force=force)
    n = names(name)
    click.echo(f"wrote {n['dist']} ({len(written)} files) to {folder}/")
    for path in written:
        click.echo(f"  {path.relative_to(folder)}")
    click.echo("next:")
    click.echo(f"  pip install -e {folder}")
    click.echo(f"  pytest {folder}")
    click.echo(f"  gan run --plugin {name} --steps 20")
    click.echo("guide: docs/writing-plugins.md in gancore")


@click.command(name="runs")
@click.argument("directory", required=False, default="runs", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def runs_command(directory, as_json):
    """List the runs under DIRECTORY (default runs/): plugin, data, steps done/planned, status, size, last metrics."""
    from pathlib import Path

    from gancore import UserError, runs

    root = Path(directory)
    if not root.is_dir():
        raise UserError(f"'{directory}' is not a folder; give the folder that holds your runs (default runs/)")
    summaries = [runs.summarize(path, root) for path in runs.find_runs(root)]
    if as_json:
        click.echo(json.dumps([s.as_json() for s in summaries], indent=2))
        return
    if not summaries:
        click.echo(f"no runs under {directory}/")
        return
    click.echo(runs.format_table(summaries))


@click.command(name="report")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="where to write the page (default RUN/report.html)")
@click.option("--max-grids", type=click.IntRange(min=1), default=12, show_default=True, help="sample grids shown, spread over the run")
def report_command(run_dir, output, max_grids):
    """Write RUN/report.html: loss and metric curves, sample grids over time, the config and timings, in one file."""
    from pathlib import Path

    from gancore.report import write_report

    path = write_report(Path(run_dir), Path(output) if output else None, max_grids=max_grids)
    click.echo(f"wrote {path}")
