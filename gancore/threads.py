"""``train.threads``: how many intra-op threads torch uses for a run.

No fixed number is right on a CPU. Small networks (the ring's MLPs) run several
times faster on one thread than on every core, and far faster still when
another process is busy beside them, because torch's OpenMP threads then wait
for each other; a 64-channel DCGAN on an idle machine gains from two threads.
So ``auto`` (the default) measures: the run's first steps alternate between
one thread and every available core, and the faster setting is kept for the
rest of the run (see ``choose``). The trial steps are ordinary training steps,
so nothing is wasted or repeated. Having chosen several threads, auto keeps
timing the steps and measures again when they become twice as slow (something
started beside the run); having chosen one, it stops timing.

What decides, first match wins:

1. ``train.threads: N``: N threads.
2. ``OMP_NUM_THREADS`` in the environment: torch already read it; left alone.
3. several processes (torchrun, ``gan run --num-processes``): one thread each.
4. not on the CPU (a GPU run): torch's default; one available core: one thread.
5. a resumed run: the count its checkpoint was written with.
6. a run too short to be worth a trial (``TRIAL_MIN_STEPS``): one thread.
7. otherwise the trial.

Results depend on the thread count in their last bits (a DCGAN's weights after
20 steps at 1 and at 2 threads differ), and the trial's choice depends on the
machine's load. So a resume takes the count its checkpoint was written with and
ends bit for bit as an uninterrupted run that chose the same; two fresh runs
with the same seed repeat bit for bit only with a fixed ``train.threads`` (or
runs shorter than ``TRIAL_MIN_STEPS``).
"""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import torch

TRIAL_MIN_STEPS = 1000  # steps left to train below which auto takes one thread without a trial
WARMUP_STEPS = 1  # the first step is slow (allocation, oneDNN primitives): not timed
# A round is one timed block of steps at each setting. Few, long blocks: every change of torch's thread count
# leaves later multi-threaded steps a little slower (a 2-thread MLP step: 7.2 ms fresh, 11.5 ms after 60
# changes, no measurable cost after 10), and a trial of at most 4 rounds changes it at most 8 times.
MIN_ROUNDS, MAX_ROUNDS = 2, 4
BLOCK_SECONDS, MAX_BLOCK = 0.25, 64  # steps faster than this are timed several at a time
TRIAL_SECONDS = 2.0  # rounds go on until the timed steps took this long (or MAX_ROUNDS)
MARGIN = 0.92  # more threads are kept only if their median step takes at most this share of one thread's
WATCH_STEPS, SLOWDOWN = 20, 2.0  # after choosing several threads: measure again if 20 steps' median doubled


def choose(step_seconds: Mapping[int, Sequence[float]], margin: float = MARGIN) -> int:
    """The thread count to keep, from the measured seconds of steps at each count.

    The median of each setting's steps counts (one step that an outside process
    slowed does not decide). Fewer threads win ties and near-ties: a setting
    with more threads must take at most ``margin`` of the time of the best one
    with fewer, since spare cores are what keeps a run fast when something else
    starts beside it."""
    measured = {n: statistics.median(times) for n, times in step_seconds.items() if times}
    if not measured:
        raise ValueError("no step was timed")
    best = min(measured)
    for threads in sorted(measured):
        if measured[threads] <= margin * measured[best]:
            best = threads
    return best


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. under taskset or a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class ThreadPlan:
    """The thread count of a run and why; ``trial`` holds the timed steps when auto measured."""

    threads: int | None  # None: torch's own default, untouched
    reason: str
    trial: dict[int, list[float]] = field(default_factory=dict)
    note: str = ""
    trial_steps: int = 0

    def message(self) -> str:
        if not self.trial:
            count = "torch's default of threads" if self.threads is None else f"{self.threads} thread{'s' * (self.threads != 1)}"
            return f"threads: {count} ({self.reason})"
        timed = ", ".join(
            f"{n} thread{'s' * (n != 1)} {1000 * statistics.median(t):.1f} ms/step" for n, t in sorted(self.trial.items())
        )
        rounds = min(len(t) for t in self.trial.values())
        return (f"threads: auto chose {self.threads} after a {self.trial_steps}-step trial (median of {rounds} round{'s' * (rounds != 1)}: "
                f"{timed}){self.note}; "
                "set train.threads to fix it")


def plan(setting: int | str, *, num_processes: int, device: torch.device, steps_left: int, resumed_with: int | None = None,
         environ: Mapping[str, str] | None = None) -> ThreadPlan | None:
    """The thread count decided without measuring, or None when auto must run its trial. ``resumed_with``:
    the count the checkpoint a resumed run starts from was written with."""
    environ = os.environ if environ is None else environ
    if setting != "auto":
        return ThreadPlan(int(setting), "train.threads")
    if environ.get("OMP_NUM_THREADS", "").strip():
        return ThreadPlan(torch.get_num_threads(), "OMP_NUM_THREADS is set")
    if num_processes > 1:
        return ThreadPlan(1, f"one per process, {num_processes} processes")
    if device.type != "cpu":
        return ThreadPlan(None, f"training on {device.type}")
    cores = available_cores()
    if cores == 1:
        return ThreadPlan(1, "one core available")
    if resumed_with:
        return ThreadPlan(min(resumed_with, cores), "auto: as when the checkpoint was written, so the resume is exact")
    if steps_left < TRIAL_MIN_STEPS:
        return ThreadPlan(1, f"auto: a run of {steps_left} steps is too short to measure")
    return None


class ThreadTrial:
    """Auto's measurement: ``next_threads()`` before each step and ``record(seconds)`` after it, which
    returns True when it has just chosen (``result``).

    Having chosen several threads, it goes on watching the steps: if they become ``SLOWDOWN`` times
    slower than the trial measured (a process started beside the run), it measures again. Having
    chosen one thread it is ``finished``: one thread is never far from the best."""

    def __init__(self, cores: int | None = None) -> None:
        many = cores or available_cores()
        if many < 2:
            raise ValueError("a thread trial needs two or more cores")
        self.settings = (1, many)
        self.result: ThreadPlan | None = None
        self.trials = 0
        self._current = torch.get_num_threads()
        self._start()

    @property
    def finished(self) -> bool:
        return self.result is not None and self.result.threads == 1

    def _start(self) -> None:
        self.times: dict[int, list[float]] = {n: [] for n in self.settings}  # seconds per step, one value per block
        self.steps = 0
        self.block = 1
        self.measuring = True
        self.trials += 1
        self._block_seconds, self._block_steps, self._spent = 0.0, 0, 0.0

    def _use(self, threads: int) -> None:
        if threads != self._current:
            torch.set_num_threads(threads)
            self._current = threads

    def _position(self) -> tuple[int, int] | None:
        """(block, step within the block) of the next step; None in the warm-up."""
        timed = self.steps - WARMUP_STEPS
        return None if timed < 0 else divmod(timed, self.block)

    def next_threads(self) -> int:
        if self.measuring:
            position = self._position()
            if position is None:
                self._use(1)
            else:
                # Blocks alternate settings, and rounds (two blocks) their order (1, N, N, 1, ...), so a slow
                # drift of the load favours neither.
                block = position[0]
                order = self.settings if (block // 2) % 2 == 0 else self.settings[::-1]
                self._use(order[block % 2])
        return self._current

    def record(self, seconds: float) -> bool:
        if not self.measuring:
            return self._watch(seconds)
        position = self._position()
        self.steps += 1
        if position is None:
            # Fast steps are timed in blocks of about BLOCK_SECONDS, after one untimed step: the first step
            # after a change of thread count pays for waking or parking threads (5% of a ring step).
            if seconds < BLOCK_SECONDS:
                self.block = min(MAX_BLOCK, 1 + math.ceil(BLOCK_SECONDS / max(seconds, 1e-6)))
            return False
        block, within = position
        if self.block > 1 and within == 0:
            return False
        self._block_seconds += seconds
        self._block_steps += 1
        self._spent += seconds
        if within < self.block - 1:
            return False
        self.times[self._current].append(self._block_seconds / self._block_steps)
        self._block_seconds, self._block_steps = 0.0, 0
        rounds = min(len(t) for t in self.times.values())
        if block % 2 == 0 or rounds < 1:
            return False
        # Fewer rounds suffice when the settings are far apart: many threads beside a busy process can be
        # 20 times slower, and each such step is paid for. One round when one is 4 times the other, two at 2.
        low, high = sorted(self.times.values(), key=statistics.median)
        apart = max(low) * (4 if rounds == 1 else 2) < min(high)
        if not (apart or rounds >= MAX_ROUNDS or (rounds >= MIN_ROUNDS and self._spent >= TRIAL_SECONDS)):
            return False
        threads = choose(self.times)
        self._use(threads)
        self.result = ThreadPlan(threads, "auto", {n: list(t) for n, t in self.times.items()}, getattr(self, "_note", ""), self.steps)
        self.measuring = False
        self._expected = statistics.median(self.times[threads])
        self._recent: list[float] = []
        return True

    def _watch(self, seconds: float) -> bool:
        self._recent.append(seconds)
        if len(self._recent) == WATCH_STEPS:
            slowed = statistics.median(self._recent) / self._expected
            if slowed > SLOWDOWN:
                self._start()
                self._note = f", measured again: steps at {self._current} threads had become {slowed:.1f}x slower"
            self._recent = []
        return False
