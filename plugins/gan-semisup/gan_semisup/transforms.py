"""``labeled-subset``: the data of a semi-supervised run, a few labelled samples beside unlabelled ones.

A registered transform (``gan_register_transforms``), so any labelled image dataset takes it in its
``transforms`` list::

    data: {name: mnist5k, split: train, transforms: [{name: labeled-subset, per_class: 10}]}

Once the dataset is built (``finish``), it has two streams:

* ``x``: every sample, as images without labels (``keep_unlabeled_labels: true`` keeps ``y`` there);
* ``labeled``: ``per_class`` samples of each class, ``x_labeled`` and ``y_labeled``, chosen by
  ``gancore.data.transforms.per_class_subset`` with the dataset's ``transform_seed``, so the same seed
  picks the same samples as the ``linear-probe`` metric's ``labels_per_class`` (and as gancore's
  ``labels_per_class`` option did before this transform replaced it).

In memory (``TensorData``) both streams are tensors; read through a DataLoader (``LoaderData``) the
labelled few are held in memory beside it, as a stream of its ``extra``, and the DataLoader's items
lose their labels.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field

from gancore import ImageTransform, LoaderData, StrictModel, TensorData, UserError
from gancore.data.base import StreamTensors
from gancore.data.pipeline import TransformedItems
from gancore.data.transforms import per_class_subset

LABELED = "labeled"
LABELED_TENSORS = ["x_labeled", "y_labeled"]


class LabeledSubsetConfig(StrictModel):
    per_class: int = Field(ge=1, description="labelled samples kept per class, in the 'labeled' stream (x_labeled, y_labeled), "
                           "chosen with the dataset's transform_seed; e.g. 10 for 100 labelled digits")
    keep_unlabeled_labels: bool = Field(
        False, description="keep 'y' in the unlabelled 'x' stream too (off, so that no family trains on every label by accident)"
    )


class LabeledSubset(ImageTransform):
    """Leaves every item as it is; ``finish`` adds the ``labeled`` stream and takes the labels off the ``x`` stream."""

    def __init__(self, config: LabeledSubsetConfig) -> None:
        self.per_class = config.per_class
        self.keep_labels = config.keep_unlabeled_labels

    def __call__(self, items: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        return items  # draws nothing: the transforms after this one get the same random numbers as without it

    def info(self) -> dict[str, Any]:
        return {"labels_per_class": self.per_class}

    def finish(self, data: TensorData | LoaderData, seed: int) -> TensorData | LoaderData:
        # seed: the dataset's transform_seed, which picks the labelled samples.
        if isinstance(data, TensorData):
            return self.in_memory(data, seed)
        if isinstance(data, LoaderData):
            return self.through_loader(data, seed)
        raise TypeError(f"labeled-subset: finish() takes TensorData or LoaderData, not {type(data).__name__}")

    def in_memory(self, data: TensorData, seed: int) -> TensorData:
        if "y" not in data.tensors:
            raise _no_labels()
        x, y = data.tensors["x"], data.tensors["y"]
        keep = per_class_subset(y, self.per_class, seed)
        dropped = set() if self.keep_labels else {"y"}
        streams = {name: [k for k in keys if k not in dropped] for name, keys in data.streams.items()}
        tensors = {k: v for k, v in data.tensors.items() if k not in dropped}
        tensors.update(x_labeled=x[keep], y_labeled=y[keep])
        streams[LABELED] = list(LABELED_TENSORS)
        return TensorData(tensors, data.kind, _with_classes(data.info, y), streams)

    def through_loader(self, data: LoaderData, seed: int) -> LoaderData:
        # Only the labelled few are held in memory; the whole set streams through the DataLoader.
        labels = torch.tensor([_label(data.dataset, i) for i in range(len(data.dataset))])
        keep = per_class_subset(labels, self.per_class, seed)
        chosen = [data.dataset[int(i)] for i in keep]
        labelled = {"x_labeled": torch.stack([item["x"] for item in chosen]), "y_labeled": labels[keep]}
        extra = data.extra or StreamTensors({}, {})
        extra = StreamTensors({**extra.tensors, **labelled}, {**extra.streams, LABELED: list(LABELED_TENSORS)})
        dataset = data.dataset if self.keep_labels else WithoutLabels(data.dataset)
        return LoaderData(dataset, data.kind, data.sample_shape, _with_classes(data.info, labels), data.num_workers, extra=extra)


class WithoutLabels(torch.utils.data.Dataset):
    """The items of a map-style dataset without their ``y``."""

    def __init__(self, items: torch.utils.data.Dataset) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.items[index].items() if k != "y"}


def _label(dataset: Any, index: int) -> int:
    """The label of item ``index``: read from the source alone for files (no transforms), else the item's ``y``."""
    if isinstance(dataset, TransformedItems):
        label = dataset.read(index)[1]
    else:
        label = dataset[index].get("y")
    if label is None:
        raise _no_labels()
    return int(label)


def _with_classes(info: dict[str, Any], labels: torch.Tensor) -> dict[str, Any]:
    """``info`` with the number of classes (K of a semi-supervised classifier), when the dataset did not give it."""
    return info if info.get("num_classes") else {**info, "num_classes": int(labels.max()) + 1}


def _no_labels() -> UserError:
    return UserError("labeled-subset needs a dataset with labels (a labelled dataset, or an image folder of class sub-folders)")


def build_labeled_subset(config: LabeledSubsetConfig) -> LabeledSubset:
    return LabeledSubset(config)
