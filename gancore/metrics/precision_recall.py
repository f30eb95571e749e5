"""k-NN precision and recall (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020).

Each real feature vector gets a ball whose radius is the distance to its k-th
nearest real neighbour, and each generated one a ball from its k-th nearest
generated neighbour. Then

* precision: the fraction of generated samples inside some real ball (quality);
* recall: the fraction of real samples inside some generated ball (diversity);
* density: how many real balls hold a generated sample on average, divided by k
  (about 1 when the distributions match; above 1 when samples crowd where real data are dense);
* coverage: the fraction of real balls that hold at least one generated sample.

torchmetrics has no such metric, so it is computed here, blockwise, in float64.
"""

from __future__ import annotations

import torch
from pydantic import Field

from ..errors import UserError
from .base import EvalContext
from .reference import FeatureMetric, FeatureMetricConfig

BLOCK = 1024


def _distances(a: torch.Tensor, b: torch.Tensor):
    """Row blocks of the pairwise Euclidean distances between ``a`` and ``b``."""
    for start in range(0, len(a), BLOCK):
        yield start, torch.cdist(a[start : start + BLOCK], b)


def knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row."""
    radii = torch.empty(len(x), dtype=x.dtype)
    for start, d in _distances(x, x):
        radii[start : start + len(d)] = d.topk(k + 1, dim=1, largest=False).values[:, k]  # column 0 is the row itself
    return radii


def _inside_counts(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each point: how many balls hold it; for each ball: whether it holds any point."""
    counts = torch.zeros(len(points), dtype=torch.long)
    hit = torch.zeros(len(centres), dtype=torch.bool)
    for start, d in _distances(points, centres):
        inside = d <= radii.unsqueeze(0)
        counts[start : start + len(d)] = inside.sum(dim=1)
        hit |= inside.any(dim=0)
    return counts, hit


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3, density_k: int = 5) -> dict[str, float]:
    if min(len(real), len(fake)) <= max(k, density_k):
        raise UserError(f"metric 'precision-recall' needs more than {max(k, density_k)} real and generated samples, got {len(real)} and {len(fake)}")
    real, fake = real.double().flatten(1), fake.double().flatten(1)
    fake_in_real, real_hit = _inside_counts(fake, real, knn_radii(real, k))
    real_in_fake, _ = _inside_counts(real, fake, knn_radii(fake, k))
    # Density and coverage use real balls of their own neighbourhood size.
    dense_counts, covered = (fake_in_real, real_hit) if density_k == k else _inside_counts(fake, real, knn_radii(real, density_k))
    return {
        "precision": (fake_in_real > 0).double().mean().item(),
        "recall": (real_in_fake > 0).double().mean().item(),
        "density": dense_counts.double().sum().item() / (density_k * len(fake)),
        "coverage": covered.double().mean().item(),
    }


class PrecisionRecallConfig(FeatureMetricConfig):
    num_samples: int = Field(5000, ge=2, description="generated samples (the cost grows with its square)")
    k: int = Field(3, ge=1, description="neighbourhood size k of precision and recall (Kynkäänniemi et al. use 3)")
    density_k: int = Field(5, ge=1, description="neighbourhood size of density and coverage (Naeem et al. use 5)")


class PrecisionRecall(FeatureMetric):
    """Returns ``{"precision", "recall", "density", "coverage"}``, each in [0, 1] except density."""

    config: PrecisionRecallConfig

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        return precision_recall(self.real(ctx), self.fake(ctx), self.config.k, self.config.density_k)
