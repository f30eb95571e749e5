"""Pieces of class-conditional GANs, shared by every family that conditions on a label.

* ``ConditionalBatchNorm2d``: batch norm whose gain and bias are linear functions of a
  condition vector (BigGAN: the shared class embedding, with a chunk of z when skip-z is on);
  with no condition it is plain batch norm with learnt gain and bias.
* ``ProjectionHead``: the discriminator output of Miyato and Koyama (2018),
  ``linear(h) + <embed(y), h>``.
* ``AuxiliaryClassifierHead``: ACGAN's head (Odena et al. 2017), one adversarial logit and
  K class logits, in one ``(B, 1 + K)`` tensor.
* ``orthogonal_penalty``: BigGAN's orthogonal regulariser, ``β ||WᵀW ⊙ (1 − I)||²_F``.
* ``orthogonal_init_``: orthogonal initialisation of every convolution, linear layer and embedding.
* ``resample_beyond``: the truncation trick; latent values whose magnitude exceeds a threshold
  are drawn again until none does (clamped, with a warning, after ``MAX_RESAMPLE_ROUNDS`` rounds).

A conditional network says so with ``conditional = True``: a generator is called as
``G(z, y)`` and a discriminator as ``D(x, y)``, ``y`` a ``(B,)`` tensor of class indices.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm without its own affine parameters; gain ``1 + W_g c`` and bias ``W_b c`` from the
    condition ``c`` (``condition_dim`` values per sample). ``condition_dim = 0``: ordinary learnt gain and bias."""

    def __init__(self, channels: int, condition_dim: int, spectral_norm: bool = False, eps: float = 1e-4, momentum: float = 0.1) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False, eps=eps, momentum=momentum)
        self.condition_dim = condition_dim
        if condition_dim:
            wrap = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
            self.gain = wrap(nn.Linear(condition_dim, channels, bias=False))
            self.bias = wrap(nn.Linear(condition_dim, channels, bias=False))
        else:
            self.gain_offset = nn.Parameter(torch.zeros(channels))
            self.bias_value = nn.Parameter(torch.zeros(channels))

    def affine(self, condition: torch.Tensor | None, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(gain, bias), each ``(B, C)``."""
        if self.condition_dim:
            return 1 + self.gain(condition), self.bias(condition)
        return (1 + self.gain_offset).expand(batch, -1), self.bias_value.expand(batch, -1)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        gain, bias = self.affine(condition, x.shape[0])
        return self.norm(x) * gain[:, :, None, None] + bias[:, :, None, None]


class ProjectionHead(nn.Module):
    """``linear(h) + <embed(y), h>`` for features ``h`` (B, D); without ``y``, ``linear(h)`` alone."""

    def __init__(self, features: int, num_classes: int, spectral_norm: bool = True) -> None:
        super().__init__()
        wrap = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        self.linear = wrap(nn.Linear(features, 1))
        self.embed = wrap(nn.Embedding(num_classes, features))

    def forward(self, h: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = self.linear(h)
        if y is not None:
            out = out + (self.embed(y) * h).sum(dim=1, keepdim=True)
        return out


class AuxiliaryClassifierHead(nn.Module):
    """ACGAN: ``(B, 1 + K)``, column 0 the real/fake logit, the rest class logits (``y`` is not used)."""

    def __init__(self, features: int, num_classes: int, spectral_norm: bool = True) -> None:
        super().__init__()
        wrap = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        self.linear = wrap(nn.Linear(features, 1 + num_classes))

    def forward(self, h: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.linear(h)


def split_acgan(output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(adversarial logits (B, 1), class logits (B, K) or None) of a discriminator's output."""
    if output.shape[1] == 1:
        return output, None
    return output[:, :1], output[:, 1:]


def class_loss(class_logits: torch.Tensor | None, labels: torch.Tensor) -> torch.Tensor | None:
    return None if class_logits is None else F.cross_entropy(class_logits.float(), labels)


def _weight_of(module: nn.Module) -> torch.Tensor | None:
    """The trained weight of a layer: the unnormalised one under a spectral-norm parametrisation."""
    parametrizations = getattr(module, "parametrizations", None)
    if parametrizations is not None and "weight" in parametrizations:
        return parametrizations.weight.original
    weight = getattr(module, "weight", None)
    return weight if isinstance(weight, torch.Tensor) else None


def orthogonal_penalty(module: nn.Module, beta: float) -> torch.Tensor:
    """BigGAN's off-diagonal orthogonal regulariser, summed over convolutions and linear layers
    (not embeddings): ``β Σ ||W Wᵀ ⊙ (1 − I)||²_F`` with ``W`` the weight as (out, in·k·k).
    It leaves each filter's norm free and pushes filters apart, which keeps G smooth in z so
    that truncated latents still give good samples."""
    total = None
    for layer in module.modules():
        if not isinstance(layer, (nn.Conv2d, nn.Linear)):
            continue
        weight = _weight_of(layer)
        if weight is None:
            continue
        w = weight.flatten(1)
        gram = w @ w.t()
        off_diagonal = gram * (1 - torch.eye(gram.shape[0], device=gram.device, dtype=gram.dtype))
        term = off_diagonal.pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        return torch.zeros((), device=next(module.parameters()).device)
    return beta * total


def orthogonal_init_(module: nn.Module) -> None:
    """Orthogonal weights and zero biases for every convolution, linear layer and embedding of ``module``
    (call before spectral norm is applied, or on the parametrisation's original weight)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear, nn.Embedding)):
            weight = _weight_of(layer)
            if weight is None:
                continue
            with torch.no_grad():
                nn.init.orthogonal_(weight)
                if getattr(layer, "bias", None) is not None:
                    layer.bias.zero_()


#: Rounds of redraws before ``resample_beyond`` gives up and clamps. Enough for every threshold of practical
#: use: at 0.02, 98.4% of normal values are beyond it, and 10 million of them are all drawn inside in about
#: 1,000 rounds; a threshold that needs more leaves almost nothing of the latent distribution anyway.
MAX_RESAMPLE_ROUNDS = 1000
_warned: set[float] = set()


def resample_beyond(z: torch.Tensor, threshold: float, draw, max_rounds: int = MAX_RESAMPLE_ROUNDS) -> torch.Tensor:
    """The truncation trick: every value with ``|z| > threshold`` is drawn again with ``draw(count)`` (``count``
    fresh values of the latents' distribution, on ``z``'s device), for up to ``max_rounds`` rounds; every other
    value is kept. Values still beyond the threshold then (a threshold so small that redrawing does not end,
    such as 1e-30) are clamped to ``±threshold``, with a warning on stderr (once per threshold and process)."""
    if not threshold > 0:
        raise ValueError(f"truncation threshold must be positive, got {threshold}")
    z = z.clone()
    beyond = z.abs() > threshold
    for _ in range(max_rounds):
        if not beyond.any():
            return z
        z[beyond] = draw(int(beyond.sum())).to(z.dtype)
        beyond = z.abs() > threshold
    if beyond.any():
        if threshold not in _warned:
            import sys

            _warned.add(threshold)
            print(
                f"warning: truncation {threshold:g}: {int(beyond.sum())} of {z.numel()} latent values were still beyond it after "
                f"{max_rounds} rounds of redraws and were clamped to ±{threshold:g}; a threshold this small leaves almost nothing "
                "of the latent distribution (BigGAN uses 0.04 to 2)",
                file=sys.stderr,
            )
        z = z.clamp(-threshold, threshold)
    return z


def class_count(data, keys: list[str]) -> int:
    """The number of classes of a labelled dataset (``info["num_classes"]``, else the largest label + 1).

    :raises UserError: when the training stream has no labels ``y``."""
    from ..errors import UserError

    if "y" not in keys:
        raise UserError(
            "algorithm.conditional: true trains on the class y of every sample, and this dataset gives no labels to train on "
            f"(its training stream has {', '.join(keys)}). Use a labelled dataset (digits, mnist5k, mnist, cifar10, an image "
            "folder with one sub-folder per class) with no transform that takes its labels away, or set algorithm.conditional: false."
        )
    classes = data.info.get("num_classes")
    return int(classes) if classes else int(data.tensors["y"].max()) + 1


def check_conditional(network: nn.Module, path: str, name: str) -> None:
    from ..errors import UserError

    if not getattr(network, "conditional", False):
        raise UserError(
            f"{path}: '{name}' cannot be conditioned on a class, and algorithm.conditional is true. "
            "Use a network that takes classes (biggan-generator, biggan-discriminator) or set algorithm.conditional: false."
        )
