"""What gan-evolutionary registers: the ``egan`` algorithm, ``gan egan plot``, and the
mutation-share plot written into the run folder when an ``egan`` run ends."""

from pathlib import Path

from gancore import Algorithm, hookimpl

from .plot import PREFIX, add_commands, plot_mutation_shares  # click and matplotlib-on-demand only

# Each hook imports what it registers: `gan --help` imports this module but not torch.

# Written for gancore's plugin API 2: ctx.snapshot/restore, an EMA that follows the live generator,
# checkpoints of lists and dicts, and the loss contract (generator_loss(fake, real), requires/provides).
gancore_api = 2


@hookimpl
def gan_register_algorithms(register):
    from gancore.losses import REAL_LOGITS

    from .algorithm import EvolutionaryGAN
    from .config import EGAN_DEFAULTS, EGANConfig

    register(
        Algorithm(
            "egan",
            EvolutionaryGAN,
            EGANConfig,
            "E-GAN (Wang et al.): generators mutated by several losses, the fittest kept (F = F_q + γ·F_d)",
            defaults=EGAN_DEFAULTS,
            # Relativistic mutations get the discriminator's logits on the real batch.
            provides={REAL_LOGITS},
        )
    )


@hookimpl
def gan_register_commands(cli):
    add_commands(cli)


@hookimpl
def gan_train_end(trainer, step, status):
    # Hooks run for every family's runs: only an egan run that logged something gets a plot.
    from .algorithm import EvolutionaryGAN

    if not isinstance(trainer.algorithm, EvolutionaryGAN) or not trainer.accelerator.is_main_process:
        return
    metrics = Path(trainer.run_dir) / "metrics.jsonl"
    if metrics.is_file() and PREFIX in metrics.read_text():
        plot_mutation_shares(trainer.run_dir)
