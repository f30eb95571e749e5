"""What gancore asks of HuggingFace Accelerate, in one place.

Everything else in gancore uses Accelerate's public API. Two things here go further, because the
public API has no way to do them; each is pinned by ``tests/test_accelerate_adapter.py``, which
fails when the Accelerate release in use behaves otherwise, so an upgrade that breaks them is seen
at once:

* ``release``: Accelerate keeps every prepared model and optimizer in private lists (``_models``,
  ``_optimizers``, ``_schedulers``) for ``save_state`` and ``free_memory``. A family that replaces a
  network (a growing network rebuilt at a new size) must let it go, or the old one is kept alive and
  synchronised; ``free_memory`` would drop every object, the live ones too.
* ``bare_optimizer``: Accelerate's optimizer wrapper costs a step a few hundred microseconds (its
  ``zero_grad`` inspects the optimizer's signature and its ``step`` looks for an optional package on
  sys.path at every call, and ``Accelerator.backward`` divides the loss by 1), which small networks
  feel. When the wrapper would add nothing (no gradient scaler, no DeepSpeed, Megatron or XLA, no
  gradient accumulation, gradients in sync), ``TrainContext.update`` calls the torch optimizer it
  wraps (its public ``optimizer`` attribute) directly, with the same result bit for bit.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch

PRIVATE_LISTS = ("_models", "_optimizers", "_schedulers")


def build_accelerator(train, run_dir: Path | None, trackers: list[str], options: dict[str, Any]):
    """The Accelerator of a run: mixed precision, CPU or device, trackers writing under ``run_dir``,
    torch.compile, and the algorithm's own ``options`` (``GANAlgorithm.accelerator_options``)."""
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration, TorchDynamoPlugin

    project = None
    if run_dir is not None:
        # TensorBoard writes to RUN/tensorboard/<project>, the project being "gancore" (init_trackers).
        project = ProjectConfiguration(project_dir=str(run_dir), logging_dir=str(Path(run_dir) / "tensorboard"))
    compile_mode = train.compile if isinstance(train.compile, str) else None
    return Accelerator(
        mixed_precision=train.mixed_precision,
        # Accelerate sets up multi-process CPU runs (gloo) only when told it is on the CPU.
        cpu=train.cpu or not has_accelerator(),
        log_with=trackers or None,
        project_config=project,
        dynamo_plugin=TorchDynamoPlugin(backend="inductor", mode=compile_mode) if train.compile else None,
        **options,
    )


def has_accelerator() -> bool:
    xpu = getattr(torch, "xpu", None)
    return torch.cuda.is_available() or torch.backends.mps.is_available() or bool(xpu and xpu.is_available())


def release(accelerator, objects: tuple[Any, ...]) -> None:
    """Make Accelerate forget prepared modules or optimizers that were replaced (see the module docstring)."""
    for attribute in PRIVATE_LISTS:
        kept = [o for o in getattr(accelerator, attribute, []) if not any(o is x for x in objects)]
        setattr(accelerator, attribute, kept)


def bare_optimizer(accelerator, optimizer: Any) -> torch.optim.Optimizer | None:
    """The torch optimizer inside Accelerate's wrapper when the wrapper adds nothing to an update (see the
    module docstring); None when it does, or when ``optimizer`` is not wrapped."""
    wrapper, engines = _accelerate_types()
    if not isinstance(optimizer, wrapper):
        return None
    if accelerator.scaler is not None or accelerator.gradient_accumulation_steps != 1 or not accelerator.sync_gradients:
        return None
    if accelerator.distributed_type in engines:
        return None
    return optimizer.optimizer


@functools.cache
def _accelerate_types() -> tuple[type, tuple]:
    """Accelerate's optimizer wrapper and the engines that do their own backward and step (imported on first use)."""
    from accelerate.optimizer import AcceleratedOptimizer
    from accelerate.utils import DistributedType

    return AcceleratedOptimizer, (DistributedType.DEEPSPEED, DistributedType.MEGATRON_LM, DistributedType.XLA)
