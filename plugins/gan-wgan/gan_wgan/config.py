"""Options of ``wgan`` (weight clipping) and ``wgan-gp`` (gradient penalty).

Both share the networks, ``n_critic``, the optimizer and the learning-rate
schedule; they differ in how the critic is kept Lipschitz, and in defaults
taken from their papers (RMSProp 5e-5 for ``wgan``, Adam 1e-4 with betas
(0.5, 0.9) for ``wgan-gp``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gancore import ModelRef, StrictModel
from gancore.augment import AugmentConfig
from gancore.bounds import AdamBetas


class CriticConfig(StrictModel):
    """What every Wasserstein GAN here has: a generator, a critic and a critic schedule."""

    latent_dim: int = Field(64, ge=1, description="size of the generator's Gaussian input")
    generator: ModelRef = Field(default_factory=lambda: ModelRef(name="dcgan-generator"), description="generator network, e.g. mlp-generator, dcgan-generator, sngan-resnet-generator")
    critic: ModelRef = Field(description="critic network (no sigmoid: it scores, it does not classify), e.g. mlp-discriminator, dcgan-discriminator, sngan-resnet-critic")
    n_critic: int = Field(5, ge=1, description="critic updates per generator update, each on a fresh real batch")
    optimizer: Literal["rmsprop", "adam"] = Field(description="optimizer of both networks")
    lr_generator: float = Field(gt=0, description="learning rate of the generator")
    lr_critic: float = Field(gt=0, description="learning rate of the critic")
    betas: AdamBetas = Field((0.5, 0.9), description="Adam betas (Gulrajani et al. use (0.5, 0.9) or (0, 0.9)); unused by RMSProp")
    lr_decay: Literal["none", "linear"] = Field("none", description="linear: both learning rates fall linearly to lr_final_fraction of their value over the run")
    lr_final_fraction: float = Field(0.0, ge=0.0, le=1.0, description="with lr_decay linear, the fraction of each learning rate left at the last step")
    augment: AugmentConfig = Field(
        default_factory=AugmentConfig, description="differentiable augmentation (DiffAugment) of every critic input, real and generated, "
        "e.g. {policy: [translation, cutout]}; a fixed probability only (a critic's score has no centre for ADA's r_t)"
    )


class WGANConfig(CriticConfig):
    critic: ModelRef = Field(default_factory=lambda: ModelRef(name="dcgan-discriminator"), description=CriticConfig.model_fields["critic"].description)
    optimizer: Literal["rmsprop", "adam"] = Field("rmsprop", description="optimizer of both networks (Arjovsky et al.: RMSProp, since momentum destabilises a clipped critic)")
    lr_generator: float = Field(5e-5, gt=0, description="learning rate of the generator")
    lr_critic: float = Field(5e-5, gt=0, description="learning rate of the critic")
    clip_value: float = Field(0.01, gt=0, description="after every critic step, every critic parameter is clipped to [-clip_value, clip_value]")
    reference_schedule: bool = Field(False, description="the reference code's schedule: 100 critic steps for the first 25 generator steps and on every 500th, n_critic otherwise")


class WGANGPConfig(CriticConfig):
    critic: ModelRef = Field(default_factory=lambda: ModelRef(name="dcgan-discriminator", norm="layer"), description=CriticConfig.model_fields["critic"].description + "; no batch norm (layer norm or none)")
    optimizer: Literal["rmsprop", "adam"] = Field("adam", description="optimizer of both networks")
    lr_generator: float = Field(1e-4, gt=0, description="learning rate of the generator")
    lr_critic: float = Field(1e-4, gt=0, description="learning rate of the critic")
    penalty_weight: float = Field(10.0, ge=0, description="λ: weight of the gradient penalty (‖∇D(x̂)‖₂ − 1)² on interpolates x̂")


# Run-config defaults (data, train) for `gan run --plugin wgan` with no config file.
WGAN_DEFAULTS = {
    "data": {"name": "digits"},
    "train": {"steps": 5000, "batch_size": 64, "sample_every": 1000, "checkpoint_every": 1000},
}
WGANGP_DEFAULTS = WGAN_DEFAULTS
