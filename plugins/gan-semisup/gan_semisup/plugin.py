"""What gan-semisup registers: ``sgan``, ``fm-gan``, ``supervised-only``, ``bigan`` and ``bigbigan``, their networks,
and the ``labeled-subset`` transform that splits a labelled image dataset into a few labelled samples and unlabelled ones."""

from gancore import Algorithm, Model, Transform, hookimpl

# Each hook imports what it registers: `gan --help` imports this module but not torch.

gancore_api = 3  # the gancore plugin API this plugin is written for (gancore.PLUGIN_API)


@hookimpl
def gan_register_algorithms(register):
    from . import bigbigan
    from .algorithm import FeatureMatchingGAN, SemiSupervisedGAN, SupervisedOnly
    from .bigan import BiGAN
    from .config import BIGAN_DEFAULTS, SEMISUP_DEFAULTS, BiGANConfig, FMGANConfig, SGANConfig, SupervisedOnlyConfig

    register(Algorithm("fm-gan", FeatureMatchingGAN, FMGANConfig, "Improved-GAN (Salimans et al.): K-class discriminator, generator trained by feature matching", defaults=SEMISUP_DEFAULTS, main=True))
    register(Algorithm("sgan", SemiSupervisedGAN, SGANConfig, "Semi-supervised GAN (Odena): K+1-class discriminator, non-saturating generator", defaults=SEMISUP_DEFAULTS))
    register(Algorithm("supervised-only", SupervisedOnly, SupervisedOnlyConfig, "Baseline: the semi-supervised GANs' classifier trained on the labelled samples alone", defaults=SEMISUP_DEFAULTS))
    register(Algorithm("bigan", BiGAN, BiGANConfig, "BiGAN (Donahue et al.): an encoder, and a discriminator on (x, z) pairs", defaults=BIGAN_DEFAULTS))
    register(Algorithm("bigbigan", bigbigan.BigBiGAN, bigbigan.BigBiGANConfig,
                       "BigBiGAN (Donahue and Simonyan): BiGAN on BigGAN's networks, hinge losses on the scores s_x, s_z and s_xz", defaults=BIGAN_DEFAULTS))


@hookimpl
def gan_register_models(register):
    from . import bigan_models, bigbigan, models

    register(Model("improved-gan-discriminator", models.build_discriminator, models.ImprovedGANDiscriminatorConfig, "Improved-GAN MNIST classifier: MLP with Gaussian noise, weight norm, optional minibatch discrimination"))
    register(Model("improved-gan-generator", models.build_generator, models.ImprovedGANGeneratorConfig, "Improved-GAN MNIST generator: MLP, softplus, batch norm, weight-normalised output"))
    register(Model("bigan-generator", bigan_models.build_generator, bigan_models.BiGANNetworkConfig, "BiGAN MNIST generator: z -> 1024 -> 1024 (batch norm) -> x"))
    register(Model("bigan-encoder", bigan_models.build_encoder, bigan_models.BiGANNetworkConfig, "BiGAN MNIST encoder: x -> 1024 -> 1024 (batch norm) -> z"))
    register(Model("bigan-discriminator", bigan_models.build_discriminator, bigan_models.BiGANDiscriminatorConfig, "BiGAN discriminator on (x, z) pairs: [x, z] -> 1024 -> 1024 -> logit"))
    register(Model("bigbigan-encoder", bigbigan.build_encoder, bigbigan.BigBiGANEncoderConfig, "BigBiGAN encoder: BigGAN's residual trunk, then an MLP to z"))
    register(Model("bigbigan-discriminator", bigbigan.build_discriminator, bigbigan.BigBiGANDiscriminatorConfig,
                   "BigBiGAN joint discriminator: F(x) (BigGAN trunk), H(z), J([F, H]) and the scores s_x, s_z, s_xz"))


@hookimpl
def gan_register_transforms(register):
    from .transforms import LabeledSubsetConfig, build_labeled_subset

    register(Transform("labeled-subset", build_labeled_subset, LabeledSubsetConfig,
                       "semi-supervised data: a 'labeled' stream of per_class samples of each class (x_labeled, y_labeled) "
                       "beside the whole data without labels"))
