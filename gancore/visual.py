"""Pictures of samples: a PNG grid for images, a scatter plot or histogram for points."""

from __future__ import annotations

from pathlib import Path

import torch

MIN_TILE = 32  # pixels: grids of smaller images are enlarged by an integer factor (nearest)


def save_samples(samples: torch.Tensor, path: Path, real: torch.Tensor | None = None, title: str = "") -> Path:
    """Write ``samples`` to ``path`` as a grid (N, C, H, W) or a plot (N, 1) / (N, 2)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = samples.detach().float().cpu()
    if samples.dim() == 4:
        return save_grid(samples, path)
    return save_points(samples.flatten(1), path, None if real is None else real.detach().float().cpu().flatten(1), title)


def save_grid(images: torch.Tensor, path: Path, nrow: int | None = None) -> Path:
    from torchvision.utils import save_image

    nrow = nrow or max(1, int(round(len(images) ** 0.5)))
    if images.shape[1] not in (1, 3):  # one-hot or many-channel data: show the first channel
        images = images[:, :1]
    scale = -(-MIN_TILE // images.shape[-1])  # tiny images (8x8 digits) are enlarged to be seen
    if scale > 1:
        images = images.repeat_interleave(scale, dim=-1).repeat_interleave(scale, dim=-2)
    save_image(images.clamp(-1, 1), str(path), nrow=nrow, normalize=True, value_range=(-1, 1), padding=1)
    return path


def save_rows(rows: list[torch.Tensor], path: Path) -> Path:
    """Write rows of images (each ``(k, C, H, W)``; sizes and channels may differ between rows) as one
    grid, one row per entry: rows are scaled (nearest) to the largest size and short rows padded."""
    import torch.nn.functional as F

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [r.detach().float().cpu() for r in rows if len(r)]
    if not rows:
        raise ValueError("preview() returned no images")
    side = max(r.shape[-1] for r in rows)
    channels = max(r.shape[1] for r in rows)
    width = max(len(r) for r in rows)
    tiles = []
    for row in rows:
        if row.shape[-1] != side:
            row = F.interpolate(row, size=(side, side), mode="nearest")
        if row.shape[1] != channels:
            row = row[:, :1].expand(-1, channels, -1, -1)
        blank = torch.full((width - len(row), channels, side, side), -1.0)
        tiles.append(torch.cat([row, blank]))
    return save_grid(torch.cat(tiles), path, nrow=width)


def save_points(points: torch.Tensor, path: Path, real: torch.Tensor | None = None, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if points.shape[1] == 1:
        bins = 80
        if real is not None:
            ax.hist(real[:, 0].numpy(), bins=bins, density=True, alpha=0.5, color="0.6", label="real")
        ax.hist(points[:, 0].numpy(), bins=bins, density=True, alpha=0.6, color="tab:blue", label="generated")
    else:
        if real is not None:
            ax.scatter(real[:, 0].numpy(), real[:, 1].numpy(), s=4, c="0.7", label="real")
        ax.scatter(points[:, 0].numpy(), points[:, 1].numpy(), s=4, c="tab:blue", alpha=0.6, label="generated")
        ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


POINT_PLOT_SAMPLES = 2500  # generated (and real) points in the scatter plot of 1-D/2-D data


class SampleGrids:
    """The pictures a run writes of its generator: ``folder/step-NNNNNN.png``, drawn from a fixed seed
    so that grids of one run compare step by step.

    :param folder: where the PNGs go (``RUN/samples``).
    :param count: images per grid (``train.sample_count``); points are plotted ``POINT_PLOT_SAMPLES`` at a time.
    :param seed: the seed of every grid's latents (``train.seed``).
    :param real_points: for 1-D/2-D data, real points drawn beneath the generated ones; None for images.
    """

    def __init__(self, folder: Path, *, count: int, seed: int, real_points: torch.Tensor | None = None) -> None:
        self.folder, self.count, self.seed = Path(folder), count, seed
        self.real_points = None if real_points is None else real_points[:POINT_PLOT_SAMPLES].detach().cpu()

    def write(self, step: int, algorithm, generate) -> Path:
        """The grid of ``step``: the family's own rows (``preview``), a row per class (a conditional family),
        or ``generate(n, seed)``'s samples. Call it with the EMA swapped in (``Run.sampling``)."""
        from .algorithm import has_capability

        path = self.folder / f"step-{step:06d}.png"
        if has_capability(algorithm, "preview"):  # the family's own rows (input | translated | ...)
            with torch.no_grad():
                return save_rows(algorithm.preview(self.count, self.seed), path)
        classes = algorithm.conditional_classes
        if classes:  # one row per class
            per_class = max(1, -(-self.count // classes))
            samples = generate(per_class * classes, self.seed, torch.arange(classes).repeat_interleave(per_class))
            path.parent.mkdir(parents=True, exist_ok=True)
            return save_grid(samples, path, nrow=per_class)
        points = self.real_points is not None
        samples = generate(POINT_PLOT_SAMPLES if points else self.count, self.seed)
        return save_samples(samples, path, real=self.real_points, title=f"step {step}")
