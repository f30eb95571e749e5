"""The ``half`` dataset: one half of any in-memory dataset, so that two domains made from the
same images (grey and coloured MNIST) share none of them.

The ``unpaired`` dataset already reads its two domains in independent orders, so a
batch of A and a batch of B are unrelated. But built from the same split, every
grey digit of A would still have its coloured twin somewhere in B, which makes the
task easier than real unpaired data. ``half: first`` and ``half: second`` of the
same dataset split it by a fixed shuffle, per class when it has labels, into two
disjoint halves with the same class balance::

    data:
      name: unpaired
      a: {name: half, half: first,  of: {name: mnist5k, channels: 3}}
      b: {name: half, half: second, of: {name: mnist5k, transforms: [{name: colorize, mode: random}]}}

The split depends only on the labels (or the length) and ``seed``, not on the
transforms, so the two halves of two differently transformed copies are disjoint.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from gancore import DatasetRef, StrictModel, TensorData, UserError
from gancore.bounds import Seed


class HalfConfig(StrictModel):
    of: DatasetRef = Field(description="the dataset to take half of, with its options, e.g. {name: mnist5k, split: train}")
    half: Literal["first", "second"] = Field(description="which half: the two are disjoint and together make the whole dataset")
    seed: Seed = Field(0, description="seed of the shuffle that splits the dataset; give both halves the same one")


def half_indices(length: int, labels: torch.Tensor | None, which: str, seed: int) -> torch.Tensor:
    """Sorted indices of one half: per class (when labelled), the first or second half of a seeded shuffle."""
    generator = torch.Generator().manual_seed(seed)
    groups = [torch.arange(length)] if labels is None else [(labels == c).nonzero().flatten() for c in labels.unique()]
    picked = []
    for members in groups:
        shuffled = members[torch.randperm(len(members), generator=generator)]
        cut = len(members) // 2
        picked.append(shuffled[:cut] if which == "first" else shuffled[cut:])
    return torch.cat(picked).sort().values


def half(config: HalfConfig, ctx) -> TensorData:
    data = ctx.build(config.of, "of")
    if not isinstance(data, TensorData):
        raise UserError(f"half: dataset '{config.of.name}' is read from disk in batches; set in_memory: true on it to take half of it")
    if set(data.streams) != {"x"}:
        raise UserError(f"half: dataset '{config.of.name}' has several streams ({', '.join(data.streams)}); take half of a dataset with one "
                        "stream (no transform that adds a stream, such as a labelled subset)")
    keep = half_indices(len(data), data.tensors.get("y"), config.half, config.seed)
    return TensorData({k: v[keep] for k, v in data.tensors.items()}, data.kind, dict(data.info))
