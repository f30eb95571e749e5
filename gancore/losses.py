"""Adversarial objectives. Each takes raw discriminator outputs (logits, or critic scores).

``discriminator_loss`` is minimised by the discriminator, ``generator_loss`` by the generator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from .registry import StrictModel


class SmoothingConfig(StrictModel):
    label_smoothing: float = Field(
        0.0, ge=0.0, lt=1.0, description="one-sided label smoothing: the discriminator's target for real data is 1 - this"
    )


class AdversarialLoss:
    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _bce_real(logits: torch.Tensor, target: float) -> torch.Tensor:
    # t*(-log σ(l)) + (1-t)*(-log(1-σ(l))), written with softplus for stability.
    return (target * F.softplus(-logits) + (1 - target) * F.softplus(logits)).mean()


class Minimax(AdversarialLoss):
    """The original objective: G minimises log(1 - D(G(z))), which saturates early in training."""

    def __init__(self, config: SmoothingConfig) -> None:
        self.real_target = 1.0 - config.label_smoothing

    def discriminator_loss(self, real, fake):
        return _bce_real(real, self.real_target) + F.softplus(fake).mean()

    def generator_loss(self, fake):
        return -F.softplus(fake).mean()


class NonSaturating(Minimax):
    """G maximises log D(G(z)) instead: the same fixed point, strong gradients early on."""

    def generator_loss(self, fake):
        return F.softplus(-fake).mean()


class LeastSquares(AdversarialLoss):
    """LSGAN (Mao et al.): squared distance to the targets 1 (real) and 0 (fake)."""

    def __init__(self, config: SmoothingConfig) -> None:
        self.real_target = 1.0 - config.label_smoothing

    def discriminator_loss(self, real, fake):
        return 0.5 * ((real - self.real_target) ** 2).mean() + 0.5 * (fake**2).mean()

    def generator_loss(self, fake):
        return 0.5 * ((fake - 1.0) ** 2).mean()


class HingeConfig(StrictModel):
    margin: float = Field(1.0, gt=0, description="the discriminator is penalised inside ±margin")


class Hinge(AdversarialLoss):
    """Hinge loss (Lim & Ye; SN-GAN, BigGAN)."""

    def __init__(self, config: HingeConfig) -> None:
        self.margin = config.margin

    def discriminator_loss(self, real, fake):
        return F.relu(self.margin - real).mean() + F.relu(self.margin + fake).mean()

    def generator_loss(self, fake):
        return -fake.mean()


class Wasserstein(AdversarialLoss):
    """The WGAN critic objective; it needs a Lipschitz constraint (clipping or a penalty) elsewhere."""

    def __init__(self, config=None) -> None:
        pass

    def discriminator_loss(self, real, fake):
        return fake.mean() - real.mean()

    def generator_loss(self, fake):
        return -fake.mean()
