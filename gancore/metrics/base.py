"""What a metric gets: generated samples, real samples, and a way to combine processes.

Metrics run on every process. Each process draws its share of the ``n``
samples (chunks of ``CHUNK``, dealt round-robin, each chunk from its own seed),
so ``generate_all(n)`` returns exactly the samples a single process would
draw, in the same order, whatever the number of processes. Metrics built on
torchmetrics can instead ``update`` with their local share: torchmetrics syncs
its state across processes in ``compute``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from ..data import TensorData

CHUNK = 500


@dataclass
class EvalContext:
    """Handed to every metric, on every process.

    :param sample: ``sample(n, seed)`` returns ``n`` generated samples (data space, CPU).
    :param data: the real training data (``data.tensors``, ``data.info``).
    :param algorithm: the trained ``GANAlgorithm`` (for metrics that need more than samples,
        e.g. a classifier head or an encoder).
    :param accelerator: the Accelerate accelerator, or None for a single process.
    :param seed: base seed of the generated samples.
    """

    sample: Callable[[int, int], torch.Tensor]
    data: TensorData
    algorithm: Any = None
    accelerator: Any = None
    seed: int = 12345

    @property
    def num_processes(self) -> int:
        return self.accelerator.num_processes if self.accelerator is not None else 1

    @property
    def process_index(self) -> int:
        return self.accelerator.process_index if self.accelerator is not None else 0

    @property
    def device(self) -> torch.device:
        return self.accelerator.device if self.accelerator is not None else torch.device("cpu")

    def _my_chunks(self, n: int) -> list[tuple[int, int]]:
        starts = range(0, n, CHUNK)[self.process_index :: self.num_processes]
        return [(s, min(s + CHUNK, n)) for s in starts]

    def generate(self, n: int) -> torch.Tensor:
        """This process's share of ``n`` generated samples."""
        parts = [self.sample(stop - start, self.seed + start).float().cpu() for start, stop in self._my_chunks(n)]
        return torch.cat(parts) if parts else torch.empty(0, *self.data.sample_shape)

    def real(self, n: int, key: str = "x", *, split: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """This process's share of ``n`` real samples: the first ``n`` of a fixed shuffle of the data
        (or of ``split``, another set of tensors such as a test split)."""
        tensors = split if split is not None else self.data.tensors
        total = len(tensors[key])
        if n > total:
            n = total
        order = torch.randperm(total, generator=torch.Generator().manual_seed(self.seed))[:n]
        parts = [tensors[key][order[start:stop].to(tensors[key].device)].cpu() for start, stop in self._my_chunks(n)]
        return torch.cat(parts) if parts else tensors[key][:0].cpu()

    def generate_all(self, n: int) -> torch.Tensor:
        """All ``n`` generated samples, on every process, in single-process order."""
        return self.gather_chunks(self.generate(n), n)

    def real_all(self, n: int, key: str = "x", *, split: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        tensors = split if split is not None else self.data.tensors
        return self.gather_chunks(self.real(n, key, split=split), min(n, len(tensors[key])))

    def gather_chunks(self, local: torch.Tensor, n: int) -> torch.Tensor:
        """Reassemble per-process shares made by ``generate``/``real`` into the single-process order."""
        world = self.num_processes
        if world == 1:
            return local
        pieces = self.gather_per_process(local)
        chunks: dict[int, torch.Tensor] = {}
        for rank, piece in enumerate(pieces):
            offset = 0
            for start, stop in [(s, min(s + CHUNK, n)) for s in range(0, n, CHUNK)[rank::world]]:
                chunks[start] = piece[offset : offset + stop - start]
                offset += stop - start
        return torch.cat([chunks[s] for s in sorted(chunks)])

    def gather_per_process(self, local: torch.Tensor) -> list[torch.Tensor]:
        """Every process's tensor (lengths may differ), on every process, on the CPU."""
        if self.num_processes == 1:
            return [local]
        acc = self.accelerator
        local = local.to(acc.device).contiguous()
        sizes = acc.gather(torch.tensor([len(local)], device=acc.device)).tolist()
        padded = acc.pad_across_processes(local, dim=0)
        everything = acc.gather(padded).cpu()
        width = padded.shape[0]
        return [everything[r * width : r * width + sizes[r]] for r in range(self.num_processes)]


def evaluate(metrics: list[tuple[str, Callable]], ctx: EvalContext) -> dict[str, float]:
    """Run each metric (on every process) and key its values ``<metric>/<value>``."""
    results: dict[str, float] = {}
    for name, metric in metrics:
        for key, value in metric(ctx).items():
            results[f"{name}/{key}"] = float(value)
    return results
