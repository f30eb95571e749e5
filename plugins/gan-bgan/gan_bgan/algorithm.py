"""``bgan`` (discrete data) and ``bgan-continuous`` (real-valued data).

Discrete BGAN, one trainer step (one generator step):

1. the generator turns N latents into logits, g(x | z);
2. m samples are drawn for every z, (m, N, ...), with no gradient (they are discrete);
3. the discriminator scores all m·N samples in one batched pass, with no gradient
   (``discriminator_samples: one``, the default) or as part of its own training pass
   (``all``, as the reference PyTorch code);
4. the discriminator's loss is sigmoid cross-entropy, real → 1 and generated → 0, on
   one sample per z (``one``) or on all m·N (``all``);
5. the importance weights w̃ = softmax over m of D's logits (detached) weight the
   generator's log-likelihood of its own samples: L_G = −Σ w̃ log g(x | z).

D and G are updated from the same samples and the same scores: the generator's
gradient never flows through D, so D needs no second pass, and the cost of a
step is a fixed part plus a part linear in m.

Continuous BGAN: a standard discriminator, and the generator minimises
½·(log D(G(z)) − log(1 − D(G(z))))², i.e. ½·logit², which pulls its samples onto
the decision boundary D = ½ instead of past it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gancore import GANAlgorithm, TrainContext, UserError
from gancore.augment import Augmenter

from . import estimator
from .config import AdversarialConfig, BGANConfig, BGANContinuousConfig
from .space import DiscreteSpace


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), torch.full_like(logits.float(), target))


class AdversarialBase(GANAlgorithm):
    """Networks, Adam optimizers with their own learning rates, and instance noise."""

    config: AdversarialConfig

    def _setup(self, generator: nn.Module, discriminator: nn.Module) -> None:
        cfg = self.config
        opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr_generator, betas=cfg.betas)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr_discriminator, betas=cfg.betas)
        self.generator, self.discriminator, self.opt_g, self.opt_d = self.ctx.prepare(generator, discriminator, opt_g, opt_d)
        if cfg.augment.enabled and self.ctx.data.kind != "image":
            raise UserError(f"algorithm.augment transforms images, and the data '{self.ctx.data.kind}' are not images; leave it out")
        self.augment = Augmenter.from_context(cfg.augment, self.ctx)  # its generator and ADA's p are state too
        self.register_state("generator", "discriminator", "opt_g", "opt_d", "augment")

    def augmented(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` through the augmentation (each sample its own draw), also with leading axes (m, N, C, H, W)."""
        if x.dim() <= 4:
            return self.augment(x)
        return self.augment(x.flatten(0, x.dim() - 4)).view(x.shape)

    def noise_std(self, step: int) -> float:
        cfg = self.config
        if cfg.instance_noise_steps == 0:
            return cfg.instance_noise
        return cfg.instance_noise * max(0.0, 1.0 - (step - 1) / cfg.instance_noise_steps)

    @staticmethod
    def with_noise(x: torch.Tensor, std: float) -> torch.Tensor:
        return x + std * torch.randn_like(x) if std > 0 else x

    @staticmethod
    def logs(loss_d, loss_g, real_scores, fake_scores) -> dict[str, torch.Tensor]:
        """What both variants log: the losses and D's mean output on real and on generated data."""
        return {
            "loss_d": loss_d.detach(),
            "loss_g": loss_g.detach(),
            "d_real": torch.sigmoid(real_scores.detach().float()).mean(),
            "d_fake": torch.sigmoid(fake_scores.detach().float()).mean(),
        }


class BGAN(AdversarialBase):
    """Boundary-seeking GAN for binary and palette images (Hjelm et al. 2017, discrete case)."""

    config: BGANConfig

    def __init__(self, config: BGANConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        self.space = DiscreteSpace.from_data(ctx.data, config.discriminator_input)
        _, h, w = ctx.data.sample_shape
        # The generator gives logits over the values of each pixel; D sees the one-hot (or value) encoding.
        generator = ctx.build_generator(config.generator, config.latent_dim, data_shape=(self.space.logit_channels, h, w))
        discriminator = ctx.build_discriminator(config.discriminator, data_shape=(self.space.input_channels, h, w))
        self._setup(generator, discriminator)

    def train_step(self, batch, step):
        cfg, space = self.config, self.space
        n, m = batch["x"].shape[0], cfg.n_mc_samples
        std = self.noise_std(step)

        # m samples for every z, drawn from the generator's own distribution.
        logits = self.generator(self.noise(n, cfg.latent_dim))
        samples = space.draw(logits, m)
        fake = self.with_noise(self.augmented(space.to_input(samples)), std)
        real = self.with_noise(self.augmented(space.real_input(batch)), std)

        # The discriminator: sigmoid cross-entropy. Its scores of the m·N samples come from one batched pass.
        real_scores = self.discriminator(real).flatten()
        if cfg.discriminator_samples == "one":
            fake_scores = self.discriminator(fake[0]).flatten()
            with torch.no_grad():
                scores = estimator.score(self.discriminator, fake)
        else:  # the scoring pass is D's training pass on all m·N samples
            scores = estimator.score(self.discriminator, fake)
            fake_scores = scores.flatten()
        loss_d = bce(real_scores, 1.0) + bce(fake_scores, 0.0)
        self.augment.observe(real_scores)

        # The generator: its log-likelihood of its samples, weighted by w̃ (no gradient through w̃ or D).
        weights = estimator.importance_weights(scores)
        log_probs = space.log_prob(logits, samples, cfg.log_prob_reduction)
        loss_g = estimator.generator_loss(weights, log_probs, baseline=cfg.baseline)

        # The two graphs share no parameters: each loss is backpropagated and stepped on its own.
        self.ctx.update(self.opt_d, loss_d)
        self.ctx.update(self.opt_g, loss_g)
        # ess, out of m: how evenly w̃ spreads over the samples.
        return {**self.logs(loss_d, loss_g, real_scores, scores), "ess": estimator.effective_sample_size(weights), **self.augment.update(step)}

    # ---------------------------------------------------------------- sampling

    @torch.no_grad()
    def sample_indices(self, n: int, *, seed: int | None = None) -> torch.Tensor:
        """Discrete samples: (N, H, W) palette indices, or (N, C, H, W) bits in {0, 1}."""
        with self.ctx.evaluating(self.generator) as generator:
            logits = generator(self.noise(n, self.config.latent_dim, seed)).float()
        if self.config.sample_mode == "most-likely":
            return self.space.most_likely(logits)[0]
        # Seeded: a generator of its own, on the logits' device (nothing is drawn on the host and copied over),
        # so the same seed gives the same samples and the global RNG is left alone.
        generator = None if seed is None else torch.Generator(device=logits.device).manual_seed(seed + 1)
        uniform = torch.rand(self.space.uniform_shape(logits, 1), generator=generator, device=logits.device)
        return self.space.draw(logits, 1, uniform)[0]

    @torch.no_grad()
    def sample(self, n, *, seed=None):
        """Samples in data space: exactly −1/1 pixels, or exactly the palette's colours."""
        return self.space.to_images(self.sample_indices(n, seed=seed)).float()

    @torch.no_grad()
    def probabilities(self, n: int, *, seed: int | None = None) -> torch.Tensor:
        """g(x | z) itself: (N, C, H, W) probabilities of a 1 bit, or (N, K, H, W) colour probabilities."""
        with self.ctx.evaluating(self.generator) as generator:
            logits = generator(self.noise(n, self.config.latent_dim, seed)).float()
        return torch.sigmoid(logits) if self.space.kind == "binary" else torch.softmax(logits, dim=1)


class BGANContinuous(AdversarialBase):
    """Boundary-seeking GAN for real-valued data: the generator minimises ½·(log D − log(1 − D))²."""

    config: BGANContinuousConfig

    def __init__(self, config: BGANContinuousConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        self._setup(ctx.build_generator(config.generator, config.latent_dim), ctx.build_discriminator(config.discriminator))

    def train_step(self, batch, step):
        cfg = self.config
        n = batch["x"].shape[0]
        std = self.noise_std(step)
        fake = self.generator(self.noise(n, cfg.latent_dim))

        real_scores = self.discriminator(self.with_noise(self.augmented(batch["x"]), std)).flatten()
        fake_scores = self.discriminator(self.with_noise(self.augmented(fake.detach()), std)).flatten()
        loss_d = bce(real_scores, 1.0) + bce(fake_scores, 0.0)
        self.ctx.update(self.opt_d, loss_d)
        self.augment.observe(real_scores)

        # D's logit is log D − log(1 − D): the boundary-seeking loss is half its square.
        with self.ctx.frozen(self.discriminator) as discriminator:
            boundary = discriminator(self.with_noise(self.augmented(fake), std)).flatten().float()
        loss_g = 0.5 * boundary.pow(2).mean()
        self.ctx.update(self.opt_g, loss_g)
        return {**self.logs(loss_d, loss_g, real_scores, fake_scores), **self.augment.update(step)}
