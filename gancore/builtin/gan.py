"""Builtin plugin ``gan``: the original GAN (MLP) and DCGAN (conv nets), with a choice of loss.

Four adversarial objectives (minimax, non-saturating, hinge, least-squares),
one-sided label smoothing, several discriminator steps per generator step,
PacGAN packing and minibatch stddev, all as options of the one ``gan`` algorithm.
"""

from __future__ import annotations

import torch
from pydantic import Field

from gancore import hookimpl, losses
from gancore.algorithm import GANAlgorithm, TrainContext
from gancore.errors import UserError
from gancore.nn import dcgan, mlp
from gancore.registry import Algorithm, Loss, LossRef, Model, ModelRef, StrictModel


class GANConfig(StrictModel):
    latent_dim: int = Field(64, ge=1, description="size of the generator's Gaussian input")
    generator: ModelRef = Field(default_factory=lambda: ModelRef(name="dcgan-generator"), description="generator network")
    discriminator: ModelRef = Field(default_factory=lambda: ModelRef(name="dcgan-discriminator"), description="discriminator network")
    loss: LossRef = Field(default_factory=lambda: LossRef(name="non-saturating"), description="adversarial objective")
    lr_generator: float = Field(2e-4, gt=0, description="Adam learning rate of the generator")
    lr_discriminator: float = Field(2e-4, gt=0, description="Adam learning rate of the discriminator")
    betas: tuple[float, float] = Field((0.5, 0.999), description="Adam betas, for both networks")
    d_steps: int = Field(1, ge=1, description="discriminator updates per generator update, each on a fresh real batch")
    pack: int = Field(1, ge=1, description="PacGAN packing: the discriminator judges this many samples at once, concatenated")


class GAN(GANAlgorithm):
    def __init__(self, config: GANConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        shape = ctx.data.sample_shape
        if ctx.train.batch_size % config.pack:
            raise UserError(f"train.batch_size ({ctx.train.batch_size}) must be a multiple of algorithm.pack ({config.pack})")
        is_image = ctx.data.kind == "image"
        packed = (shape[0] * config.pack, *shape[1:])  # packing stacks samples along the first feature axis
        generator = ctx.build_model(config.generator, "algorithm.generator", data_shape=shape, latent_dim=config.latent_dim, is_image=is_image)
        discriminator = ctx.build_model(config.discriminator, "algorithm.discriminator", data_shape=packed, out_features=1)
        self.loss = ctx.build_loss(config.loss, "algorithm.loss")
        opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_generator, betas=config.betas)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_discriminator, betas=config.betas)
        self.generator, self.discriminator, self.opt_g, self.opt_d = ctx.prepare(generator, discriminator, opt_g, opt_d)

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, ...) -> (B/pack, pack*C, ...): PacGAN's concatenation along the feature axis."""
        m = self.config.pack
        if m == 1:
            return x
        return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])

    def train_step(self, batch, step):
        cfg, n = self.config, batch["x"].shape[0]
        for i in range(cfg.d_steps):
            real = batch["x"] if i == 0 else self.ctx.next_batch()["x"]
            with torch.no_grad():
                fake = self.generator(self.noise(n, cfg.latent_dim))
            loss_d = self.loss.discriminator_loss(self.discriminator(self.pack(real)), self.discriminator(self.pack(fake)))
            self.ctx.update(self.opt_d, loss_d)

        fake = self.generator(self.noise(n, cfg.latent_dim))
        loss_g = self.loss.generator_loss(self.discriminator(self.pack(fake)))
        self.ctx.update(self.opt_g, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}

    @torch.no_grad()
    def sample(self, n, *, seed=None):
        with self.ctx.evaluating(self.generator) as generator:
            return generator(self.noise(n, self.config.latent_dim, seed)).float()


@hookimpl
def gan_register_algorithms(register):
    register(
        Algorithm(
            "gan",
            GAN,
            GANConfig,
            "GAN / DCGAN with minimax, non-saturating, hinge or least-squares loss",
            defaults={
                "data": {"name": "digits"},
                "train": {"steps": 6000, "batch_size": 64, "ema_decay": 0.999, "sample_every": 1000, "checkpoint_every": 2000},
            },
        )
    )


@hookimpl
def gan_register_models(register):
    register(Model("mlp-generator", mlp.build_mlp_generator, mlp.MLPGeneratorConfig, "MLP from latent to a point (or flattened image)"))
    register(Model("mlp-discriminator", mlp.build_mlp_discriminator, mlp.MLPDiscriminatorConfig, "MLP discriminator / critic"))
    register(Model("dcgan-generator", dcgan.build_dcgan_generator, dcgan.DCGANGeneratorConfig, "DCGAN transposed-conv generator"))
    register(Model("dcgan-discriminator", dcgan.build_dcgan_discriminator, dcgan.DCGANDiscriminatorConfig, "DCGAN conv discriminator / critic"))


@hookimpl
def gan_register_losses(register):
    register(Loss("minimax", losses.Minimax, losses.SmoothingConfig, "original saturating loss: G minimises log(1 - D(G(z)))"))
    register(Loss("non-saturating", losses.NonSaturating, losses.SmoothingConfig, "G maximises log D(G(z))"))
    register(Loss("least-squares", losses.LeastSquares, losses.SmoothingConfig, "LSGAN squared error to targets 1 and 0"))
    register(Loss("hinge", losses.Hinge, losses.HingeConfig, "hinge loss (SN-GAN)"))
    register(Loss("wasserstein", losses.Wasserstein, description="WGAN critic objective (needs a Lipschitz constraint)"))
