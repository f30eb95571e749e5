"""Builtin plugin ``gan``: the original GAN (MLP) and DCGAN (conv nets), with a choice of loss.

Six adversarial objectives (minimax, non-saturating, hinge, least-squares,
wasserstein, relativistic), an R1 regulariser, one-sided label smoothing,
several discriminator steps per generator step, PacGAN packing and minibatch
stddev, all as options of the one ``gan`` algorithm.
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
    regularizer: LossRef | None = Field(None, description="a regulariser added to the discriminator's loss, e.g. {name: r1, gamma: 10}; null for none")
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
        packed = (shape[0] * config.pack, *shape[1:])  # packing stacks samples along the first feature axis
        generator = ctx.build_generator(config.generator, config.latent_dim)
        discriminator = ctx.build_discriminator(config.discriminator, data_shape=packed)
        self.loss = ctx.build_loss(config.loss, "algorithm.loss")
        self.regularizer = None if config.regularizer is None else ctx.build_loss(config.regularizer, "algorithm.regularizer")
        if isinstance(self.loss, losses.Regularizer):
            raise UserError(f"algorithm.loss: '{config.loss.name}' is a regulariser, not an objective; give it as algorithm.regularizer")
        if self.regularizer is not None and not isinstance(self.regularizer, losses.Regularizer):
            raise UserError(f"algorithm.regularizer: '{config.regularizer.name}' is an objective, not a regulariser; give it as algorithm.loss")
        # Only a loss that needs them costs the extra discriminator pass on real data in the generator step.
        self.real_logits_for_generator = losses.REAL_LOGITS in ctx.registry.get("loss", config.loss.name).requires
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
        logs: dict[str, torch.Tensor] = {}
        for i in range(cfg.d_steps):
            real = batch["x"] if i == 0 else self.ctx.next_batch()["x"]
            with torch.no_grad():
                fake = self.generator(self.noise(n, cfg.latent_dim))
            loss_d = self.loss.discriminator_loss(self.discriminator(self.pack(real)), self.discriminator(self.pack(fake)))
            penalty = self.regularization(self.pack(real), self.pack(fake), logs)
            if penalty is not None:
                loss_d = loss_d + penalty
            self.ctx.update(self.opt_d, loss_d)

        fake = self.generator(self.noise(n, cfg.latent_dim))
        real_logits = None
        if self.real_logits_for_generator:
            with torch.no_grad():  # a constant for the generator: no gradient reaches it through real data
                real_logits = self.discriminator(self.pack(batch["x"]))
        loss_g = self.loss.generator_loss(self.discriminator(self.pack(fake)), real_logits)
        self.ctx.update(self.opt_g, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), **logs}

    def regularization(self, real: torch.Tensor, fake: torch.Tensor, logs: dict) -> torch.Tensor | None:
        """The sum of the regularisers of the loss and of ``algorithm.regularizer`` (None if
        there are none); each is logged as ``reg_<name>``."""
        # torch.compile (train.compile) has no double backward: a gradient penalty then runs eagerly.
        discriminator = self.ctx.unwrap(self.discriminator) if self.ctx.train.compile else self.discriminator
        named = [(self.config.loss.name, self.loss)]
        if self.regularizer is not None:
            named.append((self.config.regularizer.name, self.regularizer))
        total = None
        for name, loss in named:
            hook = getattr(loss, "regularizer", None)  # optional for losses that do not subclass AdversarialLoss
            term = None if hook is None else hook(discriminator, real, fake)
            if term is not None:
                logs[f"reg_{name}"] = term.detach()
                total = term if total is None else total + term
        return total


@hookimpl
def gan_register_algorithms(register):
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
    register(Loss("relativistic", losses.Relativistic, losses.RelativisticConfig, "relativistic average GAN: RaGAN or RaLSGAN (needs real_logits)"))
    register(Loss("r1", losses.R1, losses.R1Config, "R1 gradient penalty on real data, as an algorithm's regularizer (needs regularizer)"))
