"""The history pool: the first ``size`` fakes go straight through; after that each is swapped with probability ½."""

from __future__ import annotations

import pytest
import torch

from gan_cyclegan.pool import ImagePool


def _images(start: int, n: int) -> torch.Tensor:
    """n distinct 1x2x2 images whose every pixel is their number."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()


def _ids(images: torch.Tensor) -> list[int]:
    return images[:, 0, 0, 0].long().tolist()


def test_the_first_fakes_go_straight_through_and_fill_the_pool():
    torch.manual_seed(0)
    pool = ImagePool(50)
    for start in range(0, 50, 5):
        batch = _images(start, 5)
        assert torch.equal(pool.query(batch), batch)
    assert pool.count == 50
    assert sorted(_ids(pool.images)) == list(range(50))


def test_after_that_each_fake_is_swapped_with_probability_one_half():
    torch.manual_seed(1)
    pool = ImagePool(50)
    pool.query(_images(0, 50))
    swapped, total = 0, 0
    for start in range(50, 3050):  # one at a time: within a batch a later fake may swap out an earlier one
        batch = _images(start, 1)
        before = set(_ids(pool.images))
        returned = _ids(pool.query(batch))
        after = set(_ids(pool.images))
        for new, out in zip(_ids(batch), returned):
            total += 1
            if out == new:
                assert new not in after, "a fake returned as itself is not stored"
            else:
                swapped += 1
                assert out in before and out < new, "a swapped-in image is one stored earlier"
                assert new in after, "the new fake takes the returned one's place"
        assert len(after) == 50
    assert 0.46 < swapped / total < 0.54, swapped / total


def test_a_pool_of_size_zero_returns_the_newest_fakes():
    batch = _images(0, 3)
    assert ImagePool(0).query(batch) is batch


def test_state_round_trips():
    torch.manual_seed(2)
    pool = ImagePool(6)
    pool.query(_images(0, 4))
    state = pool.state_dict()
    assert state["count"] == 4 and torch.equal(state["images"], _images(0, 4))
    again = ImagePool(6)
    again.load_state_dict(state)
    assert again.count == 4 and torch.equal(again.images[:4], _images(0, 4))
    empty = ImagePool(6)
    empty.load_state_dict(ImagePool(6).state_dict())
    assert empty.count == 0 and empty.images is None


class LoopPool:
    """The reference's rule as a loop over the batch, one image at a time (the pool before it was batched),
    with the same draws: a coin and a slot for every image."""

    def __init__(self, size: int) -> None:
        self.size, self.images, self.count = size, None, 0

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.images is None:
            self.images = images.new_empty(self.size, *images.shape[1:])
        swap = (torch.rand(len(images)) > 0.5).tolist()
        slot = torch.randint(0, self.size, (len(images),)).tolist()
        out = []
        for i, image in enumerate(images):
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


@pytest.mark.parametrize("size, batch", [(4, 3), (5, 5), (3, 8), (50, 7), (1, 4)])
def test_a_batch_at_once_is_the_loop_over_its_images(size, batch):
    # Batches that straddle the moment the pool fills, and batches larger than the pool, where several
    # images of one batch swap with the same slot and a later one takes an earlier one out.
    batched, loop = ImagePool(size), LoopPool(size)
    for start in range(0, 40 * batch, batch):
        images = _images(start, batch)
        torch.manual_seed(start)
        got = batched.query(images)
        torch.manual_seed(start)
        expected = loop.query(images)
        assert _ids(got) == _ids(expected)
        assert batched.count == loop.count
        assert _ids(batched.images[: batched.count]) == _ids(loop.images[: loop.count])


def test_a_query_waits_for_nothing_on_the_host(monkeypatch):
    # Every way a tensor's value reaches Python is cut off while the full pool swaps: the choices stay on the device.
    pool = ImagePool(6)
    pool.query(_images(0, 6))

    def host_sync(*args, **kwargs):
        raise AssertionError("the pool read a tensor's value on the host")

    for name in ("item", "tolist", "cpu", "numpy", "nonzero", "__bool__", "__int__", "__float__", "__index__"):
        monkeypatch.setattr(torch.Tensor, name, host_sync)
    out = pool.query(_images(6, 10))
    monkeypatch.undo()
    assert out.shape == (10, 1, 2, 2)


def test_loaded_images_go_to_the_pools_device():
    pool = ImagePool(6)
    pool.query(_images(0, 4))
    on_meta = ImagePool(6, device="meta")  # a checkpoint's tensors come back on the CPU; the pool keeps its device
    on_meta.load_state_dict(pool.state_dict())
    assert on_meta.count == 4 and on_meta.images.device.type == "meta" and on_meta.images.shape == (6, 1, 2, 2)
