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
          classifier_b: lenet-mnist-colored      # judges G(a), images of domain B
          test_a: {name: mnist5k, split: test, channels: 3}
          test_b: {name: mnist5k, split: test, colorize: {mode: random}}

Results (percent): ``a2b``, ``b2a``, ``classifier_a``, ``classifier_b``.
Each process translates and classifies its share; the predictions are gathered,
so the value is the same on one process or many.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, field_validator

from gancore import DatasetRef, StrictModel, UserError
from gancore.metrics import EvalContext
from gancore.metrics.classification import _apply_all
from gancore.metrics.features import check_extractor_name
from gancore.metrics.reference import reference_tensors

from .classifier import load_classifier

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

    @field_validator("classifier_a", "classifier_b")
    @classmethod
    def _known(cls, value: str) -> str:
        return value if value.endswith(".safetensors") else check_extractor_name(value)


class TranslationAccuracy:
    def __init__(self, config: TranslationAccuracyConfig) -> None:
        self.config = config
        # Fails here, before training starts, when a weights file is missing.
        self.classifiers = {"a": load_classifier(config.classifier_a), "b": load_classifier(config.classifier_b)}
        self._test = {"a": {}, "b": {}}

    def _labelled(self, ctx: EvalContext, domain: str) -> dict[str, torch.Tensor]:
        ref = self.config.test_a if domain == "a" else self.config.test_b
        if ref is None:
            x, y = ("x", "y") if domain == "a" else ("x_b", "y_b")
            if y not in ctx.data.tensors:
                raise UserError(f"translation-accuracy: the run's domain {domain.upper()} data have no labels ('{y}'); give test_{domain}: a labelled dataset")
            return {"x": ctx.data.tensors[x], "y": ctx.data.tensors[y]}
        tensors = reference_tensors(ref, self._test[domain])
        if "y" not in tensors:
            raise UserError(f"translation-accuracy: test_{domain}: dataset '{ref.name}' has no labels")
        return tensors

    def _accuracy(self, ctx: EvalContext, method, tensors: dict[str, torch.Tensor]) -> float:
        logits, labels = _apply_all(ctx, method, tensors, self.config.num_samples)
        return 100.0 * (logits.argmax(dim=1) == labels).double().mean().item()

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        translate = getattr(ctx.algorithm, "translate", None)
        if not callable(translate):
            raise UserError(f"translation-accuracy needs an algorithm with translate(x, direction); '{type(ctx.algorithm).__name__}' has none")
        results = {}
        for direction in self.config.directions:
            source, target = direction[0], direction[-1]
            judge = self.classifiers[target].to(ctx.device)
            source_data, target_data = self._labelled(ctx, source), self._labelled(ctx, target)
            results[direction] = self._accuracy(ctx, lambda x: judge.logits(translate(x, direction)), source_data)
            results[f"classifier_{target}"] = self._accuracy(ctx, judge.logits, target_data)
        return results
