"""Shared network pieces and the builtin networks.

For plugins that build their own networks:

* ``activation(name)``, ``maybe_spectral_norm(module, enabled)``, ``MinibatchStdDev``: layers;
* ``EqualizedLinear``, ``EqualizedConv2d`` (equalized learning rate, scale ``he_constant(fan_in)``) and
  ``PixelNorm``: the layers of progressively grown networks (Karras et al. 2018);
* ``square_image(data_shape, what)``: (channels, side) of square image samples, or a user error;
* ``doubling_plan(side)``: (start, doublings) of a DCGAN-style network for that image side;
* ``norm2d(kind, channels)``: batch, instance, layer or no normalisation of feature maps.
"""

from .equalized import EqualizedConv2d, EqualizedLinear, PixelNorm, he_constant
from .images import doubling_plan, norm2d, square_image
from .layers import MinibatchStdDev, activation, maybe_spectral_norm

__all__ = [
    "EqualizedConv2d",
    "EqualizedLinear",
    "MinibatchStdDev",
    "PixelNorm",
    "activation",
    "doubling_plan",
    "he_constant",
    "maybe_spectral_norm",
    "norm2d",
    "square_image",
]
