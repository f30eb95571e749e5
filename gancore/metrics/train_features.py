"""``gan train-features``: train the LeNet feature networks and classifiers of gancore's metrics.

    gan train-features --dataset mnist5k --epochs 30 --seed 0      # the shipped lenet-mnist
    gan train-features --dataset digits --epochs 60 --seed 0       # the shipped lenet-digits
    gan train-features --data '{name: mnist5k, split: train, channels: 3}' \
        --test-data '{name: mnist5k, split: test, channels: 3}' --output rgb-digits.safetensors

The shipped networks train on their dataset's fixed train split and are scored on
its fixed test split: mnist5k ``split: train`` (4,000) against ``split: test``
(1,000); scikit-learn's digits, stratified 80/20 by ``train_test_split(...,
random_state=0)`` (1,437 / 360). ``--data`` takes any labelled dataset config
(a YAML mapping, or a YAML file): grey images give a grey LeNet, RGB images a
colour one, with as many classes as the labels have. A dataset with a ``split``
option is tested on ``split: test`` unless ``--test-data`` says otherwise. The
weights go to a safetensors file (about 0.5 MB) and the record (data, command,
test accuracy) to a JSON file beside it; every metric then takes the file's path
as ``features:`` (FID, KID, precision-recall...) or as its classifier.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..bounds import SEED_LIMIT
from ..errors import UserError
from .features import LENET_DATASETS, LeNet, lenet_weights

DATASETS = tuple(LENET_DATASETS)


def load_splits(dataset: str) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, str]]:
    """The (train, test) tensors ``{"x", "y"}`` of a dataset's fixed split, and how they were made."""
    from ..data import images

    # The shipped networks' data take no transforms, so no BuildContext is needed to build them.
    if dataset == "mnist5k":
        train = images.mnist5k(images.MNIST5kConfig(split="train"), None).tensors
        test = images.mnist5k(images.MNIST5kConfig(split="test"), None).tensors
        return train, test, {"train": "mnist5k split=train", "test": "mnist5k split=test"}
    if dataset == "digits":
        from sklearn.model_selection import train_test_split

        data = images.digits(images.DigitsConfig(), None).tensors
        index = torch.arange(len(data["y"])).numpy()
        train_index, test_index = train_test_split(index, test_size=0.2, stratify=data["y"].numpy(), random_state=0)
        pick = lambda idx: {k: v[torch.from_numpy(idx)] for k, v in data.items()}  # noqa: E731
        how = "sklearn digits, train_test_split(test_size=0.2, stratify=y, random_state=0)"
        return pick(train_index), pick(test_index), {"train": how + " [train]", "test": how + " [test]"}
    raise UserError(f"unknown dataset '{dataset}' for train-features; choose one of {', '.join(DATASETS)}")


def _shift(x: torch.Tensor, generator: torch.Generator, pixels: int = 2) -> torch.Tensor:
    """Random translations by up to ``pixels``, padding with the background (-1)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pixels,) * 4, value=-1.0)
    dy, dx = torch.randint(0, 2 * pixels + 1, (2, n), generator=generator)
    rows = (dy.view(n, 1) + torch.arange(h)).view(n, h, 1)
    cols = (dx.view(n, 1) + torch.arange(w)).view(n, 1, w)
    return padded[torch.arange(n).view(n, 1, 1), :, rows, cols].permute(0, 3, 1, 2)


@torch.no_grad()
def accuracy(net: LeNet, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    correct = sum(int((net.logits(x[i : i + 500]).argmax(1) == y[i : i + 500]).sum()) for i in range(0, len(x), 500))
    return correct / len(x)


def train_lenet(dataset: str, epochs: int, seed: int, *, batch_size: int = 64, lr: float = 1e-3, log=print) -> tuple[LeNet, dict]:
    """Train the grey LeNet on a shipped dataset's train split; returns the network and its record."""
    train, test, how = load_splits(dataset)
    describe = {"network_name": LENET_DATASETS[dataset], "dataset": dataset, "train_data": how["train"], "test_data": how["test"],
                "command": f"gan train-features --dataset {dataset} --epochs {epochs} --seed {seed}"}
    return train_classifier(train, test, epochs=epochs, seed=seed, batch_size=batch_size, lr=lr, describe=describe, log=log, channels=1)


def train_classifier(train: dict[str, torch.Tensor], test: dict[str, torch.Tensor], *, epochs: int, seed: int, batch_size: int = 64,
                     lr: float = 1e-3, describe: dict | None = None, log=print, channels: int | None = None) -> tuple[LeNet, dict]:
    """A LeNet trained on labelled tensors ``{"x", "y"}`` by gancore's recipe (``fit``), scored on ``test``;
    grey data (or ``channels=1``) give a grey LeNet, RGB data a colour one. Returns it and its record."""
    describe = dict(describe or {})
    channels = channels or (1 if train["x"].shape[1] == 1 else 3)
    num_classes = int(max(train["y"].max(), test["y"].max())) + 1
    torch.manual_seed(seed)
    net = LeNet(num_classes=num_classes, in_channels=channels)
    # Train on exactly what evaluation feeds the network: 28x28, grey or RGB.
    x_train, y_train, x_test, y_test = net.prepare(train["x"]), train["y"], net.prepare(test["x"]), test["y"]
    seconds = fit(net, x_train, y_train, x_test, y_test, epochs=epochs, seed=seed, batch_size=batch_size, lr=lr, log=log)
    net.eval()
    name = describe.pop("network_name", "LeNet")
    record = {
        "network": f"{name} (gancore.metrics.features.LeNet, {channels} input channel{'s' * (channels > 1)}, {num_classes} classes, "
                   f"{sum(p.numel() for p in net.parameters())} parameters)",
        **describe,
        "train_images": len(x_train),
        "test_images": len(x_test),
        "train_accuracy": round(accuracy(net, x_train, y_train), 4),
        "test_accuracy": round(accuracy(net, x_test, y_test), 4),
        "epochs": epochs,
        "seed": seed,
        "batch_size": batch_size,
        "optimizer": f"Adam, one-cycle lr up to {lr}, random shifts of up to 2 pixels",
        "seconds": round(seconds, 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    return net, record


def labelled_tensors(registry, ref, option: str) -> dict[str, torch.Tensor]:
    """``{"x", "y"}`` of the dataset a config names; a UserError naming ``option`` unless it is labelled images in memory."""
    data = registry.build(ref, option)
    tensors = getattr(data, "tensors", None)
    if tensors is None or "y" not in tensors:
        raise UserError(f"{option}: dataset '{ref.name}' must have labels (y) and fit in memory; a classifier learns from labelled images")
    if tensors["x"].dim() != 4 or tensors["x"].shape[1] not in (1, 3):
        raise UserError(f"{option}: dataset '{ref.name}' holds samples of shape {tuple(tensors['x'].shape[1:])}; a LeNet needs grey or RGB images")
    return {"x": tensors["x"].cpu(), "y": tensors["y"].cpu()}


def dataset_ref(spec: str, option: str):
    """A dataset config from the command line: a YAML mapping (``{name: mnist5k, split: train}``) or a YAML file."""
    import yaml

    from ..registry import DatasetRef

    path = Path(spec).expanduser()
    try:
        data = yaml.safe_load(path.read_text() if spec.endswith((".yaml", ".yml")) and path.is_file() else spec)
    except yaml.YAMLError as exc:
        raise UserError(f"{option} {spec!r} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if isinstance(data, dict) and "data" in data and isinstance(data["data"], dict):
        data = data["data"]  # a whole run config: its data section
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise UserError(f"{option} takes a dataset config with a name, e.g. '{{name: mnist5k, split: train}}', or a YAML file holding one")
    return DatasetRef(**data)


def test_ref_for(registry, train_ref, option: str = "--test-data"):
    """The held-out split of ``train_ref``'s dataset (``split: test``), when the dataset has splits."""
    from ..registry import DatasetRef

    fields = registry.get("dataset", train_ref.name).config.model_fields
    if "split" not in fields:
        raise UserError(f"dataset '{train_ref.name}' has no split option, so give the images to test on with {option} '{{name: ..., ...}}'")
    return DatasetRef(name=train_ref.name, **{**train_ref.options, "split": "test"})


def train_and_write(registry, train_ref, test_ref, output: Path, *, epochs: int, seed: int, log=print) -> dict:
    """Train on ``train_ref``, score on ``test_ref``, write the weights and the JSON record; returns the record."""
    if output.suffix != ".safetensors":
        raise UserError(f"--output {output}: the weights file must end in .safetensors")
    if train_ref.options.get("split") == "test":
        raise UserError("--data: training on split: test would score the classifier on the images it learnt; use split: train")
    train, test = labelled_tensors(registry, train_ref, "--data"), labelled_tensors(registry, test_ref, "--test-data")
    dump = lambda ref: json.dumps({"name": ref.name, **ref.options})  # noqa: E731
    describe = {"train_data": dump(train_ref), "test_data": dump(test_ref),
                "command": f"gan train-features --data '{dump(train_ref)}' --test-data '{dump(test_ref)}' --epochs {epochs} --seed {seed} --output {output}"}
    net, record = train_classifier(train, test, epochs=epochs, seed=seed, describe=describe, log=log)
    write(net, record, output)
    return record


def fit(net: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor, *,
        epochs: int, seed: int, batch_size: int = 64, lr: float = 1e-3, log=print) -> float:
    """gancore's classifier recipe, for any network with ``logits``: Adam with a one-cycle rate, random shifts
    of up to 2 pixels, seeded order. Leaves the network in eval mode; returns the seconds it took."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    steps_per_epoch = len(x_train) // batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(1, epochs * steps_per_epoch))
    start = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for i in range(steps_per_epoch):
            index = order[i * batch_size : (i + 1) * batch_size]
            loss = F.cross_entropy(net(_shift(x_train[index], generator)), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        if log and ((epoch + 1) % max(1, epochs // 10) == 0 or epoch + 1 == epochs):
            log(f"epoch {epoch + 1}/{epochs}: loss {total / max(1, steps_per_epoch):.4f}, test accuracy {accuracy(net, x_test, y_test):.4f}")
    net.eval()
    return time.perf_counter() - start


def write(net: LeNet, record: dict, output: Path) -> tuple[Path, Path]:
    """The weights as safetensors (with the record as metadata) and the record as JSON beside them."""
    from safetensors.torch import save_file

    output.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(output), metadata={k: str(v) for k, v in record.items()})
    record_path = output.with_suffix(".json")
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return output, record_path


def add_command(cli) -> None:
    """Add ``gan train-features`` to the ``gan`` command line."""
    import click

    @cli.command("train-features")
    @click.option("--dataset", type=click.Choice(DATASETS), help="retrain a shipped network on its dataset's fixed train split")
    @click.option("--data", "data_spec", metavar="YAML", help="or train on any labelled dataset config, e.g. '{name: mnist5k, split: train}' (or a YAML file)")
    @click.option("--test-data", "test_spec", metavar="YAML", help="with --data: the images it is scored on (default: the same dataset with split: test)")
    @click.option("--output", "-o", type=click.Path(dir_okay=False), help="weights file (.safetensors); with --dataset the default is the shipped file")
    @click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True, help="passes over the train split")
    @click.option("--seed", type=click.IntRange(0, SEED_LIMIT - 1), default=0, show_default=True, help="seed of the initial weights, the batch order and the shifts")
    def train_features(dataset, data_spec, test_spec, output, epochs, seed):
        """Train a LeNet for FID/KID/IS/precision-recall features and class judges: the shipped ones (--dataset), or one for any labelled images (--data)."""
        if (dataset is None) == (data_spec is None):
            raise UserError("give either --dataset mnist5k|digits (a shipped network) or --data '{name: ..., ...}' (any labelled dataset)")
        if dataset is not None:
            if test_spec is not None:
                raise UserError("--test-data goes with --data; --dataset uses its fixed test split")
            output = Path(output) if output else lenet_weights(dataset)
            if output.suffix != ".safetensors":
                raise UserError(f"--output {output}: the weights file must end in .safetensors")
            net, record = train_lenet(dataset, epochs, seed, log=click.echo)
            weights, record_path = write(net, record, output)
        else:
            if output is None:
                raise UserError("--data needs --output FILE.safetensors: where to write the network")
            from ..plugins import get_host

            registry = get_host().registry
            train_ref = dataset_ref(data_spec, "--data")
            test_ref = dataset_ref(test_spec, "--test-data") if test_spec else test_ref_for(registry, train_ref)
            weights = Path(output)
            record = train_and_write(registry, train_ref, test_ref, weights, epochs=epochs, seed=seed, log=click.echo)
            record_path = weights.with_suffix(".json")
        size = weights.stat().st_size / 1e6
        click.echo(f"test accuracy {record['test_accuracy']:.4f} on {record['test_data']}")
        click.echo(f"wrote {weights} ({size:.2f} MB) and {record_path}")
        if data_spec is not None:
            click.echo(f"use it as a metric's features or classifier: features: {weights}")
