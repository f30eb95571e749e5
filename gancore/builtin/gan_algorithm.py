"""The ``gan`` algorithm of the builtin ``gan`` family: GAN and DCGAN with a choice of loss, and BigGAN.

Six adversarial objectives (minimax, non-saturating, hinge, least-squares,
wasserstein, relativistic), an R1 regulariser, one-sided label smoothing,
several discriminator steps per generator step, PacGAN packing, differentiable
augmentation and consistency regularisation, class-conditional generation, all
as options of the one ``gan`` algorithm. ``gancore/builtin/gan.py`` registers it.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from gancore import losses
from gancore.algorithm import GANAlgorithm
from gancore.train_context import TrainContext
from gancore.augment import AugmentConfig, Augmenter, consistency_penalty
from gancore.bounds import AdamBetas
from gancore.errors import UserError
from gancore.nn import conditional
from gancore.registry import LossRef, ModelRef, StrictModel


class GANConfig(StrictModel):
    latent_dim: int = Field(64, ge=1, description="size of the generator's Gaussian input")
    generator: ModelRef = Field(default_factory=lambda: ModelRef(name="dcgan-generator"), description="generator network")
    discriminator: ModelRef = Field(default_factory=lambda: ModelRef(name="dcgan-discriminator"), description="discriminator network")
    loss: LossRef = Field(default_factory=lambda: LossRef(name="non-saturating"), description="adversarial objective")
    regularizer: LossRef | None = Field(None, description="a regulariser added to the discriminator's loss, e.g. {name: r1, gamma: 10}; null for none")
    lr_generator: float = Field(2e-4, gt=0, description="Adam learning rate of the generator")
    lr_discriminator: float = Field(2e-4, gt=0, description="Adam learning rate of the discriminator")
    betas: AdamBetas = Field((0.5, 0.999), description="Adam betas, for both networks")
    d_steps: int = Field(1, ge=1, description="discriminator updates per generator update, each on a fresh real batch")
    pack: int = Field(1, ge=1, description="PacGAN packing: the discriminator judges this many samples at once, concatenated")
    conditional: bool = Field(False, description="class-conditional: G and D get the class y of a labelled dataset (networks that take classes, e.g. biggan-*)")
    class_head: Literal["projection", "acgan"] = Field("projection", description="conditional D: projection (Miyato and Koyama 2018) or an auxiliary classifier (ACGAN)")
    acgan_weight: float = Field(1.0, ge=0, description="class_head acgan: weight of the class cross-entropy in both networks' losses")
    orthogonal_reg: float = Field(0.0, ge=0, description="β of BigGAN's orthogonal regularisation of G, β‖WᵀW ⊙ (1 − I)‖²_F (BigGAN: 1e-4); 0 disables")
    augment: AugmentConfig = Field(
        default_factory=AugmentConfig, description="differentiable augmentation of every discriminator input, real and generated "
        "(DiffAugment, ADA), e.g. {policy: [translation, cutout]}; see gancore.augment"
    )
    consistency_real: float = Field(0.0, ge=0.0, description="bCR: weight of ‖D(T(x)) − D(x)‖² on real batches (T: the augment policy, applied to every sample); 0 disables")
    consistency_fake: float = Field(0.0, ge=0.0, description="bCR: the same on generated batches; 0 disables")


class GAN(GANAlgorithm):
    def __init__(self, config: GANConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        shape = ctx.data.sample_shape
        if ctx.train.batch_size % config.pack:
            raise UserError(f"train.batch_size ({ctx.train.batch_size}) must be a multiple of algorithm.pack ({config.pack})")
        packed = (shape[0] * config.pack, *shape[1:])  # packing stacks samples along the first feature axis
        classes = {}
        if config.conditional:
            if config.pack > 1:
                raise UserError("algorithm.pack > 1 concatenates samples of different classes; a conditional run takes pack: 1")
            self.conditional_classes = conditional.class_count(ctx.data, ctx.data.streams[ctx.data.default_stream])
            classes = {"num_classes": self.conditional_classes}
        generator = ctx.build_generator(config.generator, config.latent_dim, **classes)
        discriminator = ctx.build_discriminator(config.discriminator, data_shape=packed, **classes, **({"class_head": config.class_head} if classes else {}))
        if classes:
            conditional.check_conditional(generator, "algorithm.generator", config.generator.name)
            conditional.check_conditional(discriminator, "algorithm.discriminator", config.discriminator.name)
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
        if (config.augment.enabled or config.consistency_real or config.consistency_fake) and ctx.data.kind != "image":
            raise UserError(f"algorithm.augment and bCR transform images, and the data '{ctx.data.kind}' are not images; leave them out")
        if (config.consistency_real or config.consistency_fake) and not config.augment.enabled:
            raise UserError("algorithm.consistency_real/consistency_fake (bCR) compare D's output with its output on an augmented copy: "
                            "give algorithm.augment.policy, e.g. [translation, cutout]")
        self.augment = Augmenter.from_context(config.augment, ctx)
        self.register_state("generator", "discriminator", "opt_g", "opt_d", "augment", "regularizer")
        if hasattr(self.loss, "state_dict"):  # a plugin's loss may count or adapt something
            self.register_state("loss")

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, ...) -> (B/pack, pack*C, ...): PacGAN's concatenation along the feature axis."""
        m = self.config.pack
        if m == 1:
            return x
        return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])

    def make_fake(self, n: int, seed: int | None = None, labels: torch.Tensor | None = None, generator=None):
        """(n generated samples, their classes or None); classes drawn uniformly unless given."""
        generator = generator or self.generator
        z = self.noise(n, self.config.latent_dim, seed)
        if not self.conditional_classes:
            return generator(z), None
        if labels is None:
            rng = None if seed is None else torch.Generator().manual_seed(seed + 1)
            labels = torch.randint(self.conditional_classes, (n,), generator=rng).to(z.device) if rng else torch.randint(self.conditional_classes, (n,), device=z.device)
        return generator(z, labels), labels

    def judge(self, x: torch.Tensor, labels: torch.Tensor | None, class_losses: list | None = None) -> torch.Tensor:
        """D's real/fake logits for ``x`` (of classes ``labels`` in a conditional run); an ACGAN head's class
        cross-entropy is appended to ``class_losses``."""
        if not self.conditional_classes:
            return self.discriminator(self.pack(x))
        logits, class_logits = conditional.split_acgan(self.discriminator(x, labels))
        if class_logits is not None and class_losses is not None:
            class_losses.append(self.config.acgan_weight * conditional.class_loss(class_logits, labels))
        return logits

    @torch.no_grad()
    def sample(self, n, *, seed=None, labels=None):
        if not self.conditional_classes:
            return super().sample(n, seed=seed)
        with self.ctx.evaluating(self.generator) as plain:
            return self.make_fake(n, seed, labels, plain)[0].float()

    def train_step(self, batch, step):
        cfg, n = self.config, batch["x"].shape[0]
        logs: dict[str, torch.Tensor] = {}
        for i in range(cfg.d_steps):
            real_batch = batch if i == 0 else self.ctx.next_batch()
            real, real_labels, class_losses = real_batch["x"], real_batch.get("y"), []
            with torch.no_grad():
                fake, fake_labels = self.make_fake(n)
            # D sees both through the augmentation (an identity when it is off), each with its own draw.
            seen_real, seen_fake = self.augment(real), self.augment(fake)
            real_scores, fake_scores = self.judge(seen_real, real_labels, class_losses), self.judge(seen_fake, fake_labels, class_losses)
            self.augment.observe(real_scores)
            loss_d = sum(class_losses, self.loss.discriminator_loss(real_scores, fake_scores))
            penalty = self.regularization(self.pack(seen_real), self.pack(seen_fake), logs, real_labels)
            if penalty is not None:
                loss_d = loss_d + penalty
            for weight, x, y, scores, key in ((cfg.consistency_real, real, real_labels, real_scores, "bcr_real"),
                                              (cfg.consistency_fake, fake, fake_labels, fake_scores, "bcr_fake")):
                if weight:
                    term = weight * consistency_penalty(lambda v, y=y: self.judge(v, y), x, scores, self.augment)
                    logs[key] = term.detach()
                    loss_d = loss_d + term
            self.ctx.update(self.opt_d, loss_d)
        logs.update(self.augment.update(step))

        fake, fake_labels = self.make_fake(n)
        real_logits, class_losses = None, []
        if self.real_logits_for_generator:
            with torch.no_grad():  # a constant for the generator: no gradient reaches it through real data
                real_logits = self.judge(self.augment(batch["x"]), batch.get("y"))
        # The gradient reaches the generator through the augmentation of its samples.
        loss_g = self.loss.generator_loss(self.judge(self.augment(fake), fake_labels, class_losses), real_logits)
        loss_g = sum(class_losses, loss_g)
        if cfg.orthogonal_reg:
            logs["reg_orthogonal"] = conditional.orthogonal_penalty(self.ctx.unwrap(self.generator), cfg.orthogonal_reg)
            loss_g = loss_g + logs["reg_orthogonal"]
            logs["reg_orthogonal"] = logs["reg_orthogonal"].detach()
        self.ctx.update(self.opt_g, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), **logs}

    def regularization(self, real: torch.Tensor, fake: torch.Tensor, logs: dict, labels: torch.Tensor | None = None) -> torch.Tensor | None:
        """The sum of the regularisers of the loss and of ``algorithm.regularizer`` (None if
        there are none); each is logged as ``reg_<name>``. In a conditional run they see D's
        real/fake logit for the real batch's classes ``labels``, projection term included."""
        discriminator = self.ctx.eager(self.discriminator)  # a gradient penalty differentiates a gradient
        if self.conditional_classes:
            scored = discriminator
            discriminator = lambda x: conditional.split_acgan(scored(x, labels))[0]  # noqa: E731
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
