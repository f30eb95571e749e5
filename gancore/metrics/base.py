"""What a metric gets: generated samples, real samples, and a way to combine processes.

Metrics run on every process. Each process draws its share of the ``n``
samples (chunks of ``CHUNK``, dealt round-robin, each chunk from its own seed),
so ``generate_all(n)`` returns exactly the samples a single process would
draw, in the same order, whatever the number of processes. Metrics built on
torchmetrics can instead ``update`` with their local share: torchmetrics syncs
its state across processes in ``compute``.

Generated data come from one of two sources: ``sample`` (``ctx.sample``, the
generator) or ``translate`` (a two-domain family's ``algorithm.translate(x,
direction)`` applied to real samples of the source domain: ``a2b`` translates the
data's ``x`` into domain b, ``b2a`` translates ``x_b``, as the ``unpaired`` dataset
names them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from ..data import TensorData
from ..errors import UserError

CHUNK = 500
# Divides CHUNK, so every process batches its share exactly as one process would.
BATCH = 100
assert CHUNK % BATCH == 0

# source: translate, by direction: (the real tensor translated, the real tensor of the target domain).
DIRECTIONS = {"a2b": ("x", "x_b"), "b2a": ("x_b", "x")}


@torch.no_grad()
def apply_batched(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
    """``fn`` (a feature network, an encoder, a translator) on ``x`` in batches of ``BATCH`` on ``device``;
    the outputs as float32 on the CPU. An empty ``x`` (a process with no share) still gives the output's width."""
    device = device or torch.device("cpu")
    outputs = [fn(x[i : i + BATCH].to(device)).float().cpu() for i in range(0, len(x), BATCH)]
    if not outputs:  # the gather needs every process's tensor to have the same width
        return fn(x.new_zeros(1, *x.shape[1:]).to(device)).float().cpu()[:0]
    return torch.cat(outputs)


@dataclass
class EvalContext:
    """Handed to every metric, on every process.

    :param sample: ``sample(n, seed, labels=None)`` returns ``n`` generated samples (data space, CPU),
        of the classes ``labels`` (a ``(n,)`` tensor) when the algorithm is conditional.
    :param data: the real training data (``data.tensors``, ``data.info``).
    :param algorithm: the trained ``GANAlgorithm`` (for metrics that need more than samples,
        e.g. a classifier head or an encoder).
    :param accelerator: the Accelerate accelerator, or None for a single process.
    :param seed: base seed of the generated samples.
    :param truncation: the truncation threshold the samples were drawn with (None: none), for metrics to report.
    """

    sample: Callable[..., torch.Tensor]
    data: TensorData
    algorithm: Any = None
    accelerator: Any = None
    seed: int = 12345
    truncation: float | None = None

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

    def generate(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        """This process's share of ``n`` generated samples; with ``labels`` (``(n,)`` class indices), sample i of class ``labels[i]``."""
        if labels is None:
            parts = [self.sample(stop - start, self.seed + start).float().cpu() for start, stop in self._my_chunks(n)]
        else:
            parts = [self.sample(stop - start, self.seed + start, labels=labels[start:stop]).float().cpu() for start, stop in self._my_chunks(n)]
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

    def generate_all(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        """All ``n`` generated samples, on every process, in single-process order."""
        return self.gather_chunks(self.generate(n, labels), n)

    def generated(self, n: int, source: str = "sample", direction: str | None = None) -> torch.Tensor:
        """This process's share of ``generated_count(n, ...)`` generated samples: ``generate(n)`` for
        ``source="sample"``; for ``"translate"``, ``algorithm.translate(x, direction)`` of the first real
        samples (a fixed shuffle) of the source domain."""
        if source == "sample":
            return self.generate(n)
        source_key = self.translate_keys(source, direction)[0]
        translate = self._translator(direction)
        return apply_batched(translate, self.real(n, source_key), self.device)

    def generated_count(self, n: int, source: str = "sample", direction: str | None = None) -> int:
        """How many samples ``generated`` makes in all: ``n``, or at most the source domain's size when translating."""
        if source == "sample":
            return n
        return min(n, len(self.data.tensors[self.translate_keys(source, direction)[0]]))

    def generated_all(self, n: int, source: str = "sample", direction: str | None = None) -> torch.Tensor:
        """All of ``generated``, on every process, in single-process order."""
        return self.gather_chunks(self.generated(n, source, direction), self.generated_count(n, source, direction))

    def translate_keys(self, source: str, direction: str | None) -> tuple[str, str]:
        """(the real tensor that is translated, the real tensor of the target domain)."""
        if source != "translate":
            raise ValueError(f"source '{source}' translates nothing")
        if direction not in DIRECTIONS:
            raise UserError(f"source: translate needs direction: a2b or b2a, got {direction!r}")
        keys = DIRECTIONS[direction]
        missing = [key for key in keys if key not in self.data.tensors]
        if missing:
            raise UserError(
                f"source: translate with direction {direction} translates the data's '{keys[0]}' and compares with '{keys[1]}', "
                f"but the run's data have no {' or '.join(repr(k) for k in missing)} (they have {', '.join(sorted(self.data.tensors))}); "
                f"translation needs a two-domain dataset such as unpaired"
            )
        return keys

    def _translator(self, direction: str) -> Callable[[torch.Tensor], torch.Tensor]:
        from ..algorithm import has_capability

        name = type(self.algorithm).__name__
        if not has_capability(self.algorithm, "translate"):
            raise UserError(
                f"source: translate needs an algorithm with a translate(x, direction) method; '{name}' has none. "
                f"Use source: sample, or a two-domain family (one whose algorithm translates)"
            )

        def run(x: torch.Tensor) -> torch.Tensor:
            try:
                return self.algorithm.translate(x, direction)
            except NotImplementedError:
                raise UserError(f"source: translate: '{name}' does not implement translate(x, direction); use source: sample") from None

        return run

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


def build_metrics(registry, refs: list, path: str = "eval.metrics.{i}") -> list[tuple[str, Callable]]:
    """``(key, metric)`` for each metric reference, the key being its label or else its name.

    :param path: how errors name the i-th reference, formatted with ``i`` and ``name``.
    :raises UserError: when two references would have the same key.
    """
    from ..config import metric_keys

    try:
        keys = metric_keys(refs)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return [(key, registry.build(ref, path.format(i=i, name=ref.name))) for i, (key, ref) in enumerate(zip(keys, refs))]


def evaluate(metrics: list[tuple[str, Callable]], ctx: EvalContext) -> dict[str, float]:
    """Run each metric (on every process) and key its values ``<key>/<value>``, the key from ``build_metrics``."""
    results: dict[str, float] = {}
    for name, metric in metrics:
        for key, value in metric(ctx).items():
            results[f"{name}/{key}"] = float(value)
    return results
