"""Metrics of what a family learned besides sampling: a classifier head and an encoder.

``classifier-accuracy`` needs an algorithm with a class head::

    def classify(self, x: Tensor) -> Tensor:
        '''x: a batch of samples in data space (B, *sample_shape), on ctx.device.
        Returns (B, K) class logits over the data's K classes. Use eval-mode networks.'''

``linear-probe`` needs an algorithm with an encoder (a bidirectional GAN's, a discriminator's
penultimate layer)::

    def encode(self, x: Tensor) -> Tensor:
        '''x as above. Returns (B, D) features.'''

Both are called under ``torch.no_grad()``. The labelled data are registry
datasets named in the metric's options, e.g. ``{name: mnist5k, split: test}``;
each process runs the model on its own share, and the predictions or features
are gathered, so the accuracy is the same on one process or many.
"""

from __future__ import annotations

import torch
from pydantic import Field

from ..bounds import Seed
from ..data.transforms import per_class_subset
from ..errors import UserError
from ..registry import DatasetRef, StrictModel
from .base import EvalContext, apply_batched
from .reference import ReferenceData


def _labelled(ref: DatasetRef, reference: ReferenceData, ctx: EvalContext, option: str) -> dict[str, torch.Tensor]:
    tensors = reference.tensors(ref, option)
    if "y" not in tensors:
        raise UserError(f"{option}: dataset '{ref.name}' has no labels (no 'y' tensor)")
    shape, expected = tuple(tensors["x"].shape[1:]), tuple(ctx.data.sample_shape)
    if shape != expected:
        raise UserError(f"{option}: dataset '{ref.name}' gives samples of shape {shape} but the model takes {expected}; set its image_size")
    return tensors


def _method(ctx: EvalContext, name: str, metric: str):
    from ..algorithm import has_capability

    if not has_capability(ctx.algorithm, name):
        raise UserError(
            f"metric '{metric}' needs an algorithm with a {name}(x) method; "
            f"'{type(ctx.algorithm).__name__}' has none (see gancore.metrics.classification)"
        )
    return getattr(ctx.algorithm, name)


def _apply_all(ctx: EvalContext, method, tensors: dict[str, torch.Tensor], n: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``method`` on the first ``n`` samples of a fixed shuffle of ``tensors`` (each process its share), gathered."""
    n = min(n or len(tensors["y"]), len(tensors["y"]))
    out = ctx.gather_chunks(apply_batched(method, ctx.real(n, split=tensors), ctx.device), n)
    return out, ctx.real_all(n, "y", split=tensors)


class ClassifierAccuracyConfig(StrictModel):
    test_data: DatasetRef = Field(description="labelled test data, e.g. {name: mnist5k, split: test}")
    num_samples: int | None = Field(None, ge=1, description="test samples (the first of a fixed shuffle); null: all")


class ClassifierAccuracy:
    """Accuracy (%) of ``algorithm.classify`` on a labelled test split: ``{"accuracy": ...}``."""

    def __init__(self, config: ClassifierAccuracyConfig, build) -> None:
        self.config = config
        self._reference = ReferenceData(build)

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        classify = _method(ctx, "classify", "classifier-accuracy")
        test = _labelled(self.config.test_data, self._reference, ctx, "test_data")
        logits, labels = _apply_all(ctx, classify, test, self.config.num_samples)
        num_classes = int(test["y"].max()) + 1
        if logits.dim() != 2 or logits.shape[1] < num_classes:
            raise UserError(f"classify() returned logits of shape {tuple(logits.shape)}, but the test data have {num_classes} classes; "
                            "it must return (B, K) class logits")
        return {"accuracy": 100.0 * (logits.argmax(dim=1) == labels).double().mean().item()}


class LinearProbeConfig(StrictModel):
    train_data: DatasetRef = Field(description="labelled data the probe is fitted on, e.g. {name: mnist5k, split: train}")
    test_data: DatasetRef = Field(description="labelled data the probe is scored on, e.g. {name: mnist5k, split: test}")
    labels_per_class: int | None = Field(
        None, ge=1, description="fit on only this many samples per class, chosen by gancore.data.transforms.per_class_subset (as a plugin's labelled subset of a dataset chooses them with the same seed); null: all"
    )
    labels_seed: Seed = Field(
        0, description="seed of that choice; a run whose data kept labels for per_class samples with transform_seed this seed picks the same ones"
    )
    num_test: int | None = Field(None, ge=1, description="test samples (the first of a fixed shuffle); null: all")
    C: float = Field(1.0, gt=0, description="inverse L2 strength of scikit-learn's LogisticRegression")
    max_iter: int = Field(2000, ge=1, description="iterations of the lbfgs solver")


class LinearProbe:
    """scikit-learn logistic regression on standardized ``algorithm.encode`` features, fitted on
    ``train_data`` and scored on ``test_data``: ``{"accuracy": test %, "train_accuracy": %}``.
    The fit is deterministic, so every process gets the same probe."""

    def __init__(self, config: LinearProbeConfig, build) -> None:
        self.config = config
        self._reference = ReferenceData(build)

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        cfg = self.config
        encode = _method(ctx, "encode", "linear-probe")
        train = _labelled(cfg.train_data, self._reference, ctx, "train_data")
        if cfg.labels_per_class is not None:
            keep = per_class_subset(train["y"], cfg.labels_per_class, cfg.labels_seed)
            train = {k: v[keep] for k, v in train.items()}
        test = _labelled(cfg.test_data, self._reference, ctx, "test_data")
        x_train, y_train = _apply_all(ctx, encode, train, None)
        x_test, y_test = _apply_all(ctx, encode, test, cfg.num_test)
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=cfg.C, max_iter=cfg.max_iter))
        probe.fit(x_train.double().numpy(), y_train.numpy())
        return {
            "accuracy": 100.0 * probe.score(x_test.double().numpy(), y_test.numpy()),
            "train_accuracy": 100.0 * probe.score(x_train.double().numpy(), y_train.numpy()),
        }

