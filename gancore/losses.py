"""Adversarial objectives and regularisers: the loss contract.

A loss is an object an algorithm calls with raw discriminator outputs
(logits, or critic scores), one per sample::

    loss.discriminator_loss(real, fake) -> Tensor   # minimised by the discriminator
    loss.generator_loss(fake, real=None) -> Tensor  # minimised by the generator
    loss.regularizer(discriminator, real, fake) -> Tensor | None
        # added to the discriminator's loss; ``real`` and ``fake`` are batches of
        # data (not logits), so a regulariser can take input gradients. None: no term.

Subclass ``AdversarialLoss``: it keeps the validated options as ``self.config``,
gives ``generator_loss`` an optional ``real`` and has a ``regularizer`` that
returns None. Register it with ``Loss(name, factory, config)``; the factory is
called as ``factory(config)``. In a PacGAN-style algorithm the batches a
regulariser gets are packed, as the discriminator sees them.

What a loss needs from the algorithm that drives it
----------------------------------------------------

Not every algorithm can drive every loss. A loss names what it needs in
``requires`` (a class attribute, or ``Loss(..., requires=...)`` on the entry
when the factory is a function); an algorithm names what it gives the losses
in its config in ``Algorithm(..., provides=...)``. The words:

* ``real_logits``: ``generator_loss`` gets ``real``, the discriminator's
  output on a real batch, besides ``fake``. Relativistic losses compare the two.
  Without it, ``real`` is None.
* ``regularizer``: the algorithm adds ``loss.regularizer(discriminator,
  real_batch, fake_batch)`` to the discriminator's loss (R1, R2, gradient
  penalties). Without it, the regulariser is never called.

A loss that needs nothing works with every algorithm that takes a loss.
``gan run`` and ``gan config`` check every loss found anywhere in the
algorithm's options (``algorithm.loss``, ``algorithm.regularizer``, a list of
losses...) against the algorithm's ``provides``, and refuse a pair that does
not fit before anything is built, naming the algorithm, the loss and what is
missing. Plugins may use words of their own for what they pass between their
own algorithms and losses; the check treats every word alike.

The builtin losses: ``minimax``, ``non-saturating``, ``least-squares``,
``hinge`` and ``wasserstein`` need nothing; ``relativistic`` (RaGAN, RaLSGAN)
needs ``real_logits``; ``r1`` is a regulariser only and needs ``regularizer``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from .registry import StrictModel

REAL_LOGITS = "real_logits"
REGULARIZER = "regularizer"

# What each word of the contract means, for error messages.
CAPABILITIES = {
    REAL_LOGITS: "the discriminator's output on a real batch in the generator step, passed as generator_loss(fake, real)",
    REGULARIZER: "a call of loss.regularizer(discriminator, real, fake), added to the discriminator's loss",
}


class AdversarialLoss:
    """Base class of a loss; see the module docstring for the contract."""

    requires: ClassVar[frozenset[str]] = frozenset()  # what it needs from the algorithm, see above

    def __init__(self, config=None) -> None:
        self.config = config

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def generator_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def regularizer(self, discriminator: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        return None


class Regularizer(AdversarialLoss):
    """A loss that is only a regulariser: it goes in an algorithm's ``regularizer``
    option, not in its ``loss``, and has no objective of its own."""

    requires: ClassVar[frozenset[str]] = frozenset({REGULARIZER})

    def discriminator_loss(self, real, fake):
        raise TypeError(f"{type(self).__name__} is a regulariser, not an adversarial objective")

    def generator_loss(self, fake, real=None):
        raise TypeError(f"{type(self).__name__} is a regulariser, not an adversarial objective")


def _bce_real(logits: torch.Tensor, target: float) -> torch.Tensor:
    # t*(-log σ(l)) + (1-t)*(-log(1-σ(l))), written with softplus for stability.
    return (target * F.softplus(-logits) + (1 - target) * F.softplus(logits)).mean()


class SmoothingConfig(StrictModel):
    label_smoothing: float = Field(
        0.0, ge=0.0, lt=1.0, description="one-sided label smoothing: the discriminator's target for real data is 1 - this"
    )


class Minimax(AdversarialLoss):
    """The original objective: G minimises log(1 - D(G(z))), which saturates early in training."""

    def __init__(self, config: SmoothingConfig) -> None:
        self.real_target = 1.0 - config.label_smoothing

    def discriminator_loss(self, real, fake):
        return _bce_real(real, self.real_target) + F.softplus(fake).mean()

    def generator_loss(self, fake, real=None):
        return -F.softplus(fake).mean()


class NonSaturating(Minimax):
    """G maximises log D(G(z)) instead: the same fixed point, strong gradients early on."""

    def generator_loss(self, fake, real=None):
        return F.softplus(-fake).mean()


class LeastSquaresConfig(SmoothingConfig):
    output: Literal["logit", "probability"] = Field(
        "logit",
        description="what the squares are taken of: logit, the discriminator's raw output (LSGAN, whose discriminator "
        "has no sigmoid); probability, σ(logit), as E-GAN's least-squares mutation E[(D(G(z)) - 1)²] with D the "
        "probability of a discriminator trained by cross-entropy",
    )


class LeastSquares(AdversarialLoss):
    """LSGAN (Mao et al.): squared distance to the targets 1 (real) and 0 (fake).

    With ``output: probability`` the squares are taken of σ(logit) instead. Its generator gradient
    then fades as σ → 0, like the minimax loss's, where on the logit it grows with the distance to 1:
    against a discriminator trained by cross-entropy, whose fake logits run far below 0, the logit form
    takes much larger steps than the other losses."""

    def __init__(self, config: LeastSquaresConfig | SmoothingConfig) -> None:
        self.real_target = 1.0 - config.label_smoothing
        # A SmoothingConfig (this loss's options before ``output``) means the logit.
        self.on_probability = getattr(config, "output", "logit") == "probability"

    def squash(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits) if self.on_probability else logits

    def discriminator_loss(self, real, fake):
        real, fake = self.squash(real), self.squash(fake)
        return 0.5 * ((real - self.real_target) ** 2).mean() + 0.5 * (fake**2).mean()

    def generator_loss(self, fake, real=None):
        return 0.5 * ((self.squash(fake) - 1.0) ** 2).mean()


class HingeConfig(StrictModel):
    margin: float = Field(1.0, gt=0, description="the discriminator is penalised inside ±margin")


class Hinge(AdversarialLoss):
    """Hinge loss (Lim & Ye; SN-GAN, BigGAN)."""

    def __init__(self, config: HingeConfig) -> None:
        self.margin = config.margin

    def discriminator_loss(self, real, fake):
        return F.relu(self.margin - real).mean() + F.relu(self.margin + fake).mean()

    def generator_loss(self, fake, real=None):
        return -fake.mean()


class Wasserstein(AdversarialLoss):
    """The WGAN critic objective; it needs a Lipschitz constraint (clipping or a penalty) elsewhere."""

    def discriminator_loss(self, real, fake):
        return fake.mean() - real.mean()

    def generator_loss(self, fake, real=None):
        return -fake.mean()


class RelativisticConfig(StrictModel):
    variant: Literal["standard", "least-squares"] = Field(
        "standard", description="standard: RaGAN's cross-entropy; least-squares: RaLSGAN's squared error to ±1"
    )


class Relativistic(AdversarialLoss):
    """Relativistic average GAN (Jolicoeur-Martineau 2018): D judges whether real data look
    more real than the average fake (and fakes less real than the average real), and G
    the reverse, so the generator's loss needs the real logits too.

    With ``d_r = real - mean(fake)`` and ``d_f = fake - mean(real)``:
    standard (RaGAN) ``L_D = -log σ(d_r) - log(1 - σ(d_f))``, ``L_G = -log σ(d_f) - log(1 - σ(d_r))``;
    least-squares (RaLSGAN) ``L_D = (d_r - 1)² + (d_f + 1)²``, ``L_G = (d_f - 1)² + (d_r + 1)²``;
    each term averaged over its batch.
    """

    requires: ClassVar[frozenset[str]] = frozenset({REAL_LOGITS})

    def __init__(self, config: RelativisticConfig) -> None:
        self.variant = config.variant

    def _pair(self, winner: torch.Tensor, loser: torch.Tensor) -> torch.Tensor:
        # The loss of a player who wants `winner` to look more real than the average `loser`, and vice versa.
        ahead, behind = winner - loser.mean(), loser - winner.mean()
        if self.variant == "least-squares":
            return ((ahead - 1.0) ** 2).mean() + ((behind + 1.0) ** 2).mean()
        return F.softplus(-ahead).mean() + F.softplus(behind).mean()

    def discriminator_loss(self, real, fake):
        return self._pair(real, fake)

    def generator_loss(self, fake, real=None):
        if real is None:
            raise TypeError("the relativistic loss needs the real logits: call generator_loss(fake, real)")
        return self._pair(fake, real)


class R1Config(StrictModel):
    gamma: float = Field(10.0, ge=0.0, description="weight γ of the penalty γ/2·E‖∇ₓD(x)‖² on real data")
    every: int = Field(
        1, ge=1, description="lazy regularisation (StyleGAN2): compute the penalty on every k-th discriminator update only, "
        "multiplied by k, which saves most of its double backward; 1 computes it on every update"
    )


class R1(Regularizer):
    """R1 (Mescheder et al. 2018): γ/2 · E_real ‖∇ₓ D(x)‖², the squared gradient norm of the
    discriminator at real data; it keeps D flat on the data manifold, which stabilises training.

    With ``every: k`` (lazy, as in StyleGAN2) it returns k times the penalty on every k-th call and
    None on the others. It counts its calls in a tensor that ``state_dict`` holds, so an algorithm that
    keeps the regulariser as an attribute checkpoints the count and resumes on the same calls."""

    def __init__(self, config: R1Config) -> None:
        self.gamma = config.gamma
        self.every = config.every
        self.calls = torch.zeros((), dtype=torch.int64)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"calls": self.calls}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.calls = state["calls"].detach().cpu().to(torch.int64).reshape(())

    def regularizer(self, discriminator, real, fake):
        if self.gamma == 0:
            return None
        self.calls += 1
        if int(self.calls) % self.every:
            return None
        return self.every * self.penalty(discriminator, real)

    def penalty(self, discriminator, real):
        """γ/2 · E ‖∇ₓ D(x)‖² on this batch (with the graph, so it can be minimised)."""
        real = real.detach().requires_grad_(True)
        scores = discriminator(real)
        (grad,) = torch.autograd.grad(scores.float().sum(), real, create_graph=True)
        return 0.5 * self.gamma * grad.float().pow(2).flatten(1).sum(1).mean()
