"""Options of ``sgan``, ``fm-gan``, ``supervised-only`` and ``bigan``.

The three classifiers (``sgan``, ``fm-gan``, ``supervised-only``) share the classifier network,
the labelled batch, the optimizer and its schedule, so that the baseline differs from the GANs
only in what it learns from. Their defaults are the Improved-GAN MNIST reference's
(openai/improved-gan ``train_mnist_feature_matching.py``): Adam 0.003 with β1 = 0.5, labelled and
unlabelled batches of 100, the 784-1000-500-250-250-250-10 discriminator with Gaussian noise and
weight normalisation, and a 100-500-500-784 generator on uniform latents.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gancore import ModelRef, StrictModel
from gancore.augment import AugmentConfig
from gancore.bounds import AdamBetas


class ClassifierConfig(StrictModel):
    """What the semi-supervised GANs and the supervised-only baseline share."""

    discriminator: ModelRef = Field(
        default_factory=lambda: ModelRef(name="improved-gan-discriminator"),
        description="the classifier: K class logits, the fake class implicit (improved-gan-discriminator, mlp-discriminator, dcgan-discriminator); "
        "fm-gan also needs its features(x) and head(h) parts, which all three have",
    )
    labeled_batch_size: int = Field(100, ge=1, description="labelled samples per step, per process, from the 'labeled' stream (reference: 100)")
    lr_discriminator: float = Field(0.003, gt=0, description="Adam learning rate of the classifier (reference: 0.003)")
    betas: AdamBetas = Field((0.5, 0.999), description="Adam betas of every network (reference: β1 = 0.5)")
    eps: float = Field(
        1e-4, gt=0, description="Adam ε of every network; the reference's Adam divides by sqrt(v + 1e-8), about ε = 1e-4 here, which damps "
        "the many tiny gradients of weight-normalised layers (PyTorch's 1e-8 gives them full-size steps)",
    )
    lr_decay_start: int | None = Field(
        None, ge=0, description="from this step on, every learning rate falls linearly to 0 at train.steps; null keeps them constant (the MNIST reference)"
    )
    init_samples: int = Field(
        500, ge=0, description="data-dependent initialisation of improved-gan-discriminator on this many training images (reference: 500); 0 keeps the random init"
    )
    average_classifier: bool = Field(
        True, description="with train.ema_decay, also keep an EMA of the classifier and classify with it (the reference scores an average of the discriminator's weights)"
    )
    augment: AugmentConfig = Field(
        default_factory=AugmentConfig,
        description="augmentation of every image the classifier trains on (labelled, unlabelled and generated, each with its "
        "own draw; gancore.augment's transforms at a fixed probability, e.g. {policy: [translation], translation: 0.08} for "
        "shifts of up to 2 pixels of 28); translation and cutout fill with black, -1 (MNIST's background). supervised-only "
        "takes the same option, so that the baseline can get the same augmentation. The reference has none ([] disables it)",
    )

    @model_validator(mode="after")
    def _fixed_probability(self) -> "ClassifierConfig":
        if self.augment.adaptive:
            raise ValueError("augment.adaptive (ADA) is not available here: the classifiers augment at a fixed probability "
                             "(augment.probability); leave adaptive out")
        return self


class SemiSupervisedConfig(ClassifierConfig):
    """The semi-supervised GANs: a generator as well."""

    latent_dim: int = Field(100, ge=1, description="size of the generator's latent (reference: 100)")
    latent_distribution: Literal["uniform", "normal"] = Field("uniform", description="uniform on [-1, 1] (the reference's U[0, 1], up to batch norm) or standard normal")
    generator: ModelRef = Field(default_factory=lambda: ModelRef(name="improved-gan-generator"), description="generator network (improved-gan-generator, mlp-generator, dcgan-generator)")
    lr_generator: float = Field(0.003, gt=0, description="Adam learning rate of the generator (reference: 0.003)")
    unlabeled_weight: float = Field(
        0.5,
        ge=0,
        description="weight of the real/fake loss −E_real[log D] − E_fake[log(1 − D)] beside the labelled cross-entropy; "
        "the reference's loss_unl is this loss halved with weight 1, i.e. 0.5 here",
    )


class SGANConfig(SemiSupervisedConfig):
    pass


class FMGANConfig(SemiSupervisedConfig):
    pass


class SupervisedOnlyConfig(ClassifierConfig):
    pass


class BiGANConfig(StrictModel):
    latent_dim: int = Field(50, ge=1, description="size of z, the generator's input and the encoder's output (BiGAN's MNIST model: 50)")
    latent_distribution: Literal["uniform", "normal"] = Field("normal", description="p(z): standard normal (seed 001) or uniform on [-1, 1] (the BiGAN paper)")
    generator: ModelRef = Field(default_factory=lambda: ModelRef(name="bigan-generator"), description="G: z -> x (bigan-generator, mlp-generator, dcgan-generator)")
    encoder: ModelRef = Field(default_factory=lambda: ModelRef(name="bigan-encoder"), description="E: x -> z (bigan-encoder)")
    discriminator: ModelRef = Field(default_factory=lambda: ModelRef(name="bigan-discriminator"), description="D: (x, z) -> one logit (bigan-discriminator)")
    lr_discriminator: float = Field(2e-4, gt=0, description="Adam learning rate of D (BiGAN: 2e-4)")
    lr_generator: float = Field(2e-4, gt=0, description="Adam learning rate of G and E, trained together (BiGAN: 2e-4)")
    betas: AdamBetas = Field((0.5, 0.999), description="Adam betas (BiGAN: β1 = 0.5)")
    weight_decay: float = Field(2.5e-5, ge=0, description="L2 weight decay of every network (BiGAN: 2.5e-5)")
    lr_decay_start: int | None = Field(
        None, ge=0, description="from this step on, both learning rates fall linearly to 0 at train.steps (BiGAN: half way); null keeps them constant"
    )
    encode_features: Literal["latent", "hidden"] = Field(
        "latent", description="what encode(x) gives the linear probe: E(x), the latent (seed 001), or E's last hidden layer"
    )


# Run-config defaults (data, train) for `gan run --plugin semisup` with no config file: the quick digits example.
# 10 labelled digits of each class (the labeled-subset transform, gan_semisup.transforms), the rest without labels.
DIGITS_LABELLED = {"name": "digits", "transforms": [{"name": "labeled-subset", "per_class": 10}]}
DIGITS_TRAIN = {"steps": 2000, "batch_size": 100, "sample_every": 500, "checkpoint_every": 1000, "ema_decay": 0.999}
SEMISUP_DEFAULTS = {"data": DIGITS_LABELLED, "train": DIGITS_TRAIN}
BIGAN_DEFAULTS = {"data": {"name": "digits"}, "train": {**DIGITS_TRAIN, "batch_size": 128}}
