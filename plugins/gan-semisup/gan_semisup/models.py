"""The Improved-GAN MNIST networks (Salimans et al. 2016, openai/improved-gan ``train_mnist_feature_matching.py``).

* ``improved-gan-discriminator``: an MLP 784-1000-500-250-250-250-K with ReLU, weight
  normalisation on every layer (``torch.nn.utils.parametrizations.weight_norm``), Gaussian
  noise on its input (σ 0.3 on pixels in [0, 1], i.e. 0.6 on gancore's [-1, 1]) and after
  every hidden layer (σ 0.5), and, as an option, minibatch discrimination before the output.
  Like every discriminator in gancore it is ``features`` (the last hidden layer, the one
  feature matching matches) followed by ``head`` (noise, minibatch features, the K logits).
* ``improved-gan-generator``: 100-500-500-784 with softplus, batch norm with no scale
  after each hidden layer, and a weight-normalised output layer.

The reference initialises the discriminator from data: each weight-normalised layer's scale
and bias are set so that its pre-activations on a batch of real images have zero mean and
unit variance (``data_dependent_init``). The scales of hidden layers then stay fixed
(``train_hidden_scale: false``); the output layer's scale trains.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from gancore import StrictModel
from gancore.bounds import PositiveInt

REFERENCE_INIT_STD = 0.1  # the reference's DenseLayer draws its weights from N(0, 0.1²)

# ------------------------------------------------------------------ layers


class GaussianNoise(nn.Module):
    """Adds N(0, σ²) noise in training mode only (the reference's GaussianNoiseLayer)."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.sigma > 0:
            return x + self.sigma * torch.randn_like(x)
        return x

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. §3.2: features that tell the discriminator how close each sample is to the others
    in its batch. ``M = h·T`` gives B kernels of C dimensions per sample; ``o_b(x_i) = Σ_{j≠i}
    exp(−‖M_i,b − M_j,b‖₁)``; the output is ``[h, o]``. A collapsed generator's batch has large ``o``."""

    def __init__(self, in_features: int, kernels: int, kernel_dim: int) -> None:
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.projection = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.05)
        self.bias = nn.Parameter(torch.full((kernels,), -1.0))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        m = (h @ self.projection).view(-1, self.kernels, self.kernel_dim)
        distance = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(dim=3)  # (N, N, B), L1 between samples
        closeness = torch.exp(-distance).sum(dim=1) - 1.0  # minus exp(0) of each sample with itself
        return torch.cat([h, closeness + self.bias], dim=1)


def _weight_normed(layer: nn.Linear, enabled: bool, std: float | None = None) -> nn.Linear:
    """``layer`` with weight normalisation; ``std`` first redraws its weights from N(0, std²). Under weight
    normalisation a step of Adam turns a weight vector by about lr·√n / ‖v‖, so the initial norm of v sets
    the effective learning rate: the reference draws v from N(0, 0.1²) (‖v‖ ≈ 3 for 1,000 inputs, five
    times PyTorch's default), and its learning rate of 0.003 assumes that."""
    if std is not None:
        nn.init.normal_(layer.weight, 0.0, std)
    return weight_norm(layer) if enabled else layer


@torch.no_grad()
def data_dependent_init(linear: nn.Linear, inputs: torch.Tensor) -> None:
    """Salimans & Kingma (2016): scale and shift a weight-normalised layer so that its outputs on ``inputs``
    have zero mean and unit variance per unit (a plain layer gets the same treatment through its weights)."""
    out = linear(inputs)
    mean, std = out.mean(dim=0), out.std(dim=0, unbiased=False).clamp_min(1e-6)
    if hasattr(linear, "parametrizations"):
        linear.parametrizations.weight.original0.div_(std.view(-1, 1))  # g: one scale per output unit
    else:
        linear.weight.div_(std.view(-1, 1))
    if linear.bias is not None:
        linear.bias.copy_((linear.bias - mean) / std)


# ------------------------------------------------------------ discriminator


class ImprovedGANDiscriminatorConfig(StrictModel):
    hidden: list[PositiveInt] = Field([1000, 500, 250, 250, 250], min_length=1, description="widths of the hidden layers (the reference MNIST model: 1000, 500, 250, 250, 250)")
    input_noise: float = Field(0.6, ge=0, description="σ of the Gaussian noise on the input, in data units (the reference's 0.3 on [0, 1] pixels is 0.6 on gancore's [-1, 1])")
    hidden_noise: float = Field(0.5, ge=0, description="σ of the Gaussian noise after every hidden layer (reference: 0.5)")
    weight_norm: bool = Field(True, description="weight normalisation on every layer (reference: yes)")
    train_hidden_scale: bool = Field(False, description="let the weight-norm scales of the hidden layers train (reference: fixed after the data-dependent init; the output layer's scale trains)")
    minibatch_kernels: int = Field(0, ge=0, description="minibatch discrimination before the output layer with this many kernels; 0 disables (the MNIST feature-matching model has none)")
    minibatch_kernel_dim: int = Field(5, ge=1, description="dimensions of each minibatch-discrimination kernel (reference: 5)")
    noisy_init: bool = Field(
        False, description="run the data-dependent init with the noise layers on, as the reference does: each layer's scale is then set "
        "on signal plus noise, so the clean signal ends up smaller beside the noise (a more heavily regularised discriminator)"
    )


class ImprovedGANDiscriminator(nn.Module):
    """``head(features(x))``: K class logits (the fake class is implicit; see ``gan_semisup.losses``)."""

    def __init__(self, config: ImprovedGANDiscriminatorConfig, data_shape: tuple[int, ...], out_features: int) -> None:
        super().__init__()
        width = math.prod(data_shape)
        self.input_noise = GaussianNoise(config.input_noise)
        self.hidden = nn.ModuleList()
        self.noise = nn.ModuleList()
        for i, units in enumerate(config.hidden):
            self.hidden.append(_weight_normed(nn.Linear(width, units), config.weight_norm, REFERENCE_INIT_STD))
            # noise after every hidden layer but the last: the last one's noise belongs to the head,
            # so that ``features`` is that layer's clean output, the one the reference matches
            self.noise.append(GaussianNoise(config.hidden_noise) if i < len(config.hidden) - 1 else nn.Identity())
            width = units
        head: list[nn.Module] = [GaussianNoise(config.hidden_noise)]
        if config.minibatch_kernels:
            head.append(MinibatchDiscrimination(width, config.minibatch_kernels, config.minibatch_kernel_dim))
            width += config.minibatch_kernels
        head.append(_weight_normed(nn.Linear(width, out_features), config.weight_norm, REFERENCE_INIT_STD))
        self.head = nn.Sequential(*head)
        self.noisy_init = config.noisy_init
        if config.weight_norm and not config.train_hidden_scale:
            for layer in self.hidden:
                layer.parametrizations.weight.original0.requires_grad_(False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input_noise(x.flatten(1))
        for layer, noise in zip(self.hidden, self.noise):
            h = noise(F.relu(layer(h)))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def init_from_data(self, x: torch.Tensor) -> None:
        """Data-dependent initialisation of every layer, in order, on real samples ``x``; with ``noisy_init``
        the noise layers add their noise on the way (they draw from the global RNG, seeded by the trainer)."""

        def noise(module: nn.Module, h: torch.Tensor) -> torch.Tensor:
            return module.train()(h) if self.noisy_init else h

        h = noise(self.input_noise, x.flatten(1))
        for layer, after in zip(self.hidden, self.noise):
            data_dependent_init(layer, h)
            h = noise(after, F.relu(layer(h)))
        for module in self.head:
            if isinstance(module, GaussianNoise):
                h = noise(module, h)
            elif isinstance(module, MinibatchDiscrimination):
                h = module(h)
            elif isinstance(module, nn.Linear):
                data_dependent_init(module, h)


def build_discriminator(config: ImprovedGANDiscriminatorConfig, *, data_shape, out_features=10, **_) -> nn.Module:
    return ImprovedGANDiscriminator(config, tuple(data_shape), out_features)


# ---------------------------------------------------------------- generator


class ImprovedGANGeneratorConfig(StrictModel):
    hidden: list[PositiveInt] = Field([500, 500], min_length=1, description="widths of the hidden layers (reference: 500, 500)")
    activation: Literal["softplus", "relu"] = Field("softplus", description="hidden activation (reference: softplus)")
    batch_norm: bool = Field(True, description="batch norm (shift only, no scale, as the reference) before each hidden activation")
    weight_norm_output: bool = Field(True, description="weight normalisation of the output layer (reference: yes, with a trained scale)")


class ImprovedGANGenerator(nn.Module):
    """Latent -> hidden layers -> image in [-1, 1] (tanh; the reference's sigmoid on [0, 1] pixels)."""

    def __init__(self, config: ImprovedGANGeneratorConfig, data_shape: tuple[int, ...], latent_dim: int) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        layers: list[nn.Module] = []
        width = latent_dim
        for units in config.hidden:
            layers.append(nn.Linear(width, units, bias=not config.batch_norm))
            if config.batch_norm:
                norm = nn.BatchNorm1d(units)
                norm.weight.requires_grad_(False)  # the reference's batch norm has a shift but no scale
                layers.append(norm)
            layers.append(nn.Softplus() if config.activation == "softplus" else nn.ReLU())
            width = units
        layers.append(_weight_normed(nn.Linear(width, math.prod(self.data_shape)), config.weight_norm_output))
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.data_shape)


def build_generator(config: ImprovedGANGeneratorConfig, *, data_shape, latent_dim, **_) -> nn.Module:
    return ImprovedGANGenerator(config, tuple(data_shape), latent_dim)
