"""The reference's training-time jitter, on the device inside the step: resize to ``load_size``,
take a random ``crop_size`` crop, flip left-right with probability ½.

The reference does this per image in its DataLoader (PIL, bicubic). Here it runs
on whole batches where the data already are, and its random choices come from
the training RNG, which checkpoints save, so a resumed run crops and flips as an
uninterrupted one does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def jitter(x: torch.Tensor, load_size: int | None, crop_size: int | None, flip: bool) -> torch.Tensor:
    """``x`` (N, C, H, W) in [-1, 1], resized, randomly cropped (one offset per image) and flipped."""
    if load_size and x.shape[-1] != load_size:
        x = F.interpolate(x, size=(load_size, load_size), mode="bicubic", align_corners=False).clamp(-1, 1)
    if crop_size and crop_size < x.shape[-1]:
        n, side = x.shape[0], x.shape[-1]
        offsets = torch.randint(0, side - crop_size + 1, (2, n, 1), device=x.device)
        span = torch.arange(crop_size, device=x.device)
        rows = (offsets[0] + span).view(n, crop_size, 1)
        cols = (offsets[1] + span).view(n, 1, crop_size)
        x = x[torch.arange(n, device=x.device).view(n, 1, 1), :, rows, cols].permute(0, 3, 1, 2).contiguous()
    if flip:
        flipped = torch.rand(x.shape[0], device=x.device) < 0.5
        x = torch.where(flipped.view(-1, 1, 1, 1), x.flip(-1), x)
    return x


def training_side(data_side: int, load_size: int | None, crop_size: int | None) -> int:
    """The side of the images the networks train on."""
    return crop_size or load_size or data_side
