"""``conditional-accuracy``: does a class-conditional generator make the class it is asked for?

For each requested class ``c`` the generator makes ``num_per_class`` samples with label ``c``;
a classifier of the data's domain labels them, and the metric reports the share (%) it labels
``c``, overall (``accuracy``) and per class (``class_<c>``). The classifier is a feature network
with class logits, ``lenet-mnist`` or ``lenet-digits`` (shipped), or a LeNet file written by
``gan train-features --data ... --output FILE`` (``classifier: FILE``); ``inception`` and ``pixels`` have no
classes of the data and are refused. Samples are drawn as every metric draws
them (fixed seeds, shared among processes), with the run's truncation when one is given.
"""

from __future__ import annotations

import torch
from pydantic import Field, field_validator

from ..errors import UserError
from ..registry import StrictModel
from .base import EvalContext, apply_batched


class ConditionalAccuracyConfig(StrictModel):
    classifier: str = Field("lenet-mnist", description="a classifier of the data's domain: lenet-mnist, lenet-digits, or the path of a LeNet "
                            "file from `gan train-features --data ... --output FILE.safetensors`")
    weights: str | None = Field(None, description="a LeNet safetensors file from `gan train-features`, used instead of classifier")
    num_per_class: int = Field(1000, ge=1, description="samples generated for each class")
    classes: list[int] | None = Field(None, description="the classes to generate; null: all of the run's classes")

    @field_validator("classifier")
    @classmethod
    def _known(cls, value: str) -> str:
        if value in ("inception", "pixels"):
            raise ValueError(f"'{value}' has no classes of the data; use lenet-mnist, lenet-digits or weights: FILE")
        return value


class ConditionalAccuracy:
    """``{"accuracy": %, "class_<c>": %...}``: the classifier's agreement with the requested classes."""

    def __init__(self, config: ConditionalAccuracyConfig, build) -> None:
        self.config = config
        # Fails here, before training starts, for an unknown network or a missing weights file.
        self.classifier = build.features(config.weights or config.classifier, option="weights" if config.weights else "classifier")

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        cfg = self.config
        classes = getattr(ctx.algorithm, "conditional_classes", None)
        if not classes:
            raise UserError(
                f"metric 'conditional-accuracy' needs a class-conditional run, and '{type(ctx.algorithm).__name__}' is not one "
                "(the gan family: algorithm.conditional: true)"
            )
        wanted = cfg.classes if cfg.classes is not None else list(range(classes))
        bad = [c for c in wanted if not 0 <= c < classes]
        if bad:
            raise UserError(f"conditional-accuracy: classes {bad} are out of range; this run has {classes} classes, 0 to {classes - 1}")
        classifier = self.classifier
        labels = torch.tensor(wanted).repeat_interleave(cfg.num_per_class)
        local = apply_batched(classifier.logits, ctx.generate(len(labels), labels), ctx.device).argmax(dim=1)
        predicted = ctx.gather_chunks(local, len(labels))
        agree = (predicted == labels).double()
        results = {"accuracy": 100.0 * agree.mean().item()}
        for c in wanted:
            results[f"class_{c}"] = 100.0 * agree[labels == c].mean().item()
        return results
