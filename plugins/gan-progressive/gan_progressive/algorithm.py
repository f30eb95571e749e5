"""``progressive``: Progressive Growing of GANs (Karras et al. 2018).

One trainer step is one generator update, after ``d_steps`` discriminator
updates. Before each step the image counter gives the stage and α (see
``schedule``); ``batch_size(step)`` gives the trainer the batch size of that
stage's resolution, and the real images, which always arrive at the data's
full resolution, are brought down to the stage's resolution by area averaging
(and, during a fade-in, blended with their coarser copy, as in the reference).

Both networks are built at full size (see ``models``), so growth changes no
module: optimizer moments, the EMA and checkpoints carry over untouched, and a
resumed run only needs the image counters (``images_shown``, ``trained_images``,
``phase``: plain ints, declared as state).

The WGAN-GP penalty is gancore's ``GradientPenalty`` with target γ and weight λ/γ²,
taken through a closure that gives D its stage and α. A step makes no host sync:
the stage and α are Python values of the schedule (α goes to the device with
``torch.full``, which copies nothing from the host).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from gancore import GANAlgorithm, LossRef, TrainContext, UserError
from gancore.losses import GradientPenalty, GradientPenaltyConfig

from .config import ProgressiveConfig
from .models import ProgressiveDiscriminator, ProgressiveGenerator
from .schedule import Point, Schedule, resolution, stage_of


def downsample(x: torch.Tensor, side: int) -> torch.Tensor:
    """Area averaging from the data's resolution down to ``side`` (an exact divisor)."""
    factor = x.shape[-1] // side
    return F.avg_pool2d(x, factor) if factor > 1 else x


def fade_reals(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Real images as the networks see them during a fade-in: ``lerp(up(down(x)), x, α)``, so that
    at α = 0 they carry no more detail than the previous stage could produce."""
    coarse = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
    return torch.lerp(coarse, x, alpha.to(x.dtype))


def gradient_penalty(config: ProgressiveConfig) -> GradientPenalty:
    """The reference's penalty λ·E (‖∇D(x̂)‖₂ − γ)² / γ² on random interpolates: gancore's ``GradientPenalty``
    with target γ (``penalty_target``) and weight λ/γ² (``penalty_weight / penalty_target**2``)."""
    weight = config.penalty_weight / config.penalty_target**2
    return GradientPenalty(GradientPenaltyConfig(weight=weight, target=config.penalty_target, at="interpolates"))


class ProgressiveGAN(GANAlgorithm):
    config: ProgressiveConfig

    def __init__(self, config: ProgressiveConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        image_channels, last_stage = self._check_data(ctx)
        first_stage = stage_of(config.start_resolution)
        if first_stage > last_stage:
            raise UserError(
                f"algorithm.start_resolution ({config.start_resolution}) is larger than the data's images "
                f"({resolution(last_stage)}x{resolution(last_stage)}); lower it"
            )
        self.schedule = Schedule(first_stage, last_stage, config.fade_in_images, config.stabilize_images)
        self.images_shown = 0  # real images shown to the discriminator, by all processes: the schedule's clock
        self.trained_images = 0  # the clock at the start of the last step: where the networks were last trained
        self.phase = 0  # the schedule phase of the last step (for reset_optimizer_on_growth)
        generator = ProgressiveGenerator(config.network, image_channels, last_stage, config.latent_dim)
        discriminator = ProgressiveDiscriminator(config.network, image_channels, last_stage)
        adam = dict(betas=config.betas, eps=config.adam_epsilon)
        opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_generator, **adam)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_discriminator, **adam)
        self.generator, self.discriminator, self.opt_g, self.opt_d = ctx.prepare(generator, discriminator, opt_g, opt_d)
        self.loss = ctx.build_loss(LossRef(name="least-squares"), "algorithm.loss") if config.loss == "least-squares" else None
        self.penalty = gradient_penalty(config) if config.loss == "wgan-gp" else None
        self.register_state("generator", "discriminator", "opt_g", "opt_d", "penalty", "images_shown", "trained_images", "phase")

    @classmethod
    def accelerator_options(cls, config: ProgressiveConfig) -> dict[str, Any]:
        """With several processes, DDP must expect the layers of the stages not in use to get no gradient."""
        from accelerate.utils import DistributedDataParallelKwargs

        return {"kwargs_handlers": [DistributedDataParallelKwargs(find_unused_parameters=True)]}

    @staticmethod
    def _check_data(ctx: TrainContext) -> tuple[int, int]:
        shape = tuple(ctx.data.sample_shape)
        if ctx.data.kind != "image" or len(shape) != 3:
            raise UserError(f"progressive grows image generators; the data '{ctx.data.kind}' has samples of shape {shape}. Use an image dataset")
        side = shape[1]
        stage = stage_of(side) if shape[1] == shape[2] else None
        if stage is None:
            raise UserError(
                f"progressive needs square images whose side is 4 times a power of two (4, 8, 16, 32, 64, ...), "
                f"got {shape[1]}x{shape[2]}; resize or pad the data, e.g. data.pad=2 for 28x28 MNIST (-> 32) or data.image_size=32"
            )
        return shape[0], stage

    # ------------------------------------------------------------- schedule

    def point(self) -> Point:
        """Where the schedule is now: the stage, α and resolution of the next step."""
        return self.schedule.at(self.images_shown)

    def sampling_point(self) -> Point:
        """The stage and α the networks were last trained at: samples, previews and metrics use it (after the
        last step of a stage it is that stage, not the next one's fade-in at α = 0, which looks the same, upsampled)."""
        return self.schedule.at(self.trained_images)

    def batch_size(self, step: int) -> int | None:
        return self.config.batch_sizes.get(self.point().resolution)

    def _alpha(self, point: Point) -> torch.Tensor | None:
        # A tensor, so that torch.compile does not specialise the networks on every value of α; made by a fill on
        # the device (torch.tensor would copy it from the host, which waits for the device).
        return torch.full((), point.alpha, device=self.ctx.device) if point.fading else None

    def _reals(self, x: torch.Tensor, point: Point, alpha: torch.Tensor | None) -> torch.Tensor:
        x = downsample(x, point.resolution)
        return fade_reals(x, alpha) if alpha is not None and self.config.fade_reals else x

    # ------------------------------------------------------------- training

    def train_step(self, batch, step):
        cfg, point = self.config, self.point()
        stage, alpha = point.stage, self._alpha(point)
        if cfg.reset_optimizer_on_growth and point.phase != self.phase:
            for optimizer in (self.opt_g, self.opt_d):
                optimizer.state.clear()
        self.phase, self.trained_images = point.phase, self.images_shown
        n = batch["x"].shape[0]
        world = self.ctx.accelerator.num_processes

        for i in range(cfg.d_steps):
            real = self._reals(batch["x"] if i == 0 else self.ctx.next_batch(size=n)["x"], point, alpha)
            with torch.no_grad():
                fake = self.generator(self.noise(n, cfg.latent_dim), stage, alpha)
            loss_d, logs = self._discriminator_loss(real, fake, stage, alpha)
            self.ctx.update(self.opt_d, loss_d)
            self.images_shown += n * world

        fake = self.generator(self.noise(n, cfg.latent_dim), stage, alpha)
        with self.ctx.frozen(self.discriminator) as discriminator:
            scores = discriminator(fake, stage, alpha)
            loss_g = self.loss.generator_loss(scores) if self.loss else -scores.mean()
        self.ctx.update(self.opt_g, loss_g)
        return {
            **logs,
            "loss_d": loss_d.detach(),
            "loss_g": loss_g.detach(),
            "stage": float(stage),
            "alpha": point.alpha,
            "resolution": float(point.resolution),
            "kimg": self.images_shown / 1000,
        }

    def _discriminator_loss(self, real, fake, stage, alpha):
        # Real and generated images go through D separately: minibatch stddev must see one kind at a time.
        real_scores = self.discriminator(real, stage, alpha)
        fake_scores = self.discriminator(fake, stage, alpha)
        if self.loss is not None:
            return self.loss.discriminator_loss(real_scores, fake_scores), {}
        cfg = self.config
        # torch.compile has no double backward: ctx.eager gives the penalty's pass the plain module.
        critic = self.ctx.eager(self.discriminator)
        weighted = self.penalty.penalty(lambda x: critic(x, stage, alpha), real, fake)
        norms = self.penalty.last_norms
        penalty = ((norms - cfg.penalty_target) ** 2).mean() / cfg.penalty_target**2  # logged before λ, as the reference's
        drift = (real_scores**2).mean()
        wasserstein = real_scores.mean() - fake_scores.mean()
        loss = -wasserstein + weighted + cfg.drift_weight * drift
        return loss, {"wasserstein": wasserstein.detach(), "grad_norm": norms.mean(), "penalty": penalty, "drift": drift.detach()}

    # ------------------------------------------------------------- sampling

    @torch.no_grad()
    def sample_native(self, n: int, *, seed: int | None = None) -> torch.Tensor:
        """``n`` images at the current stage's own resolution, in [-1, 1]."""
        point = self.sampling_point()
        with self.ctx.evaluating(self.generator) as generator:
            images = generator(self.noise(n, self.config.latent_dim, seed), point.stage, self._alpha(point))
        return images.float().clamp(-1, 1)

    @torch.no_grad()
    def sample(self, n, *, seed=None):
        """``n`` images at the data's resolution: the current stage's, upsampled (nearest)."""
        images = self.sample_native(n, seed=seed)
        factor = self.ctx.data.sample_shape[-1] // images.shape[-1]
        return F.interpolate(images, scale_factor=factor, mode="nearest") if factor > 1 else images

    @torch.no_grad()
    def preview(self, n: int, seed: int | None = None) -> list[torch.Tensor]:
        """The sample grid: rows of the current stage's native output."""
        images = self.sample_native(n, seed=seed)
        per_row = max(1, int(n**0.5))
        return [images[i : i + per_row] for i in range(0, n, per_row)]
