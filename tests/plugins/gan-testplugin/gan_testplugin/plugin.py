"""A working plugin: one dataset and one command."""

import torch
from pydantic import Field

from gancore import Dataset, StrictModel, TensorData, hookimpl


class LineConfig(StrictModel):
    slope: float = Field(1.0, description="slope of the line")
    num_samples: int = Field(512, ge=1, description="points")


def line(config: LineConfig, ctx) -> TensorData:
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


class Moments:
    """Mean and spread of all generated samples, and a sum computed from each process's share."""

    def __init__(self, config, ctx):
        self.config = config

    def __call__(self, ctx):
        everything = ctx.generate_all(self.config.num_samples)
        local_sum = ctx.generate(self.config.num_samples).double().sum()
        shared_sum = sum(part.double().sum() for part in ctx.gather_per_process(local_sum.reshape(1)))
        return {"mean": everything.mean().item(), "std": everything.std().item(), "first": everything[0, 0].item(),
                "sum": float(shared_sum), "processes": ctx.num_processes}


class MomentsConfig(StrictModel):
    num_samples: int = Field(1200, ge=1, description="samples")


@hookimpl
def gan_register_metrics(register):
    from gancore import Metric

    register(Metric("test-moments", Moments, MomentsConfig, "moments of generated samples (test plugin)"))


@hookimpl
def gan_train_end(run, step, status):
    """With GAN_TESTPLUGIN_DUMP set, every process writes its generator's weights (multi-process tests)."""
    import os

    if os.environ.get("GAN_TESTPLUGIN_DUMP"):
        from safetensors.torch import save_file

        generator = run.accelerator.unwrap_model(run.algorithm.generator)
        state = {k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}
        save_file(state, str(run.run_dir / f"generator-rank{run.accelerator.process_index}.safetensors"))
