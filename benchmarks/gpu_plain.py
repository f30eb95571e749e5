"""The plain PyTorch loops that benchmarks/gpu.py runs beside gancore: one class per family.

Each loop trains its own copy of a run's networks, built by the family's own calls into the run's
``TrainContext`` (``run.ctx``: the same registry entries, options and shapes) under the run's seed,
with the same optimizers and hyper-parameters, the same losses and step structure (D steps,
n_critic, gradient penalty, EMA, class labels, pools, cycle and identity terms), on the run's data,
which is already on the device (``run.data``): each step indexes it there, with no DataLoader and
no host copy. Its noise, data order and pool draws come from its own generator on the device, so
the run's RNG stays as it would be alone.

The options are those of ``train`` in gancore, done by hand: ``torch.compile`` of every network
(mode as given), ``fused=True`` optimizers, channels_last networks and batches, and bf16 autocast
around the forward passes and losses (backward outside it, as torch recommends).

What differs from the families' code, on purpose: the losses are written out (no generic
label-smoothing term), the image pool is a vectorised form of the reference's rule (when two
images of a batch pick the same slot, which one stays is left to ``index_copy_``), nothing is
logged, and when compiled on a GPU each step begins with ``torch.compiler.cudagraph_mark_step_begin()``,
as torch's documentation asks of a training loop.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Options:
    compile: str | None = None  # a torch.compile mode ("reduce-overhead", "default", ...); None: eager
    fused: bool = False
    channels_last: bool = False
    bf16: bool = False


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"benchmarks/gpu_plain.py has no plain loop for {what}; the benchmark rows do not use it")


# (discriminator loss, generator loss) on logits: the registry's losses at their default options.
LOSSES = {
    "non-saturating": (lambda real, fake: F.softplus(-real).mean() + F.softplus(fake).mean(), lambda fake: F.softplus(-fake).mean()),
    "hinge": (lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean(), lambda fake: -fake.mean()),
    "least-squares": (lambda real, fake: 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean(), lambda fake: 0.5 * ((fake - 1) ** 2).mean()),
}
DEFAULT_LOSS_OPTIONS = {"label_smoothing": 0.0, "margin": 1.0, "output": "logit"}


def losses(ref) -> tuple:
    _require(ref.name in LOSSES, f"loss '{ref.name}'")
    _require(all(DEFAULT_LOSS_OPTIONS.get(k, v) == v for k, v in ref.options.items()), f"loss options {ref.options}")
    return LOSSES[ref.name]


class Stream:
    """Batches of tensors that are read together (x, or x and y), on the device, in a new random order
    every epoch: one ``index_select`` per tensor per step."""

    def __init__(self, tensors: list[torch.Tensor], size: int, rng: torch.Generator, channels_last: bool) -> None:
        self.tensors, self.size, self.rng, self.channels_last = tensors, size, rng, channels_last
        self.length, self.position, self.order = len(tensors[0]), len(tensors[0]), None

    def next(self) -> list[torch.Tensor]:
        if self.position + self.size > self.length:  # a host-side count: no read of a device value
            self.order = torch.randperm(self.length, device=self.tensors[0].device, generator=self.rng)
            self.position = 0
        index = self.order[self.position : self.position + self.size]
        self.position += self.size
        out = [t.index_select(0, index) for t in self.tensors]
        return [t.contiguous(memory_format=torch.channels_last) if self.channels_last and t.dim() == 4 else t for t in out]


class EMA:
    """The run's EMA of a network (``gancore.ema``): lerp of every float tensor of its state, with the
    same warm-up of the decay, and a copy of the integer ones (batch norm's counters)."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        state = list(module.state_dict().values())  # aliases of the live tensors, which are updated in place
        self.live = [v for v in state if v.is_floating_point()]
        self.counters = [v for v in state if not v.is_floating_point()]
        self.shadow = [v.clone() for v in self.live]
        self.shadow_counters = [v.clone() for v in self.counters]
        self.decay, self.updates = decay, 0

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self.shadow, self.live, 1.0 - decay)
        for shadow, live in zip(self.shadow_counters, self.counters):
            shadow.copy_(live)


class Plain:
    """What the loops share: the device, the options, their own generator, building and updating."""

    def __init__(self, run, options: Options, seed: int = 1) -> None:
        self.run, self.options, self.cfg = run, options, run.algorithm.config
        self.device, self.batch = run.accelerator.device, run.config.train.batch_size
        self.rng = torch.Generator(device=self.device)
        self.rng.manual_seed(seed)
        self.autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=options.bf16)
        self.ema_decay = run.config.train.ema_decay
        self.steps_done = 0

    def stream(self, *keys: str) -> Stream:
        return Stream([self.run.data.tensors[k] for k in keys], self.batch, self.rng, self.options.channels_last)

    def seeded(self, make):
        """``make()`` from the run's seed, with its own draws: the run's RNG is left as it was."""
        with torch.random.fork_rng(devices=[]):  # the builders draw on the CPU
            torch.manual_seed(self.run.config.train.seed)
            return make()

    def build(self, make) -> nn.Module:
        """A network built by ``make`` as the family builds it, on the device, in the options' memory format."""
        return self.place(self.seeded(make))

    def place(self, net: nn.Module) -> nn.Module:
        net.to(self.device)
        if self.options.channels_last:
            net.to(memory_format=torch.channels_last)
        return net

    def compiled(self, net: nn.Module) -> nn.Module:
        return torch.compile(net, backend="inductor", mode=self.options.compile) if self.options.compile else net

    def adam(self, params, lr: float, betas) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), **({"fused": True} if self.options.fused else {}))

    def noise(self, n: int, dim: int) -> torch.Tensor:
        return torch.randn(n, dim, device=self.device, generator=self.rng)

    @staticmethod
    def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @staticmethod
    def frozen(net: nn.Module, flag: bool) -> None:
        for p in net.parameters():
            p.requires_grad_(flag)

    def step(self) -> None:
        if self.options.compile and self.device.type == "cuda":
            torch.compiler.cudagraph_mark_step_begin()  # a new iteration: CUDA graph outputs of the last one may be reused
        self.steps_done += 1
        self.train_step()


class GANLoop(Plain):
    """The builtin ``gan`` family: DCGAN (non-saturating) and BigGAN (conditional, projection, hinge,
    orthogonal regularisation of G)."""

    def __init__(self, run, options: Options) -> None:
        super().__init__(run, options)
        cfg, ctx = self.cfg, run.ctx
        _require(cfg.pack == 1 and cfg.regularizer is None and not cfg.augment.enabled, "pack, regularizer or augment")
        _require(not cfg.consistency_real and not cfg.consistency_fake, "bCR")
        self.classes = run.algorithm.conditional_classes
        _require(not self.classes or cfg.class_head == "projection", "an ACGAN head")
        extra = {"num_classes": self.classes} if self.classes else {}
        head = {"class_head": cfg.class_head} if self.classes else {}
        self.g_eager = self.build(lambda: ctx.build_generator(cfg.generator, cfg.latent_dim, **extra))
        d_eager = self.build(lambda: ctx.build_discriminator(cfg.discriminator, **extra, **head))
        self.d_loss, self.g_loss = losses(cfg.loss)
        self.opt_g = self.adam(self.g_eager.parameters(), cfg.lr_generator, cfg.betas)
        self.opt_d = self.adam(d_eager.parameters(), cfg.lr_discriminator, cfg.betas)
        self.G, self.D = self.compiled(self.g_eager), self.compiled(d_eager)
        self.data = self.stream("x", "y") if self.classes else self.stream("x")
        self.ema = EMA(self.g_eager, self.ema_decay) if self.ema_decay else None
        # BigGAN's orthogonal penalty: the trained weight of every convolution and linear layer of G
        # (the one under spectral norm), with its off-diagonal mask made once.
        self.orthogonal = []
        for layer in self.g_eager.modules() if cfg.orthogonal_reg else ():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                w = layer.parametrizations.weight.original if hasattr(layer, "parametrizations") else layer.weight
                self.orthogonal.append((w, 1 - torch.eye(w.shape[0], device=self.device)))

    def fake(self, n: int):
        z = self.noise(n, self.cfg.latent_dim)
        if not self.classes:
            return self.G(z), None
        labels = torch.randint(self.classes, (n,), device=self.device, generator=self.rng)
        return self.G(z, labels), labels

    def judge(self, x: torch.Tensor, labels) -> torch.Tensor:
        return self.D(x) if labels is None else self.D(x, labels)

    def train_step(self) -> None:
        cfg, n = self.cfg, self.batch
        for _ in range(cfg.d_steps):
            real, *labels = self.data.next()
            with torch.no_grad(), self.autocast:
                fake, fake_labels = self.fake(n)
            with self.autocast:
                loss_d = self.d_loss(self.judge(real, labels[0] if labels else None), self.judge(fake, fake_labels))
            self.update(self.opt_d, loss_d)
        with self.autocast:
            fake, fake_labels = self.fake(n)
            loss_g = self.g_loss(self.judge(fake, fake_labels))
        if self.orthogonal:  # in float32, outside autocast, as the family computes it
            penalty = sum(((w.flatten(1) @ w.flatten(1).t()) * mask).pow(2).sum() for w, mask in self.orthogonal)
            loss_g = loss_g + cfg.orthogonal_reg * penalty
        self.update(self.opt_g, loss_g)
        if self.ema is not None:
            self.ema.update()


class WGANGPLoop(Plain):
    """``gan-wgan``'s ``wgan-gp``: n_critic critic steps, each on a fresh real batch, with the gradient
    penalty on interpolates (its double backward through the eager critic, as ``ctx.eager`` gives the
    family), then one generator step through the frozen critic."""

    def __init__(self, run, options: Options) -> None:
        super().__init__(run, options)
        cfg, ctx = self.cfg, run.ctx
        _require(cfg.optimizer == "adam" and cfg.lr_decay == "none" and not cfg.augment.enabled, "RMSProp, lr decay or augment")
        self.g_eager = self.build(lambda: ctx.build_generator(cfg.generator, cfg.latent_dim))
        self.c_eager = self.build(lambda: ctx.build_discriminator(cfg.critic, "algorithm.critic"))
        self.opt_g = self.adam(self.g_eager.parameters(), cfg.lr_generator, cfg.betas)
        self.opt_d = self.adam(self.c_eager.parameters(), cfg.lr_critic, cfg.betas)
        self.G, self.C = self.compiled(self.g_eager), self.compiled(self.c_eager)
        self.data = self.stream("x")
        self.ema = EMA(self.g_eager, self.ema_decay) if self.ema_decay else None

    def train_step(self) -> None:
        cfg, n = self.cfg, self.batch
        for _ in range(cfg.n_critic):
            (real,) = self.data.next()
            with torch.no_grad(), self.autocast:
                fake = self.G(self.noise(n, cfg.latent_dim)).to(real.dtype)
            with self.autocast:
                scores = self.C(torch.cat([real, fake])).flatten()
                alpha = torch.rand(n, 1, 1, 1, device=self.device, dtype=real.dtype, generator=self.rng)
                points = torch.lerp(fake, real, alpha).requires_grad_(True)
                (grad,) = torch.autograd.grad(self.c_eager(points).float().sum(), points, create_graph=True)
                penalty = cfg.penalty_weight * ((grad.float().flatten(1).norm(2, dim=1) - 1) ** 2).mean()
                loss_d = scores[n:].mean() - scores[:n].mean() + penalty
            self.update(self.opt_d, loss_d)
        self.frozen(self.c_eager, False)
        with self.autocast:
            loss_g = -self.C(self.G(self.noise(n, cfg.latent_dim))).mean()
        self.frozen(self.c_eager, True)
        self.update(self.opt_g, loss_g)
        if self.ema is not None:
            self.ema.update()


class Pool:
    """CycleGAN's pool of past fakes, vectorised on the device: the first ``size`` images fill it and are
    returned; after that each image is swapped, with probability 1/2, for a stored one (a random slot),
    which it replaces."""

    def __init__(self, size: int, rng: torch.Generator) -> None:
        self.size, self.rng, self.images, self.count = size, rng, None, 0

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        images = images.detach()
        if self.size == 0:
            return images
        if self.images is None:
            self.images = images.new_empty(self.size, *images.shape[1:])
        fill = min(len(images), self.size - self.count)  # a host-side count, as in the family's pool
        if fill:
            self.images[self.count : self.count + fill] = images[:fill]
            self.count += fill
        if fill == len(images):
            return images
        new = images[fill:]
        swap = (torch.rand(len(new), device=new.device, generator=self.rng) > 0.5).view(-1, 1, 1, 1)
        slot = torch.randint(self.size, (len(new),), device=new.device, generator=self.rng)
        old = self.images.index_select(0, slot)
        self.images.index_copy_(0, slot, torch.where(swap, new, old))
        out = torch.where(swap, old, new)
        return torch.cat([images[:fill], out]) if fill else out


class CycleGANLoop(Plain):
    """``gan-cyclegan``: both generators against both frozen discriminators with cycle and identity
    terms, then both discriminators on real images against pooled fakes; the learning rate of the run's
    schedule set at every step."""

    def __init__(self, run, options: Options) -> None:
        super().__init__(run, options)
        cfg, ctx = self.cfg, run.ctx
        _require(not cfg.load_size and not cfg.crop_size and not cfg.flip, "resizing, cropping or flipping")
        self.d_loss, self.g_loss = losses(cfg.loss)
        a, b = run.data.tensors["x"], run.data.tensors["x_b"]
        side = a.shape[-1]

        def generator(c_in, c_out):
            return ctx.build_model(cfg.generator, "algorithm.generator", in_channels=c_in, out_channels=c_out, image_size=side)

        def discriminator(c):
            return ctx.build_model(cfg.discriminator, "algorithm.discriminator", data_shape=(c, side, side), out_features=1)

        # The four in the family's order, from one seeding.
        nets = self.seeded(lambda: [generator(a.shape[1], b.shape[1]), generator(b.shape[1], a.shape[1]), discriminator(a.shape[1]), discriminator(b.shape[1])])
        self.eager = [self.place(net) for net in nets]
        self.opt_g = self.adam(itertools.chain(self.eager[0].parameters(), self.eager[1].parameters()), cfg.lr, cfg.betas)
        self.opt_d = self.adam(itertools.chain(self.eager[2].parameters(), self.eager[3].parameters()), cfg.lr, cfg.betas)
        self.G_ab, self.G_ba, self.D_a, self.D_b = (self.compiled(net) for net in self.eager)
        self.a, self.b = self.stream("x"), self.stream("x_b")
        self.pool_a, self.pool_b = Pool(cfg.pool_size, self.rng), Pool(cfg.pool_size, self.rng)
        self.ema = [EMA(net, self.ema_decay) for net in self.eager[:2]] if self.ema_decay else []

    def lr_factor(self) -> float:
        total = self.run.config.train.steps
        constant = total // 2 if self.cfg.lr_constant_steps is None else self.cfg.lr_constant_steps
        step = self.steps_done
        return 1.0 if step <= constant or total <= constant else 1.0 - min(1.0, (step - constant) / (total - constant))

    def train_step(self) -> None:
        cfg = self.cfg
        lr = cfg.lr * self.lr_factor()
        for group in itertools.chain(self.opt_g.param_groups, self.opt_d.param_groups):
            group["lr"] = lr
        (real_a,), (real_b,) = self.a.next(), self.b.next()
        for net in self.eager[2:]:
            self.frozen(net, False)
        with self.autocast:
            fake_b = self.G_ab(real_a)
            reconstructed_a = self.G_ba(fake_b)
            fake_a = self.G_ba(real_b)
            reconstructed_b = self.G_ab(fake_a)
            cycle = cfg.cycle_weight_a * (reconstructed_a - real_a).abs().mean() + cfg.cycle_weight_b * (reconstructed_b - real_b).abs().mean()
            adversarial = self.g_loss(self.D_b(fake_b)) + self.g_loss(self.D_a(fake_a))
            loss_g = cfg.generator_adversarial_weight() * adversarial + cycle
            weight_a, weight_b = cfg.identity_weights()
            if weight_a or weight_b:
                loss_g = loss_g + weight_a * (self.G_ba(real_a) - real_a).abs().mean() + weight_b * (self.G_ab(real_b) - real_b).abs().mean()
        for net in self.eager[2:]:
            self.frozen(net, True)
        self.update(self.opt_g, loss_g)
        pooled_b, pooled_a = self.pool_b.query(fake_b), self.pool_a.query(fake_a)
        with self.autocast:
            loss_d = self.d_loss(self.D_b(real_b), self.D_b(pooled_b)) + self.d_loss(self.D_a(real_a), self.D_a(pooled_a))
        self.update(self.opt_d, loss_d)
        for ema in self.ema:
            ema.update()


LOOPS = {"gan": GANLoop, "wgan-gp": WGANGPLoop, "cyclegan": CycleGANLoop}


def plain_loop(run, options: Options) -> Plain:
    """The plain loop of ``run``'s algorithm."""
    name = run.config.algorithm.name
    _require(name in LOOPS, f"algorithm '{name}'")
    return LOOPS[name](run, options)
