"""Metrics: the ``EvalContext`` a metric is called with, and the builtin metrics."""

from .base import EvalContext, build_metrics, evaluate

__all__ = ["EvalContext", "build_metrics", "evaluate"]
