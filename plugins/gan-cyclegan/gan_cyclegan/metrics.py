"""``translation-accuracy``: does a translated digit keep its class?

Take labelled images of the source domain (a held-out test split), translate
them with ``algorithm.translate``, classify the results with a classifier of
the target domain, and report the share that keeps its label, both ways.
Beside each result stands the classifier's own accuracy on real images of its
domain (the same test data of the other side): a translation cannot be scored
more finely than the classifier that scores it.

    eval:
      metrics:
        - name: translation-accuracy
          classifier_a: lenet-mnist              # judges F(b), images of domain A
          classifier_b: lenet-mnist-strokes      # judges G(a), images of domain B
          test_a: {name: mnist5k, split: test, channels: 3}
          test_b: {name: mnist5k, split: test, transforms: [{name: colorize, mode: random}]}

Results (percent): ``a2b``, ``b2a``, ``classifier_a``, ``classifier_b``.
Each process translates and classifies its share; the predictions are gathered,
so the value is the same on one process or many. The classifiers are feature
networks (``gan_register_features``, or a ``.safetensors`` file), looked up when
the metric is built, so an unknown name fails before training starts.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from gancore import BuildContext, DatasetRef, StrictModel, UserError
from gancore.algorithm import has_capability
from gancore.metrics import EvalContext
from gancore.metrics.base import apply_batched
from gancore.metrics.reference import ReferenceData

CLASSIFIER_HELP = (
    "a feature network with class logits (lenet-mnist for grey digits, lenet-mnist-colored for coloured ones) "
    "or a .safetensors file from `gan train-features --data`"
)


class TranslationAccuracyConfig(StrictModel):
    classifier_a: str = Field(description="classifier of domain A images, which scores b2a: " + CLASSIFIER_HELP)
    classifier_b: str = Field(description="classifier of domain B images, which scores a2b: " + CLASSIFIER_HELP)
    test_a: DatasetRef | None = Field(None, description="labelled images of domain A, e.g. {name: mnist5k, split: test}; null: the run's domain A data (x, y)")
    test_b: DatasetRef | None = Field(None, description="labelled images of domain B; null: the run's domain B data (x_b, y_b)")
    directions: list[Literal["a2b", "b2a"]] = Field(["a2b", "b2a"], min_length=1, description="which translations to score")
    num_samples: int | None = Field(None, ge=1, description="images per direction (the first of a fixed shuffle); null: all")


class TranslationAccuracy:
    def __init__(self, config: TranslationAccuracyConfig, ctx: BuildContext) -> None:
        self.config = config
        # Built here, so an unknown name or a missing weights file fails before training starts.
        self.classifiers = {domain: ctx.features(getattr(config, f"classifier_{domain}"), option=f"classifier_{domain}") for domain in ("a", "b")}
        self._reference = ReferenceData(ctx)

    def _labelled(self, ctx: EvalContext, domain: str) -> dict[str, torch.Tensor]:
        ref = self.config.test_a if domain == "a" else self.config.test_b
        if ref is None:
            x, y = ("x", "y") if domain == "a" else ("x_b", "y_b")
            if y not in ctx.data.tensors:
                raise UserError(f"translation-accuracy: the run's domain {domain.upper()} data have no labels ('{y}'); give test_{domain}: a labelled dataset")
            return {"x": ctx.data.tensors[x], "y": ctx.data.tensors[y]}
        tensors = self._reference.tensors(ref, f"test_{domain}")
        if "y" not in tensors:
            raise UserError(f"translation-accuracy: test_{domain}: dataset '{ref.name}' has no labels")
        return tensors

    def _accuracy(self, ctx: EvalContext, method, tensors: dict[str, torch.Tensor]) -> float:
        """% of the first ``num_samples`` of a fixed shuffle of ``tensors`` whose ``method`` logits give their label
        (each process runs ``method`` on its share; the logits are gathered)."""
        n = min(self.config.num_samples or len(tensors["y"]), len(tensors["y"]))
        logits = ctx.gather_chunks(apply_batched(method, ctx.real(n, split=tensors), ctx.device), n)
        labels = ctx.real_all(n, "y", split=tensors)
        return 100.0 * (logits.argmax(dim=1) == labels).double().mean().item()

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        if not has_capability(ctx.algorithm, "translate"):
            raise UserError(f"translation-accuracy needs an algorithm with translate(x, direction); '{type(ctx.algorithm).__name__}' has none")
        translate = ctx.algorithm.translate
        results = {}
        for direction in self.config.directions:
            source, target = direction[0], direction[-1]
            judge = self.classifiers[target]
            if isinstance(judge, nn.Module):
                judge.to(ctx.device)
            source_data, target_data = self._labelled(ctx, source), self._labelled(ctx, target)
            results[direction] = self._accuracy(ctx, lambda x: judge.logits(translate(x, direction)), source_data)
            results[f"classifier_{target}"] = self._accuracy(ctx, judge.logits, target_data)
        return results
