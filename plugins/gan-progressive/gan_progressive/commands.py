"""``gan progressive schedule``: which trainer steps each stage and phase of a run file take."""

from __future__ import annotations

import click

from .schedule import Schedule, resolution, stage_of


def phases(schedule: Schedule, batch, total_steps: int) -> list[dict]:
    """The phases of ``schedule`` (first and last step, images shown at their start), cut at ``total_steps``."""
    rows, shown, step = [], 0, 0
    while step < total_steps:
        point = schedule.at(shown)
        if not rows or rows[-1]["phase"] != point.phase:
            rows.append({"phase": point.phase, "stage": point.stage, "resolution": point.resolution,
                         "what": "fade-in" if point.fading else "stable", "batch": batch(point.resolution),
                         "first_step": step + 1, "images": shown})  # fmt: skip
        shown += batch(point.resolution)
        step += 1
        rows[-1]["last_step"] = step
    return rows


def add_commands(cli: click.Group) -> None:
    @cli.group()
    def progressive():
        """Progressive GAN tools."""

    @progressive.command()
    @click.argument("config_file", required=False, type=click.Path(dir_okay=False))
    @click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="override a config value, e.g. algorithm.fade_in_images=1000")
    @click.option("--num-processes", type=click.IntRange(min=1), default=1, show_default=True, help="processes the run will use (images per step = batch x processes)")
    def schedule(config_file, overrides, num_processes):
        """Print the stages and phases of a run: resolution, batch size, first and last trainer step."""
        from gancore.config import build_run_config, load_yaml
        from gancore.errors import UserError
        from gancore.plugins import get_host

        registry = get_host().registry
        config = build_run_config(registry, "progressive" if config_file is None else None, load_yaml(config_file) if config_file else None, list(overrides))
        if config.algorithm.name != "progressive":
            raise UserError(f"the run file trains '{config.algorithm.name}', not progressive")
        algorithm = registry.validate(config.algorithm, "algorithm")
        side = _image_side(registry, config.data)
        last = stage_of(side)
        if last is None:
            raise UserError(f"the data's images are {side} pixels wide; progressive needs 4 times a power of two (pad or resize them)")
        plan = Schedule(stage_of(algorithm.start_resolution), last, algorithm.fade_in_images, algorithm.stabilize_images)

        def batch(res: int) -> int:
            return algorithm.batch_sizes.get(res, config.train.batch_size) * num_processes

        click.echo(f"{'stage':>5} {'res':>5} {'phase':<8} {'batch':>6} {'steps':>15} {'kimg at start':>14}")
        for row in phases(plan, batch, config.train.steps):
            steps = f"{row['first_step']}-{row['last_step']}"
            click.echo(f"{row['stage']:>5} {row['resolution']:>5} {row['what']:<8} {row['batch']:>6} {steps:>15} {row['images'] / 1000:>14.1f}")
        if plan.at(plan.stage_end(last) - 1).stage < last or plan.steps_until(plan.stage_end(last), batch) > config.train.steps:
            click.echo(f"note: train.steps={config.train.steps} ends before the {resolution(last)}x{resolution(last)} stage has stabilised "
                       f"({plan.steps_until(plan.stage_end(last), batch)} steps would)")  # fmt: skip


def _image_side(registry, data_ref) -> int:
    """The side of the run's images: from the data options when they fix it (no files needed), else from the data."""
    options = registry.validate(data_ref, "data")
    size = getattr(options, "image_size", None)
    if size:
        return size + 2 * getattr(options, "pad", 0)
    return registry.build(data_ref, "data").sample_shape[-1]
