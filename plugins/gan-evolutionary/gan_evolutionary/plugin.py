"""What gan-evolutionary registers: the ``egan`` algorithm and ``gan egan plot``. The mutation-share plot
written into the run folder when an ``egan`` run ends is the algorithm's own ``finish``."""

from gancore import Algorithm, hookimpl

from .plot import add_commands  # click and matplotlib-on-demand only

# Each hook imports what it registers: `gan --help` imports this module but not torch.

# Written for gancore's plugin API 3: declared state (register_state), finish(run, status), ctx.snapshot/restore,
# an EMA that follows the live generator, and the loss contract (generator_loss(fake, real), requires/provides).
gancore_api = 3


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
