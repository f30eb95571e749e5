"""Image datasets that ship inside packages, so they work offline."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from ..registry import StrictModel
from .base import TensorData


class DigitsConfig(StrictModel):
    image_size: int | None = Field(None, ge=4, description="resize the 8x8 digits to this size (bilinear); null keeps 8x8")
    classes: list[int] | None = Field(None, description="keep only these digit classes; null keeps all ten")


def digits(config: DigitsConfig) -> TensorData:
    """scikit-learn's 1,797 real 8x8 handwritten digits, scaled from 0..16 to [-1, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images).float().div(16.0).mul(2.0).sub(1.0).unsqueeze(1)
    y = torch.from_numpy(bunch.target).long()
    if config.classes is not None:
        keep = torch.isin(y, torch.tensor(config.classes))
        x, y = x[keep], y[keep]
    if config.image_size and config.image_size != 8:
        x = F.interpolate(x, size=config.image_size, mode="bilinear", align_corners=False).clamp(-1, 1)
    return TensorData({"x": x, "y": y}, "image", {"num_classes": 10})
