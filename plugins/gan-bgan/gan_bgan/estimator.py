"""The discrete boundary-seeking estimator (Hjelm et al. 2017, algorithm 1), as plain functions.

For every latent z the generator gives a factorised distribution g(x | z) over
images: a Bernoulli per pixel (binary images) or a softmax over K colours per
pixel (palette images). BGAN draws m samples x⁽¹⁾…x⁽ᵐ⁾ from it, scores all of
them with the discriminator, and weights them by

    w̃⁽ʲ⁾ = softmax_j( logit D(x⁽ʲ⁾) ),    logit D = log D − log(1 − D),

the self-normalised importance weights of the target p(x) ∝ g(x | z)·D/(1 − D).
The generator then maximises the weighted log-likelihood of its own samples:

    L_G = − E_z Σ_j w̃⁽ʲ⁾ · log g(x⁽ʲ⁾ | z),

with no gradient through w̃ and none through D: the gradient is a REINFORCE-like
score-function gradient, so D only has to be evaluated, never differentiated.

Shapes: ``logits`` is (N, L, H, W) with L = C (binary) or K (palette);
samples are (m, N, C, H, W) bits in {0, 1} or (m, N, H, W) colour indices;
scores, log-probabilities and weights are (m, N).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Reduction = Literal["mean", "sum"]


def draw_bits(logits: torch.Tensor, m: int, uniform: torch.Tensor | None = None) -> torch.Tensor:
    """m Bernoulli samples per element of ``logits`` (N, C, H, W): (m, N, C, H, W) longs in {0, 1}."""
    if uniform is None:
        uniform = torch.rand((m, *logits.shape), device=logits.device)
    return (uniform < torch.sigmoid(logits.detach().float())).long()


def draw_colors(logits: torch.Tensor, m: int, uniform: torch.Tensor | None = None) -> torch.Tensor:
    """m categorical samples per pixel of ``logits`` (N, K, H, W): (m, N, H, W) indices in [0, K).

    Inverse-CDF sampling: one uniform number per pixel and sample, compared with
    the cumulative softmax (as cheap as ``torch.multinomial`` and batched over m)."""
    n, k, h, w = logits.shape
    if uniform is None:
        uniform = torch.rand((m, n, h, w), device=logits.device)
    cdf = torch.softmax(logits.detach().float(), dim=1).cumsum(dim=1).permute(0, 2, 3, 1)  # (N, H, W, K)
    index = (uniform.unsqueeze(-1) >= cdf.unsqueeze(0)).sum(dim=-1)
    return index.clamp_(max=k - 1)  # a uniform draw above a rounded-down cdf[-1]


def log_prob_bits(logits: torch.Tensor, bits: torch.Tensor, reduction: Reduction = "mean") -> torch.Tensor:
    """log g(x | z) of each of the m samples: (m, N). ``mean`` averages over the C·H·W pixels, ``sum`` adds them."""
    per_pixel = -F.binary_cross_entropy_with_logits(
        logits.unsqueeze(0).expand_as(bits), bits.to(logits.dtype), reduction="none"
    )
    return _reduce(per_pixel.flatten(2), reduction)


def log_prob_colors(logits: torch.Tensor, index: torch.Tensor, reduction: Reduction = "mean") -> torch.Tensor:
    """log g(x | z) of each of the m samples: (m, N). ``mean`` averages over the H·W pixels, ``sum`` adds them."""
    log_p = torch.log_softmax(logits, dim=1)  # (N, K, H, W)
    m = index.shape[0]
    per_pixel = log_p.unsqueeze(0).expand(m, *log_p.shape).gather(2, index.unsqueeze(2)).squeeze(2)  # (m, N, H, W)
    return _reduce(per_pixel.flatten(2), reduction)


def _reduce(per_pixel: torch.Tensor, reduction: Reduction) -> torch.Tensor:
    return per_pixel.mean(dim=2) if reduction == "mean" else per_pixel.sum(dim=2)


def score(discriminator: nn.Module, samples: torch.Tensor) -> torch.Tensor:
    """D's logits for (m, N, C, H, W) inputs in one batched pass of m·N samples: (m, N)."""
    m, n = samples.shape[:2]
    return discriminator(samples.reshape(m * n, *samples.shape[2:])).view(m, n)


def importance_weights(scores: torch.Tensor) -> torch.Tensor:
    """w̃ = softmax over the m samples (dim 0) of D's logits, detached: every column sums to 1.

    D's logit is log(D / (1 − D)), so exp(logit) is the unnormalised weight
    D/(1 − D); the softmax normalises it per z and is stable for large logits."""
    return torch.softmax(scores.detach().float(), dim=0)


def generator_loss(weights: torch.Tensor, log_probs: torch.Tensor, *, baseline: bool = False) -> torch.Tensor:
    """−Σ_j w̃⁽ʲ⁾ log g(x⁽ʲ⁾ | z), averaged over the N latents.

    With ``baseline``, −Σ_j (w̃⁽ʲ⁾ − 1/m) log g(x⁽ʲ⁾ | z): the 1/m part is the
    generator's plain likelihood of its own samples, whose gradient is zero in
    expectation (a score function has mean zero), so removing it keeps the
    expected gradient. What is left is zero when D scores all m samples alike:
    samples D prefers gain probability, the others lose it, and nothing pushes
    g(x | z) towards whatever it happened to draw."""
    weights = weights.detach()
    if baseline:
        weights = weights - 1.0 / weights.shape[0]
    return -(weights * log_probs).sum(dim=0).mean()


def effective_sample_size(weights: torch.Tensor) -> torch.Tensor:
    """1 / Σ_j w̃⁽ʲ⁾², averaged over z: m when D scores every sample alike, 1 when one sample takes all the weight."""
    return (1.0 / weights.pow(2).sum(dim=0)).mean()


def one_hot(index: torch.Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(..., H, W) indices → (..., K, H, W) one-hot in {0, 1}, written straight into the channel layout
    convolutions read (``F.one_hot`` would build an int64 (..., H, W, K) tensor and need a transposing copy)."""
    out = torch.zeros((*index.shape[:-2], num_classes, *index.shape[-2:]), dtype=dtype, device=index.device)
    return out.scatter_(-3, index.unsqueeze(-3), 1.0)
