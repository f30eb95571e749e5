"""Options of ``bgan`` (discrete data) and ``bgan-continuous`` (real-valued data).

Both share the optimizers (Adam, with the discriminator's learning rate set on
its own) and instance noise on the discriminator's input. The networks'
own options (activation, where batch norm goes, spectral norm) live in the
network sections, ``algorithm.generator`` and ``algorithm.discriminator``.
Sampling from an EMA of the generator is the trainer's ``train.ema_decay``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gancore import ModelRef, StrictModel
from gancore.augment import AugmentConfig
from gancore.bounds import AdamBetas


class AdversarialConfig(StrictModel):
    """What both variants share."""

    latent_dim: int = Field(64, ge=1, description="size of the generator's Gaussian input")
    lr_generator: float = Field(1e-4, gt=0, description="Adam learning rate of the generator")
    lr_discriminator: float = Field(
        1e-4, gt=0, description="Adam learning rate of the discriminator, set on its own: lower it when D wins too early"
    )
    betas: AdamBetas = Field((0.5, 0.999), description="Adam betas, for both networks")
    instance_noise: float = Field(0.0, ge=0, description="std of Gaussian noise added to every discriminator input, real and generated; 0 disables")
    instance_noise_steps: int = Field(
        0, ge=0, description="the noise falls linearly from instance_noise to 0 over this many steps; 0 keeps it constant"
    )
    augment: AugmentConfig = Field(
        default_factory=AugmentConfig, description="differentiable augmentation (DiffAugment, ADA) of every discriminator input, real "
        "and generated (in bgan, all m samples per z that D scores), e.g. {policy: [translation, cutout]}; see gancore.augment"
    )


class BGANConfig(AdversarialConfig):
    generator: ModelRef = Field(
        default_factory=lambda: ModelRef(name="bgan-generator"),
        description="generator network; it must output unbounded logits (bgan-generator does; dcgan-generator ends in tanh)",
    )
    discriminator: ModelRef = Field(default_factory=lambda: ModelRef(name="bgan-discriminator"), description="discriminator network")
    n_mc_samples: int = Field(
        20, ge=2, description="m: samples drawn from g(x|z) for every z, scored in one batched discriminator pass (with m = 1 the weights are all 1 and G learns nothing)"
    )
    log_prob_reduction: Literal["mean", "sum"] = Field(
        "mean",
        description="log g(x|z) as the mean over pixels (loss scale independent of resolution; the reference PyTorch code) "
        "or their sum (the exact log-likelihood of the paper)",
    )
    baseline: bool = Field(
        False,
        description="subtract 1/m from every importance weight in the generator loss: the same expected gradient "
        "(the likelihood of the generator's own samples has zero expected gradient), without the part that reinforces "
        "every drawn sample whatever D thinks of it; false is the paper's loss",
    )
    discriminator_input: Literal["one-hot", "colors"] = Field(
        "one-hot", description="palette data: D sees one-hot colours (K channels, as the reference) or the palette colours (C channels); binary data: always ±1 pixels"
    )
    discriminator_samples: Literal["one", "all"] = Field(
        "one",
        description="generated samples D trains on: one of the m per z (balanced batches; the m-sample scoring pass needs no gradient, "
        "about half the cost of a step at m = 20) or all m per z (the reference code: the scoring pass is also D's training pass)",
    )
    sample_mode: Literal["random", "most-likely"] = Field(
        "random", description="sample(): draw every pixel from g(x|z), or take its most likely value"
    )


class BGANContinuousConfig(AdversarialConfig):
    generator: ModelRef = Field(default_factory=lambda: ModelRef(name="dcgan-generator"), description="generator network (outputs data: dcgan-generator, mlp-generator)")
    discriminator: ModelRef = Field(default_factory=lambda: ModelRef(name="bgan-discriminator"), description="discriminator network (bgan-discriminator, dcgan-discriminator, mlp-discriminator)")


# Run-config defaults (data, train) for `gan run --plugin bgan` with no config file:
# examples/bgan-binary-digits.yaml, the quick default.
BGAN_DEFAULTS = {
    "data": {"name": "digits", "transforms": [{"name": "binarize", "threshold": 0.5}]},
    "train": {"steps": 3000, "batch_size": 64, "ema_decay": 0.999, "sample_every": 500, "checkpoint_every": 1000},
}
BGAN_CONTINUOUS_DEFAULTS = {
    "data": {"name": "digits"},
    "train": {"steps": 3000, "batch_size": 64, "ema_decay": 0.999, "sample_every": 500, "checkpoint_every": 1000},
}
