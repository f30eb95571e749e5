"""``GANAlgorithm``: the contract a GAN family implements.

A ``Run`` (``gancore.run``) owns the accelerator, seeding, the data streams, the EMA, sample
grids, metrics and checkpoints; ``gancore.trainer.fit`` drives the loop. The algorithm owns its
networks and optimizers, decides what one step does, and declares what its checkpoint holds.
A family implements::

    class MyGAN(GANAlgorithm):
        def __init__(self, config, ctx):            # build nets + optimizers through ctx, declare state
        def train_step(self, batch, step) -> dict:  # one step; returns scalars to log
        def sample(self, n, *, seed=None):          # n samples in data space
                                                    # (a conditional family: sample(n, *, seed=None, labels=None))

and, when it has them, the optional capabilities below (``classify``, ``encode``, ``translate``,
``preview``), ``batch_size(step)``, ``accelerator_options(config)`` and ``finish(run, status)``.
``ctx`` is a ``TrainContext`` (``gancore.train_context``): building, updating, freezing, snapshots.

**One step.** ``fit`` draws ``batch = ctx.next_batch(size=self.batch_size(step))`` from the data's
default stream, calls ``train_step(batch, step)`` (``step`` is 1-based), then updates the EMA of
``ema_modules()``, logs, samples, evaluates and checkpoints on their cadences. ``train_step`` makes no
host sync: its tensors stay on the device (no ``.item()``, ``.cpu()``, ``.tolist()`` and no Python
``if`` on a tensor's value), and logged values are returned as tensors, which ``fit`` averages once
per ``log_every`` steps.

**Names.** A family with one discriminator and one generator logs ``loss_d`` and ``loss_g`` (the
losses each network's optimizer minimised) and calls its optimizers ``opt_d`` and ``opt_g``. With
more, the sums keep those names and each part gets a suffix: two discriminators updated together log
``loss_d`` (their sum) with ``loss_d_a`` and ``loss_d_b``. So a hook that watches ``loss_d`` works
for every family. Other logged values are named for what they are (``wasserstein``, ``grad_norm``).

**Data streams.** ``ctx.data.streams`` names groups of tensors that are read together, each in its
own seeded order and with its own position, which the checkpoint keeps, so every stream resumes
exactly. ``ctx.next_batch(size=None, stream=None)`` draws this process's share of the next batch of a
stream (default size ``train.batch_size``, default stream the first one). An ordinary dataset has one
stream ``"x"`` with tensors ``x`` (and ``y`` for labelled data); the builtin ``unpaired`` dataset has
``"a"`` (``x``, ``y``) and ``"b"`` (``x_b``, ``y_b``); a plugin's dataset or transform may add more.

**Shapes of families this contract carries, with no change in the core:**

* *several discriminator steps per generator step*: ``train_step`` runs them, each on one more real
  batch from ``ctx.next_batch()``, then one generator update.
* *two domains*: the batch is domain A; ``ctx.next_batch(stream="b")`` gives domain B. ``translate``
  and ``preview`` serve the metrics, the sample grids and commands.
* *a network that grows*: ``batch_size(step)`` gives the stage's batch size; the networks grow in
  place, or are rebuilt with ``ctx.prepare`` and the old ones given to ``ctx.release``. The EMA
  follows ``ema_modules()`` as it is now. ``load_state_dict`` grows to the saved stage first.
* *a population of generators*: children are tried on one prepared generator with
  ``ctx.snapshot(obj)`` / ``ctx.restore(obj, snap)``; the parents are lists of plain state dicts.
* *a discriminator that is also a classifier, an encoder*: ``classify`` exposes the K-way head to
  ``classifier-accuracy``, ``encode`` the encoder to ``linear-probe``.

**State.** The checkpoint holds exactly what ``register_state(*names)`` declares: attributes that are
modules, optimizers, objects with ``state_dict``/``load_state_dict``, tensors, plain values (ints,
floats, bools, strings, None) or lists, tuples and dicts of those. A counter kept as a plain ``int``
is saved like a network. On resume, networks and optimizers load their state onto their own device; a tensor
comes back on the device of the tensor it replaces (else ``ctx.device``); any other object's ``load_state_dict``
gets its state on the CPU and moves what it needs. Declare everything a resumed run needs to continue bit for bit: an attribute
that changes during training but is not declared resumes wrongly, and ``gancore.testing.check_resume``
names it. Configuration made in ``__init__`` (the config, loss objects without state) is not declared.

**Latents.** ``self.noise(n, dim, seed=None, distribution="normal")`` draws latents on the device; with
a ``seed`` the same ones every time, without touching the global RNG. A family with structured latents
(a class, a code, several parts) draws each part with ``self.noise`` or its own seeded generator and
concatenates them. **Truncation** (BigGAN's trick) applies to latents drawn with ``self.noise``: inside
``algorithm.truncated(threshold)`` every value beyond the threshold is drawn again; a family that draws
its latents otherwise gets a clear error.

**Sampling.** ``sample(n, *, seed=None)`` returns ``n`` samples in data space, the same ones for the same
seed. It is called under ``torch.no_grad()``, with the EMA weights swapped in; use ``ctx.evaluating(g)``
for the generator in eval mode (batch norm with running statistics). **A conditional family** sets
``conditional_classes`` to its number of classes K and takes ``labels`` (a ``(n,)`` tensor of class
indices on the device) in ``sample(n, *, seed=None, labels=None)``; with ``labels=None`` it picks classes
at random. The core passes ``labels`` only to such a family (``draw_samples``).

**Learning-rate schedules** are functions of ``step`` (``gancore.schedules``). A torch scheduler must not
go through ``ctx.prepare``: Accelerate would step it once per process. Keep it as declared state and
call its ``step()`` once per ``train_step``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import torch
from pydantic import BaseModel
from torch import nn

from .errors import UserError

if TYPE_CHECKING:
    from .run import Run
    from .train_context import TrainContext

CAPABILITIES = ("classify", "encode", "translate", "preview")
# The Accelerator options the core sets itself; an algorithm's accelerator_options may not change them.
CORE_ACCELERATOR_OPTIONS = frozenset({"mixed_precision", "cpu", "log_with", "project_config", "project_dir", "dynamo_plugin", "dynamo_backend"})


class GANAlgorithm:
    """Base class for a GAN family. See the module docstring for the contract."""

    #: the number of classes ``sample(..., labels=...)`` takes; None: an unconditional family
    conditional_classes: int | None = None
    #: set by ``truncated``: latents from ``noise`` are resampled beyond this magnitude
    truncation: float | None = None

    def __init__(self, config: BaseModel, ctx: TrainContext) -> None:
        self.config = config
        self.ctx = ctx
        self._state: list[str] = []

    @classmethod
    def accelerator_options(cls, config: BaseModel) -> dict[str, Any]:
        """Keyword arguments for the ``accelerate.Accelerator`` of a run of this algorithm with options
        ``config``, which is built before the algorithm is: e.g. ``{"kwargs_handlers":
        [DistributedDataParallelKwargs(find_unused_parameters=True)]}`` for networks with parameters that
        some steps do not use. The core's own options (mixed precision, trackers...) cannot be set here."""
        return {}

    def register_state(self, *names: str) -> None:
        """Declare attributes that checkpoints hold (see the module docstring); call it in ``__init__``,
        before or after the attributes are set. A name declared twice counts once."""
        for name in names:
            if not isinstance(name, str) or not name.isidentifier():
                raise TypeError(f"register_state takes attribute names, got {name!r}")
            if name not in self._state:
                self._state.append(name)

    @property
    def state_names(self) -> tuple[str, ...]:
        """The declared state, in the order it was declared."""
        return tuple(self._state)

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor | float]:
        """Run one step on ``batch`` (a dict of tensors on the device); return scalars to log."""
        raise NotImplementedError

    def batch_size(self, step: int) -> int | None:
        """This process's size of the batch handed to ``train_step(batch, step)``; None: ``train.batch_size``.
        A growing network lowers it as the resolution rises."""
        return None

    def finish(self, run: Run, status: str) -> None:
        """Called once when training stops (``status``: completed, interrupted or failed), on every process,
        after the final checkpoint and before the ``gan_train_end`` hooks: write a family's own summary
        into ``run.run_dir`` (check ``run.is_main_process``), release resources."""

    @torch.no_grad()
    def sample(self, n: int, *, seed: int | None = None, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Return ``n`` generated samples in data space. With ``seed``, the same samples every call.
        A conditional family (``conditional_classes`` set) generates class ``labels[i]`` as sample i.

        The default draws from ``self.generator`` with ``config.latent_dim`` Gaussian latents."""
        generator, latent_dim = getattr(self, "generator", None), getattr(self.config, "latent_dim", None)
        if not isinstance(generator, nn.Module) or latent_dim is None:
            raise NotImplementedError(f"{type(self).__name__} must implement sample()")
        if labels is not None:
            raise NotImplementedError(f"{type(self).__name__} sets conditional_classes but does not implement sample(labels=...)")
        with self.ctx.evaluating(generator) as plain:
            return plain(self.noise(n, latent_dim, seed)).float()

    def ema_modules(self) -> dict[str, nn.Module]:
        """Networks the run keeps an EMA of (when ``train.ema_decay`` is set) and swaps in to sample.
        Asked at every step: return the networks as they are now (grown, rebuilt or replaced)."""
        generator = getattr(self, "generator", None)
        return {"generator": self.ctx.unwrap(generator)} if isinstance(generator, nn.Module) else {}

    # ------------------------------------------------- optional capabilities
    # Implement the ones a family has; ``has_capability(algorithm, name)`` tells which it has.
    # All are called under torch.no_grad(), with the EMA weights swapped in, on batches on ctx.device.

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(B, K)`` over the data's K classes for samples ``x`` in data space. Used by
        the ``classifier-accuracy`` metric."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Features or latents ``(B, D)`` of samples ``x`` in data space (an encoder). Used by the
        ``linear-probe`` metric."""
        raise NotImplementedError

    def translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        """``x`` from one domain carried into the other; ``direction`` is ``"a2b"`` or ``"b2a"``.
        Used by feature metrics with ``source: translate`` and by a family's commands."""
        raise NotImplementedError

    def preview(self, n: int, seed: int) -> list[torch.Tensor]:
        """Rows of images for the sample grid ``samples/step-N.png``, each ``(k, C, H, W)`` in data
        space (rows may differ in size; they are scaled to the largest), e.g. input | translated |
        reconstructed. ``n`` is ``train.sample_count``. Without it the grid shows ``sample(n, seed)``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The declared state, as tensors, numbers, strings, lists and dicts."""
        return {name: self._save(self._attribute(name), name) for name in self._state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put the declared state back; the checkpoint must hold exactly the declared names."""
        missing, unknown = [n for n in self._state if n not in state], [n for n in state if n not in self._state]
        if missing or unknown:
            parts = ([f"lacks {', '.join(missing)}"] if missing else []) + ([f"holds undeclared {', '.join(unknown)}"] if unknown else [])
            raise UserError(
                f"the checkpoint does not fit {type(self).__name__}: it {' and '.join(parts)} (declared: {', '.join(self._state) or 'nothing'}); "
                "it was written by another version of the family, or with other options"
            )
        for name in self._state:
            setattr(self, name, self._load(getattr(self, name, None), state[name], name))

    def _attribute(self, name: str) -> Any:
        if not hasattr(self, name):
            raise UserError(f"{type(self).__name__} declares state '{name}' (register_state) but has no attribute of that name")
        return getattr(self, name)

    def _save(self, value: Any, path: str) -> Any:
        if _is_stateful(value):
            return (self.ctx.unwrap(value) if isinstance(value, nn.Module) else value).state_dict()
        if isinstance(value, torch.Tensor) or _is_plain(value):
            return value
        if isinstance(value, (list, tuple)):
            return type(value)(self._save(v, f"{path}[{i}]") for i, v in enumerate(value))
        if isinstance(value, dict):
            return {k: self._save(v, f"{path}[{k!r}]") for k, v in value.items()}
        raise UserError(
            f"{type(self).__name__}.{path} is a {type(value).__name__}, which a checkpoint cannot hold, so the run "
            "could not be saved. Give it state_dict()/load_state_dict(), or keep tensors, numbers and strings in it."
        )

    def _load(self, current: Any, saved: Any, path: str) -> Any:
        if _is_stateful(current):
            (self.ctx.unwrap(current) if isinstance(current, nn.Module) else current).load_state_dict(saved)
            return current
        if isinstance(saved, torch.Tensor):
            device = current.device if isinstance(current, torch.Tensor) else self.ctx.device
            return saved.to(device)
        if isinstance(saved, (list, tuple)):
            if isinstance(current, (list, tuple)) and len(current) == len(saved):
                return type(saved)(self._load(c, s, f"{path}[{i}]") for i, (c, s) in enumerate(zip(current, saved)))
            if isinstance(current, (list, tuple)) and any(_is_stateful(c) for c in current):
                raise UserError(f"the checkpoint's {path} has {len(saved)} entries and this run's has {len(current)}: rebuild it in load_state_dict first")
            return type(saved)(self._load(None, s, f"{path}[{i}]") for i, s in enumerate(saved))
        if isinstance(saved, dict):
            current = current if isinstance(current, dict) else {}
            return {k: self._load(current.get(k), v, f"{path}[{k!r}]") for k, v in saved.items()}
        return saved

    # ---------------------------------------------------------------- latents

    def noise(self, n: int, dim: int, seed: int | None = None, distribution: Literal["normal", "uniform"] = "normal") -> torch.Tensor:
        """Latents on the device: standard normal, or uniform on [-1, 1]; seeded ones do not touch the global
        RNG. Inside ``truncated(t)``, values beyond ``t`` are drawn again (the same ones for the same seed)."""
        rng = None if seed is None else torch.Generator().manual_seed(seed)
        z = _draw((n, dim), distribution, rng, self.ctx.device if rng is None else None)
        if self.truncation is not None:
            from .nn.conditional import resample_beyond

            self._truncated_draws = getattr(self, "_truncated_draws", 0) + 1
            z = resample_beyond(z, self.truncation, lambda count: _draw((count,), distribution, rng, z.device if rng is None else None).to(z.device))
        return z.to(self.ctx.device)

    @contextmanager
    def truncated(self, threshold: float | None):
        """Latents from ``noise`` truncated at ``threshold`` inside the block (None: no truncation).

        :raises UserError: when the block sampled without ever drawing latents through ``noise``."""
        if threshold is None:
            yield
            return
        if not threshold > 0:  # NaN too: it would truncate nothing
            raise UserError(f"--truncation must be a positive threshold (BigGAN uses 0.04 to 2), got {threshold}")
        self.truncation, self._truncated_draws = float(threshold), 0
        try:
            yield
            if not self._truncated_draws:
                raise UserError(
                    f"truncation {threshold}: algorithm '{type(self).__name__}' drew no latents through GANAlgorithm.noise, "
                    "so there was nothing to truncate; drop the truncation, or draw the family's latents with self.noise"
                )
        finally:
            self.truncation = None


def _draw(shape: tuple[int, ...], distribution: str, generator: torch.Generator | None, device: torch.device | None) -> torch.Tensor:
    """Values of ``distribution`` from ``generator`` (on the CPU) or the global RNG of ``device``."""
    if distribution == "uniform":
        return torch.rand(shape, generator=generator, device=device) * 2 - 1
    if distribution != "normal":
        raise ValueError(f"unknown latent distribution {distribution!r}; normal or uniform")
    return torch.randn(shape, generator=generator, device=device)


def draw_samples(algorithm: GANAlgorithm, n: int, seed: int | None = None, *, labels: torch.Tensor | None = None,
                 truncation: float | None = None) -> torch.Tensor:
    """``algorithm.sample(n, seed=seed)``, with ``labels`` for a conditional family and latents truncated at
    ``truncation``; what runs, ``gan sample`` and the metrics call."""
    with algorithm.truncated(truncation):
        if labels is None:
            return algorithm.sample(n, seed=seed)
        check_labels(algorithm, labels)
        return algorithm.sample(n, seed=seed, labels=labels.to(algorithm.ctx.device))


def check_labels(algorithm: Any, labels: torch.Tensor | list[int]) -> None:
    """A ``UserError`` unless ``algorithm`` is conditional and every label is one of its classes."""
    classes = getattr(algorithm, "conditional_classes", None)
    name = type(algorithm).__name__
    if not classes:
        raise UserError(
            f"this run's algorithm ('{name}') is not class-conditional, so it cannot generate a chosen class. "
            "Drop --class/--classes, or train with a conditional algorithm (the gan family: algorithm.conditional: true)."
        )
    bad = sorted({int(c) for c in torch.as_tensor(labels).flatten().tolist() if not 0 <= int(c) < classes})
    if bad:
        raise UserError(f"class {', '.join(map(str, bad))} is out of range: this run has {classes} classes, 0 to {classes - 1}.")


def has_capability(algorithm: Any, name: str) -> bool:
    """Whether ``algorithm`` (an instance or a class) implements the optional method ``name`` (one of ``CAPABILITIES``)."""
    if name not in CAPABILITIES:
        raise ValueError(f"unknown capability {name!r}; one of {CAPABILITIES}")
    method = getattr(algorithm if isinstance(algorithm, type) else type(algorithm), name, None)
    return callable(method) and method is not getattr(GANAlgorithm, name)


def _is_stateful(value: Any) -> bool:
    return hasattr(value, "state_dict") and hasattr(value, "load_state_dict") and not isinstance(value, type)


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
