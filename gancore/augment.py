"""Differentiable augmentation of the discriminator's input, for every family.

With little data (4,000 digits, 100 faces) a discriminator soon memorises the
real set, and its gradients stop telling the generator anything useful. Showing
it *augmented* real and generated images, with the same kind of transform and
with gradients flowing through the transform to the generator, keeps it from
memorising without teaching the generator to produce augmented images
(DiffAugment, Zhao et al. 2020; ADA, Karras et al. 2020).

The policies, each applied to a whole batch on its device, with a random draw
per sample:

* ``color``: brightness (add U[-0.5, 0.5]), saturation (scale the distance to the
  pixel's channel mean by U[0, 2]), contrast (scale the distance to the image mean by
  U[0.5, 1.5]), for images in [-1, 1];
* ``translation``: shift by whole pixels, up to ``translation`` of the side each way,
  zeros coming in from the border;
* ``cutout``: zero one square of side ``cutout`` times the image's side, anywhere.

Every transform is a function of the pixels (additions, products, indexing), so
the gradient reaches the generator through it. Each transform is applied to each
sample with probability ``p``: ``probability`` (1 in DiffAugment), or, with
``adaptive: true``, a ``p`` that rises while the discriminator overfits and falls
otherwise (ADA): every ``interval`` steps, ``r_t = E[sign(D(real))]`` over those
steps is compared with ``target`` (0.6) and ``p`` moves by
``sign(r_t - target) * images / adjust_images``, so it can go from 0 to 1 in
``adjust_images`` real images. ``r_t`` assumes a logit centred at 0 (the GAN
losses); a Wasserstein critic has no such centre, so use a fixed ``probability`` there.

Using it from an algorithm (any family)::

    from gancore.augment import AugmentConfig, Augmenter

    class MyConfig(StrictModel):
        augment: AugmentConfig = Field(default_factory=AugmentConfig, description="...")

    # __init__
    self.augment = Augmenter.from_context(config.augment, ctx)
    # train_step: the same augmenter on both, independent draws for each call
    real_logits = D(self.augment(real))
    fake_logits = D(self.augment(fake))           # fake with its graph: G's gradient flows through
    self.augment.observe(real_logits)             # only needed for adaptive p
    logs.update(self.augment.update(step))        # adapts p; logs augment_p (and augment_rt)

The augmenter draws from a ``torch.Generator`` of its own (seeded from
``train.seed`` and the process index) and has ``state_dict``/``load_state_dict``,
so as an attribute of the algorithm its generator state, ``p`` and the ``r_t``
accumulators go into every checkpoint, and a resumed run draws exactly the
transforms an uninterrupted one would. With an empty ``policy`` it returns its
input unchanged and draws nothing.

``consistency_penalty`` is balanced consistency regularisation (bCR, Zhao et al.
2021): the squared difference of D's outputs on a batch and on an augmented copy.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from pydantic import Field, model_validator

from .registry import StrictModel

POLICIES = ("color", "translation", "cutout")
Policy = Literal["color", "translation", "cutout"]
SEED_OFFSET = 0xA06  # keeps the augmenter's stream apart from the trainer's seeded streams


class AugmentConfig(StrictModel):
    policy: list[Policy] = Field(
        default_factory=list, description="DiffAugment transforms applied to every discriminator input, real and generated, "
        "in this order: any of color, translation, cutout; [] disables augmentation"
    )
    probability: float = Field(
        1.0, ge=0.0, le=1.0, description="probability p that each transform is applied to a sample (DiffAugment: 1); "
        "with adaptive: true, the starting value of p"
    )
    adaptive: bool = Field(False, description="ADA: adjust p from the discriminator's overfitting heuristic r_t = E[sign(D(real))]")
    target: float = Field(0.6, gt=-1.0, lt=1.0, description="ADA: the r_t that p is steered towards (Karras et al.: 0.6)")
    adjust_images: int = Field(
        100_000, ge=1, description="ADA: real images over which p can move from 0 to 1 (the speed of adjustment; Karras et al.: 500,000)"
    )
    interval: int = Field(4, ge=1, description="ADA: steps between adjustments of p (r_t is averaged over them)")
    max_probability: float = Field(1.0, ge=0.0, le=1.0, description="ADA: the largest p may grow")
    translation: float = Field(0.125, gt=0.0, le=0.5, description="translation: the largest shift, as a fraction of the image's side")
    cutout: float = Field(0.5, gt=0.0, le=1.0, description="cutout: the side of the zeroed square, as a fraction of the image's side")

    @model_validator(mode="after")
    def _distinct(self) -> "AugmentConfig":
        repeated = sorted({p for p in self.policy if self.policy.count(p) > 1})
        if repeated:
            raise ValueError(f"policy lists {', '.join(repeated)} more than once; give each transform once")
        if self.adaptive and not self.policy:
            raise ValueError("adaptive: true needs a policy to apply, e.g. policy: [translation, cutout]")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.policy)


# ------------------------------------------------------------------ transforms


def _uniform(x: torch.Tensor, gen: torch.Generator, low: float, high: float) -> torch.Tensor:
    """One draw per sample, shaped to broadcast over (C, H, W)."""
    u = torch.rand(x.shape[0], 1, 1, 1, generator=gen, device=x.device, dtype=torch.float32)
    return (low + (high - low) * u).to(x.dtype)


def color(x: torch.Tensor, gen: torch.Generator, config: AugmentConfig) -> torch.Tensor:
    x = x + _uniform(x, gen, -0.5, 0.5)
    channel_mean = x.mean(dim=1, keepdim=True)
    x = (x - channel_mean) * _uniform(x, gen, 0.0, 2.0) + channel_mean
    image_mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - image_mean) * _uniform(x, gen, 0.5, 1.5) + image_mean


def translation(x: torch.Tensor, gen: torch.Generator, config: AugmentConfig) -> torch.Tensor:
    b, c, h, w = x.shape
    max_y, max_x = int(h * config.translation + 0.5), int(w * config.translation + 0.5)
    dy = torch.randint(-max_y, max_y + 1, (b, 1, 1), generator=gen, device=x.device)
    dx = torch.randint(-max_x, max_x + 1, (b, 1, 1), generator=gen, device=x.device)
    # out[y, x] = in[y + dy, x + dx]; a gather keeps the gradient to every pixel that is used.
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    index = (rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)).view(b, 1, h * w).expand(b, c, h * w)
    shifted = x.reshape(b, c, h * w).gather(2, index).view(b, c, h, w)
    return shifted * inside.unsqueeze(1).to(x.dtype)


def cutout(x: torch.Tensor, gen: torch.Generator, config: AugmentConfig) -> torch.Tensor:
    b, _, h, w = x.shape
    size_y, size_x = int(h * config.cutout + 0.5), int(w * config.cutout + 0.5)
    # The square's centre is anywhere in the image, so it may hang over the border.
    cy = torch.randint(0, h, (b, 1, 1), generator=gen, device=x.device)
    cx = torch.randint(0, w, (b, 1, 1), generator=gen, device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) - cy + size_y // 2
    cols = torch.arange(w, device=x.device).view(1, 1, w) - cx + size_x // 2
    hole = (rows >= 0) & (rows < size_y) & (cols >= 0) & (cols < size_x)
    return x * (~hole).unsqueeze(1).to(x.dtype)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


# ------------------------------------------------------------------ augmenter


class Augmenter:
    """Augments batches of images with ``config.policy``; see the module docstring."""

    def __init__(self, config: AugmentConfig, device: torch.device | str = "cpu", seed: int = 0, images_per_step: int = 64, reduce=None) -> None:
        self.config = config
        self.device = torch.device(device)
        self.images_per_step = images_per_step  # real images per step, over all processes (ADA's speed)
        self._reduce = reduce  # sums a tensor over processes (ADA's r_t); None with one process
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self.p = torch.tensor(float(config.probability), device=self.device)
        self.sign_sum = torch.zeros((), device=self.device)
        self.sign_count = torch.zeros((), device=self.device)
        self.r_t = torch.zeros((), device=self.device)  # the last r_t, logged at every step (logs are averaged over steps)

    @classmethod
    def from_context(cls, config: AugmentConfig, ctx: Any) -> "Augmenter":
        """The augmenter of an algorithm: on ``ctx.device``, seeded from ``train.seed`` and this process's index."""
        acc = ctx.accelerator
        world = acc.num_processes
        seed = (int(ctx.train.seed) * 1_000_003 + SEED_OFFSET + acc.process_index) % (2**63)
        reduce = (lambda t: acc.reduce(t, reduction="sum")) if world > 1 else None
        return cls(config, ctx.device, seed, ctx.train.batch_size * world, reduce)

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def __call__(self, x: torch.Tensor, probability: float | torch.Tensor | None = None) -> torch.Tensor:
        """``x`` with each transform of the policy applied to each sample with probability ``p``
        (or ``probability``); new draws on every call. Gradients flow through to ``x``."""
        if not self.enabled:
            return x
        if x.dim() != 4:
            raise ValueError(f"augmentation needs image batches (B, C, H, W), not a tensor of shape {tuple(x.shape)}")
        if probability is None:  # a fixed p stays a number, so p = 1 draws no per-sample choice
            probability = self.p if self.config.adaptive else self.config.probability
        p = probability
        always = not torch.is_tensor(p) and p >= 1.0
        for name in self.config.policy:
            changed = TRANSFORMS[name](x, self.generator, self.config)
            if always:
                x = changed
            else:  # per sample: transformed with probability p, else left as it was
                chosen = torch.rand(x.shape[0], 1, 1, 1, generator=self.generator, device=x.device) < p
                x = torch.where(chosen, changed, x)
        return x

    # ------------------------------------------------------------- ADA

    @torch.no_grad()
    def observe(self, real_logits: torch.Tensor) -> None:
        """Record the discriminator's outputs on (augmented) real data for r_t (adaptive p only)."""
        if self.config.adaptive:
            self.sign_sum += torch.sign(real_logits.detach().float()).sum()
            self.sign_count += real_logits.numel()

    @torch.no_grad()
    def update(self, step: int) -> dict[str, torch.Tensor]:
        """Every ``interval`` steps, move p towards the target r_t; returns what to log."""
        if not self.enabled:
            return {}
        if not self.config.adaptive:
            return {"augment_p": self.p.clone()}
        if step % self.config.interval:
            return {"augment_p": self.p.clone(), "augment_rt": self.r_t.clone()}
        totals = torch.stack([self.sign_sum, self.sign_count])
        if self._reduce is not None:
            totals = self._reduce(totals)
        self.r_t = totals[0] / totals[1].clamp(min=1)
        delta = self.images_per_step * self.config.interval / self.config.adjust_images
        self.p = (self.p + torch.sign(self.r_t - self.config.target) * delta).clamp(0.0, self.config.max_probability)
        self.sign_sum.zero_()
        self.sign_count.zero_()
        return {"augment_p": self.p.clone(), "augment_rt": self.r_t.clone()}

    # ------------------------------------------------------------- state

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"generator": self.generator.get_state(), "p": self.p, "sign_sum": self.sign_sum, "sign_count": self.sign_count, "r_t": self.r_t}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.generator.set_state(state["generator"].cpu())  # a generator's state is a CPU byte tensor, whatever its device
        for name in ("p", "sign_sum", "sign_count", "r_t"):
            setattr(self, name, state[name].to(self.device, torch.float32).reshape(()))


def consistency_penalty(discriminator: Any, x: torch.Tensor, logits: torch.Tensor, augment: Augmenter) -> torch.Tensor:
    """bCR's term for one batch: mean ‖D(T(x)) − logits‖², where ``x`` is the batch before augmentation,
    ``logits`` are D's outputs on the batch as the loss saw it (``x``, or an augmented copy of it) and
    T is a new draw of every transform of the policy, applied to every sample."""
    other = discriminator(augment(x.detach(), probability=1.0))
    return (other.float() - logits.float()).pow(2).flatten(1).sum(1).mean()
