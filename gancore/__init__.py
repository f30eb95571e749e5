"""gancore: train generative adversarial networks with plugins.

Everything a plugin needs is importable from here (``docs/writing-plugins.md``
walks through each)::

    from gancore import hookimpl, PLUGIN_API                          # the hooks, the contract's version
    from gancore import Algorithm, Model, Loss, Dataset, Metric       # what register(...) takes
    from gancore import FeatureNetwork, Transform                     # ... feature networks, data transforms
    from gancore import StrictModel, ModelRef, LossRef, DatasetRef    # configs, and fields that pick entries
    from gancore import GANAlgorithm, TrainContext, has_capability    # the algorithm contract
    from gancore import AdversarialLoss, Regularizer, REAL_LOGITS, REGULARIZER  # the loss contract
    from gancore import TensorData, LoaderData, ImageTransform        # datasets and transforms
    from gancore import BuildContext, EvalContext                     # what dataset and metric factories get
    from gancore import linear_decay, set_lr, UserError               # schedules, errors users read
    from gancore import Run, fit                                      # a run (what lifecycle hooks get), the loop
    from gancore import LazyCommand                                   # a command imported when it runs

Names are imported on first use, so ``import gancore`` (and ``gan --help``)
does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import pluggy

hookimpl = pluggy.HookimplMarker("gancore")

__version__ = "0.1.0"

#: The version of the plugin contract (hooks, entries, ``GANAlgorithm``, the loss contract) this
#: gancore provides. It grows when the contract changes in a way that breaks plugins. A plugin says
#: which version it was written for with ``gancore_api = N`` in its plugin module.
PLUGIN_API = 3
#: Plugin API versions this gancore loads; a plugin declaring another is listed as incompatible.
SUPPORTED_PLUGIN_APIS = frozenset({3})

# name -> module it lives in (imported on first use)
_EXPORTS = {
    "GANAlgorithm": "algorithm",
    "TrainContext": "train_context",
    "has_capability": "algorithm",
    "CAPABILITIES": "algorithm",
    "LazyCommand": "commands",
    "BuildContext": "registry",
    "FeatureNetwork": "registry",
    "Transform": "registry",
    "TransformRef": "registry",
    "ImageTransform": "data.transforms",
    "Run": "run",
    "fit": "trainer",
    "EvalConfig": "config",
    "RunConfig": "config",
    "TrainConfig": "config",
    "TensorData": "data",
    "LoaderData": "data",
    "UserError": "errors",
    "AdversarialLoss": "losses",
    "Regularizer": "losses",
    "REAL_LOGITS": "losses",
    "REGULARIZER": "losses",
    "EvalContext": "metrics",
    "Algorithm": "registry",
    "Dataset": "registry",
    "DatasetRef": "registry",
    "Loss": "registry",
    "LossRef": "registry",
    "Metric": "registry",
    "MetricRef": "registry",
    "Model": "registry",
    "ModelRef": "registry",
    "NoOptions": "registry",
    "StrictModel": "registry",
    "linear_decay": "schedules",
    "set_lr": "schedules",
}

__all__ = sorted([*_EXPORTS, "PLUGIN_API", "SUPPORTED_PLUGIN_APIS", "hookimpl", "__version__"])

if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from .algorithm import CAPABILITIES, GANAlgorithm, has_capability
    from .commands import LazyCommand
    from .data.transforms import ImageTransform
    from .config import EvalConfig, RunConfig, TrainConfig
    from .data import LoaderData, TensorData
    from .errors import UserError
    from .losses import REAL_LOGITS, REGULARIZER, AdversarialLoss, Regularizer
    from .metrics import EvalContext
    from .registry import (
        Algorithm,
        BuildContext,
        Dataset,
        DatasetRef,
        FeatureNetwork,
        Loss,
        LossRef,
        Metric,
        MetricRef,
        Model,
        ModelRef,
        NoOptions,
        StrictModel,
        Transform,
        TransformRef,
    )
    from .run import Run
    from .schedules import linear_decay, set_lr
    from .train_context import TrainContext
    from .trainer import fit


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value
    try:  # gancore.config, gancore.losses...: submodules are attributes once imported
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module 'gancore' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
