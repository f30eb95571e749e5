"""What the feature-space metrics share: their options, the real reference data, and feature caching.

FID, KID, inception score and precision/recall all run a feature network on
generated and real samples. Each process runs the network on its own share of
the samples only; the features are gathered in single-process order and the
statistic is computed from all of them, identically, on every process. So a
metric has the same value on one process or many (torchmetrics' own
cross-process sync is switched off: there is nothing left to sync).

A two-domain family compares each direction of its translation with the real
data of the target domain: ``source: translate, direction: a2b`` translates
the data's ``x`` and compares with ``x_b`` (``b2a`` the other way round). The
same metric can be listed twice under two labels, one per direction.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, model_validator

from ..errors import UserError
from ..registry import DatasetRef, StrictModel
from .base import DIRECTIONS, EvalContext
from .features import AUTO, ExtractorOptions, FeatureExtractor, auto_extractor, generated_features, real_features


class GeneratedConfig(StrictModel):
    """Where the generated samples come from."""

    source: Literal["sample", "translate"] = Field(
        "sample", description="sample: the generator's samples; translate: algorithm.translate(x, direction) of real samples of the source domain"
    )
    direction: Literal["a2b", "b2a"] | None = Field(
        None, description="source: translate only: a2b translates the data's x (domain a) into domain b; b2a translates x_b"
    )

    @model_validator(mode="after")
    def _direction_with_translate(self):
        if self.source == "translate" and self.direction is None:
            raise ValueError("source: translate needs direction: a2b or b2a")
        if self.source == "sample" and self.direction is not None:
            raise ValueError(f"direction: {self.direction} is for source: translate; drop it or set source: translate")
        return self

    def target_key(self) -> str:
        """The real tensor of the domain the generated samples belong to."""
        return DIRECTIONS[self.direction][1] if self.source == "translate" else "x"


class FeatureConfig(GeneratedConfig):
    features: str = Field(
        AUTO,
        description="feature network: auto (pixels for points; inception when its weights are present; else lenet-digits or "
        "lenet-mnist for digit data), inception (needs its weights file, see inception_weights), lenet-mnist or lenet-digits "
        "(ship with gancore; 28x28 grey), or pixels (the raw values)",
    )
    inception_weights: str | None = Field(
        None,
        description="path of pytorch-fid's pt_inception-2015-12-05-6726825d.pth; null: $GANCORE_INCEPTION_WEIGHTS, "
        "else ~/.cache/gancore/pt_inception-2015-12-05-6726825d.pth (`gan weights fetch inception` puts it there). Never downloaded by a run",
    )
    num_samples: int = Field(10000, ge=2, description="generated samples (at most the source domain's size when translating)")


class ReferenceConfig(StrictModel):
    reference: DatasetRef | None = Field(
        None, description="real data to compare with, e.g. {name: mnist5k, split: test}; null: the run's training data"
    )


class ComparedConfig(ReferenceConfig, GeneratedConfig):
    """Generated samples compared with one real tensor."""

    real_key: str | None = Field(
        None,
        description="the real tensor to compare with: x, or x_b for the second domain of the unpaired dataset; "
        "null: x, or the target domain of direction (a2b: x_b, b2a: x)",
    )

    def real_tensor(self) -> str:
        return self.real_key or self.target_key()


class FeatureMetricConfig(ComparedConfig, FeatureConfig):
    num_real: int | None = Field(
        None, ge=2, description="real samples (the first of a fixed shuffle); null: as many as num_samples, at most all the data"
    )


class ReferenceData:
    """The real datasets a metric names in its options (a test split, a reference set), each built once
    through the metric's ``BuildContext`` and kept on the CPU."""

    def __init__(self, build) -> None:
        self.build = build
        self._built: dict[str, tuple[dict[str, torch.Tensor], str, dict]] = {}

    def tensors(self, ref: DatasetRef | None, option: str = "reference") -> dict[str, torch.Tensor] | None:
        """The tensors of the dataset ``ref`` that option ``option`` names (None: ``ref`` is None, use the run's data)."""
        if ref is None:
            return None
        if option not in self._built:
            data = self.build.build(ref, option)
            if not hasattr(data, "tensors"):
                raise UserError(f"{option}: dataset '{ref.name}' is read from disk in batches; set in_memory: true on it to use it as reference data")
            self._built[option] = ({k: v.cpu() for k, v in data.tensors.items()}, data.kind, dict(data.info))
        return self._built[option][0]

    def described(self, ref: DatasetRef, option: str = "reference") -> tuple[str, dict]:
        """(kind, info) of the dataset ``ref``."""
        self.tensors(ref, option)
        return self._built[option][1], self._built[option][2]


def real_tensors(ctx: EvalContext, config: ComparedConfig, reference: ReferenceData) -> dict[str, torch.Tensor] | None:
    """The tensors of ``config.reference``, checked to hold the real tensor compared with (and the
    run's data checked to hold both domains when translating)."""
    if config.source == "translate":
        ctx.translate_keys(config.source, config.direction)
    ref, key = config.reference, config.real_tensor()
    split = reference.tensors(ref)
    tensors = split if split is not None else ctx.data.tensors
    if key not in tensors:
        where = f"reference dataset '{ref.name}'" if ref is not None else "the run's data"
        hint = "; x_b and y_b come from the unpaired dataset's second domain" if key.endswith("_b") else ""
        raise UserError(f"real_key: {key}: {where} has no tensor '{key}' (it has {', '.join(sorted(tensors))}){hint}")
    return split


class FeatureMetric:
    """Base of the metrics that compare generated and real samples in a feature space."""

    config: FeatureMetricConfig

    def __init__(self, config: FeatureConfig, build) -> None:
        self.config, self.build = config, build
        self._options = ExtractorOptions(config.inception_weights)
        # A named network fails here, before training starts, when it is unknown or its weights file is
        # missing; auto is decided when the metric first runs, from the data.
        self._extractor: FeatureExtractor | None = None if config.features == AUTO else build.features(config.features, self._options)
        self._reference = ReferenceData(build)
        self._real_cache: tuple | None = None
        self.chosen: str | None = None if config.features == AUTO else config.features

    def extractor(self, ctx: EvalContext) -> FeatureExtractor:
        """The configured network, or the one ``features: auto`` picks for the real data of the generated domain."""
        if self._extractor is not None:
            return self._extractor
        cfg = self.config
        key = cfg.real_tensor() if isinstance(cfg, ComparedConfig) else cfg.target_key()
        if isinstance(cfg, ComparedConfig) and cfg.reference is not None:
            kind, info = self._reference.described(cfg.reference)
        else:
            kind, info = ctx.data.kind, ctx.data.info
        if key.endswith("_b"):  # the unpaired dataset keeps the second domain's info apart
            info = info.get("domain_b", {})
        self.chosen = auto_extractor(self.build.registry, kind, info, self._options)
        return self.build.features(self.chosen, self._options)

    def fake(self, ctx: EvalContext, *, logits: bool = False) -> torch.Tensor:
        cfg = self.config
        return generated_features(ctx, self.extractor(ctx), cfg.num_samples, source=cfg.source, direction=cfg.direction, logits=logits)

    def real(self, ctx: EvalContext) -> torch.Tensor:
        """Real features, computed once per dataset: the real data do not change during a run."""
        key = self.config.real_tensor()
        split = real_tensors(ctx, self.config, self._reference)
        source = split[key] if split is not None else ctx.data.tensors[key]
        extractor = self.extractor(ctx)
        n = self.config.num_real or self.config.num_samples
        cache_key = (n, ctx.seed, ctx.num_processes, key, extractor.name)
        if self._real_cache is None or self._real_cache[0] is not source or self._real_cache[1] != cache_key:
            self._real_cache = (source, cache_key, real_features(ctx, extractor, n, split, key))
        return self._real_cache[2]
