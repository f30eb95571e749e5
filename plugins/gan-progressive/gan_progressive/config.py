"""Options of the ``progressive`` algorithm. Defaults are the reference's (Karras et al. 2018, CelebA-HQ)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from gancore import StrictModel
from gancore.bounds import AdamBetas

from .models import NetworkConfig


class ProgressiveConfig(StrictModel):
    latent_dim: int = Field(512, ge=1, description="size of the generator's Gaussian input (reference: 512)")
    network: NetworkConfig = Field(default_factory=NetworkConfig, description="width and layers of both networks")
    start_resolution: int = Field(4, ge=4, description="resolution of the first stage (a power of two times 4); the data's own resolution trains without growing")
    fade_in_images: int = Field(800_000, ge=0, description="real images over which a new block fades in, α rising linearly from 0 to 1 (reference, CelebA-HQ: 800k)")
    stabilize_images: int = Field(800_000, ge=0, description="real images each stage trains at α = 1 after its fade-in (the first stage: before the first growth; reference: 800k)")
    batch_sizes: dict[int, int] = Field(
        default_factory=dict,
        description="batch size per process for each resolution, e.g. {4: 128, 32: 64, 128: 16}; a resolution not listed uses train.batch_size",
    )
    loss: Literal["wgan-gp", "least-squares"] = Field("wgan-gp", description="wgan-gp (reference): critic with gradient penalty and drift term; least-squares: LSGAN targets 1 and 0")
    penalty_weight: float = Field(10.0, ge=0, description="wgan-gp: λ, weight of the gradient penalty (‖∇D(x̂)‖ − γ)² / γ² on interpolates (reference: 10)")
    penalty_target: float = Field(1.0, gt=0, description="wgan-gp: γ, the target gradient norm (reference: 1; 750 for CIFAR-10)")
    drift_weight: float = Field(0.001, ge=0, description="wgan-gp: ε, weight of the drift term D(x)² on real scores, which keeps them near 0 (reference: 0.001)")
    d_steps: int = Field(1, ge=1, description="discriminator updates per generator update, each on a fresh real batch (reference: 1)")
    lr_generator: float = Field(1e-3, gt=0, description="Adam learning rate of the generator (reference: 0.001)")
    lr_discriminator: float = Field(1e-3, gt=0, description="Adam learning rate of the discriminator (reference: 0.001)")
    betas: AdamBetas = Field((0.0, 0.99), description="Adam betas of both networks (reference: (0, 0.99))")
    adam_epsilon: float = Field(1e-8, gt=0, description="Adam epsilon (reference: 1e-8)")
    fade_reals: bool = Field(True, description="during a fade-in, blend the real images with their 2x-downsampled-and-upsampled copies by the same α, as the reference does")
    reset_optimizer_on_growth: bool = Field(
        False, description="clear both Adam states whenever a fade-in or a stabilisation starts, as the reference code does (reset_opt_for_new_lod); false keeps the moments of the layers that survive"
    )

    @field_validator("start_resolution")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError(f"must be 4 times a power of two (4, 8, 16, ...), not {value}")
        return value

    @field_validator("batch_sizes")
    @classmethod
    def _positive_sizes(cls, value: dict[int, int]) -> dict[int, int]:
        bad = {r: b for r, b in value.items() if b < 1 or r < 4 or r & (r - 1)}
        if bad:
            raise ValueError(f"keys must be resolutions 4, 8, 16, ... and values batch sizes >= 1; got {bad}")
        return value


# Run-config defaults for `gan run --plugin progressive` with no config file: the 8x8 digits grow 4 -> 8
# in about 4 CPU minutes (measured: 4.2) with small networks, 3,000 steps.
PROGRESSIVE_DEFAULTS = {
    "algorithm": {"latent_dim": 64, "network": {"fmap_base": 128, "fmap_max": 64}, "fade_in_images": 64_000, "stabilize_images": 64_000},
    "data": {"name": "digits"},
    "train": {"steps": 3000, "batch_size": 64, "ema_decay": 0.999, "sample_every": 500, "checkpoint_every": 1000},
}
