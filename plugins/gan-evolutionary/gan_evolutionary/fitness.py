"""The fitness of E-GAN's children: F = F_q + γ·F_d (Wang et al. 2018, eqs. 5-7).

* quality F_q = mean σ(D(G(z))) over the child's samples: how well it fools the
  current discriminator;
* diversity F_d = ±log ‖∇_θD L_D‖, the norm of the gradient of the discriminator's
  loss with respect to the discriminator's *parameters*, on real data and the
  child's samples. ``negative-log`` is the paper's sign (a small gradient is
  rewarded: the child's samples leave the discriminator less to correct);
  ``log`` is the sign of the authors' PyTorch code (``Fd = log(norm(grad))``),
  which penalises a child whose samples the discriminator rejects outright
  (there the gradient vanishes too). ``config.py`` says which is the default and why.

Two ways to score the children, with the same numbers (up to float rounding):

* ``score_loop``: one child after another, ``torch.autograd.grad`` per child;
* ``score_vmap``: ``torch.func.vmap`` over the children's stacked parameters,
  one pass of the generator and one per-child gradient pass of the discriminator
  (``vmap(grad(...))``, as per-sample gradients are computed).

Both read the children as plain state dicts (the snapshots the algorithm made)
and never change a network: ``torch.func.functional_call`` runs the networks
with the given tensors, and buffers (batch norm statistics, updated in train
mode) are copies, so a scored child stays exactly the child that was made.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch
from torch import nn
from torch.func import functional_call, grad, vmap


# F_d = sign · log ‖∇_θD L_D‖ for each ``diversity`` option.
DIVERSITY_SIGN = {"negative-log": -1.0, "log": 1.0}


def diversity_fitness(gradients: Iterable[torch.Tensor], diversity: str = "negative-log") -> torch.Tensor:
    """±log of the L2 norm of all the gradients taken together (one flat vector): − for ``negative-log``
    (the paper), + for ``log`` (the authors' PyTorch code)."""
    squares = sum(g.double().pow(2).sum() for g in gradients)
    return (DIVERSITY_SIGN[diversity] * 0.5 * torch.log(squares)).float()


def quality_fitness(fake_logits: torch.Tensor) -> torch.Tensor:
    """Mean probability the discriminator gives the samples of being real."""
    return torch.sigmoid(fake_logits.float()).mean()


def _buffer_names(module: nn.Module) -> set[str]:
    return {name for name, _ in module.named_buffers()}


def score_loop(
    generator: nn.Module, discriminator: nn.Module, children: list[dict[str, torch.Tensor]], z: torch.Tensor, real: torch.Tensor, loss: Any,
    diversity: str = "negative-log",
) -> tuple[torch.Tensor, torch.Tensor]:
    """(F_q, F_d) of each child, one child at a time. ``generator`` and ``discriminator`` are plain
    modules (in the mode they train in); ``children`` are state dicts of ``generator``; ``diversity``
    the sign of F_d (``DIVERSITY_SIGN``)."""
    g_buffers = _buffer_names(generator)
    d_params = dict(discriminator.named_parameters())
    d_buffers = {k: v.clone() for k, v in discriminator.named_buffers()}
    # The real half of L_D does not depend on the child: one forward pass, kept for every child's gradient.
    real_logits = functional_call(discriminator, {**d_params, **d_buffers}, (real,))
    quality, scores = [], []
    for i, child in enumerate(children):
        with torch.no_grad():
            fake = functional_call(generator, {k: v.clone() if k in g_buffers else v for k, v in child.items()}, (z,))
        fake_logits = functional_call(discriminator, {**d_params, **d_buffers}, (fake,))
        loss_d = loss.discriminator_loss(real_logits, fake_logits)
        gradients = torch.autograd.grad(loss_d, list(d_params.values()), retain_graph=i < len(children) - 1)
        quality.append(quality_fitness(fake_logits.detach()))
        scores.append(diversity_fitness(gradients, diversity))
    return torch.stack(quality), torch.stack(scores)


def score_vmap(
    generator: nn.Module, discriminator: nn.Module, children: list[dict[str, torch.Tensor]], z: torch.Tensor, real: torch.Tensor, loss: Any,
    diversity: str = "negative-log",
) -> tuple[torch.Tensor, torch.Tensor]:
    """(F_q, F_d) of each child, all children in one vmapped pass (same arguments as ``score_loop``)."""
    count = len(children)
    # Stacking copies every tensor, buffers included: batch norm may update its copies in place.
    stacked = {k: torch.stack([child[k] for child in children]) for k in children[0]}
    with torch.no_grad():
        fakes = vmap(lambda state: functional_call(generator, state, (z,)), randomness="different")(stacked)

    d_params = {k: p.detach() for k, p in discriminator.named_parameters()}
    d_buffers = {k: torch.stack([b] * count) for k, b in discriminator.named_buffers()}

    def loss_and_logits(params, buffers, fake):
        state = {**params, **buffers}
        real_logits = functional_call(discriminator, state, (real,))
        fake_logits = functional_call(discriminator, state, (fake,))
        return loss.discriminator_loss(real_logits, fake_logits), fake_logits

    per_child = vmap(grad(loss_and_logits, has_aux=True), in_dims=(None, 0, 0), randomness="different")
    gradients, fake_logits = per_child(d_params, d_buffers, fakes)
    squares = sum(g.double().pow(2).flatten(1).sum(1) for g in gradients.values())
    quality = torch.sigmoid(fake_logits.float()).flatten(1).mean(1)
    return quality, (DIVERSITY_SIGN[diversity] * 0.5 * torch.log(squares)).float()


SCORERS = {"loop": score_loop, "vmap": score_vmap}
