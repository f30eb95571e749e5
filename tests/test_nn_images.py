"""The image-shape helpers that gancore.nn exports for plugins' own networks."""

from __future__ import annotations

import pytest
from torch import nn

from gancore import UserError
from gancore.nn import doubling_plan, norm2d, square_image


def test_square_image_gives_channels_and_side_or_names_the_network():
    assert square_image((3, 32, 32), "my-net") == (3, 32)
    with pytest.raises(UserError, match="my-net needs square images .* shape \\(2,\\)"):
        square_image((2,), "my-net")
    with pytest.raises(UserError, match="square images"):
        square_image((1, 8, 16), "my-net")


@pytest.mark.parametrize("side,plan", [(8, (4, 1)), (12, (6, 1)), (28, (7, 2)), (32, (4, 3)), (64, (4, 4))])
def test_doubling_plan(side, plan):
    assert doubling_plan(side) == plan


@pytest.mark.parametrize("side", [7, 9, 30])
def test_doubling_plan_refuses_sides_it_cannot_reach(side):
    with pytest.raises(UserError, match=f"s\\*2\\^n .* not {side}"):
        doubling_plan(side)


def test_norm2d_by_name():
    assert isinstance(norm2d("batch", 4), nn.BatchNorm2d)
    assert isinstance(norm2d("instance", 4), nn.InstanceNorm2d)
    assert isinstance(norm2d("layer", 4), nn.GroupNorm)
    assert isinstance(norm2d("none", 4), nn.Identity)
