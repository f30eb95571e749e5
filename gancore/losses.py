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
        "has no sigmoid); probability, σ(logit), as in a least-squares generator objective E[(D(G(z)) - 1)²] with D "
        "the probability of a discriminator trained by cross-entropy (Wang et al. 2018)",
    )


class LeastSquares(AdversarialLoss):
    """LSGAN (Mao et al.): squared distance to the targets 1 (real) and 0 (fake).

    With ``output: probability`` the squares are taken of σ(logit) instead. Its generator gradient
    then fades as σ → 0, like the minimax loss's, where on the logit it grows with the distance to 1:
    against a discriminator trained by cross-entropy, whose fake logits run far below 0, the logit form
    takes much larger steps than the other losses."""

    def __init__(self, config: LeastSquaresConfig) -> None:
        self.real_target = 1.0 - config.label_smoothing
        self.on_probability = config.output == "probability"

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
    """The Wasserstein critic objective (Arjovsky et al. 2017); it needs a Lipschitz constraint (clipping or a penalty) elsewhere."""

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


def input_gradients(discriminator, x: torch.Tensor, *, create_graph: bool = True) -> torch.Tensor:
    """∇ₓ D(x), one row per sample ``(B, D)`` in float32; with ``create_graph`` differentiable in D's weights
    (to minimise a penalty on it). ``discriminator`` is anything callable on a batch: a network, or a closure
    that gives it classes or a stage."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x).float().sum(), x, create_graph=create_graph)
    return grad.float().flatten(1)


def interpolates(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Random points on the segments between paired real and generated samples: one α ~ U[0, 1] per
    sample (not per pixel), as in Gulrajani et al. 2017, drawn on the samples' device."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    return torch.lerp(fake.detach(), real.detach(), alpha)


class GradientPenaltyConfig(StrictModel):
    weight: float = Field(10.0, ge=0.0, description="weight w of the penalty w · E (‖∇ₓD(x̂)‖₂ − target)²")
    target: float = Field(1.0, ge=0.0, description="the gradient norm the penalty pulls towards: 1 (Gulrajani et al. 2017), 0 (R1, zero-centred)")
    at: Literal["interpolates", "real"] = Field(
        "interpolates", description="where the gradient is taken: interpolates, random points between real and generated samples "
        "(Gulrajani et al. 2017); real, the real batch (R1)"
    )
    every: int = Field(
        1, ge=1, description="lazy regularisation (StyleGAN2): compute the penalty on every k-th discriminator update only, "
        "multiplied by k, which saves most of its double backward; 1 computes it on every update"
    )


class GradientPenalty(Regularizer):
    """The gradient penalty: ``weight · E (‖∇ₓ D(x̂)‖₂ − target)²``, with x̂ on random interpolates between
    real and generated samples (Gulrajani et al. 2017; Karras et al. 2018 with a target γ) or on the
    real batch (R1, Mescheder et al. 2018: target 0, weight γ/2). A discriminator that is penalised so keeps
    its slope near ``target`` where the penalty looks, which stabilises training.

    With ``every: k`` (lazy, as in StyleGAN2) it returns k times the penalty on every k-th call and None on
    the others; it counts its calls in ``calls``, which ``state_dict`` holds, so an algorithm that declares
    the regulariser as state resumes on the same calls. ``last_norms`` keeps the gradient norms of the last
    penalty computed (detached), for logging.

    :param discriminator: anything callable on a batch (a closure can add classes, a stage, an unwrapped
        network outside ``torch.compile``, which cannot differentiate a gradient: ``ctx.eager``)."""

    def __init__(self, config: GradientPenaltyConfig) -> None:
        self.weight, self.target, self.at, self.every = config.weight, config.target, config.at, config.every
        self.calls = 0
        self.last_norms: torch.Tensor | None = None

    def state_dict(self) -> dict[str, int]:
        return {"calls": self.calls}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.calls = int(state["calls"])

    def regularizer(self, discriminator, real, fake):
        if self.weight == 0:
            return None
        self.calls += 1
        if self.calls % self.every:
            return None
        return self.every * self.penalty(discriminator, real, fake)

    def penalty(self, discriminator, real: torch.Tensor, fake: torch.Tensor | None = None) -> torch.Tensor:
        """``weight · E (‖∇ₓD(x̂)‖₂ − target)²`` on this batch, with its graph (to be minimised)."""
        points = real if self.at == "real" else interpolates(real, fake)
        grad = input_gradients(discriminator, points)
        if self.target == 0:
            # (‖g‖ − 0)² is taken as Σg² directly: the norm's own gradient is undefined where g = 0.
            squared = grad.pow(2).sum(1)
            self.last_norms = squared.detach().sqrt()
            return self.weight * squared.mean()
        norms = grad.norm(2, dim=1)
        self.last_norms = norms.detach()
        return self.weight * ((norms - self.target) ** 2).mean()


class R1Config(StrictModel):
    gamma: float = Field(10.0, ge=0.0, description="weight γ of the penalty γ/2·E‖∇ₓD(x)‖² on real data")
    every: int = Field(
        1, ge=1, description="lazy regularisation (StyleGAN2): compute the penalty on every k-th discriminator update only, "
        "multiplied by k, which saves most of its double backward; 1 computes it on every update"
    )


def r1(config: R1Config) -> GradientPenalty:
    """R1 (Mescheder et al. 2018): γ/2 · E_real ‖∇ₓ D(x)‖², the gradient penalty at real data with target 0;
    it keeps D flat on the data manifold."""
    return GradientPenalty(GradientPenaltyConfig(weight=config.gamma / 2, target=0.0, at="real", every=config.every))
