"""Data: what dataset builders return, and the resumable batch streams."""

from .base import Batches, LoaderBatches, LoaderData, Order, StreamTensors, TensorData, TensorItems

__all__ = ["Batches", "LoaderBatches", "LoaderData", "Order", "StreamTensors", "TensorData", "TensorItems"]
