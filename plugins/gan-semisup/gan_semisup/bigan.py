"""``bigan`` (Donahue et al. 2016; ALI, Dumoulin et al., is the same game): a generator G: z -> x,
an encoder E: x -> z, and a discriminator D on (x, z) pairs.

D tells real pairs (x, E(x)) from generated pairs (G(z), z); G and E, one optimizer, are trained
together (``opt_g``, the generator side) to make D swap them (the non-saturating form: D's labels
flipped). Logged: ``loss_d`` and ``loss_g``, what each optimizer minimised. At the optimum E
inverts G, so E(x) is a representation of x learnt without labels: ``encode`` hands it to the
``linear-probe`` metric, and ``preview`` shows rows of x beside G(E(x)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gancore import GANAlgorithm, TrainContext, UserError
from gancore.schedules import linear_decay, set_lr

from .config import BiGANConfig


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), torch.full_like(logits.float(), target))


class BiGAN(GANAlgorithm):
    config: BiGANConfig

    def __init__(self, config: BiGANConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        shape, dim = ctx.data.sample_shape, config.latent_dim
        generator = ctx.build_model(config.generator, "algorithm.generator", data_shape=shape, latent_dim=dim, is_image=ctx.data.kind == "image")
        encoder = ctx.build_model(config.encoder, "algorithm.encoder", data_shape=shape, latent_dim=dim)
        discriminator = ctx.build_model(config.discriminator, "algorithm.discriminator", data_shape=shape, latent_dim=dim)
        if config.encode_features == "hidden" and not callable(getattr(encoder, "features", None)):
            raise UserError(
                f"algorithm.encode_features=hidden gives the linear probe the encoder's last hidden layer, but "
                f"'{type(encoder).__name__}' has no features(x) part; use bigan-encoder or encode_features=latent"
            )
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_discriminator, betas=config.betas, weight_decay=config.weight_decay)
        # One optimizer for the generator side, G and E together.
        joint = [*generator.parameters(), *encoder.parameters()]
        opt_g = torch.optim.Adam(joint, lr=config.lr_generator, betas=config.betas, weight_decay=config.weight_decay)
        self.generator, self.encoder, self.discriminator, self.opt_d, self.opt_g = ctx.prepare(generator, encoder, discriminator, opt_d, opt_g)
        self.register_state("generator", "encoder", "discriminator", "opt_d", "opt_g")

    def latents(self, n: int, seed: int | None = None) -> torch.Tensor:
        """Latents from p(z) on the device, through ``GANAlgorithm.noise`` (so ``--truncation`` applies to them)."""
        return self.noise(n, self.config.latent_dim, seed, distribution=self.config.latent_distribution)

    def schedule_learning_rates(self, step: int) -> None:
        """Both optimizers' rates for this step: constant, then a linear decay from ``lr_decay_start``."""
        cfg = self.config
        factor = 1.0 if cfg.lr_decay_start is None else linear_decay(step, self.ctx.train.steps, decay_start=cfg.lr_decay_start)
        set_lr(self.opt_d, cfg.lr_discriminator, factor)
        set_lr(self.opt_g, cfg.lr_generator, factor)

    def train_step(self, batch, step):
        self.schedule_learning_rates(step)

        x = batch["x"]
        z = self.latents(len(x))
        z_encoded = self.encoder(x)  # (x, E(x)): the real pair
        x_generated = self.generator(z)  # (G(z), z): the generated pair

        # D: real pairs -> 1, generated pairs -> 0 (G and E get no gradient from this step).
        real_scores = self.discriminator(x, z_encoded.detach())
        fake_scores = self.discriminator(x_generated.detach(), z)
        loss_d = bce(real_scores, 1.0) + bce(fake_scores, 0.0)
        self.ctx.update(self.opt_d, loss_d)

        # G and E together, against the updated D, with the labels swapped.
        with self.ctx.frozen(self.discriminator) as discriminator:
            loss_g = bce(discriminator(x, z_encoded), 0.0) + bce(discriminator(x_generated, z), 1.0)
        self.ctx.update(self.opt_g, loss_g)
        return {
            "loss_d": loss_d.detach(),
            "loss_g": loss_g.detach(),
            "d_real": torch.sigmoid(real_scores.detach().float()).mean(),
            "d_fake": torch.sigmoid(fake_scores.detach().float()).mean(),
        }

    def ema_modules(self):
        return {"generator": self.ctx.unwrap(self.generator), "encoder": self.ctx.unwrap(self.encoder)}

    @torch.no_grad()
    def sample(self, n, *, seed=None):
        with self.ctx.evaluating(self.generator) as generator:
            return generator(self.latents(n, seed)).float()

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        with self.ctx.evaluating(self.encoder) as encoder:
            if self.config.encode_features == "hidden":
                return encoder.features(x).float()
            return encoder(x).float()

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """G(E(x)), both networks in eval mode."""
        with self.ctx.evaluating(self.encoder) as encoder, self.ctx.evaluating(self.generator) as generator:
            return generator(encoder(x)).float()

    @torch.no_grad()
    def preview(self, n, seed):
        """Pairs of rows: real training images x, then their reconstructions G(E(x)); a fixed choice per seed."""
        real = self.ctx.data.tensors["x"]
        per_row = max(1, math.isqrt(max(1, n)))
        pairs = max(1, n // (2 * per_row))
        pick = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))[: per_row * pairs]
        x = real[pick.to(real.device)]
        recon = self.reconstruct(x)
        rows = []
        for i in range(pairs):
            rows += [x[i * per_row : (i + 1) * per_row], recon[i * per_row : (i + 1) * per_row]]
        return rows
