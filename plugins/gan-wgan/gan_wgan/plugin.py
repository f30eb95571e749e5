"""What gan-wgan registers: the ``wgan`` and ``wgan-gp`` algorithms and the SN-GAN ResNet networks."""

from gancore import Algorithm, Model, hookimpl

# Each hook imports what it registers: `gan --help` imports this module but not torch.

gancore_api = 3  # the gancore plugin API this plugin is written for (gancore.PLUGIN_API)


@hookimpl
def gan_register_algorithms(register):
    from .algorithm import WGAN, WGANGP
    from .config import WGAN_DEFAULTS, WGANGP_DEFAULTS, WGANConfig, WGANGPConfig

    register(Algorithm("wgan", WGAN, WGANConfig, "WGAN (Arjovsky et al.): clipped critic, RMSProp, n_critic steps", defaults=WGAN_DEFAULTS))
    register(Algorithm("wgan-gp", WGANGP, WGANGPConfig, "WGAN-GP (Gulrajani et al.): gradient penalty on interpolates, Adam", defaults=WGANGP_DEFAULTS))


@hookimpl
def gan_register_models(register):
    from . import models

    register(Model("sngan-resnet-generator", models.build_resnet_generator, models.ResNetGeneratorConfig, "SN-GAN CIFAR ResNet generator (residual up-blocks)"))
    register(Model("sngan-resnet-critic", models.build_resnet_critic, models.ResNetCriticConfig, "SN-GAN CIFAR ResNet critic / discriminator (residual down-blocks)"))
