"""What the feature-space metrics share: their options, the real reference data, and feature caching.

FID, KID, inception score and precision/recall all run a feature network on
generated and real samples. Each process runs the network on its own share of
the samples only; the features are gathered in single-process order and the
statistic is computed from all of them, identically, on every process. So a
metric has the same value on one process or many (torchmetrics' own
cross-process sync is switched off: there is nothing left to sync).
"""

from __future__ import annotations

import torch
from pydantic import Field, field_validator

from ..registry import DatasetRef, StrictModel
from .base import EvalContext
from .features import ExtractorOptions, FeatureExtractor, check_extractor_name, generated_features, get_extractor, real_features


class FeatureConfig(StrictModel):
    features: str = Field(
        "inception",
        description="feature network: inception (needs its weights file, see inception_weights), "
        "lenet-mnist or lenet-digits (ship with gancore; 28x28 grey), or pixels (the raw values)",
    )
    inception_weights: str | None = Field(
        None,
        description="path of pytorch-fid's pt_inception-2015-12-05-6726825d.pth; null: $GANCORE_INCEPTION_WEIGHTS, "
        "else ~/.cache/gancore/pt_inception-2015-12-05-6726825d.pth. Never downloaded",
    )
    num_samples: int = Field(10000, ge=2, description="generated samples")

    @field_validator("features")
    @classmethod
    def _known_features(cls, value: str) -> str:
        return check_extractor_name(value)


class ReferenceConfig(StrictModel):
    reference: DatasetRef | None = Field(
        None, description="real data to compare with, e.g. {name: mnist5k, split: test}; null: the run's training data"
    )


class FeatureMetricConfig(ReferenceConfig, FeatureConfig):
    num_real: int | None = Field(
        None, ge=2, description="real samples (the first of a fixed shuffle); null: as many as num_samples, at most all the data"
    )


def reference_tensors(ref: DatasetRef | None, cache: dict) -> dict[str, torch.Tensor] | None:
    """The tensors of a reference dataset, built once through the registry (None: use the run's data)."""
    if ref is None:
        return None
    if "tensors" not in cache:
        from ..plugins import get_registry

        cache["tensors"] = {k: v.cpu() for k, v in get_registry().build(ref, "reference").tensors.items()}
    return cache["tensors"]


class FeatureMetric:
    """Base of the metrics that compare generated and real samples in a feature space."""

    config: FeatureMetricConfig

    def __init__(self, config: FeatureConfig) -> None:
        self.config = config
        # Fails here, before training starts, when a weights file is missing.
        self.extractor: FeatureExtractor = get_extractor(config.features, ExtractorOptions(config.inception_weights))
        self._reference: dict = {}
        self._real_cache: tuple | None = None

    def fake(self, ctx: EvalContext, *, logits: bool = False) -> torch.Tensor:
        return generated_features(ctx, self.extractor, self.config.num_samples, logits=logits)

    def real(self, ctx: EvalContext) -> torch.Tensor:
        """Real features, computed once per dataset: the real data do not change during a run."""
        split = reference_tensors(self.config.reference, self._reference)
        source = split["x"] if split is not None else ctx.data.tensors["x"]
        n = self.config.num_real or self.config.num_samples
        key = (n, ctx.seed, ctx.num_processes)
        if self._real_cache is None or self._real_cache[0] is not source or self._real_cache[1] != key:
            self._real_cache = (source, key, real_features(ctx, self.extractor, n, split))
        return self._real_cache[2]
