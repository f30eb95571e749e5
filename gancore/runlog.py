"""What a run tells its user: progress, trackers, sample images and the closing summary.

* Progress: a tqdm bar when stderr is a terminal; otherwise (a log file, CI, ``nohup``)
  one plain line per ``train.log_every`` steps, so a redirected log holds records,
  not thousands of bar redraws.
* Trackers: TensorBoard when it is installed (``train.tensorboard``), plus any of
  Accelerate's trackers named in ``train.trackers`` (wandb, mlflow, aim, comet_ml, ...),
  each checked to be installed before the run starts.
* Sample grids go to every tracker that takes images, next to the scalars.
* The summary printed when a run ends: final metrics, where the samples and
  checkpoints are, and the wall and CPU time of this session.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

from .errors import UserError

# ------------------------------------------------------------------- trackers


def tracker_names(tensorboard: bool, trackers: list[str]) -> list[str]:
    """The Accelerate trackers of a run: TensorBoard if wanted and installed, then ``trackers``.

    A name Accelerate does not know, or a tracker whose package is missing, is a UserError
    that says how to fix it (TensorBoard asked for through ``train.tensorboard`` alone is
    skipped quietly when missing, as it always was)."""
    from accelerate.tracking import LOGGER_TYPE_TO_CLASS, get_available_trackers

    known = sorted(LOGGER_TYPE_TO_CLASS)
    available = {str(getattr(t, "value", t)) for t in get_available_trackers()}
    for name in trackers:
        if name not in known:
            raise UserError(f"train.trackers: '{name}' is not one of Accelerate's trackers ({', '.join(known)})")
        if name not in available:
            package = "tensorboard" if name == "tensorboard" else name.replace("_", "-")
            raise UserError(
                f"train.trackers: '{name}' is not installed in this environment; `pip install {package}`, "
                f"or leave it out (installed trackers: {', '.join(sorted(available)) or 'none'})"
            )
    chosen = ["tensorboard"] if tensorboard and "tensorboard" in available else []
    return chosen + [name for name in trackers if name not in chosen]


def flat_config(config: dict[str, Any]) -> dict[str, Any]:
    """A run config as flat ``section.key`` scalars: the hyper-parameters trackers record."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        else:
            flat[prefix] = value if isinstance(value, (int, float, str, bool)) else str(value)

    walk("", config)
    return flat


def log_image(accelerator, path: Path, step: int, key: str = "samples") -> None:
    """Send the PNG at ``path`` to every tracker that takes images (TensorBoard, wandb, ...)."""
    if not accelerator.trackers or path is None:
        return
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))[None]  # one image, N x H x W x C
    for tracker in accelerator.trackers:
        if not hasattr(tracker, "log_images"):
            continue  # a tracker for scalars only
        kwargs = {"dataformats": "NHWC"} if tracker.name == "tensorboard" else {}
        try:
            tracker.log_images({key: pixels}, step=step, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a tracker's failure must not end training
            print(f"warning: tracker '{tracker.name}' did not take the sample grid: {exc}", file=sys.stderr)


# ------------------------------------------------------------------- progress


def progress(total: int, initial: int, enabled: bool, stream=None):
    """A tqdm bar on a terminal, ``LineProgress`` otherwise; both take update/set_postfix/close."""
    stream = sys.stderr if stream is None else stream
    if enabled and not _is_terminal(stream):
        return LineProgress(total, initial, stream)
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, unit="step", dynamic_ncols=True, mininterval=0.5, file=stream)


class LineProgress:
    """One line per ``set_postfix`` (the trainer calls it every ``log_every`` steps)."""

    def __init__(self, total: int, initial: int, stream) -> None:
        self.total, self.n, self.stream = total, initial, stream
        self._since, self._tick = 0, time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.n += n
        self._since += n

    def set_postfix(self, values: dict[str, Any], refresh: bool = False) -> None:
        now = time.perf_counter()
        rate = self._since / max(now - self._tick, 1e-9)
        self._since, self._tick = 0, now
        width = len(str(self.total))
        fields = "  ".join(f"{k}={v}" for k, v in values.items())
        print(f"step {self.n:>{width}}/{self.total}  {rate:.1f} steps/s  {fields}".rstrip(), file=self.stream, flush=True)

    def write(self, text: str, file=None) -> None:
        print(text, file=file or self.stream, flush=True)

    def close(self) -> None:
        pass


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# -------------------------------------------------------------------- summary


def summary(run_dir: Path, step: int, status: str, results: dict[str, float], wall: float, cpu: float, checkpoint: Path | None) -> str:
    """The lines printed when a run ends."""
    lines = [f"run {status} at step {step}: {run_dir}"]
    finite = {k: v for k, v in results.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    if finite:
        lines.append("  metrics:     " + ", ".join(f"{k} {v:.4g}" for k, v in finite.items()))
    grids = sorted((run_dir / "samples").glob("step-*.png")) if (run_dir / "samples").is_dir() else []
    if grids:
        lines.append(f"  samples:     {grids[-1]}" + (f" (and {len(grids) - 1} earlier)" if len(grids) > 1 else ""))
    if checkpoint is not None:
        hint = "" if status == "completed" else f"  (continue with: gan run --output {run_dir} --resume)"
        lines.append(f"  checkpoint:  {checkpoint}{hint}")
    lines.append(f"  time:        {_duration(wall)} wall, {_duration(cpu)} CPU (this process)")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
