"""WGAN (weight clipping) and WGAN-GP (gradient penalty).

One trainer step is one generator step. Before it, the critic takes
``n_critic`` steps, each on a fresh real batch drawn from the trainer's
resumable stream (``ctx.next_batch()``), so a resumed run replays exactly
the batches an uninterrupted one would see.

The critic maximises E[D(x)] − E[D(G(z))], the Wasserstein estimate, which is
a lower bound on the Wasserstein-1 distance (up to the critic's Lipschitz
constant) only while the critic stays Lipschitz: ``wgan`` clips its weights,
``wgan-gp`` penalises its input gradient on random interpolates.
"""

from __future__ import annotations

import torch
from torch import nn

from gancore import GANAlgorithm, TrainContext, UserError
from gancore.augment import Augmenter
from gancore.schedules import linear_decay, set_lr

from .config import CriticConfig, WGANConfig, WGANGPConfig

# The reference WGAN code trains the critic almost to optimality at first and
# now and then later: 100 critic steps for the first 25 generator steps and on
# every 500th generator step.
REFERENCE_CRITIC_STEPS = 100
REFERENCE_WARMUP = 25
REFERENCE_EVERY = 500


def interpolate(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Random points on the segments between paired real and generated samples:
    one α ~ U[0, 1] per sample (not per pixel), as in Gulrajani et al."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    return torch.lerp(fake, real, alpha)


def gradient_norms(critic: nn.Module, x_hat: torch.Tensor, *, create_graph: bool = True) -> torch.Tensor:
    """‖∇D(x̂)‖₂ for each sample of ``x_hat``."""
    x_hat = x_hat.detach().requires_grad_(True)
    (gradients,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=create_graph)
    return gradients.flatten(1).norm(2, dim=1)


def scores_and_gradient_norms(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, *, create_graph: bool = True, gradient_critic: nn.Module | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Critic scores of ``real`` and ``fake``, and ‖∇D(x̂)‖₂ for one interpolate per pair.

    Real and generated samples share one forward pass (valid for a critic with no
    batch norm, which a gradient penalty needs anyway); the interpolates get their
    own, so the double backward of the penalty only runs over them. That pass uses
    ``gradient_critic`` when given: the same weights outside torch.compile, which
    cannot differentiate a gradient.
    """
    n = real.shape[0]
    fake = fake.detach()
    scores = critic(torch.cat([real, fake])).flatten()
    norms = gradient_norms(gradient_critic or critic, interpolate(real, fake), create_graph=create_graph)
    return scores[:n], scores[n:], norms


def gradient_penalty(grad_norms: torch.Tensor) -> torch.Tensor:
    """(‖∇D(x̂)‖₂ − 1)², averaged over the interpolates (two-sided, as in the paper)."""
    return ((grad_norms - 1.0) ** 2).mean()


class WassersteinGAN(GANAlgorithm):
    """What WGAN and WGAN-GP share: networks, optimizers, the critic/generator schedule, sampling.

    Subclasses give ``critic_loss`` (the objective of one critic step, plus its
    logs), may check the critic (``check_critic``) and constrain it after every
    critic step (``constrain_critic``).
    """

    config: CriticConfig

    def __init__(self, config: CriticConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        generator = ctx.build_generator(config.generator, config.latent_dim)
        critic = ctx.build_discriminator(config.critic, "algorithm.critic")
        self.check_critic(critic)
        opt_generator = self._optimizer(generator, config.lr_generator)
        opt_critic = self._optimizer(critic, config.lr_critic)
        self.generator, self.critic, self.opt_generator, self.opt_critic = ctx.prepare(generator, critic, opt_generator, opt_critic)
        self.constrain_critic()
        if config.augment.enabled and ctx.data.kind != "image":
            raise UserError(f"algorithm.augment transforms images, and the data '{ctx.data.kind}' are not images; leave it out")
        if config.augment.adaptive:
            raise UserError(
                "algorithm.augment.adaptive: ADA steers p by the sign of the discriminator's logit on real data, and a "
                "Wasserstein critic's score has no centre; give a fixed augment.probability instead"
            )
        self.augment = Augmenter.from_context(config.augment, ctx)

    def _optimizer(self, module: nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.config.optimizer == "rmsprop":
            return torch.optim.RMSprop(module.parameters(), lr=lr)
        return torch.optim.Adam(module.parameters(), lr=lr, betas=self.config.betas)

    # -------------------------------------------------------- subclass hooks

    def check_critic(self, critic: nn.Module) -> None:
        """Refuse a critic this variant cannot train."""

    def constrain_critic(self) -> None:
        """Called after the critic is built and after every critic step."""

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor, *, last: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of one critic step and what to log. ``last`` marks the last critic step of a generator step."""
        raise NotImplementedError

    def critic_steps(self, step: int) -> int:
        return self.config.n_critic

    # ------------------------------------------------------------- training

    def train_step(self, batch, step):
        cfg, n = self.config, batch["x"].shape[0]
        self._set_learning_rates(step)

        # The critic first: n_critic steps towards the Wasserstein estimate, each on a fresh real batch.
        steps = self.critic_steps(step)
        for i in range(steps):
            real = batch["x"] if i == 0 else self.ctx.next_batch()["x"]
            with torch.no_grad():
                fake = self.generator(self.noise(n, cfg.latent_dim))
            # The critic sees both through the augmentation (an identity when it is off), each with its own draw.
            loss_critic, logs = self.critic_loss(self.augment(real), self.augment(fake), last=i == steps - 1)
            self.ctx.update(self.opt_critic, loss_critic)
            self.constrain_critic()

        # Then one generator step: it moves its samples up the critic's slope.
        fake = self.generator(self.noise(n, cfg.latent_dim))
        with self.ctx.frozen(self.critic) as critic:
            loss_generator = -critic(self.augment(fake)).mean()  # the gradient flows back through the augmentation
        self.ctx.update(self.opt_generator, loss_generator)
        return {**logs, "loss_critic": loss_critic.detach(), "loss_generator": loss_generator.detach()}

    def _set_learning_rates(self, step: int) -> None:
        cfg = self.config
        if cfg.lr_decay == "none":
            return
        # Linear decay, as in Gulrajani et al.'s CIFAR runs: full rate at step 1, lr_final_fraction at the end.
        factor = linear_decay(step - 1, max(1, self.ctx.train.steps), final=cfg.lr_final_fraction)
        set_lr(self.opt_generator, cfg.lr_generator, factor)
        set_lr(self.opt_critic, cfg.lr_critic, factor)


class WGAN(WassersteinGAN):
    """Arjovsky et al. 2017: a clipped critic, RMSProp, n_critic critic steps per generator step."""

    config: WGANConfig

    @torch.no_grad()
    def constrain_critic(self) -> None:
        c = self.config.clip_value
        for p in self.critic.parameters():
            p.clamp_(-c, c)

    def critic_steps(self, step: int) -> int:
        generator_steps_done = step - 1
        if self.config.reference_schedule and (generator_steps_done < REFERENCE_WARMUP or generator_steps_done % REFERENCE_EVERY == 0):
            return REFERENCE_CRITIC_STEPS
        return self.config.n_critic

    def critic_loss(self, real, fake, *, last):
        # Real and generated batches go through the critic separately, as in the reference
        # code: a batch-norm critic (allowed here, unlike in WGAN-GP) normalises each on its own.
        real_scores, fake_scores = self.critic(real).flatten(), self.critic(fake).flatten()
        wasserstein = real_scores.mean() - fake_scores.mean()
        logs = {"wasserstein": wasserstein.detach()}
        if last:  # how far from 1-Lipschitz the clipped critic is: logged, not optimised
            norms = gradient_norms(self.ctx.unwrap(self.critic), interpolate(real, fake), create_graph=False)
            logs.update(grad_norm=norms.mean().detach(), penalty=gradient_penalty(norms).detach())
        return -wasserstein, logs


class WGANGP(WassersteinGAN):
    """Gulrajani et al. 2017: λ·(‖∇D(x̂)‖₂ − 1)² on random interpolates instead of clipping."""

    config: WGANGPConfig

    def check_critic(self, critic: nn.Module) -> None:
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules()):
            raise UserError(
                "wgan-gp: the critic has batch norm, which makes each sample's gradient depend on the whole batch "
                "and so breaks the per-sample gradient penalty; use algorithm.critic.norm=layer (or none)"
            )

    def critic_loss(self, real, fake, *, last):
        # torch.compile (train.compile) has no double backward: the penalty's pass then runs eagerly.
        eager = self.ctx.unwrap(self.critic) if self.ctx.train.compile else None
        real_scores, fake_scores, norms = scores_and_gradient_norms(self.critic, real, fake, gradient_critic=eager)
        wasserstein = real_scores.mean() - fake_scores.mean()
        penalty = gradient_penalty(norms)
        logs = {"wasserstein": wasserstein.detach(), "grad_norm": norms.mean().detach(), "penalty": penalty.detach()}
        return -wasserstein + self.config.penalty_weight * penalty, logs
