"""E-GAN (Wang et al. 2018): a population of generators evolved against one discriminator.

One trainer step is one evolutionary iteration:

1. the discriminator takes ``d_steps`` updates, each on a fresh real batch, against
   samples of the current parents (an equal share from each);
2. variation: every parent makes one child per mutation. A child is the parent after
   one generator update under that mutation's ``generator_loss``, from the parent's
   own Adam state (the reference keeps one optimizer state per candidate and hands
   the survivor's, one step further on, to the next generation);
3. evaluation: every child is scored on a fresh real batch and ``eval_size`` samples
   of its own, F = F_q + γ·F_d (``fitness.py``); with several processes the scores
   are averaged over processes, so every rank keeps the same children;
4. selection: the best ``parents`` children (ties go to the earlier child, as in the
   reference) become the parents, best first.

Children are made on the one prepared generator and its optimizer: restore the
parent (``ctx.restore``), update, snapshot the child (``ctx.snapshot``). After
selection the live generator holds the best child, so ``sample`` and the
trainer's EMA (which follows ``ema_modules()``) continue from it. The declared
state is the networks, their optimizers, the parents (a list of plain state dicts
of the generator and its optimizer) and the wins per mutation. When the run ends,
``finish`` draws the share of wins per mutation into ``RUN/mutations.png``.

One host sync per step, and only one: selection (``select``) reads the children's
fitness on the host, because which child survives decides which weights the next
step starts from. Everything else stays on the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gancore import GANAlgorithm, TrainContext, UserError
from gancore.losses import REAL_LOGITS, Regularizer

from .config import EGANConfig
from .fitness import SCORERS
from .plot import PREFIX, plot_mutation_shares

if TYPE_CHECKING:
    from gancore import Run


@dataclass
class Child:
    """A parent after one generator update under one mutation."""

    parent: int
    mutation: int
    generator: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    loss: torch.Tensor


def select(fitness: torch.Tensor, count: int) -> list[int]:
    """Indices of the ``count`` fittest children, best first; ties keep the earlier child (as the
    reference, which replaces a kept child only by a strictly fitter one); NaN is the worst.

    The family's one host sync per step: the survivors decide which state dicts the live generator
    and optimizer are loaded with (and which children are dropped), a choice made on the host."""
    scores = torch.nan_to_num(fitness.detach().double().cpu(), nan=float("-inf")).tolist()
    return sorted(range(len(scores)), key=lambda i: -scores[i])[:count]


class EvolutionaryGAN(GANAlgorithm):
    config: EGANConfig

    def __init__(self, config: EGANConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        generator = ctx.build_generator(config.generator, config.latent_dim)
        discriminator = ctx.build_discriminator(config.discriminator)
        self.mutations = [ctx.build_loss(ref, f"algorithm.mutations.{i}") for i, ref in enumerate(config.mutations)]
        self.mutation_names = [ref.name for ref in config.mutations]
        for name, mutation in zip(self.mutation_names, self.mutations):
            if isinstance(mutation, Regularizer) or not callable(getattr(mutation, "generator_loss", None)):
                raise UserError(
                    f"algorithm.mutations: '{name}' is not an adversarial objective (it has no generator loss), so it cannot "
                    "make a child; give losses such as non-saturating, minimax, least-squares, hinge or relativistic"
                )
        self.needs_real_logits = [REAL_LOGITS in ctx.registry.get("loss", ref.name).requires for ref in config.mutations]
        self.discriminator_objective = ctx.build_loss(config.discriminator_loss, "algorithm.discriminator_loss")
        self.scorer = SCORERS[config.scoring]

        opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_generator, betas=config.betas)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_discriminator, betas=config.betas)
        self.generator, self.discriminator, self.opt_g, self.opt_d = ctx.prepare(generator, discriminator, opt_g, opt_d)
        # The first generation: μ copies of the initial generator, each with a fresh Adam state.
        start = {"generator": ctx.snapshot(self.generator), "optimizer": ctx.snapshot(self.opt_g)}
        self.parents = [start] + [{k: _copy(v) for k, v in start.items()} for _ in range(config.parents - 1)]
        # How often each mutation made a survivor, over the whole run: plain ints, as the survivors are known
        # on the host once selection has chosen them, so counting them costs no read from the device.
        self.mutation_wins = [0] * len(self.mutations)
        self.register_state("generator", "discriminator", "opt_g", "opt_d", "parents", "mutation_wins")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        # The parents' Adam states are plain dicts, so the core put each of their tensors on the device; Adam keeps
        # its step count where the live optimizer (loaded by torch) keeps it, on the CPU unless capturable or fused.
        # Left on the device, every update of a restored child would read the step back from it.
        live = self.opt_g.state_dict()["state"]
        for parent in self.parents:
            for index, tensors in parent["optimizer"]["state"].items():
                for key, value in tensors.items():
                    if isinstance(value, torch.Tensor) and isinstance(live.get(index, {}).get(key), torch.Tensor):
                        tensors[key] = value.to(live[index][key].device)

    # ------------------------------------------------------------- training

    def train_step(self, batch, step):
        cfg, n = self.config, batch["x"].shape[0]

        # 1. The discriminator, against samples of the current parents.
        fakes = self.parent_samples(n * cfg.d_steps).split(n)
        for i in range(cfg.d_steps):
            real = batch["x"] if i == 0 else self.ctx.next_batch()["x"]
            loss_d = self.discriminator_objective.discriminator_loss(self.discriminator(real), self.discriminator(fakes[i]))
            self.ctx.update(self.opt_d, loss_d)

        # 2. Variation: each parent makes one child per mutation, all from the same latents.
        z = self.noise(n, cfg.latent_dim)
        real_logits = None
        if any(self.needs_real_logits):
            with torch.no_grad():
                real_logits = self.discriminator(batch["x"])
        children = [self.make_child(p, m, z, real_logits) for p in range(cfg.parents) for m in range(len(self.mutations))]

        # 3. Evaluation on a fresh real batch and fresh latents, the same for every child.
        quality, diversity = self.score(children)
        fitness = quality + cfg.gamma * diversity
        # Every process scored its own samples: the mean over processes is the fitness all of them select by.
        quality, diversity, fitness = self.ctx.accelerator.reduce(torch.stack([quality, diversity, fitness]), reduction="mean")

        # 4. Selection: the best μ children become the parents; the live generator holds the best.
        # The step's one host sync (see ``select``).
        survivors = select(fitness, cfg.parents)
        self.parents = [{"generator": children[i].generator, "optimizer": children[i].optimizer} for i in survivors]
        self.ctx.restore(self.generator, self.parents[0]["generator"])
        self.ctx.restore(self.opt_g, self.parents[0]["optimizer"])
        return self.iteration_logs(children, survivors, quality, diversity, fitness, loss_d)

    @torch.no_grad()
    def parent_samples(self, count: int) -> torch.Tensor:
        """``count`` samples in training mode, an equal share (±1) from each parent, in random order."""
        mu = self.config.parents
        if mu == 1:  # the live generator already holds the parent (restored at the last selection)
            return self.generator(self.noise(count, self.config.latent_dim))
        samples = []
        for i, parent in enumerate(self.parents):
            self.ctx.restore(self.generator, parent["generator"])
            samples.append(self.generator(self.noise(count // mu + (i < count % mu), self.config.latent_dim)))
        # Shuffled, so that every discriminator step sees every parent (as the reference shuffles its survivors' samples).
        samples = torch.cat(samples)
        return samples[torch.randperm(count, device=samples.device)]

    def make_child(self, parent: int, mutation: int, z: torch.Tensor, real_logits: torch.Tensor | None = None) -> Child:
        """Parent ``parent`` after one Adam step on mutation ``mutation``'s generator loss at latents ``z``."""
        self.ctx.restore(self.generator, self.parents[parent]["generator"])
        self.ctx.restore(self.opt_g, self.parents[parent]["optimizer"])
        with self.ctx.frozen(self.discriminator) as discriminator:
            fake_logits = discriminator(self.generator(z))
        # Only the losses that require them get the real logits; the others get None (the loss contract).
        loss = self.mutations[mutation].generator_loss(fake_logits, real_logits if self.needs_real_logits[mutation] else None)
        self.ctx.update(self.opt_g, loss)
        return Child(parent, mutation, self.ctx.snapshot(self.generator), self.ctx.snapshot(self.opt_g), loss.detach())

    def score(self, children: list[Child]) -> tuple[torch.Tensor, torch.Tensor]:
        """(F_q, F_d) of each child on this process's fresh real batch and latents."""
        real = self.ctx.next_batch(size=self.config.eval_size)["x"]
        z = self.noise(self.config.eval_size, self.config.latent_dim)
        generator, discriminator = self.ctx.unwrap(self.generator), self.ctx.unwrap(self.discriminator)
        return self.scorer(generator, discriminator, [c.generator for c in children], z, real, self.discriminator_objective, self.config.diversity)

    def child_label(self, child: Child) -> str:
        name = self.mutation_names[child.mutation]
        return name if self.config.parents == 1 else f"{name}_p{child.parent}"

    def iteration_logs(self, children, survivors, quality, diversity, fitness, loss_d) -> dict[str, torch.Tensor | float]:
        """Which mutation won (``won_<mutation>``: its share of the survivors, averaged over
        ``log_every`` steps by the trainer) and every child's F_q, F_d and F."""
        logs: dict[str, torch.Tensor | float] = {"loss_d": loss_d.detach(), "loss_g": children[survivors[0]].loss}
        winners = [children[i].mutation for i in survivors]
        for m, name in enumerate(self.mutation_names):
            self.mutation_wins[m] += winners.count(m)
            logs[f"won_{name}"] = winners.count(m) / len(survivors)
        for i, child in enumerate(children):
            label = self.child_label(child)
            logs[f"fq_{label}"], logs[f"fd_{label}"], logs[f"fitness_{label}"] = quality[i], diversity[i], fitness[i]
        return logs

    def wins(self) -> dict[str, int]:
        """Survivors made by each mutation so far in the run."""
        return dict(zip(self.mutation_names, self.mutation_wins))

    def finish(self, run: Run, status: str) -> None:
        """The share of wins per mutation over the run, ``RUN/mutations.png`` (main process), once it has logged."""
        if not run.is_main_process:
            return
        metrics = Path(run.run_dir) / "metrics.jsonl"
        if metrics.is_file() and PREFIX in metrics.read_text():
            plot_mutation_shares(run.run_dir)


def _copy(value: Any) -> Any:
    """A deep copy of a plain state (tensors cloned), so parents never share storage."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value

