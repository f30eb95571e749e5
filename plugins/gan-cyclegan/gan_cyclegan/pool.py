"""The history of generated images the discriminators train on (Shrivastava et al. 2017; CycleGAN's ``ImagePool``).

A discriminator that only sees the newest fakes chases the generator's latest
move; one that also sees older fakes oscillates less. The reference's rule, per
image, in the batch's order: until the pool holds ``size`` images, store the new
one and return it; after that, with probability ½ return a random stored image
and store the new one in its place, otherwise return the new one.

The rule is applied to a whole batch at once on the device, with no wait for it:
how many images are stored is a plain count that does not depend on the coin
flips, and the flips decide, through tensor operations only, which image each
one returns and which ones end up stored. It gives exactly what the loop over the
batch gives, including a later image of the batch swapping out an earlier one.

The random choices come from the training RNG (torch's, on the images' device),
which checkpoints save: for every image a coin (``rand > ½``) and a slot
(``randint``), drawn whether the pool is full or not, so the RNG advances the same
way every step. The stored images are saved too (``state_dict``), so a resumed run
swaps exactly as an uninterrupted one.
"""

from __future__ import annotations

import torch


class ImagePool:
    def __init__(self, size: int, device: torch.device | str = "cpu") -> None:
        self.size = size
        self.device = torch.device(device)
        self.images: torch.Tensor | None = None  # (size, C, H, W), allocated by the first query
        self.count = 0  # images stored so far; a plain number: it grows by the batch size until the pool is full

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """The batch the discriminator sees in place of ``images`` (which are stored as the rule says)."""
        if self.size == 0:
            return images
        images = images.detach()
        if self.images is None:
            self.images = images.new_empty(self.size, *images.shape[1:])
        n = len(images)
        swap = torch.rand(n, device=images.device) > 0.5
        slot = torch.randint(0, self.size, (n,), device=images.device)

        # The first images fill the free places and are returned as they are.
        fill = min(n, self.size - self.count)
        if fill:
            self.images[self.count : self.count + fill] = images[:fill]
            self.count += fill
        if fill == n:
            return images
        new, swap, slot = images[fill:], swap[fill:], slot[fill:]
        k = len(new)

        # Image i that swaps takes what its slot holds when its turn comes: the newest earlier image of the batch
        # that swapped into the same slot, or else what the pool held before the batch.
        order = torch.arange(k, device=images.device)
        same_slot = (slot[:, None] == slot[None, :]) & swap[None, :]  # [i, j]: j swaps into i's slot
        earlier = same_slot & (order[None, :] < order[:, None])
        newest = torch.where(earlier, order[None, :], -1).amax(dim=1)  # -1: none
        held = torch.where((newest >= 0).view(-1, *[1] * (new.dim() - 1)), new[newest.clamp(min=0)], self.images[slot])
        out = torch.where(swap.view(-1, *[1] * (new.dim() - 1)), held, new)

        # Each slot ends up holding the last image of the batch that swapped into it, or what it held.
        into = (torch.arange(self.size, device=images.device)[:, None] == slot[None, :]) & swap[None, :]  # [s, j]
        last = torch.where(into, order[None, :], -1).amax(dim=1)
        self.images = torch.where((last >= 0).view(-1, *[1] * (new.dim() - 1)), new[last.clamp(min=0)], self.images)
        return torch.cat([images[:fill], out]) if fill else out

    def state_dict(self) -> dict:
        state = {"count": self.count}
        if self.count:
            state["images"] = self.images[: self.count]
        return state

    def load_state_dict(self, state: dict) -> None:
        self.count = int(state["count"])
        self.images = None
        if self.count:
            saved = state["images"].to(self.device)  # a checkpoint's tensors come back on the CPU
            self.images = saved.new_empty(self.size, *saved.shape[1:])
            self.images[: self.count] = saved
