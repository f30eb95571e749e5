"""Builtin plugin ``gan``: the original GAN (MLP), DCGAN and BigGAN, with a choice of loss.

What it registers: the ``gan`` algorithm (``gan_algorithm.py``), the MLP, DCGAN and
BigGAN networks (``gancore.nn``) and the adversarial losses (``gancore.losses``).
Each hook imports what it registers, so that loading the plugin (as ``gan --help``
does) does not import torch.
"""

from __future__ import annotations

from gancore import hookimpl
from gancore.registry import Algorithm, Loss, Model


@hookimpl
def gan_register_algorithms(register):
    from gancore import losses
    from gancore.builtin.gan_algorithm import GAN, GANConfig

    register(
        Algorithm(
            "gan",
            GAN,
            GANConfig,
            "GAN / DCGAN with minimax, non-saturating, hinge, least-squares or relativistic loss, and R1",
            provides=frozenset({losses.REAL_LOGITS, losses.REGULARIZER}),
            # The default run (`make demo`): 32-channel DCGAN on the 8x8 digits, about 80 s of one CPU core.
            defaults={
                "algorithm": {"generator": {"name": "dcgan-generator", "base_channels": 32}, "discriminator": {"name": "dcgan-discriminator", "base_channels": 32}},
                "data": {"name": "digits"},
                "train": {"steps": 5000, "batch_size": 64, "ema_decay": 0.999, "sample_every": 1000, "checkpoint_every": 1000},
            },
        )
    )


@hookimpl
def gan_register_models(register):
    from gancore.nn import biggan, dcgan, mlp

    register(Model("mlp-generator", mlp.build_mlp_generator, mlp.MLPGeneratorConfig, "MLP from latent to a point (or flattened image)"))
    register(Model("mlp-discriminator", mlp.build_mlp_discriminator, mlp.MLPDiscriminatorConfig, "MLP discriminator / critic"))
    register(Model("dcgan-generator", dcgan.build_dcgan_generator, dcgan.DCGANGeneratorConfig, "DCGAN transposed-conv generator"))
    register(Model("dcgan-discriminator", dcgan.build_dcgan_discriminator, dcgan.DCGANDiscriminatorConfig, "DCGAN conv discriminator / critic"))
    register(Model("biggan-generator", biggan.build_biggan_generator, biggan.BigGANGeneratorConfig,
                   "BigGAN residual generator: skip-z, class-conditional batch norm, self-attention, spectral norm"))
    register(Model("biggan-discriminator", biggan.build_biggan_discriminator, biggan.BigGANDiscriminatorConfig,
                   "BigGAN residual discriminator: self-attention, spectral norm, projection or ACGAN class head"))


@hookimpl
def gan_register_losses(register):
    from gancore import losses

    register(Loss("minimax", losses.Minimax, losses.SmoothingConfig, "original saturating loss: G minimises log(1 - D(G(z)))"))
    register(Loss("non-saturating", losses.NonSaturating, losses.SmoothingConfig, "G maximises log D(G(z))"))
    register(Loss("least-squares", losses.LeastSquares, losses.LeastSquaresConfig, "LSGAN squared error to targets 1 and 0"))
    register(Loss("hinge", losses.Hinge, losses.HingeConfig, "hinge loss (SN-GAN)"))
    register(Loss("wasserstein", losses.Wasserstein, description="Wasserstein critic objective (needs a Lipschitz constraint)"))
    register(Loss("relativistic", losses.Relativistic, losses.RelativisticConfig, "relativistic average GAN: RaGAN or RaLSGAN (needs real_logits)"))
    register(Loss("r1", losses.r1, losses.R1Config, "R1 gradient penalty on real data, as an algorithm's regularizer (needs regularizer)",
                  requires=losses.REGULARIZER))
    register(Loss("gradient-penalty", losses.GradientPenalty, losses.GradientPenaltyConfig,
                  "gradient penalty w·(‖∇D(x̂)‖ − target)² on interpolates or real data, as an algorithm's regularizer (needs regularizer)"))
