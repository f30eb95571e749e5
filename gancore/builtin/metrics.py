"""Builtin plugin ``metrics``."""

from gancore import hookimpl
from gancore.metrics import mode_coverage
from gancore.registry import Metric


@hookimpl
def gan_register_metrics(register):
    register(
        Metric(
            "mode-coverage",
            mode_coverage.ModeCoverage,
            mode_coverage.ModeCoverageConfig,
            "modes captured and % high-quality samples on ring/grid mixtures",
        )
    )


@hookimpl
def gan_register_commands(cli):
    from gancore.metrics import train_features

    train_features.add_command(cli)
