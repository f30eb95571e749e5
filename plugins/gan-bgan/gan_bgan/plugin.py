"""What gan-bgan registers: the ``bgan`` and ``bgan-continuous`` algorithms, their networks, the
``binarize`` and ``quantize`` transforms, the ``palette-folder`` dataset, and ``gan bgan quantize``."""

from gancore import Algorithm, Dataset, LazyCommand, Model, Transform, hookimpl

# Each hook imports what it registers: `gan --help` imports this module but not torch.

gancore_api = 3  # the gancore plugin API this plugin is written for (gancore.PLUGIN_API)


@hookimpl
def gan_register_algorithms(register):
    from .algorithm import BGAN, BGANContinuous
    from .config import BGAN_CONTINUOUS_DEFAULTS, BGAN_DEFAULTS, BGANConfig, BGANContinuousConfig

    register(Algorithm("bgan", BGAN, BGANConfig, "Boundary-seeking GAN for binary and palette images: m samples per z, importance weights", defaults=BGAN_DEFAULTS))
    register(Algorithm("bgan-continuous", BGANContinuous, BGANContinuousConfig, "Boundary-seeking GAN for real-valued data: G minimises ½(log D − log(1 − D))²", defaults=BGAN_CONTINUOUS_DEFAULTS))


@hookimpl
def gan_register_models(register):
    from . import models

    register(Model("bgan-generator", models.build_generator, models.BGANGeneratorConfig, "DCGAN-style generator of per-pixel logits (Bernoulli or softmax over a palette)"))
    register(Model("bgan-discriminator", models.build_discriminator, models.BGANDiscriminatorConfig, "DCGAN-style discriminator; activation, norm position, spectral norm"))


@hookimpl
def gan_register_datasets(register):
    from . import data

    register(Dataset("palette-folder", data.palette_folder, data.PaletteFolderConfig, "palette PNGs written by `gan bgan quantize`: colour indices and the palette, read from the files"))


@hookimpl
def gan_register_transforms(register):
    from . import transforms

    register(Transform("binarize", transforms.Binarize, transforms.BinarizeConfig, "pixels to -1/1: a threshold on intensity, or a Bernoulli draw (stochastic)"))
    register(Transform("quantize", transforms.Quantize, transforms.QuantizeConfig, "colours to a k-means palette; adds 'index' (colour per pixel) and info.palette"))


@hookimpl
def gan_register_commands(cli):
    cli.add_command(LazyCommand("bgan", "gan_bgan.quantize:add_commands", "Boundary-seeking GAN tools."))
