"""CycleGAN (Zhu et al. 2017): two generators, G: A -> B and F: B -> A, and two discriminators,
D_A (is this a real A image?) and D_B (a real B image?), trained on unpaired images.

One trainer step is one step of the reference's ``optimize_parameters``:

1. a batch of A (the trainer's batch, ``x``) and one of B (``ctx.next_batch(stream="b")``,
   ``x_b``), each resized, cropped and flipped on the device (``load_size``, ``crop_size``, ``flip``);
2. the generators, with both discriminators frozen, minimise
   w·[ℓ_G(D_B(G(a))) + ℓ_G(D_A(F(b)))] + λ_A·|F(G(a)) − a|₁ + λ_B·|G(F(b)) − b|₁
   + λ_A·λ_id,A·|F(a) − a|₁ + λ_B·λ_id,B·|G(b) − b|₁ (λ_id,A = λ_id,B = ``identity_weight``
   unless ``identity_weight_a`` / ``identity_weight_b`` set them apart);
3. each discriminator minimises ℓ_D(real, fake) with its fakes drawn from a pool of
   past fakes (``pool_size``, the reference's 50 with a 50% swap); one optimizer
   minimises their sum.

Logged: ``loss_g`` (the generators' loss), ``loss_d`` (the sum that ``opt_d`` minimises)
with its parts ``loss_d_a`` and ``loss_d_b``, each term of ``loss_g``, and ``lr``.

ℓ is the adversarial loss from the registry (least-squares by default). Both
optimizers are Adam(2e-4, β = (0.5, 0.999)); the learning rate holds for
``lr_constant_steps`` steps and then falls linearly to 0 at ``train.steps``.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from gancore import GANAlgorithm, TrainContext, UserError
from gancore.schedules import linear_decay, set_lr

from .augment import jitter, training_side
from .config import CycleGANConfig
from .pool import ImagePool

DIRECTIONS = ("a2b", "b2a")


def cycle_loss(real: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """|F(G(a)) − a|₁ averaged over pixels (the reference's L1Loss)."""
    return (reconstructed - real).abs().mean()


class CycleGAN(GANAlgorithm):
    config: CycleGANConfig

    def __init__(self, config: CycleGANConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        shape_a, shape_b = self._domain_shapes(ctx)
        self.shapes = {"a": shape_a, "b": shape_b}  # the domains' image shapes, read from the data: configuration
        side = training_side(shape_a[-1], config.load_size, config.crop_size)
        if config.crop_size and config.crop_size > (config.load_size or shape_a[-1]):
            raise UserError(f"cyclegan: crop_size {config.crop_size} is larger than the images it is cut from ({config.load_size or shape_a[-1]} px); lower it or set load_size")
        if any(config.identity_weights()) and shape_a[0] != shape_b[0]:
            raise UserError(
                f"cyclegan: the identity loss compares G(b) with b, so both domains need the same number of channels, but A has "
                f"{shape_a[0]} and B has {shape_b[0]}; set channels: {max(shape_a[0], shape_b[0])} on both domains of the data, "
                "or algorithm.identity_weight=0 (and identity_weight_a / identity_weight_b, if set)"
            )
        self.loss = ctx.build_loss(config.loss, "algorithm.loss")
        build_g = lambda c_in, c_out: ctx.build_model(config.generator, "algorithm.generator", in_channels=c_in, out_channels=c_out, image_size=side)  # noqa: E731
        build_d = lambda c: ctx.build_model(config.discriminator, "algorithm.discriminator", data_shape=(c, side, side), out_features=1)  # noqa: E731
        generator_ab, generator_ba = build_g(shape_a[0], shape_b[0]), build_g(shape_b[0], shape_a[0])
        discriminator_a, discriminator_b = build_d(shape_a[0]), build_d(shape_b[0])
        # One optimizer per pair, as the reference chains the parameters of both generators (and both discriminators).
        opt_g = torch.optim.Adam(itertools.chain(generator_ab.parameters(), generator_ba.parameters()), lr=config.lr, betas=config.betas)
        opt_d = torch.optim.Adam(itertools.chain(discriminator_a.parameters(), discriminator_b.parameters()), lr=config.lr, betas=config.betas)
        (self.generator_ab, self.generator_ba, self.discriminator_a, self.discriminator_b, self.opt_g, self.opt_d) = ctx.prepare(
            generator_ab, generator_ba, discriminator_a, discriminator_b, opt_g, opt_d
        )
        self.pool_a, self.pool_b = ImagePool(config.pool_size, ctx.device), ImagePool(config.pool_size, ctx.device)
        # What a resumed run needs: the networks, their optimizers and the pools of past fakes (the learning rate is
        # a function of the step, set at every step).
        self.register_state("generator_ab", "generator_ba", "discriminator_a", "discriminator_b", "opt_g", "opt_d", "pool_a", "pool_b")

    @staticmethod
    def _domain_shapes(ctx: TrainContext) -> tuple[tuple[int, ...], tuple[int, ...]]:
        tensors = ctx.data.tensors
        if "x_b" not in tensors or "b" not in (ctx.data.streams or {}):
            raise UserError(
                "cyclegan translates between two domains: use the unpaired dataset, e.g. "
                "data: {name: unpaired, a: {name: half, half: first, of: {name: mnist5k, channels: 3}}, "
                "b: {name: half, half: second, of: {name: mnist5k, transforms: [{name: colorize, mode: random}]}}}"
            )
        shape_a, shape_b = tuple(tensors["x"].shape[1:]), tuple(tensors["x_b"].shape[1:])
        if len(shape_a) != 3 or len(shape_b) != 3 or shape_a[1] != shape_a[2] or shape_a[1:] != shape_b[1:]:
            raise UserError(
                f"cyclegan needs square images of the same size in both domains, got A {shape_a} and B {shape_b}; "
                "set the same image_size on both domains of the data"
            )
        return shape_a, shape_b

    # ------------------------------------------------------------- training

    def learning_rate_factor(self, step: int) -> float:
        total = self.ctx.train.steps
        constant = total // 2 if self.config.lr_constant_steps is None else self.config.lr_constant_steps
        return linear_decay(step, total=total, decay_start=constant)

    def train_step(self, batch, step):
        cfg = self.config
        factor = self.learning_rate_factor(step)
        set_lr(self.opt_g, cfg.lr, factor)
        set_lr(self.opt_d, cfg.lr, factor)
        real_a = jitter(batch["x"], cfg.load_size, cfg.crop_size, cfg.flip)
        real_b = jitter(self.ctx.next_batch(stream="b")["x_b"], cfg.load_size, cfg.crop_size, cfg.flip)

        # The generators: fool both discriminators, and come back to where they started.
        loss_g, logs, fake_a, fake_b = self.generator_objective(real_a, real_b)
        self.ctx.update(self.opt_g, loss_g)

        # The discriminators: real images against fakes from the history pools, one optimizer for their sum.
        pooled_b, pooled_a = self.pool_b.query(fake_b), self.pool_a.query(fake_a)
        loss_d_b = self.loss.discriminator_loss(self.discriminator_b(real_b), self.discriminator_b(pooled_b))
        loss_d_a = self.loss.discriminator_loss(self.discriminator_a(real_a), self.discriminator_a(pooled_a))
        loss_d = loss_d_a + loss_d_b
        self.ctx.update(self.opt_d, loss_d)

        return {**logs, "loss_d": loss_d.detach(), "loss_d_a": loss_d_a.detach(), "loss_d_b": loss_d_b.detach(), "lr": cfg.lr * factor}

    def generator_objective(self, real_a: torch.Tensor, real_b: torch.Tensor):
        """The generators' loss with both discriminators frozen, each of its terms (to log), and the fakes.

        w·[ℓ_G(D_B(G(a))) + ℓ_G(D_A(F(b)))] + λ_A·|F(G(a)) − a| + λ_B·|G(F(b)) − b| + λ_A·λ_id,A·|F(a) − a| + λ_B·λ_id,B·|G(b) − b|
        """
        cfg = self.config
        fake_b = self.generator_ab(real_a)
        reconstructed_a = self.generator_ba(fake_b)
        fake_a = self.generator_ba(real_b)
        reconstructed_b = self.generator_ab(fake_a)
        with self.ctx.frozen(self.discriminator_a) as d_a, self.ctx.frozen(self.discriminator_b) as d_b:
            adversarial_a2b = self.loss.generator_loss(d_b(fake_b))
            adversarial_b2a = self.loss.generator_loss(d_a(fake_a))
        cycle_a, cycle_b = cycle_loss(real_a, reconstructed_a), cycle_loss(real_b, reconstructed_b)
        total = cfg.generator_adversarial_weight() * (adversarial_a2b + adversarial_b2a) + cfg.cycle_weight_a * cycle_a + cfg.cycle_weight_b * cycle_b
        terms = {"adversarial_a2b": adversarial_a2b, "adversarial_b2a": adversarial_b2a, "cycle_a": cycle_a, "cycle_b": cycle_b}
        weight_a, weight_b = cfg.identity_weights()
        if weight_a > 0 or weight_b > 0:
            # An image already in the target domain should pass unchanged.
            identity_a = cycle_loss(real_a, self.generator_ba(real_a))
            identity_b = cycle_loss(real_b, self.generator_ab(real_b))
            total = total + weight_a * identity_a + weight_b * identity_b
            terms.update(identity_a=identity_a, identity_b=identity_b)
        logs = {name: value.detach() for name, value in terms.items()}
        logs["loss_g"] = total.detach()
        return total, logs, fake_a, fake_b

    def ema_modules(self) -> dict[str, nn.Module]:
        return {"generator_ab": self.ctx.unwrap(self.generator_ab), "generator_ba": self.ctx.unwrap(self.generator_ba)}

    # ------------------------------------------------------------- using it

    def _generator(self, direction: str) -> nn.Module:
        if direction not in DIRECTIONS:
            raise UserError(f"unknown direction '{direction}'; use a2b (G: A -> B) or b2a (F: B -> A)")
        return self.generator_ab if direction == "a2b" else self.generator_ba

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        """Images of one domain (data space, (N, C, H, W)) carried into the other: ``a2b`` by G, ``b2a`` by F."""
        generator = self._generator(direction)
        channels = self.shapes[direction[0]][0]
        if x.dim() != 4 or x.shape[1] != channels:
            raise UserError(f"translate {direction}: domain {direction[0].upper()} images have {channels} channel(s), got a batch of shape {tuple(x.shape)}")
        with self.ctx.evaluating(generator) as plain:
            return plain(x.to(self.ctx.device)).float()

    def _real(self, key: str, n: int, seed: int | None) -> torch.Tensor:
        tensor = self.ctx.data.tensors[key]
        order = torch.randperm(len(tensor), generator=torch.Generator().manual_seed(0 if seed is None else seed))
        index = order[torch.arange(n) % len(tensor)]  # more than the data hold: the same order again
        return tensor[index.to(tensor.device)]

    @torch.no_grad()
    def sample(self, n, *, seed=None):
        """G(a) for ``n`` images a of domain A's data (a fixed random choice for each seed): samples of domain B."""
        return self.translate(self._real("x", n, seed), "a2b")

    @torch.no_grad()
    def preview(self, n, seed):
        """Six rows: real A | G(A) | F(G(A)), then real B | F(B) | G(F(B)); each column is one image's cycle."""
        k = max(1, min(12, n // 6))
        real_a, real_b = self._real("x", k, seed), self._real("x_b", k, seed)
        fake_b, fake_a = self.translate(real_a, "a2b"), self.translate(real_b, "b2a")
        return [real_a, fake_b, self.translate(fake_b, "b2a"), real_b, fake_a, self.translate(fake_a, "a2b")]
