"""Shared network pieces and the builtin networks."""

from .layers import MinibatchStdDev, activation, maybe_spectral_norm

__all__ = ["MinibatchStdDev", "activation", "maybe_spectral_norm"]
