"""MS-SSIM between random pairs of generated images: a measure of diversity (Odena et al. 2017).

The mean MS-SSIM over pairs of distinct samples is high (toward 1) when samples
look alike, as under mode collapse, and lower for a varied set. It is best read
against the same number for real images, which the metric reports too.

MS-SSIM is torchmetrics'. Its standard form (5 scales, 11x11 Gaussian window)
needs images of side 176 or more; smaller images get as many of the 5 scales as
fit, with the standard exponents renormalized, and a narrower window if even one
scale does not fit: 28x28 images get 2 scales with the 11x11 window, 8x8 ones 2
scales with a 5x5 window (sigma 0.5).
"""

from __future__ import annotations

import torch
from pydantic import Field

from ..errors import UserError
from .base import EvalContext
from .reference import ReferenceConfig, ReferenceData

BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def window(sigma: float) -> int:
    """The side of torchmetrics' Gaussian window for ``sigma`` (11 for the standard 1.5)."""
    return int(3.5 * sigma + 0.5) * 2 + 1


def fitting_scales(side: int, sigma: float = 1.5) -> tuple[float, tuple[float, ...]]:
    """The widest Gaussian window (``sigma``, else 1.0, else 0.5) and the most scales (at most 5)
    that torchmetrics accepts for images of ``side``, with the standard exponents renormalized."""
    for s in [sigma] + [x for x in (1.0, 0.5) if x < sigma]:
        w = window(s)
        fits = [
            m for m in range(1, len(BETAS) + 1)
            if side >= 2**m and side // max(1, m - 1) ** 2 > w - 1 and side // 2 ** (m - 1) > w // 2
        ]  # fmt: skip
        if fits:
            betas = BETAS[: max(fits)]
            return s, tuple(b / sum(betas) for b in betas)
    raise UserError(f"metric 'ms-ssim' needs images of side 6 or more, got {side}")


def pairwise_ms_ssim(a: torch.Tensor, b: torch.Tensor, sigma: float = 1.5, batch: int = 500) -> torch.Tensor:
    """MS-SSIM of each pair ``(a[i], b[i])`` of images in [-1, 1]."""
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as ms_ssim

    if a.dim() != 4:
        raise UserError(f"metric 'ms-ssim' needs images (N, C, H, W), got samples of shape {tuple(a.shape[1:])}")
    sigma, betas = fitting_scales(min(a.shape[-2:]), sigma)
    values = [
        ms_ssim((a[i : i + batch].float() + 1) / 2, (b[i : i + batch].float() + 1) / 2, sigma=sigma, kernel_size=window(sigma),
                betas=betas, data_range=1.0, reduction="none")
        for i in range(0, len(a), batch)
    ]  # fmt: skip
    return torch.cat(values)


class MSSSIMConfig(ReferenceConfig):
    num_samples: int = Field(4000, ge=2, description="generated samples, paired as (i, num_samples/2 + i): num_samples/2 pairs")
    sigma: float = Field(1.5, gt=0, description="std of the Gaussian window (1.5: an 11x11 window); images too small for it get a narrower one")
    real_reference: bool = Field(True, description="also report the same number for pairs of real images (real_ms_ssim)")


class MSSSIM:
    """Returns ``{"ms_ssim": mean over generated pairs, "real_ms_ssim": the same over real pairs}``;
    lower is more diverse."""

    def __init__(self, config: MSSSIMConfig, build) -> None:
        self.config = config
        self._reference = ReferenceData(build)
        self._real_value: tuple | None = None

    def __call__(self, ctx: EvalContext) -> dict[str, float]:
        cfg, n = self.config, self.config.num_samples // 2
        fake = ctx.generate_all(2 * n)
        result = {"ms_ssim": pairwise_ms_ssim(fake[:n], fake[n:], cfg.sigma).mean().item()}
        if cfg.real_reference:
            split = self._reference.tensors(cfg.reference)
            source = split["x"] if split is not None else ctx.data.tensors["x"]
            if self._real_value is None or self._real_value[0] is not source:
                real = ctx.real_all(2 * n, split=split)
                half = len(real) // 2
                self._real_value = (source, pairwise_ms_ssim(real[:half], real[half : 2 * half], cfg.sigma).mean().item())
            result["real_ms_ssim"] = self._real_value[1]
        return result
