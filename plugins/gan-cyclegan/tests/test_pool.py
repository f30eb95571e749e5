"""The history pool: the first ``size`` fakes go straight through; after that each is swapped with probability ½."""

from __future__ import annotations

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
