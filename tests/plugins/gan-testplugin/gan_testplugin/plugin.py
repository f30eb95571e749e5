"""A working plugin: one dataset and one command."""

import torch
from pydantic import Field

from gancore import Dataset, StrictModel, TensorData, hookimpl


class LineConfig(StrictModel):
    slope: float = Field(1.0, description="slope of the line")
    num_samples: int = Field(512, ge=1, description="points")


def line(config: LineConfig) -> TensorData:
    t = torch.linspace(-1, 1, config.num_samples).unsqueeze(1)
    return TensorData({"x": torch.cat([t, config.slope * t], dim=1)}, "points")


@hookimpl
def gan_register_datasets(register):
    register(Dataset("test-line", line, LineConfig, "points on a line (test plugin)"))


@hookimpl
def gan_register_commands(cli):
    @cli.command(name="testplug-hello")
    def hello():
        """Say hello (test plugin)."""
        print("hello from testplug")
