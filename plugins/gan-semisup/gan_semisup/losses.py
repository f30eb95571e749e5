"""The K+1-class discriminator losses, written with the fake class's logit fixed at 0.

A K+1-way softmax classifier whose last logit is l_{K+1} = 0 (Salimans et al. 2016: any
softmax is unchanged when one constant is subtracted from every logit, so one logit can be
fixed) gives

    p(real | x) = Σ_k exp(l_k) / (Σ_k exp(l_k) + 1) = Z / (Z + 1) = sigmoid(lse(l)),   Z = Σ_k exp(l_k),

so with ``lse = logsumexp(l)`` over the K class logits:

    −log D(x)       = −(lse − softplus(lse))  = softplus(−lse)
    −log(1 − D(x))  = softplus(lse)

which never forms exp(l) or a probability, so it is stable for any logits. The labelled loss is
the cross-entropy over the K classes alone: p(y | x, real) = softmax(l)_y, the reference's
``−l_y + lse(l)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def real_log_odds(logits: torch.Tensor) -> torch.Tensor:
    """log Z = lse over the K class logits: the logit of p(real | x) against the fake class fixed at 0."""
    return torch.logsumexp(logits.float(), dim=1)


def supervised_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the K real classes (no softmax before it: F.cross_entropy takes logits)."""
    return F.cross_entropy(logits.float(), labels)


def unsupervised_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's real/fake loss: −E_real[log D(x)] − E_fake[log(1 − D(G(z)))], with
    D = Z / (Z + 1):  −E_real[lse − softplus(lse)] − E_fake[−softplus(lse)]."""
    lse_real, lse_fake = real_log_odds(real_logits), real_log_odds(fake_logits)
    return -(lse_real - F.softplus(lse_real)).mean() + F.softplus(lse_fake).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """SGAN's non-saturating generator loss −E[log D(G(z))] = E[softplus(−lse)]."""
    return F.softplus(-real_log_odds(fake_logits)).mean()


def feature_matching_loss(fake_features: torch.Tensor, real_features: torch.Tensor) -> torch.Tensor:
    """Salimans et al. §3.1: ‖E f(x) − E f(G(z))‖², averaged over the features (the reference's
    ``mean(square(mom_gen − mom_real))``); the real side carries no gradient."""
    return (fake_features.float().mean(dim=0) - real_features.detach().float().mean(dim=0)).pow(2).mean()


def with_fake_logit(logits: torch.Tensor) -> torch.Tensor:
    """The K class logits with the implicit fake logit, 0, appended as the K+1-th."""
    return torch.cat([logits, logits.new_zeros(logits.shape[0], 1)], dim=1)
