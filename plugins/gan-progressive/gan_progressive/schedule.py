"""The growth schedule: stage, fade-in α and resolution as functions of the number of real images shown.

As in the reference code (``TrainingSchedule`` in Karras et al.'s train.py),
the first stage only stabilises; every later stage first fades its new block in,
α rising linearly from 0 to 1 over ``fade_in_images``, then stabilises for
``stabilize_images``; the last stage stabilises until training ends::

    4x4 stable | 8x8 fade-in | 8x8 stable | 16x16 fade-in | 16x16 stable | ... | last, until the end

Everything is a pure function of the image counter, so a run resumed from a
checkpoint (which saves the counter) is at exactly the same point of a fade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Point:
    """Where training is: the network stage (0 is 4x4), the fade-in weight of its newest block, its resolution."""

    stage: int
    alpha: float
    resolution: int
    phase: int  # 0: the first stage; 2s-1: stage s fading in; 2s: stage s stable (counted from the first stage)

    @property
    def fading(self) -> bool:
        return self.alpha < 1.0


@dataclass(frozen=True)
class Schedule:
    first_stage: int  # network stage at which training starts (0: 4x4)
    last_stage: int  # the data's resolution
    fade_in_images: int
    stabilize_images: int

    def at(self, images: int) -> Point:
        """The stage, α and resolution after ``images`` real images have been shown."""
        first, last = self.first_stage, self.last_stage
        if images < self.stabilize_images or first == last:
            return self._point(first, 1.0, 0)
        period = self.fade_in_images + self.stabilize_images
        grown, into = divmod(images - self.stabilize_images, period)
        stage = first + 1 + grown
        if stage > last:
            return self._point(last, 1.0, 2 * (last - first))
        if into < self.fade_in_images:
            return self._point(stage, into / self.fade_in_images, 2 * (stage - first) - 1)
        return self._point(stage, 1.0, 2 * (stage - first))

    def _point(self, stage: int, alpha: float, phase: int) -> Point:
        return Point(stage, alpha, resolution(stage), phase)

    def stage_end(self, stage: int) -> int:
        """Images shown when ``stage`` has stabilised for ``stabilize_images`` (the last stage trains on after that)."""
        return self.stabilize_images + (stage - self.first_stage) * (self.fade_in_images + self.stabilize_images)

    def steps_until(self, images: int, batch: Callable[[int], int]) -> int:
        """Trainer steps until at least ``images`` real images are shown, with ``batch(resolution)``
        images per step (all processes together)."""
        shown, steps = 0, 0
        while shown < images:
            shown += batch(self.at(shown).resolution)
            steps += 1
        return steps


def resolution(stage: int) -> int:
    return 4 * 2**stage


def stage_of(side: int) -> int | None:
    """The stage whose resolution is ``side``, or None when ``side`` is not 4·2^k."""
    stage = 0
    while resolution(stage) < side:
        stage += 1
    return stage if resolution(stage) == side else None
