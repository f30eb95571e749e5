"""Metrics: the ``EvalContext`` a metric is called with, and the builtin metrics."""

from .base import EvalContext, evaluate

__all__ = ["EvalContext", "evaluate"]
