"""Data as the trainer sees it, and the resumable batch streams drawn from it.

A dataset builder returns either

* ``TensorData``: tensors that fit in memory. They move to the training device
  once and batches are drawn by index: no DataLoader in the hot path; or
* ``LoaderData``: a map-style ``torch.utils.data.Dataset`` (an image folder,
  CelebA...). Batches come from a ``DataLoader`` with workers.

Both are read in the same order. The order of epoch ``e`` of a stream is a
permutation seeded by ``(seed, stream, e)``, and a stream's whole state is one
number, the count of samples consumed, so a resumed run sees exactly the
batches an uninterrupted one would. With several processes every process walks
the same order and takes its own slice of each global batch.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Literal

import torch


@dataclass
class TensorData:
    """In-memory data.

    :param tensors: tensors by name; ``"x"`` holds the samples (``(N, D)`` points or
        ``(N, C, H, W)`` images in [-1, 1]), ``"y"`` labels if any. Families may
        expect more, e.g. ``"x_labeled"``/``"y_labeled"`` or ``"x_b"`` (a second domain).
    :param kind: ``"points"`` or ``"image"``; decides how samples are plotted.
    :param info: facts metrics and families may need, e.g. ``{"modes": ..., "std": 0.02}``,
        ``{"num_classes": 10}`` or ``{"palette": (K, C) tensor}``. It stays on the CPU when the
        tensors move to the training device: move what a step needs to ``ctx.device`` once.
    :param streams: groups of tensors drawn together, each group with its own order,
        length and position (e.g. a small labelled set beside a large unlabelled one,
        or two unpaired domains). By default all tensors form one stream, ``"x"``. The
        first stream is the default one: the trainer's batches come from it, the others
        are drawn with ``ctx.next_batch(stream=...)``.
    """

    tensors: dict[str, torch.Tensor]
    kind: Literal["points", "image"]
    info: dict[str, Any] = field(default_factory=dict)
    streams: dict[str, list[str]] | None = None

    def __post_init__(self) -> None:
        if "x" not in self.tensors:
            raise ValueError("TensorData needs an 'x' tensor")
        if self.streams is None:
            self.streams = {"x": list(self.tensors)}
        for name, keys in self.streams.items():
            lengths = {k: len(self.tensors[k]) for k in keys}
            if len(set(lengths.values())) != 1:
                raise ValueError(f"TensorData stream '{name}' has tensors of different lengths: {lengths}")

    def __len__(self) -> int:
        return len(self.tensors["x"])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.tensors["x"].shape[1:])

    @property
    def default_stream(self) -> str:
        """The stream the trainer's batches come from: the first one."""
        return next(iter(self.streams))

    def to(self, device: torch.device | str) -> "TensorData":
        return TensorData({k: v.to(device) for k, v in self.tensors.items()}, self.kind, self.info, self.streams)


@dataclass
class StreamTensors:
    """In-memory streams without the ``"x"`` of ``TensorData``: the small streams that go beside a DataLoader."""

    tensors: dict[str, torch.Tensor]
    streams: dict[str, list[str]]

    def to(self, device: torch.device | str) -> "StreamTensors":
        return StreamTensors({k: v.to(device) for k, v in self.tensors.items()}, self.streams)


@dataclass
class LoaderData:
    """Data read through a DataLoader.

    :param dataset: a map-style dataset whose items are dicts of tensors (at least ``"x"``).
    :param kind: ``"image"`` or ``"points"``.
    :param sample_shape: the shape of one ``"x"``.
    :param info: as for ``TensorData``.
    :param num_workers: DataLoader worker processes.
    :param extra: small streams kept in memory beside the DataLoader's (e.g. a few labelled
        samples that a transform picks); its streams are drawn like ``TensorData``'s.
    """

    dataset: Any
    kind: Literal["points", "image"]
    sample_shape: tuple[int, ...]
    info: dict[str, Any] = field(default_factory=dict)
    num_workers: int = 2
    extra: StreamTensors | None = None

    @property
    def streams(self) -> dict[str, list[str]]:
        return {"x": ["x"], **(self.extra.streams if self.extra is not None else {})}

    def __len__(self) -> int:
        return len(self.dataset)

    def head(self, n: int, seed: int = 0) -> TensorData:
        """A fixed random ``n`` items in memory (for plots and metrics that need real samples), with the
        ``extra`` streams as they are, so that an algorithm sees every stream of the data."""
        index = torch.randperm(len(self.dataset), generator=torch.Generator().manual_seed(seed))[:n]
        items = [self.dataset[int(i)] for i in index]
        tensors = {k: torch.stack([item[k] for item in items]) for k in items[0]}
        streams = {"x": list(tensors)}
        if self.extra is not None:
            tensors.update(self.extra.tensors)
            streams.update(self.extra.streams)
        return TensorData(tensors, self.kind, self.info, streams)


class Order:
    """The order in which a stream of ``length`` samples is read, from a sample offset.

    Each epoch's permutation is drawn on the CPU (the same on every device and process) and kept on
    ``device``, so taking a batch's indices copies nothing from the host. On a GPU the next epoch's
    permutation is copied one epoch ahead, from pinned memory without waiting, so that a step that
    crosses into a new epoch does not wait for the device either."""

    def __init__(self, length: int, seed: int, stream: str, device: torch.device | str = "cpu") -> None:
        self.length, self.device = length, torch.device(device)
        self.seed = (seed * 1_000_003 + zlib.crc32(stream.encode())) % (2**63)
        self._perms: dict[int, torch.Tensor] = {}

    def _draw(self, epoch: int) -> torch.Tensor:
        perm = torch.randperm(self.length, generator=torch.Generator().manual_seed(self.seed + epoch))
        if self.device.type == "cuda":
            return perm.pin_memory().to(self.device, non_blocking=True)
        return perm.to(self.device)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            self._perms = {epoch: self._draw(epoch)}
        if self.device.type == "cuda" and epoch + 1 not in self._perms:
            self._perms = {epoch: self._perms[epoch], epoch + 1: self._draw(epoch + 1)}
        return self._perms[epoch]

    def take(self, start: int, count: int) -> torch.Tensor:
        parts, position = [], start
        while position < start + count:
            epoch, offset = divmod(position, self.length)
            step = min(self.length - offset, start + count - position)
            parts.append(self._permutation(epoch)[offset : offset + step])
            position += step
        return parts[0] if len(parts) == 1 else torch.cat(parts)


class Batches:
    """Endless batches from ``TensorData`` on its device, one slice of each global batch per process.

    Every stream of the data keeps its own position (samples consumed by all processes together),
    so a family may draw from one stream more often, or in other sizes, than from another."""

    def __init__(self, data: TensorData | StreamTensors, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.data, self.batch_size, self.rank, self.world_size = data, batch_size, rank, world_size
        self.orders = {name: Order(len(data.tensors[keys[0]]), seed, name, data.tensors[keys[0]].device) for name, keys in data.streams.items()}
        self.positions = {name: 0 for name in data.streams}
        self.default_stream = next(iter(data.streams))

    def __iter__(self) -> "Batches":
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        return self.next()

    def next(self, size: int | None = None, stream: str | None = None) -> dict[str, torch.Tensor]:
        """This process's share (``size`` samples, default ``batch_size``) of the next global batch of ``stream``
        (default: the data's first stream)."""
        name = self.default_stream if stream is None else stream
        if name not in self.data.streams:
            from ..errors import UserError

            raise UserError(f"no data stream '{name}'; this dataset has: {', '.join(self.data.streams)}")
        keys = self.data.streams[name]
        size = self.batch_size if size is None else size
        start = self.positions[name] + self.rank * size
        index = self.orders[name].take(start, size)
        self.positions[name] += size * self.world_size
        return {key: self.data.tensors[key].index_select(0, index) for key in keys}

    @property
    def position(self) -> int:
        return self.positions[self.default_stream]

    @property
    def epoch(self) -> int:
        return self.position // self.orders[self.default_stream].length

    def state_dict(self) -> dict:
        return {"positions": dict(self.positions)}

    def load_state_dict(self, state: dict) -> None:
        unknown = set(state["positions"]) - set(self.positions)
        if unknown:
            raise ValueError(f"the checkpoint has data streams {sorted(unknown)} that this data does not have")
        self.positions.update({k: int(v) for k, v in state["positions"].items()})


class _IndexBatches:
    """A batch sampler over an ``Order``: this process's indices of every global batch from ``start``."""

    def __init__(self, order: Order, start: int, batch_size: int, rank: int, world_size: int) -> None:
        self.order, self.start, self.batch_size, self.rank, self.world_size = order, start, batch_size, rank, world_size

    def __iter__(self):
        position = self.start
        while True:
            yield self.order.take(position + self.rank * self.batch_size, self.batch_size).tolist()
            position += self.batch_size * self.world_size


class LoaderBatches:
    """Endless batches from ``LoaderData`` through a DataLoader with workers, moved to ``device``.

    Workers read ahead, so the position saved is the count of samples handed out,
    not the sampler's, and resuming (or a new batch size) starts a new DataLoader there.
    The data's ``extra`` streams are drawn from memory, each with its own position."""

    def __init__(self, data: LoaderData, batch_size: int, seed: int, rank: int = 0, world_size: int = 1, device="cpu") -> None:
        self.data, self.batch_size, self.rank, self.world_size, self.device = data, batch_size, rank, world_size, torch.device(device)
        self.order = Order(len(data), seed, "x")
        self.position = 0
        self._iterator, self._size = None, batch_size
        self.extra = Batches(data.extra.to(device), batch_size, seed, rank, world_size) if data.extra is not None else None

    def _start(self, size: int) -> None:
        from torch.utils.data import DataLoader

        sampler = _IndexBatches(self.order, self.position, size, self.rank, self.world_size)
        loader = DataLoader(
            self.data.dataset,
            batch_sampler=sampler,
            num_workers=self.data.num_workers,
            pin_memory=self.device.type == "cuda",
            # Its own generator: creating workers must not draw from the training RNG.
            generator=torch.Generator().manual_seed(self.order.seed),
        )
        self._iterator, self._size = iter(loader), size

    def __iter__(self) -> "LoaderBatches":
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        return self.next()

    def next(self, size: int | None = None, stream: str | None = None) -> dict[str, torch.Tensor]:
        size = self.batch_size if size is None else size
        if stream not in (None, "x"):
            if self.extra is None:
                from ..errors import UserError

                raise UserError(f"no data stream '{stream}'; this dataset has: x")
            return self.extra.next(size, stream)
        if self._iterator is None or size != self._size:
            self._start(size)
        try:
            batch = next(self._iterator)
        except Exception as exc:
            from ..errors import UserError

            # A UserError in a worker (a bad file) comes back with the worker's traceback in its text.
            if isinstance(exc, UserError) or "UserError: " in str(exc):
                raise UserError(str(exc).rsplit("UserError: ", 1)[-1].strip()) from None
            raise
        self.position += size * self.world_size
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def state_dict(self) -> dict:
        positions = {"x": self.position, **(self.extra.positions if self.extra is not None else {})}
        return {"positions": positions}

    def load_state_dict(self, state: dict) -> None:
        positions = dict(state["positions"])
        self.position = int(positions.pop("x"))
        if self.extra is not None and positions:
            self.extra.load_state_dict({"positions": positions})
        self._iterator = None


class TensorItems(torch.utils.data.Dataset):
    """``TensorData`` seen item by item (to feed in-memory data through a DataLoader)."""

    def __init__(self, data: TensorData) -> None:
        self.tensors = {k: v for k, v in data.tensors.items() if k in data.streams["x"]}

    def __len__(self) -> int:
        return len(self.tensors["x"])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[index] for k, v in self.tensors.items()}
