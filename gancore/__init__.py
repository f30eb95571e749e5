"""gancore: train generative adversarial networks with plugins.

Public API for plugin authors::

    from gancore import hookimpl, Algorithm, Model, Loss, Dataset, Metric, GANAlgorithm, StrictModel
"""

import pluggy

hookimpl = pluggy.HookimplMarker("gancore")

from .algorithm import GANAlgorithm, TrainContext  # noqa: E402
from .config import EvalConfig, RunConfig, TrainConfig  # noqa: E402
from .data import TensorData  # noqa: E402
from .errors import UserError  # noqa: E402
from .registry import (  # noqa: E402
    Algorithm,
    Dataset,
    DatasetRef,
    Loss,
    LossRef,
    Metric,
    MetricRef,
    Model,
    ModelRef,
    StrictModel,
)

__version__ = "0.1.0"

__all__ = [
    "Algorithm",
    "Dataset",
    "DatasetRef",
    "EvalConfig",
    "GANAlgorithm",
    "Loss",
    "LossRef",
    "Metric",
    "MetricRef",
    "Model",
    "ModelRef",
    "RunConfig",
    "StrictModel",
    "TensorData",
    "TrainConfig",
    "TrainContext",
    "UserError",
    "hookimpl",
]
