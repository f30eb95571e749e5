"""Two unpaired domains (for image-to-image translation): any two datasets, read in independent orders."""

from __future__ import annotations

from pydantic import Field

from ..errors import UserError
from ..registry import DatasetRef, StrictModel
from .base import TensorData


class UnpairedConfig(StrictModel):
    a: DatasetRef = Field(description="domain A, any dataset with its options; its batches are 'x' (and 'y', ...)")
    b: DatasetRef = Field(description="domain B, any dataset with its options; its batches are 'x_b' (and 'y_b', ...)")


def unpaired(config: UnpairedConfig, ctx) -> TensorData:
    domain_a = ctx.build(config.a, "a")
    domain_b = ctx.build(config.b, "b")
    if not isinstance(domain_a, TensorData) or not isinstance(domain_b, TensorData):
        raise UserError("unpaired: both domains must fit in memory (set in_memory: true on them)")
    tensors = dict(domain_a.tensors)
    tensors.update({f"{key}_b": value for key, value in domain_b.tensors.items()})
    streams = {"a": list(domain_a.tensors), "b": [f"{key}_b" for key in domain_b.tensors]}
    info = {**domain_a.info, "domain_b": domain_b.info}
    return TensorData(tensors, domain_a.kind, info, streams)
