"""Turn raw images and labels into what the trainer reads: transforms, palettes, labelled subsets,
and the choice between in-memory tensors and a DataLoader."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from . import transforms
from .base import LoaderData, StreamTensors, TensorData, TensorItems
from .transforms import ImageOptions


def from_tensors(x: torch.Tensor, y: torch.Tensor | None, options: ImageOptions, info: dict[str, Any] | None = None) -> TensorData | LoaderData:
    """Images already in memory (N, C, H, W) in [-1, 1]: transform them all at once."""
    info = dict(info or {})
    x = transforms.apply(x, options, torch.Generator().manual_seed(options.transform_seed))
    tensors = {"x": x}
    if options.quantize is not None:
        info["palette"] = transforms.fit_palette(x, options.quantize, options.transform_seed)
        tensors = transforms.quantize(x, info["palette"])
    if y is not None:
        tensors["y"] = y
    data = TensorData(tensors, "image", info)
    if options.labels_per_class:
        data = with_labelled_stream(data, options)
    if not keep_in_memory(options, len(x), tuple(x.shape[1:])):
        return LoaderData(TensorItems(data), "image", data.sample_shape, data.info, options.num_workers, extra=_labelled_part(data))
    return data


def with_labelled_stream(data: TensorData, options: ImageOptions) -> TensorData:
    """The ``labeled`` stream (``x_labeled``, ``y_labeled``: ``labels_per_class`` samples of each class)
    beside the whole data as the ``x`` stream, which keeps no labels unless ``unlabeled_labels``."""
    if "y" not in data.tensors:
        from ..errors import UserError

        raise UserError("labels_per_class needs a dataset with labels")
    keep = transforms.labelled_subset(data.tensors["y"], options.labels_per_class, options.transform_seed)
    unlabelled = {k: v for k, v in data.tensors.items() if k != "y" or options.unlabeled_labels}
    tensors = {**unlabelled, "x_labeled": data.tensors["x"][keep], "y_labeled": data.tensors["y"][keep]}
    streams = {"x": list(unlabelled), "labeled": ["x_labeled", "y_labeled"]}
    return TensorData(tensors, data.kind, {**data.info, "labels_per_class": options.labels_per_class}, streams)


def _labelled_part(data: TensorData) -> StreamTensors | None:
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
    """

    def __init__(self, read: Callable[[int], tuple[torch.Tensor, int | None]], length: int, options: ImageOptions, palette: torch.Tensor | None):
        self.read, self.length, self.options, self.palette = read, length, options, palette

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image, label = self.read(index)
        generator = torch.Generator().manual_seed(self.options.transform_seed * 1_000_003 + index)
        x = transforms.apply(image.unsqueeze(0), self.options, generator)
        item = transforms.quantize(x, self.palette) if self.palette is not None else {"x": x}
        item = {k: v[0] for k, v in item.items()}
        if label is not None:
            item["y"] = torch.tensor(label)
        return item


def from_reader(read: Callable[[int], tuple[torch.Tensor, int | None]], length: int, options: ImageOptions, info: dict[str, Any] | None = None) -> TensorData | LoaderData:
    """Images read one at a time (folders, CelebA): a DataLoader, or all read into memory when small."""
    info = dict(info or {})
    palette = None
    if options.quantize is not None:
        plain = options.model_copy(update={"quantize": None})
        subset = torch.stack([transforms.apply(read(i)[0].unsqueeze(0), plain, torch.Generator().manual_seed(i))[0]
                              for i in range(min(length, options.quantize.fit_images))])
        palette = info["palette"] = transforms.fit_palette(subset, options.quantize, options.transform_seed)
    items = TransformedItems(read, length, options, palette)
    shape = tuple(items[0]["x"].shape)
    if keep_in_memory(options, length, shape):
        every = [items[i] for i in range(length)]
        data = TensorData({k: torch.stack([item[k] for item in every]) for k in every[0]}, "image", info)
        return with_labelled_stream(data, options) if options.labels_per_class else data
    extra = None
    if options.labels_per_class:
        # Only the labelled few are held in memory; the whole set streams through the DataLoader without labels.
        labels = torch.tensor([_label(read, i) for i in range(length)])
        keep = transforms.labelled_subset(labels, options.labels_per_class, options.transform_seed)
        chosen = [items[int(i)] for i in keep]
        extra = StreamTensors({"x_labeled": torch.stack([c["x"] for c in chosen]), "y_labeled": labels[keep]}, {"labeled": ["x_labeled", "y_labeled"]})
        info["labels_per_class"] = options.labels_per_class
        if not options.unlabeled_labels:
            items = _WithoutLabels(items)
    return LoaderData(items, "image", shape, info, options.num_workers, extra=extra)


def _label(read: Callable[[int], tuple[torch.Tensor, int | None]], index: int) -> int:
    label = read(index)[1]
    if label is None:
        from ..errors import UserError

        raise UserError("labels_per_class needs a dataset with labels (class sub-folders, or a labelled dataset)")
    return label


class _WithoutLabels(torch.utils.data.Dataset):
    def __init__(self, items: torch.utils.data.Dataset) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.items[index].items() if k != "y"}
