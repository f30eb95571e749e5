"""Turn raw images and labels into what the trainer reads: the core's transforms and the registered
ones, and the choice between in-memory tensors and a DataLoader."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from . import transforms
from .base import LoaderData, StreamTensors, TensorData, TensorItems
from .transforms import ImageOptions, ImageTransform


def from_tensors(x: torch.Tensor, y: torch.Tensor | None, options: ImageOptions, ctx, info: dict[str, Any] | None = None) -> TensorData | LoaderData:
    """Images already in memory (N, C, H, W) in [-1, 1], and their labels: transformed all at once.
    ``ctx`` is the dataset's ``BuildContext`` (it builds the registered transforms)."""
    info = dict(info or {})
    steps = transforms.build_transforms(options, ctx)
    items = {"x": transforms.apply(x, options), **({"y": y} if y is not None else {})}
    generator = torch.Generator().manual_seed(options.transform_seed)
    for step in steps:
        if step.fit_images:
            step.fit(items["x"], options.transform_seed)  # in memory: every image; the transform picks its subset
        items = step(items, generator)
        info.update(step.info())
    data = TensorData(items, "image", info)
    for step in steps:
        data = step.finish(data, options.transform_seed)
    if not keep_in_memory(options, len(data), data.sample_shape):
        return LoaderData(TensorItems(data), "image", data.sample_shape, data.info, options.num_workers, extra=_other_streams(data))
    return data


def _other_streams(data: TensorData) -> StreamTensors | None:
    """The streams other than ``x``, kept in memory beside a DataLoader."""
    streams = {name: keys for name, keys in data.streams.items() if name != "x"}
    if not streams:
        return None
    return StreamTensors({k: data.tensors[k] for keys in streams.values() for k in keys}, streams)


def keep_in_memory(options: ImageOptions, count: int, shape: tuple[int, ...]) -> bool:
    if options.in_memory != "auto":
        return bool(options.in_memory)
    return count * math.prod(shape) * 4 <= options.memory_limit_gb * 2**30


class TransformedItems(torch.utils.data.Dataset):
    """Items read one at a time (files), transformed in the DataLoader worker.

    :param read: ``read(i) -> (image (C, H, W) in [-1, 1], label or None)``.
    :param steps: the registered transforms, already fitted.
    """

    def __init__(self, read: Callable[[int], tuple[torch.Tensor, int | None]], length: int, options: ImageOptions, steps: list[ImageTransform]):
        self.read, self.length, self.options, self.steps = read, length, options, steps

    def __len__(self) -> int:
        return self.length

    def item(self, index: int, steps: list[ImageTransform]) -> dict[str, torch.Tensor]:
        """Item ``index`` through the core's transforms and ``steps``, as a batch of one."""
        image, label = self.read(index)
        generator = torch.Generator().manual_seed(self.options.transform_seed * 1_000_003 + index)
        items = {"x": transforms.apply(image.unsqueeze(0), self.options)}
        if label is not None:
            items["y"] = torch.tensor([label])
        for step in steps:
            items = step(items, generator)
        return items

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[0] for k, v in self.item(index, self.steps).items()}


def from_reader(read: Callable[[int], tuple[torch.Tensor, int | None]], length: int, options: ImageOptions, ctx,
                info: dict[str, Any] | None = None) -> TensorData | LoaderData:  # fmt: skip
    """Images read one at a time (folders, CelebA): a DataLoader, or all read into memory when small."""
    info = dict(info or {})
    steps = transforms.build_transforms(options, ctx)
    items = TransformedItems(read, length, options, steps)
    for i, step in enumerate(steps):
        if step.fit_images:  # on the first images, as the transforms before this one leave them
            step.fit(torch.cat([items.item(j, steps[:i])["x"] for j in range(min(length, step.fit_images))]), options.transform_seed)
    for step in steps:
        info.update(step.info())
    shape = tuple(items[0]["x"].shape)
    if keep_in_memory(options, length, shape):
        every = [items[i] for i in range(length)]
        data = TensorData({k: torch.stack([item[k] for item in every]) for k in every[0]}, "image", info)
    else:
        data = LoaderData(items, "image", shape, info, options.num_workers)
    for step in steps:
        data = step.finish(data, options.transform_seed)
    return data
