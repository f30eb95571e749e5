"""The history of generated images the discriminators train on (Shrivastava et al. 2017; CycleGAN's ``ImagePool``).

A discriminator that only sees the newest fakes chases the generator's latest
move; one that also sees older fakes oscillates less. The reference's rule, per
image: until the pool holds ``size`` images, store the new one and return it;
after that, with probability ½ return a random stored image and store the new
one in its place, otherwise return the new one.

The random choices come from the training RNG (torch's, on the images' device),
which checkpoints save, and the stored images are saved too (``state_dict``),
so a resumed run swaps exactly as an uninterrupted one.
"""

from __future__ import annotations

import torch


class ImagePool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.images: torch.Tensor | None = None  # (size, C, H, W), allocated by the first query
        self.count = 0

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """The batch the discriminator sees in place of ``images`` (which are stored as the rule says)."""
        if self.size == 0:
            return images
        images = images.detach()
        if self.images is None:
            self.images = images.new_empty(self.size, *images.shape[1:])
        n = len(images)
        # Drawn for every image, whether the pool is full or not, so the RNG advances the same way every step.
        swap = (torch.rand(n, device=images.device) > 0.5).tolist()
        slot = torch.randint(0, self.size, (n,), device=images.device).tolist()
        out = []
        for i in range(n):
            image = images[i]
            if self.count < self.size:
                self.images[self.count] = image
                self.count += 1
                out.append(image)
            elif swap[i]:
                out.append(self.images[slot[i]].clone())
                self.images[slot[i]] = image
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict:
        state = {"count": self.count}
        if self.count:
            state["images"] = self.images[: self.count]
        return state

    def load_state_dict(self, state: dict) -> None:
        self.count = int(state["count"])
        self.images = None
        if self.count:
            saved = state["images"]
            self.images = saved.new_empty(self.size, *saved.shape[1:])
            self.images[: self.count] = saved
