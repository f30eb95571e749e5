"""The discrete data a BGAN models: binary images or palette images, and how each is represented.

=========  ==================  ====================  ==========================================
data       generator output    a sample              the discriminator sees
=========  ==================  ====================  ==========================================
binary     C Bernoulli logits  bits in {0, 1}        the image in data space: pixels of −1 or 1
palette    K softmax logits    colour indices 0..K-1 one-hot colours (K channels, values 0 or 1),
                                                     or the palette colours (``colors``)
=========  ==================  ====================  ==========================================

Binary data are images whose every value is −1 or 1 (the ``binarize`` transform
on any image dataset). Palette data carry ``index`` (the colour of each pixel)
and the palette in ``data.info["palette"]`` (the ``quantize`` transform on any
image dataset, or the ``palette-folder`` dataset of ``gan bgan quantize``'s PNGs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from gancore import TensorData, UserError

from . import estimator

DiscriminatorInput = Literal["one-hot", "colors"]

NOT_DISCRETE = (
    "bgan models discrete images: binary ones (data.transforms: [{{name: binarize, threshold: 0.5}}], or threshold: stochastic) "
    "or palette ones (data.transforms: [{{name: quantize, num_colors: 16}}], or the palette PNGs of `gan bgan quantize` "
    "read with data.name: palette-folder). {what} "
    "For real-valued data use the continuous variant: --set algorithm.name=bgan-continuous"
)


@dataclass
class DiscreteSpace:
    kind: Literal["binary", "palette"]
    channels: int  # C: channels of an image in data space
    palette: torch.Tensor | None = None  # (K, C) colours in [-1, 1]
    discriminator_input: DiscriminatorInput = "one-hot"

    @classmethod
    def from_data(cls, data: TensorData, discriminator_input: DiscriminatorInput = "one-hot") -> "DiscreteSpace":
        x = data.tensors["x"]
        if data.kind != "image" or x.dim() != 4:
            raise UserError(NOT_DISCRETE.format(what=f"This dataset holds {data.kind} of shape {tuple(x.shape[1:])}, not images."))
        channels = x.shape[1]
        palette = data.info.get("palette")
        if palette is not None:
            if "index" not in data.tensors:
                raise UserError("bgan: the data has a palette but no 'index' tensor (the colour of every pixel)")
            palette = torch.as_tensor(palette).float()
            if palette.dim() != 2 or palette.shape[1] != channels:
                raise UserError(f"bgan: the palette has shape {tuple(palette.shape)}, but the images have {channels} channels")
            return cls("palette", channels, palette.to(x.device), discriminator_input)
        values = torch.unique(x)
        if not bool(((values == -1) | (values == 1)).all()):
            shown = ", ".join(f"{v:.3g}" for v in values[:5].tolist())
            raise UserError(NOT_DISCRETE.format(what=f"These images have {len(values)} different values ({shown}, ...)."))
        return cls("binary", channels, None, discriminator_input)

    # ------------------------------------------------------------------ sizes

    @property
    def num_colors(self) -> int:
        return 2 if self.palette is None else len(self.palette)

    @property
    def logit_channels(self) -> int:
        """Channels of the generator's output."""
        return self.channels if self.kind == "binary" else self.num_colors

    @property
    def input_channels(self) -> int:
        """Channels of the discriminator's input."""
        if self.kind == "palette" and self.discriminator_input == "one-hot":
            return self.num_colors
        return self.channels

    # --------------------------------------------------------------- sampling

    def draw(self, logits: torch.Tensor, m: int, uniform: torch.Tensor | None = None) -> torch.Tensor:
        """m samples per latent: (m, N, C, H, W) bits or (m, N, H, W) colour indices."""
        if self.kind == "binary":
            return estimator.draw_bits(logits, m, uniform)
        return estimator.draw_colors(logits, m, uniform)

    def uniform_shape(self, logits: torch.Tensor, m: int) -> tuple[int, ...]:
        """Shape of the uniform numbers ``draw`` consumes."""
        if self.kind == "binary":
            return (m, *logits.shape)
        return (m, logits.shape[0], *logits.shape[2:])

    def most_likely(self, logits: torch.Tensor) -> torch.Tensor:
        """The mode of every pixel, with a leading m = 1."""
        if self.kind == "binary":
            return (logits > 0).long().unsqueeze(0)
        return logits.argmax(dim=1).unsqueeze(0)

    def log_prob(self, logits: torch.Tensor, samples: torch.Tensor, reduction: estimator.Reduction) -> torch.Tensor:
        if self.kind == "binary":
            return estimator.log_prob_bits(logits, samples, reduction)
        return estimator.log_prob_colors(logits, samples, reduction)

    # ---------------------------------------------------------- representations

    def to_images(self, samples: torch.Tensor) -> torch.Tensor:
        """Samples in data space, (..., C, H, W): ±1 pixels, or the palette's colours."""
        if self.kind == "binary":
            return samples.float() * 2 - 1
        return self.palette.to(samples.device)[samples].movedim(-1, -3).contiguous()

    def to_input(self, samples: torch.Tensor) -> torch.Tensor:
        """Samples as the discriminator sees them, (..., C_in, H, W)."""
        if self.kind == "palette" and self.discriminator_input == "one-hot":
            return estimator.one_hot(samples, self.num_colors)
        return self.to_images(samples)

    def real_input(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """A real batch as the discriminator sees it."""
        if self.kind == "palette" and self.discriminator_input == "one-hot":
            return estimator.one_hot(batch["index"], self.num_colors)
        return batch["x"]
