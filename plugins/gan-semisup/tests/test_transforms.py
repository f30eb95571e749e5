"""The ``labeled-subset`` transform: the labelled samples are those ``per_class_subset`` picks with the dataset's
transform_seed, for data in memory and data read through a DataLoader alike, and the unlabelled stream has no labels."""

from __future__ import annotations

import json

import pytest
import torch

from gan_semisup.transforms import WithoutLabels
from gancore import LoaderData, TensorData, UserError
from gancore.data.transforms import per_class_subset
from gancore.plugins import get_host
from gancore.registry import DatasetRef

SUBSET = {"name": "labeled-subset", "per_class": 3}


def build(**options):
    return get_host().registry.build(DatasetRef(**options), "data")


@pytest.fixture
def class_folders(tmp_path):
    """An image folder of 3 classes, 5 to 7 small grey PNGs each, every image different."""
    from PIL import Image

    generator = torch.Generator().manual_seed(0)
    for label, count in enumerate((5, 6, 7)):
        folder = tmp_path / "images" / f"class{label}"
        folder.mkdir(parents=True)
        for i in range(count):
            pixels = torch.randint(0, 256, (8, 8), generator=generator, dtype=torch.uint8)
            Image.fromarray(pixels.numpy(), mode="L").save(folder / f"{i}.png")
    return tmp_path / "images"


@pytest.mark.parametrize("seed", [0, 5])
def test_in_memory_the_labelled_samples_are_the_per_class_subset_of_the_transform_seed(seed):
    plain = build(name="digits")
    data = build(name="digits", transform_seed=seed, transforms=[SUBSET])
    assert isinstance(data, TensorData)
    keep = per_class_subset(plain.tensors["y"], 3, seed)
    assert torch.equal(data.tensors["x_labeled"], plain.tensors["x"][keep])
    assert torch.equal(data.tensors["y_labeled"], plain.tensors["y"][keep])
    assert data.tensors["y_labeled"].bincount().tolist() == [3] * 10
    assert data.streams == {"x": ["x"], "labeled": ["x_labeled", "y_labeled"]}, "x first: the trainer's batches come from it"
    assert "y" not in data.tensors and torch.equal(data.tensors["x"], plain.tensors["x"]), "every sample, without its label"
    assert data.info["labels_per_class"] == 3 and data.info["num_classes"] == 10


def test_the_unlabelled_stream_keeps_its_labels_only_when_asked():
    data = build(name="digits", transforms=[{**SUBSET, "keep_unlabeled_labels": True}])
    assert data.streams["x"] == ["x", "y"] and torch.equal(data.tensors["y"], build(name="digits").tensors["y"])


def test_in_memory_data_sent_through_a_dataloader_keep_the_same_labelled_samples_beside_it():
    in_memory = build(name="digits", transform_seed=2, transforms=[SUBSET])
    loader = build(name="digits", transform_seed=2, transforms=[SUBSET], in_memory=False, num_workers=0)
    assert isinstance(loader, LoaderData)
    assert loader.streams == {"x": ["x"], "labeled": ["x_labeled", "y_labeled"]}
    assert all(torch.equal(loader.extra.tensors[k], in_memory.tensors[k]) for k in ("x_labeled", "y_labeled"))
    assert sorted(loader.dataset[0]) == ["x"], "the DataLoader's items carry no labels"


def test_files_read_through_a_dataloader_give_the_labelled_samples_of_the_per_class_subset(class_folders):
    options = dict(name="image-folder", root=str(class_folders), transform_seed=4, transforms=[SUBSET])
    plain = build(name="image-folder", root=str(class_folders), in_memory=True)
    labels = plain.tensors["y"]
    keep = per_class_subset(labels, 3, 4)
    in_memory = build(**options, in_memory=True)
    loader = build(**options, in_memory=False, num_workers=0)
    assert isinstance(in_memory, TensorData) and isinstance(loader, LoaderData)
    for data in (in_memory.tensors, loader.extra.tensors):
        assert torch.equal(data["x_labeled"], plain.tensors["x"][keep]) and torch.equal(data["y_labeled"], labels[keep])
    assert isinstance(loader.dataset, WithoutLabels) and sorted(loader.dataset[0]) == ["x"] and len(loader) == 18
    assert loader.info["labels_per_class"] == 3 and loader.info["num_classes"] == 3
    kept = build(**{**options, "transforms": [{**SUBSET, "keep_unlabeled_labels": True}]}, in_memory=False, num_workers=0)
    assert [int(kept.dataset[i]["y"]) for i in range(len(kept))] == labels.tolist()


def test_data_without_labels_is_a_clear_error(class_folders, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in sorted(class_folders.rglob("*.png"))[:4]:
        (flat / f"{path.parent.name}-{path.name}").write_bytes(path.read_bytes())
    for in_memory in (True, False):
        with pytest.raises(UserError, match="labeled-subset needs a dataset with labels"):
            build(name="image-folder", root=str(flat), in_memory=in_memory, num_workers=0, transforms=[SUBSET])


def test_too_few_samples_of_a_class_is_a_clear_error():
    with pytest.raises(UserError, match="class 0 has only"):
        build(name="digits", classes=[0, 1], transforms=[{"name": "labeled-subset", "per_class": 1000}])


def test_a_run_on_data_read_through_a_dataloader_learns_from_the_labelled_stream(gan, write_config, tiny_semisup, tmp_path):
    tiny_semisup["data"].update(in_memory=False, num_workers=0)
    tiny_semisup["train"].update(steps=4, checkpoint_every=0, log_every=2)
    out = gan("run", write_config(tiny_semisup), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss_lab" in r] == [2, 4]
