"""``GANAlgorithm``: the contract a GAN family implements.

The trainer owns the loop, devices, seeding, data streams, logging, sampling
grids, evaluation, the EMA and checkpoints. The algorithm owns its networks and
optimizers and decides what one step does. A family implements::

    class MyGAN(GANAlgorithm):
        def __init__(self, config, ctx):            # build nets + optimizers through ctx
        def train_step(self, batch, step) -> dict:  # one step; returns scalars to log
        def sample(self, n, *, seed=None):          # n samples in data space
                                                    # (a conditional family: sample(n, *, seed=None, labels=None))

and, when it has them, the optional capabilities below (``classify``,
``encode``, ``translate``, ``preview``) and ``batch_size(step)``. ``ctx`` is a
``TrainContext`` (``gancore.train_context``): building, updating, freezing, snapshots.

**One trainer step.** The trainer draws ``batch = ctx.next_batch(size=self.batch_size(step))``
from the data's default stream, calls ``train_step(batch, step)`` (``step`` is
1-based), then updates the EMA of ``ema_modules()``, logs, samples, evaluates
and checkpoints on their cadences.

**Data streams.** ``ctx.data.streams`` names groups of tensors that are read
together, each in its own seeded order and with its own position, which the
checkpoint keeps, so every stream resumes exactly. ``ctx.next_batch(size=None,
stream=None)`` draws this process's share of the next batch of a stream (default
size ``train.batch_size``, default stream the first one). What the builtin
datasets give:

* an ordinary dataset: one stream ``"x"`` with tensors ``x`` (and ``y`` for labelled data);
* ``unpaired`` (two domains): ``"a"`` with ``x``/``y`` and ``"b"`` with ``x_b``/``y_b``;
* any image dataset with ``labels_per_class: K``: ``"x"`` with ``x`` only (the whole
  split, with no labels unless ``unlabeled_labels: true``) and ``"labeled"`` with
  ``x_labeled``/``y_labeled`` (K samples of each class).

**How the families in DESIGN.md fit:**

* *n critic steps (WGAN)*: ``train_step`` runs its critic updates, each on one more
  real batch from ``ctx.next_batch()``, then one generator update.
* *two domains (CycleGAN)*: the batch is domain A (``batch["x"]``); ``ctx.next_batch(stream="b")``
  gives domain B. Two generators, two discriminators and two image pools are
  attributes (the pools as objects with ``state_dict``, or lists of tensors); the
  learning rate follows ``gancore.schedules.linear_decay``. ``translate`` and
  ``preview`` serve the metrics, the sample grids and commands.
* *a network that grows (Progressive GAN)*: ``batch_size(step)`` gives the stage's
  batch size; at a stage change ``train_step`` grows its networks (in place, or
  rebuilt with ``ctx.prepare`` and the old ones given to ``ctx.release``). The EMA
  follows ``ema_modules()`` as it is now. ``load_state_dict`` grows to the saved
  stage, then calls ``super().load_state_dict``.
* *a population (E-GAN)*: children are tried on one prepared generator with
  ``ctx.snapshot(obj)`` / ``ctx.restore(obj, snap)``; parents are kept as lists of
  plain state dicts, which the default ``state_dict`` saves.
* *a discriminator that is also a classifier (SGAN, Improved-GAN)*: unlabelled batches
  come from the default stream, labelled ones from ``ctx.next_batch(size=L, stream="labeled")``;
  ``classify`` exposes the K-way head to ``classifier-accuracy``; an encoder (BiGAN)
  is exposed by ``encode`` to ``linear-probe``.

**State.** The default ``state_dict`` saves every attribute that is a module, an
optimizer, a scheduler or any object with ``state_dict``/``load_state_dict``, a
tensor, or a list, tuple or dict of those (nested, and mixed with numbers,
strings and None). A container holding anything else makes the checkpoint fail
with an error that names it; name attributes that are not state in ``transient``.
Other plain attributes (numbers, strings, the config, loss objects) are taken to
be configuration made in ``__init__`` and are not saved: keep a counter in a
tensor or a dict, or override ``state_dict``/``load_state_dict`` and call ``super()``.

**Conditional generation.** A family that generates a chosen class sets ``conditional_classes``
to its number of classes K and takes ``labels`` (a ``(n,)`` tensor of class indices) in
``sample(n, *, seed=None, labels=None)``; with ``labels=None`` it picks classes at random. The
core passes ``labels`` only to such a family (``draw_samples``), so families without classes keep
``sample(n, *, seed=None)``. **Truncation** (BigGAN's trick) applies to latents drawn with
``self.noise``: inside ``algorithm.truncated(threshold)`` every value beyond the threshold is
drawn again; a family that draws its latents otherwise gets a clear error.

**Learning-rate schedules** are functions of ``step`` (``gancore.schedules``). A torch
scheduler must not go through ``ctx.prepare``: Accelerate would step it once per
process. Keep it as an attribute and call its ``step()`` once per ``train_step``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from pydantic import BaseModel
from torch import nn

from .errors import UserError
from .train_context import TrainContext  # importable from here, as it always was

CAPABILITIES = ("classify", "encode", "translate", "preview")


class GANAlgorithm:
    """Base class for a GAN family. See the module docstring for the contract."""

    #: attributes that are not state (the default ``state_dict`` leaves them out)
    transient: ClassVar[tuple[str, ...]] = ()
    #: the number of classes ``sample(..., labels=...)`` takes; None: an unconditional family
    conditional_classes: int | None = None
    #: set by ``truncated``: latents from ``noise`` are resampled beyond this magnitude
    truncation: float | None = None

    def __init__(self, config: BaseModel, ctx: TrainContext) -> None:
        self.config = config
        self.ctx = ctx

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor | float]:
        """Run one step on ``batch`` (a dict of tensors on the device); return scalars to log."""
        raise NotImplementedError

    def batch_size(self, step: int) -> int | None:
        """This process's size of the batch handed to ``train_step(batch, step)``; None: ``train.batch_size``.
        Progressive GAN lowers it as the resolution rises."""
        return None

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
        """Networks the trainer keeps an EMA of (when ``train.ema_decay`` is set) and swaps in to sample.
        Asked at every step: return the networks as they are now (grown, rebuilt or replaced)."""
        generator = getattr(self, "generator", None)
        return {"generator": self.ctx.unwrap(generator)} if isinstance(generator, nn.Module) else {}

    # ------------------------------------------------- optional capabilities
    # Implement the ones a family has; ``has_capability(algorithm, name)`` tells which it has.
    # All are called under torch.no_grad(), with the EMA weights swapped in, on batches on ctx.device.

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(B, K)`` for samples ``x`` in data space (or ``(B, K+1)``, the last being an
        SGAN discriminator's "fake" class). Used by the ``classifier-accuracy`` metric."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Features or latents ``(B, D)`` of samples ``x`` in data space (BiGAN's encoder).
        Used by the ``linear-probe`` metric."""
        raise NotImplementedError

    def translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        """``x`` from one domain carried into the other; ``direction`` is ``"a2b"`` or ``"b2a"``.
        Used by feature metrics with ``source: translate`` and by CycleGAN's commands."""
        raise NotImplementedError

    def preview(self, n: int, seed: int) -> list[torch.Tensor]:
        """Rows of images for the sample grid ``samples/step-N.png``, each ``(k, C, H, W)`` in data
        space (rows may differ in size; they are scaled to the largest), e.g. input | translated |
        reconstructed. ``n`` is ``train.sample_count``. Without it the grid shows ``sample(n, seed)``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ state

    def stateful(self) -> dict[str, Any]:
        """Attributes saved by the default ``state_dict`` (see the module docstring)."""
        return {name: value for name, value in vars(self).items() if name not in ("ctx", "config", *self.transient) and _holds_state(value)}

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume bit for bit: tensors, numbers, strings, lists and dicts only."""
        return {name: self._save(value, name) for name, value in self.stateful().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        current = self.stateful()
        for name, saved in state.items():
            setattr(self, name, self._load(current.get(name), saved, name))

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
            "could not be saved. Give it state_dict()/load_state_dict(), keep tensors, numbers and strings in it, or "
            f"list the attribute in {type(self).__name__}.transient if it is not state."
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
            if current is not None and _holds_state(current) and any(_is_stateful(c) for c in current):
                raise UserError(f"the checkpoint's {path} has {len(saved)} entries and this run's has {len(current)}: rebuild it in load_state_dict first")
            return type(saved)(self._load(None, s, f"{path}[{i}]") for i, s in enumerate(saved))
        if isinstance(saved, dict):
            current = current if isinstance(current, dict) else {}
            return {k: self._load(current.get(k), v, f"{path}[{k!r}]") for k, v in saved.items()}
        return saved

    def noise(self, n: int, dim: int, seed: int | None = None) -> torch.Tensor:
        """Standard normal latents on the device; seeded ones do not touch the global RNG.
        Inside ``truncated(t)``, values beyond ``t`` are drawn again (the same ones for the same seed)."""
        if seed is None:
            z = torch.randn(n, dim, device=self.ctx.device)
            return z if self.truncation is None else self._truncate(z, None)
        rng = torch.Generator().manual_seed(seed)
        z = torch.randn(n, dim, generator=rng)
        return (z if self.truncation is None else self._truncate(z, rng)).to(self.ctx.device)

    def _truncate(self, z: torch.Tensor, rng: torch.Generator | None) -> torch.Tensor:
        from .nn.conditional import resample_beyond

        self._truncated_draws = getattr(self, "_truncated_draws", 0) + 1
        return resample_beyond(z, self.truncation, rng)

    @contextmanager
    def truncated(self, threshold: float | None):
        """Latents from ``noise`` truncated at ``threshold`` inside the block (None: no truncation).

        :raises UserError: when the block sampled without ever drawing latents through ``noise``."""
        if threshold is None:
            yield
            return
        if threshold <= 0:
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


def draw_samples(algorithm: GANAlgorithm, n: int, seed: int | None = None, *, labels: torch.Tensor | None = None,
                 truncation: float | None = None) -> torch.Tensor:
    """``algorithm.sample(n, seed=seed)``, with ``labels`` for a conditional family and latents truncated at
    ``truncation``; what the trainer, ``gan sample`` and the metrics call."""
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


def _holds_state(value: Any) -> bool:
    """Modules, optimizers, tensors, and containers (of anything: what they cannot hold is an error when saved)."""
    return _is_stateful(value) or isinstance(value, (torch.Tensor, list, tuple, dict))
