"""Is fm-gan's accuracy on mnist5k the plugin's fault or the method's at this budget? An independent re-write of the
Improved-GAN MNIST feature-matching model (openai/improved-gan ``train_mnist_feature_matching.py`` and its ``nn.py``),
sharing no code with ``gan_semisup`` and no code with gancore's trainer: only the data (mnist5k, its 100 labels chosen
as ``data.transform_seed`` chooses them, its held-out test split) is the same.

Written as that script reads, not as the plugin does:

* pixels in [0, 1]; input noise σ 0.3, noise σ 0.5 after each of the five hidden layers;
* the discriminator's dense layers keep an unnormalised θ ~ N(0, 0.1²) and use W = θ · s / ‖θ‖ (one s per unit),
  s fixed except in the output layer; s and the bias set on 500 training images *with the noise on*;
* the generator: uniform z on [0, 1], two 500-unit layers with batch norm (a shift, no scale) and softplus, an output
  layer whose weight rows are l2-normalised with a trained scale (Glorot θ, zero bias), sigmoid;
* loss_lab + loss_unl with the reference's 0.5 factors; feature matching on the last hidden layer, on a second
  shuffle of the unlabelled images, noise on;
* the reference's Adam (β1 0.5, ε inside the square root), lr 0.003, constant;
* labelled batches: the 100 labelled images, reshuffled every step (the reference tiles them to the epoch);
* test accuracy without noise, with the live weights and with the reference's average of the trainable parameters
  (a += 1e-4 (p − a), from zero).

    python benchmarks/semisup_reference_check.py [--seed 1] [--steps 1000] [--every 100]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
TITLE = "Semi-supervised: the Improved-GAN MNIST model re-written independently of the plugin (one seed)"
HIDDEN = [1000, 500, 250, 250, 250]


class ScaledDense(nn.Module):
    """``nn.DenseLayer`` of the reference: W = θ · s / ‖θ‖ per output unit, plus a bias; data-dependent init."""

    def __init__(self, n_in: int, n_out: int, train_scale: bool) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.randn(n_in, n_out) * 0.1)
        self.scale = nn.Parameter(torch.ones(n_out), requires_grad=train_scale)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, h: torch.Tensor, init: bool = False) -> torch.Tensor:
        out = h @ (self.theta * (self.scale / self.theta.square().sum(0).sqrt()))
        if not init:
            return out + self.bias
        mean = out.mean(0)
        std = (out - mean).square().mean(0).sqrt()
        with torch.no_grad():
            self.scale.div_(std)
            self.bias.copy_(-mean / std)
        return (out - mean) / std


class Discriminator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        widths = [784, *HIDDEN]
        self.hidden = nn.ModuleList(ScaledDense(a, b, train_scale=False) for a, b in itertools.pairwise(widths))
        self.out = ScaledDense(HIDDEN[-1], 10, train_scale=True)

    def noisy(self, h: torch.Tensor, sigma: float) -> torch.Tensor:
        return h + sigma * torch.randn_like(h) if self.training else h

    def features(self, x: torch.Tensor, init: bool = False) -> torch.Tensor:
        """The last hidden layer's ReLU output (the reference's ``layers[-3]``): noise below it, none after."""
        h = self.noisy(x, 0.3)
        for i, layer in enumerate(self.hidden):
            h = F.relu(layer(h, init))
            if i < len(self.hidden) - 1:
                h = self.noisy(h, 0.5)
        return h

    def forward(self, x: torch.Tensor, init: bool = False) -> torch.Tensor:
        return self.out(self.noisy(self.features(x, init), 0.5), init)


class Generator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(100, 500, bias=False), nn.Linear(500, 500, bias=False)
        self.shift1, self.shift2 = nn.Parameter(torch.zeros(500)), nn.Parameter(torch.zeros(500))
        self.theta_out = nn.Parameter(nn.init.xavier_uniform_(torch.empty(784, 500)))
        self.scale_out, self.bias_out = nn.Parameter(torch.ones(784)), nn.Parameter(torch.zeros(784))
        nn.init.xavier_uniform_(self.fc1.weight)
        nn.init.xavier_uniform_(self.fc2.weight)

    @staticmethod
    def normalise(h: torch.Tensor) -> torch.Tensor:
        return (h - h.mean(0)) / (h.var(0, unbiased=False) + 1e-6).sqrt()

    def forward(self, n: int) -> torch.Tensor:
        h = F.softplus(self.normalise(self.fc1(torch.rand(n, 100))) + self.shift1)
        h = F.softplus(self.normalise(self.fc2(h)) + self.shift2)
        weight = self.theta_out * (self.scale_out / (self.theta_out.square().sum(1) + 1e-6).sqrt()).unsqueeze(1)
        return torch.sigmoid(F.linear(h, weight, self.bias_out))


class ReferenceAdam:
    """``nn.adam_updates``: bias-corrected moments, ε = 1e-8 inside the square root."""

    def __init__(self, params, lr: float, beta1: float = 0.5, beta2: float = 0.999) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.beta1, self.beta2, self.t = lr, beta1, beta2, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        for p, m, v in zip(self.params, self.m, self.v):
            m.mul_(self.beta1).add_(p.grad, alpha=1 - self.beta1)
            v.mul_(self.beta2).addcmul_(p.grad, p.grad, value=1 - self.beta2)
            m_hat, v_hat = m / (1 - self.beta1**self.t), v / (1 - self.beta2**self.t)
            p.sub_(self.lr * m_hat / (v_hat + 1e-8).sqrt())


def load(seed: int):
    import sys

    sys.path.insert(0, str(HERE))
    from scoring import dataset

    # gan-semisup's labeled-subset transform: 10 labels per class in the 'labeled' stream (x_labeled, y_labeled),
    # picked with the dataset's transform_seed, as the plugin's runs pick them.
    train = dataset({"name": "mnist5k", "split": "train", "transforms": [{"name": "labeled-subset", "per_class": 10}], "transform_seed": seed}).tensors
    test = dataset({"name": "mnist5k", "split": "test"}).tensors
    to_unit = lambda t: (t.flatten(1) + 1) / 2  # gancore keeps pixels in [-1, 1], the reference in [0, 1]
    return to_unit(train["x"]), to_unit(train["x_labeled"]), train["y_labeled"], to_unit(test["x"]), test["y"]


def plugin_accuracy(seed: int, steps: int) -> float | None:
    """fm-gan's test accuracy at ``steps`` in benchmarks/semisup_mnist5k.py's finished run of ``seed``, if there is one."""
    import json

    results = HERE / "_work" / "semisup-mnist5k" / "results.json"
    row = json.loads(results.read_text()).get("fm-gan", {}).get(str(seed)) if results.exists() else None
    return next((a for s, a in row["curve"] if s == steps), None) if row else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--no-write", action="store_true", help="print the section, leave RESULTS.md alone")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    x_unl, x_lab, y_lab, x_test, y_test = load(args.seed)

    disc, gen = Discriminator(), Generator()
    with torch.no_grad():
        disc(x_unl[torch.randperm(len(x_unl))[:500]], init=True)  # the reference's init_param(trainx[:500]), noise on
    opt_d, opt_g = ReferenceAdam(disc.parameters(), 0.003), ReferenceAdam(gen.parameters(), 0.003)
    average = [torch.zeros_like(p) for p in opt_d.params]

    @torch.no_grad()
    def accuracy(averaged: bool) -> float:
        live = [p.clone() for p in opt_d.params]
        if averaged:
            for p, a in zip(opt_d.params, average):
                p.copy_(a)
        disc.eval()
        result = 100.0 * (disc(x_test).argmax(1) == y_test).float().mean().item()
        disc.train()
        for p, saved in zip(opt_d.params, live):
            p.copy_(saved)
        return result

    curve, start, position = [], time.process_time(), len(x_unl)
    for step in range(1, args.steps + 1):
        if position + 100 > len(x_unl):  # a new epoch: two shuffles of the unlabelled images
            order_d, order_g, position = torch.randperm(len(x_unl)), torch.randperm(len(x_unl)), 0
        unl, unl2 = x_unl[order_d[position : position + 100]], x_unl[order_g[position : position + 100]]
        position += 100
        pick = torch.randperm(len(x_lab))
        logits_lab = disc(x_lab[pick])
        with torch.no_grad():
            fake = gen(100)
        lse_unl, lse_fake = torch.logsumexp(disc(unl), 1), torch.logsumexp(disc(fake), 1)
        loss_lab = F.cross_entropy(logits_lab, y_lab[pick])
        loss_unl = 0.5 * (-lse_unl.mean() + F.softplus(lse_unl).mean() + F.softplus(lse_fake).mean())
        opt_d.zero_grad()
        (loss_lab + loss_unl).backward()
        opt_d.step()
        with torch.no_grad():
            for p, a in zip(opt_d.params, average):
                a.add_(p - a, alpha=1e-4)

        with torch.no_grad():
            real_mean = disc.features(unl2).mean(0)
        loss_gen = (disc.features(gen(100)).mean(0) - real_mean).square().mean()
        opt_g.zero_grad()
        loss_gen.backward()
        opt_g.step()
        opt_d.zero_grad()  # the generator's backward pass left gradients in D; the reference never applies them

        if step % args.every == 0 or step == args.steps:
            row = (step, accuracy(False), accuracy(True), loss_lab.item(), loss_unl.item(), loss_gen.item())
            curve.append(row)
            print("step {} test accuracy {:.1f} (averaged {:.1f}) loss_lab {:.3f} loss_unl {:.3f} loss_gen {:.3f}".format(*row), flush=True)
    cpu = (time.process_time() - start) / 60

    points = ", ".join(f"{s}: {a:.1f}" for s, a, *_ in curve)
    plugin = plugin_accuracy(args.seed, args.steps)
    plugin_text = f"the plugin's `fm-gan` gives {plugin:.1f}%" if plugin is not None else "compare the plugin's `fm-gan`"

    losses = ", ".join(f"{s}: {lu:.2f} / {lg:.1f}" for s, _, _, _, lu, lg in curve[:: max(1, len(curve) // 10)])
    body = f"""A second implementation of the Improved-GAN MNIST feature-matching model, written from openai/improved-gan's
`train_mnist_feature_matching.py` and `nn.py` without any code of `gan_semisup` or of gancore's trainer
(`benchmarks/semisup_reference_check.py`: [0, 1] pixels, sigmoid output, θ/‖θ‖ dense layers with the noisy
data-dependent init, the reference's Adam with ε inside the square root, its parameter average from zero), on the same
data: mnist5k's 4,000 train images unlabelled, the 100 labels of `data.transform_seed` = {args.seed}, the held-out 1,000
test images. Seed {args.seed}, {args.steps:,} steps of 100 + 100 + 100 images, one thread, {cpu:.1f} CPU min.

It answers whether fm-gan's accuracy here is the plugin's doing: this copy of the reference gives
**{curve[-1][1]:.1f}%** after {args.steps:,} steps (the reference's average of the weights, from zero at rate 1e-4, is
still mostly its starting zeros at this length: {curve[-1][2]:.1f}%), where {plugin_text} on the same seed, labels and
number of steps (`benchmarks/semisup_mnist5k.py`).

- test accuracy, live weights (step: %): {points}
- loss_unl / feature-matching loss (step: values): {losses}

Command: `python benchmarks/semisup_reference_check.py --seed {args.seed} --steps {args.steps}`."""
    print(body)
    if not args.no_write:
        import sys

        sys.path.insert(0, str(HERE))
        from results import update_section

        update_section(TITLE, body)


if __name__ == "__main__":
    main()
