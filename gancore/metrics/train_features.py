"""``gan train-features``: train the LeNet feature networks that ship with gancore.

    gan train-features --dataset mnist5k --epochs 30 --seed 0
    gan train-features --dataset digits --epochs 60 --seed 0

The network trains on the dataset's fixed train split and is scored on its
fixed test split: mnist5k ``split: train`` (4,000) against ``split: test``
(1,000); scikit-learn's digits, stratified 80/20 by ``train_test_split(...,
random_state=0)`` (1,437 / 360). The weights go to a safetensors file (about
0.5 MB) and the record (data, command, test accuracy) to a JSON file beside it.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError
from .features import LENET_DATASETS, LeNet, lenet_weights, to_grey

DATASETS = tuple(LENET_DATASETS)


def load_splits(dataset: str) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, str]]:
    """The (train, test) tensors ``{"x", "y"}`` of a dataset's fixed split, and how they were made."""
    from ..data import images

    if dataset == "mnist5k":
        train = images.mnist5k(images.MNIST5kConfig(split="train")).tensors
        test = images.mnist5k(images.MNIST5kConfig(split="test")).tensors
        return train, test, {"train": "mnist5k split=train", "test": "mnist5k split=test"}
    if dataset == "digits":
        from sklearn.model_selection import train_test_split

        data = images.digits(images.DigitsConfig()).tensors
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
    """Train a LeNet on the dataset's train split; returns the network and its record."""
    train, test, how = load_splits(dataset)
    torch.manual_seed(seed)
    net = LeNet()
    # Train on exactly what evaluation feeds the network: 28x28 grey.
    x_train, y_train = to_grey(train["x"], LeNet.INPUT_SIZE), train["y"]
    x_test, y_test = to_grey(test["x"], LeNet.INPUT_SIZE), test["y"]
    seconds = fit(net, x_train, y_train, x_test, y_test, epochs=epochs, seed=seed, batch_size=batch_size, lr=lr, log=log)
    net.eval()
    record = {
        "network": f"{LENET_DATASETS[dataset]} (gancore.metrics.features.LeNet, {sum(p.numel() for p in net.parameters())} parameters)",
        "dataset": dataset,
        "train_data": f"{how['train']} ({len(x_train)} images)",
        "test_data": f"{how['test']} ({len(x_test)} images)",
        "train_accuracy": round(accuracy(net, x_train, y_train), 4),
        "test_accuracy": round(accuracy(net, x_test, y_test), 4),
        "epochs": epochs,
        "seed": seed,
        "batch_size": batch_size,
        "optimizer": f"Adam, one-cycle lr up to {lr}, random shifts of up to 2 pixels",
        "command": f"gan train-features --dataset {dataset} --epochs {epochs} --seed {seed}",
        "seconds": round(seconds, 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    return net, record


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
    @click.option("--dataset", required=True, type=click.Choice(DATASETS), help="train on this dataset's fixed train split")
    @click.option("--output", "-o", type=click.Path(dir_okay=False), help="weights file (.safetensors; default: the shipped file in gancore/metrics/weights/)")
    @click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True, help="passes over the train split")
    @click.option("--seed", type=int, default=0, show_default=True, help="seed of the initial weights, the batch order and the shifts")
    def train_features(dataset, output, epochs, seed):
        """Train the LeNet feature network of FID/KID/IS/precision-recall for digits (features: lenet-*)."""
        output = Path(output) if output else lenet_weights(dataset)
        if output.suffix != ".safetensors":
            raise UserError(f"--output {output}: the weights file must end in .safetensors")
        net, record = train_lenet(dataset, epochs, seed, log=click.echo)
        weights, record_path = write(net, record, output)
        size = weights.stat().st_size / 1e6
        click.echo(f"test accuracy {record['test_accuracy']:.4f} on {record['test_data']}")
        click.echo(f"wrote {weights} ({size:.2f} MB) and {record_path}")
