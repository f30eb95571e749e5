"""What a metric gets: a way to draw generated samples, and the real data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from ..data import TensorData


@dataclass
class EvalContext:
    """Handed to every metric.

    :param generate: ``generate(n)`` returns ``n`` generated samples in data space, on the CPU.
    :param data: the real training data.
    :param algorithm: the trained ``GANAlgorithm`` (for metrics that need more than samples,
        e.g. a classifier head or an encoder).
    :param accelerator: the Accelerate accelerator (for metrics that gather across processes).
    """

    generate: Callable[[int], torch.Tensor]
    data: TensorData
    algorithm: Any = None
    accelerator: Any = None


def evaluate(metrics: list[tuple[str, Callable]], ctx: EvalContext) -> dict[str, float]:
    """Run each metric and key its values ``<metric>/<value>``."""
    results: dict[str, float] = {}
    for name, metric in metrics:
        for key, value in metric(ctx).items():
            results[f"{name}/{key}"] = float(value)
    return results
