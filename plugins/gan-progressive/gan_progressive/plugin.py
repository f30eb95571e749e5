"""What gan-progressive registers: the ``progressive`` algorithm and the ``stage-swd`` metric."""

from gancore import Algorithm, Metric, hookimpl

# Each hook imports what it registers: `gan --help` imports this module but not torch.

gancore_api = 3  # the gancore plugin API this plugin is written for (gancore.PLUGIN_API)


@hookimpl
def gan_register_algorithms(register):
    from .algorithm import ProgressiveGAN
    from .config import PROGRESSIVE_DEFAULTS, ProgressiveConfig

    register(Algorithm("progressive", ProgressiveGAN, ProgressiveConfig,
                       "Progressive GAN (Karras et al.): 4x4 up to the data's size with fade-in, WGAN-GP + drift", defaults=PROGRESSIVE_DEFAULTS))  # fmt: skip


@hookimpl
def gan_register_metrics(register):
    from .metrics import StageSWD, StageSWDConfig

    register(Metric("stage-swd", StageSWD, StageSWDConfig, "SWD x1e3 per pyramid level at the progressive GAN's current stage resolution (4x4 up)"))


@hookimpl
def gan_register_commands(cli):
    from .commands import add_commands

    add_commands(cli)
