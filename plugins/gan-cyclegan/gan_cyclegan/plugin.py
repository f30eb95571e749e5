"""What gan-cyclegan registers: the ``cyclegan`` algorithm, its networks, the ``half`` dataset, the
``colorize`` transform, the ``translation-accuracy`` metric, the coloured-digit feature networks and
``gan cyclegan ...``."""

from gancore import Algorithm, Dataset, FeatureNetwork, LazyCommand, Metric, Model, Transform, hookimpl

# Each hook imports what it registers: `gan --help` imports this module but not torch.

gancore_api = 3  # the gancore plugin API this plugin is written for (gancore.PLUGIN_API)


@hookimpl
def gan_register_algorithms(register):
    from .algorithm import CycleGAN
    from .config import CYCLEGAN_DEFAULTS, CycleGANConfig

    register(Algorithm("cyclegan", CycleGAN, CycleGANConfig, "CycleGAN (Zhu et al.): two generators and two PatchGANs, cycle + identity losses, image pools", defaults=CYCLEGAN_DEFAULTS))


@hookimpl
def gan_register_models(register):
    from . import models

    register(Model("cyclegan-resnet-generator", models.build_resnet_generator, models.ResNetGeneratorConfig, "image-to-image ResNet generator: 7x7 stem, stride-2 downsamplings, residual blocks (reference resnet_9blocks)"))
    register(Model("cyclegan-unet-generator", models.build_unet_generator, models.UNetGeneratorConfig, "image-to-image U-Net generator with skip connections (reference unet_256)"))
    register(Model("patchgan-discriminator", models.build_patchgan, models.PatchGANConfig, "PatchGAN: one score per overlapping patch (70x70 with 3 layers)"))


@hookimpl
def gan_register_datasets(register):
    from . import data

    register(Dataset("half", data.half, data.HalfConfig, "one of two disjoint halves (per class) of any in-memory dataset: unpaired domains from one source"))


@hookimpl
def gan_register_transforms(register):
    from . import transforms

    register(Transform("colorize", transforms.Colorize, transforms.ColorizeConfig, "paint grey images with a stroke and a background colour, random per image or fixed (coloured MNIST)"))


@hookimpl
def gan_register_metrics(register):
    from . import metrics

    register(Metric("translation-accuracy", metrics.TranslationAccuracy, metrics.TranslationAccuracyConfig,
                    "% of translated test images a target-domain classifier still gives their label (both ways)"))


@hookimpl
def gan_register_features(register):
    from . import classifier

    register(FeatureNetwork("lenet-mnist-colored", classifier.colored_lenet,
                            description="a LeNet that sees colour, trained on coloured mnist5k (ships with gan-cyclegan): FID features of coloured digits"))
    register(FeatureNetwork("lenet-mnist-strokes", classifier.stroke_features,
                            description="lenet-mnist on each image's main colour axis: reads digits of any two colours (judges translations into coloured digits)"))


@hookimpl
def gan_register_commands(cli):
    cli.add_command(LazyCommand("cyclegan", "gan_cyclegan.commands:add_commands",
                                "CycleGAN tools: translate images with a trained run."))
