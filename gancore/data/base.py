"""In-memory data and the batch stream the trainer draws from.

Small datasets live on the training device as tensors; batches are drawn by
index from a seeded permutation, so no DataLoader sits in the hot path and a
resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch


@dataclass
class TensorData:
    """What a dataset builder returns.

    :param tensors: equal-length tensors by name; ``"x"`` holds the samples
        (``(N, D)`` points or ``(N, C, H, W)`` images in [-1, 1]); ``"y"`` labels, if any.
    :param kind: ``"points"`` or ``"image"``; decides how samples are plotted.
    :param info: facts metrics may need, e.g. ``{"modes": Tensor, "std": 0.02}``
        for mixtures, ``{"num_classes": 10}`` for labelled data.
    """

    tensors: dict[str, torch.Tensor]
    kind: Literal["points", "image"]
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "x" not in self.tensors:
            raise ValueError("TensorData needs an 'x' tensor")
        lengths = {name: len(t) for name, t in self.tensors.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"TensorData tensors differ in length: {lengths}")

    def __len__(self) -> int:
        return len(self.tensors["x"])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.tensors["x"].shape[1:])

    def to(self, device: torch.device | str) -> "TensorData":
        return TensorData({k: v.to(device) for k, v in self.tensors.items()}, self.kind, self.info)


class Batches:
    """An endless stream of batches, shuffled each epoch from its own seeded generator.

    With several processes, every process walks the same permutation and takes
    its own slice of each global batch, so the processes see disjoint samples.
    """

    def __init__(self, data: TensorData, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        if batch_size * world_size > len(data):
            raise ValueError(
                f"batch_size {batch_size} x {world_size} process(es) is larger than the dataset ({len(data)} samples)"
            )
        self.data = data
        self.batch_size = batch_size
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.position = 0
        self.order = torch.randperm(len(data), generator=self.generator)

    def __iter__(self) -> "Batches":
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        global_batch = self.batch_size * self.world_size
        if self.position + global_batch > len(self.order):  # drop the ragged tail, like drop_last
            self.order = torch.randperm(len(self.data), generator=self.generator)
            self.position = 0
            self.epoch += 1
        start = self.position + self.rank * self.batch_size
        index = self.order[start : start + self.batch_size]
        self.position += global_batch
        device = self.data.tensors["x"].device
        index = index.to(device)
        return {name: tensor.index_select(0, index) for name, tensor in self.data.tensors.items()}

    def state_dict(self) -> dict:
        return {
            "generator": self.generator.get_state(),
            "order": self.order.clone(),
            "position": self.position,
            "epoch": self.epoch,
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.order = state["order"].clone()
        self.position = int(state["position"])
        self.epoch = int(state["epoch"])
