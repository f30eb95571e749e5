"""Data: the ``TensorData`` contract that dataset builders return, and the batch stream."""

from .base import Batches, TensorData

__all__ = ["Batches", "TensorData"]
