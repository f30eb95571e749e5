"""WGAN (weight clipping) and WGAN-GP (gradient penalty).

One trainer step is one generator step. Before it, the critic takes
``n_critic`` steps, each on a fresh real batch drawn from the run's
resumable stream (``ctx.next_batch()``), so a resumed run replays exactly
the batches an uninterrupted one would see.

The critic maximises E[D(x)] − E[D(G(z))], the Wasserstein estimate, which is
a lower bound on the Wasserstein-1 distance (up to the critic's Lipschitz
constant) only while the critic stays Lipschitz: ``wgan`` clips its weights,
``wgan-gp`` penalises its input gradient on random interpolates with gancore's
``GradientPenalty``.

Names follow gancore's contract: the critic's optimizer is ``opt_d`` and the
generator's ``opt_g``; every step logs ``loss_d`` and ``loss_g`` (what each
minimised) with ``wasserstein``, ``grad_norm`` and ``penalty``.
"""

from __future__ import annotations

import torch
from torch import nn

from gancore import GANAlgorithm, TrainContext, UserError
from gancore.augment import Augmenter
from gancore.losses import GradientPenalty, GradientPenaltyConfig, input_gradients, interpolates
from gancore.schedules import linear_decay, set_lr

from .config import CriticConfig, WGANConfig, WGANGPConfig

# The reference WGAN code trains the critic almost to optimality at first and
# now and then later: 100 critic steps for the first 25 generator steps and on
# every 500th generator step.
REFERENCE_CRITIC_STEPS = 100
REFERENCE_WARMUP = 25
REFERENCE_EVERY = 500


def gradient_penalty(weight: float) -> GradientPenalty:
    """WGAN-GP's penalty, ``weight · E (‖∇D(x̂)‖₂ − 1)²`` on random interpolates x̂ (two-sided, one α per
    sample, as in Gulrajani et al.): gancore's ``GradientPenalty`` with target 1."""
    return GradientPenalty(GradientPenaltyConfig(weight=weight, target=1.0, at="interpolates"))


def scores_and_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, penalty: GradientPenalty, *, gradient_critic: nn.Module | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Critic scores of ``real`` and ``fake``, and ``penalty`` on one interpolate per pair (weighted, with its
    graph; ``penalty.last_norms`` then holds ‖∇D(x̂)‖₂ per interpolate).

    Real and generated samples share one forward pass (valid for a critic with no batch norm, which a
    gradient penalty needs anyway); the interpolates get their own, so the double backward of the penalty
    only runs over them. That pass uses ``gradient_critic`` when given (``ctx.eager``: the same weights
    outside torch.compile, which cannot differentiate a gradient)."""
    n = real.shape[0]
    fake = fake.detach()
    scores = critic(torch.cat([real, fake])).flatten()
    term = penalty.penalty(gradient_critic or critic, real, fake)
    return scores[:n], scores[n:], term


def unweighted_penalty(norms: torch.Tensor) -> torch.Tensor:
    """(‖∇D(x̂)‖₂ − 1)² averaged over the interpolates, before the weight λ: what ``penalty`` logs."""
    return ((norms - 1.0) ** 2).mean()


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
        opt_g = self._optimizer(generator, config.lr_generator)
        opt_d = self._optimizer(critic, config.lr_critic)
        self.generator, self.critic, self.opt_g, self.opt_d = ctx.prepare(generator, critic, opt_g, opt_d)
        self.constrain_critic()
        if config.augment.enabled and ctx.data.kind != "image":
            raise UserError(f"algorithm.augment transforms images, and the data '{ctx.data.kind}' are not images; leave it out")
        if config.augment.adaptive:
            raise UserError(
                "algorithm.augment.adaptive: ADA steers p by the sign of the discriminator's logit on real data, and a "
                "Wasserstein critic's score has no centre; give a fixed augment.probability instead"
            )
        self.augment = Augmenter.from_context(config.augment, ctx)
        self.register_state("generator", "critic", "opt_g", "opt_d", "augment")

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
            loss_d, logs = self.critic_loss(self.augment(real), self.augment(fake), last=i == steps - 1)
            self.ctx.update(self.opt_d, loss_d)
            self.constrain_critic()

        # Then one generator step: it moves its samples up the critic's slope.
        fake = self.generator(self.noise(n, cfg.latent_dim))
        with self.ctx.frozen(self.critic) as critic:
            loss_g = -critic(self.augment(fake)).mean()  # the gradient flows back through the augmentation
        self.ctx.update(self.opt_g, loss_g)
        return {**logs, "loss_d": loss_d.detach(), "loss_g": loss_g.detach()}

    def _set_learning_rates(self, step: int) -> None:
        cfg = self.config
        if cfg.lr_decay == "none":
            return
        # Linear decay, as in Gulrajani et al.'s CIFAR runs: full rate at step 1, lr_final_fraction at the end.
        factor = linear_decay(step - 1, max(1, self.ctx.train.steps), final=cfg.lr_final_fraction)
        set_lr(self.opt_g, cfg.lr_generator, factor)
        set_lr(self.opt_d, cfg.lr_critic, factor)


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
        if last:  # how far from 1-Lipschitz the clipped critic is: logged, not optimised (no graph, no DDP wrapper)
            grads = input_gradients(self.ctx.unwrap(self.critic), interpolates(real, fake), create_graph=False)
            norms = grads.norm(2, dim=1)
            logs.update(grad_norm=norms.mean(), penalty=unweighted_penalty(norms))
        return -wasserstein, logs


class WGANGP(WassersteinGAN):
    """Gulrajani et al. 2017: λ·(‖∇D(x̂)‖₂ − 1)² on random interpolates instead of clipping."""

    config: WGANGPConfig

    def __init__(self, config: WGANGPConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        self.penalty = gradient_penalty(config.penalty_weight)
        self.register_state("penalty")

    def check_critic(self, critic: nn.Module) -> None:
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules()):
            raise UserError(
                "wgan-gp: the critic has batch norm, which makes each sample's gradient depend on the whole batch "
                "and so breaks the per-sample gradient penalty; use algorithm.critic.norm=layer (or none)"
            )

    def critic_loss(self, real, fake, *, last):
        # torch.compile (train.compile) has no double backward: ctx.eager gives the penalty's pass the plain critic.
        real_scores, fake_scores, penalty = scores_and_penalty(self.critic, real, fake, self.penalty, gradient_critic=self.ctx.eager(self.critic))
        wasserstein = real_scores.mean() - fake_scores.mean()
        norms = self.penalty.last_norms
        logs = {"wasserstein": wasserstein.detach(), "grad_norm": norms.mean(), "penalty": unweighted_penalty(norms)}
        return -wasserstein + penalty, logs
