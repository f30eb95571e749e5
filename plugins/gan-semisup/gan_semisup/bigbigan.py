"""``bigbigan`` (Donahue and Simonyan 2019): BiGAN's game on BigGAN's networks, with a joint
discriminator that gives three scores.

* ``F``: BigGAN's discriminator trunk on x (residual blocks, self-attention, spectral norm), whose
  features give the unary data score ``s_x``;
* ``H``: an MLP on z, whose features give the unary latent score ``s_z``;
* ``J``: an MLP on ``[F(x), H(z)]``, the joint score ``s_xz``.

Encoder pairs ``(x, E(x))`` are labelled ``y = +1`` and generator pairs ``(G(z), z)`` ``y = −1``.
D minimises the sum of the three hinge losses, ``max(0, 1 − y s)`` for each score (logged as ``loss_d``, and
each term as ``d_s_x``, ``d_s_z``, ``d_s_xz``); E and G together (``opt_g``) minimise ``y (s_x + s_z + s_xz)``
(the paper's ℓ_EG, logged as ``loss_g``). Everything else (the encoder and ``encode`` for
``linear-probe``, the reconstruction grid, the EMA of G and E, the schedule) is BiGAN's.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from gancore import ModelRef, TrainContext
from gancore.bounds import AdamBetas, Weight
from gancore.nn.biggan import BigGANDiscriminator, BigGANDiscriminatorConfig
from gancore.nn.conditional import orthogonal_init_
from gancore.nn.layers import maybe_spectral_norm

from .bigan import BiGAN
from .config import BiGANConfig

SCORES = ("s_x", "s_z", "s_xz")


class BigBiGANConfig(BiGANConfig):
    latent_dim: int = Field(64, ge=1, description="size of z (BigBiGAN: 120)")
    latent_distribution: Literal["uniform", "normal"] = Field("normal", description="p(z): standard normal (BigBiGAN) or uniform on [-1, 1]")
    generator: ModelRef = Field(default_factory=lambda: ModelRef(name="biggan-generator"), description="G: z -> x (biggan-generator, unconditional)")
    encoder: ModelRef = Field(default_factory=lambda: ModelRef(name="bigbigan-encoder"), description="E: x -> z (bigbigan-encoder)")
    discriminator: ModelRef = Field(
        default_factory=lambda: ModelRef(name="bigbigan-discriminator"), description="D: (x, z) -> (s_x, s_z, s_xz) (bigbigan-discriminator)"
    )
    betas: AdamBetas = Field((0.0, 0.999), description="Adam betas (BigGAN and BigBiGAN: β1 = 0)")
    weight_decay: float = Field(0.0, ge=0, description="L2 weight decay of every network (BigBiGAN: none)")
    score_weights: tuple[Weight, Weight, Weight] = Field(
        (1.0, 1.0, 1.0), description="weights of the s_x, s_z and s_xz terms in both losses (BigBiGAN: all 1; 0 drops a term, as its ablations do)"
    )


class BigBiGANEncoderConfig(BigGANDiscriminatorConfig):
    spectral_norm: bool = Field(False, description="spectral norm on the encoder's layers (BigBiGAN's encoder has none)")
    attention_resolution: int | None = Field(None, ge=1, description="self-attention after the block that outputs this side; null: none")
    hidden_dim: int = Field(256, ge=1, description="width of the MLP between the convolutional features and z (BigBiGAN: 4096)")


class BigBiGANEncoder(nn.Module):
    """x -> BigGAN's residual trunk -> sum over space -> MLP (ReLU) -> z. ``features(x)`` is the MLP's hidden layer."""

    def __init__(self, config: BigBiGANEncoderConfig, data_shape, latent_dim: int) -> None:
        super().__init__()
        trunk_config = BigGANDiscriminatorConfig(**config.model_dump(exclude={"hidden_dim"}))
        self.trunk = BigGANDiscriminator(trunk_config, data_shape)
        self.hidden = nn.Sequential(nn.Linear(self.trunk.num_features, config.hidden_dim), nn.ReLU())
        self.head = nn.Linear(config.hidden_dim, latent_dim)
        if config.orthogonal_init:
            orthogonal_init_(self.hidden)
            orthogonal_init_(self.head)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(self.trunk.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class BigBiGANDiscriminatorConfig(BigGANDiscriminatorConfig):
    hidden_dim: int = Field(256, ge=1, description="width of H (on z) and J (on [F(x), H(z)]) (BigBiGAN: 2048)")
    layers: int = Field(2, ge=1, description="hidden layers of H and of J (BigBiGAN: 8 residual ones)")


def _mlp(width_in: int, width: int, layers: int, spectral_norm: bool) -> nn.Sequential:
    modules: list[nn.Module] = []
    for i in range(layers):
        modules += [maybe_spectral_norm(nn.Linear(width_in if i == 0 else width, width), spectral_norm), nn.ReLU()]
    return nn.Sequential(*modules)


class BigBiGANDiscriminator(nn.Module):
    """(x, z) -> (B, 3): the scores s_x (of F(x)), s_z (of H(z)) and s_xz (of J([F(x), H(z)]))."""

    def __init__(self, config: BigBiGANDiscriminatorConfig, data_shape, latent_dim: int) -> None:
        super().__init__()
        sn = config.spectral_norm
        self.data_trunk = BigGANDiscriminator(BigGANDiscriminatorConfig(**config.model_dump(exclude={"hidden_dim", "layers"})), data_shape)
        width_x, width = self.data_trunk.num_features, config.hidden_dim
        self.latent_trunk = _mlp(latent_dim, width, config.layers, sn)
        self.joint = _mlp(width_x + width, width, config.layers, sn)
        self.score_x = maybe_spectral_norm(nn.Linear(width_x, 1), sn)
        self.score_z = maybe_spectral_norm(nn.Linear(width, 1), sn)
        self.score_xz = maybe_spectral_norm(nn.Linear(width, 1), sn)
        if config.orthogonal_init:
            for part in (self.latent_trunk, self.joint, self.score_x, self.score_z, self.score_xz):
                orthogonal_init_(part)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        fx, hz = self.data_trunk.features(x), self.latent_trunk(z)
        joint = self.joint(torch.cat([fx, hz], dim=1))
        return torch.cat([self.score_x(fx), self.score_z(hz), self.score_xz(joint)], dim=1)


def discriminator_terms(encoder_scores: torch.Tensor, generator_scores: torch.Tensor) -> torch.Tensor:
    """D's hinge loss for each score, ``(3,)``: mean max(0, 1 − s) on encoder pairs plus mean max(0, 1 + s) on generator pairs."""
    return F.relu(1 - encoder_scores.float()).mean(dim=0) + F.relu(1 + generator_scores.float()).mean(dim=0)


def encoder_generator_terms(encoder_scores: torch.Tensor, generator_scores: torch.Tensor) -> torch.Tensor:
    """E and G's loss for each score, ``(3,)``: the mean score of encoder pairs (y = +1) less that of generator pairs (y = −1)."""
    return encoder_scores.float().mean(dim=0) - generator_scores.float().mean(dim=0)


class BigBiGAN(BiGAN):
    config: BigBiGANConfig

    def __init__(self, config: BigBiGANConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        # Made once: a tensor made from Python numbers in a step would be a copy from the host at every step.
        self.score_weights = torch.tensor(config.score_weights, device=ctx.device)

    def train_step(self, batch, step):
        self.schedule_learning_rates(step)
        weights = self.score_weights

        x = batch["x"]
        z = self.latents(len(x))
        z_encoded = self.encoder(x)  # (x, E(x)): an encoder pair
        x_generated = self.generator(z)  # (G(z), z): a generator pair

        encoder_scores = self.discriminator(x, z_encoded.detach())
        generator_scores = self.discriminator(x_generated.detach(), z)
        terms_d = discriminator_terms(encoder_scores, generator_scores)
        loss_d = (weights * terms_d).sum()
        self.ctx.update(self.opt_d, loss_d)

        with self.ctx.frozen(self.discriminator) as discriminator:
            terms_g = encoder_generator_terms(discriminator(x, z_encoded), discriminator(x_generated, z))
        loss_g = (weights * terms_g).sum()
        self.ctx.update(self.opt_g, loss_g)
        logs = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}
        for name, value in zip(SCORES, terms_d.detach()):
            logs[f"d_{name}"] = value
        return logs


def build_encoder(config: BigBiGANEncoderConfig, *, data_shape, latent_dim, **_) -> nn.Module:
    return BigBiGANEncoder(config, tuple(data_shape), latent_dim)


def build_discriminator(config: BigBiGANDiscriminatorConfig, *, data_shape, latent_dim, **_) -> nn.Module:
    return BigBiGANDiscriminator(config, tuple(data_shape), latent_dim)
