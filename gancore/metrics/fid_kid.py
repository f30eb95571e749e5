"""FID, KID and the inception score, computed by torchmetrics from gathered features.

torchmetrics' metrics take a feature network; here the network is run by
``FeatureMetric`` (each process on its own share, see ``reference.py``) and
torchmetrics gets the finished features through an identity "network". Its
cross-process sync is off because every process already holds all features.
KID's random subsets and the inception score's random splits are drawn from a
fixed seed, so every process (and every rerun) gets the same value.
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager

import torch
from pydantic import Field
from torch import nn

from ..bounds import Seed
from ..errors import UserError
from .base import EvalContext
from .reference import FeatureConfig, FeatureMetric, FeatureMetricConfig


class Precomputed(nn.Module):
    """The identity, posing as a torchmetrics feature network over ``num_features`` features."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


_RNG_LOCK = threading.Lock()


@contextmanager
def _seeded(seed: int):
    """torchmetrics draws from the global RNG: seed it, leave it as it was, and let one caller in at a time."""
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _quietly(make):
    # torchmetrics warns that KID and IS keep every feature in memory; that is the point here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return make()


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID between two feature sets (torchmetrics, float64)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    fid = FrechetInceptionDistance(feature=Precomputed(real.shape[1]), sync_on_compute=False)
    fid.update(real.double(), real=True)
    fid.update(fake.double(), real=False)
    return float(fid.compute())


def kid_subset_size(subset_size: int, num_real: int, num_fake: int) -> int:
    """The subset size KID uses: ``subset_size``, but at most half of the smaller feature set (at least 2).

    torchmetrics draws each subset without replacement from all the features. A subset as large as the set
    is the whole set in another order, every subset then gives the same MMD, and the std over subsets is
    rounding noise (about 1e-13 for ``gan eval --metric kid -n 1000`` with subsets of 1,000). With at most
    half, the subsets differ and the std says how much the estimate moves from one subset to another."""
    return max(2, min(subset_size, num_real // 2, num_fake // 2))


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, subsets: int, subset_size: int, seed: int, degree: int = 3) -> tuple[float, float]:
    """KID (mean, std over subsets) between two feature sets: torchmetrics' unbiased polynomial-kernel MMD,
    over ``subsets`` random subsets of ``kid_subset_size(subset_size, ...)`` samples of each set."""
    from torchmetrics.image.kid import KernelInceptionDistance

    subset_size = min(kid_subset_size(subset_size, len(real), len(fake)), len(real), len(fake))
    kid = _quietly(lambda: KernelInceptionDistance(
        feature=Precomputed(real.shape[1]), subsets=subsets, subset_size=subset_size, degree=degree, sync_on_compute=False
    ))  # fmt: skip
    kid.update(real.double(), real=True)
    kid.update(fake.double(), real=False)
    with _seeded(seed):
        mean, std = kid.compute()
    return float(mean), float(std)


def inception_score(logits: torch.Tensor, splits: int, seed: int) -> tuple[float, float]:
    """exp(E KL(p(y|x) || p(y))) over ``splits`` splits (torchmetrics): mean and std."""
    from torchmetrics.image.inception import InceptionScore

    score = _quietly(lambda: InceptionScore(feature=Precomputed(logits.shape[1]), splits=splits, sync_on_compute=False))
    score.update(logits.double())
    with _seeded(seed):
        mean, std = score.compute()
    return float(mean), float(std)


# --------------------------------------------------------------------- metrics


class FIDConfig(FeatureMetricConfig):
    pass


class FID(FeatureMetric):
    """Fréchet distance between Gaussians fitted to real and generated features (Heusel et al. 2017).
    Returns ``{"fid": ...}``; 0 for identical feature statistics, lower is better."""

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        return {"fid": frechet_distance(self.real(ctx), self.fake(ctx))}


class KIDConfig(FeatureMetricConfig):
    subsets: int = Field(100, ge=1, description="random subsets the MMD is averaged over")
    subset_size: int = Field(
        1000, ge=2, description="samples per subset; at most half the samples (of the smaller set), so that the subsets differ and kid_std is their spread"
    )
    degree: int = Field(3, ge=1, description="degree of the polynomial kernel (x.y/d + 1)^degree")
    seed: Seed = Field(0, description="seed of the random subsets")


class KID(FeatureMetric):
    """Kernel inception distance (Bińkowski et al. 2018): an unbiased MMD with a cubic kernel,
    averaged over random subsets. Returns ``{"kid": mean, "kid_std": std over subsets}``; about 0
    (either sign) when both sets come from the same distribution. ``kid_std`` is the spread of the
    estimate between subsets of ``subset_size`` samples (at most half of them, see ``kid_subset_size``)."""

    config: KIDConfig

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        cfg = self.config
        mean, std = kernel_distance(self.real(ctx), self.fake(ctx), cfg.subsets, cfg.subset_size, cfg.seed, cfg.degree)
        return {"kid": mean, "kid_std": std}


class InceptionScoreConfig(FeatureConfig):
    splits: int = Field(10, ge=1, description="the samples are split this many ways; the score's mean and std are over splits")
    seed: Seed = Field(0, description="seed of the shuffle before splitting")


class InceptionScoreMetric(FeatureMetric):
    """Inception score (Salimans et al. 2016) from the feature network's class logits: the
    1008-way Inception classifier, or for ``lenet-*`` the LeNet's 10 digit classes (at most 10).
    Returns ``{"inception_score": mean, "inception_score_std": std}``; higher is better.
    Needs no real data."""

    config: InceptionScoreConfig

    def __init__(self, config: InceptionScoreConfig, build) -> None:
        super().__init__(config, build)
        if config.features == "pixels":
            raise UserError("metric 'inception-score' needs class logits: use features inception, lenet-mnist or lenet-digits")

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        mean, std = inception_score(self.fake(ctx, logits=True), self.config.splits, self.config.seed)
        return {"inception_score": mean, "inception_score_std": std}
