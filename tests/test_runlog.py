"""What a run reports: line progress off a terminal, the end-of-run summary, the resume message,
trackers by name, sample grids in TensorBoard, no empty metrics records, and the EMA warm-up."""

from __future__ import annotations

import io
import json

import pytest
import torch

from gancore import runlog
from gancore.ema import EMA
from gancore.errors import UserError

from .conftest import TINY_DIGITS, TINY_RING


def _ring(**train):
    return {**TINY_RING, "train": {**TINY_RING["train"], **train}}


def test_a_redirected_run_logs_one_line_per_log_every_and_ends_with_a_summary(gan, write_config, tmp_path):
    # CliRunner's stderr is not a terminal, as in `gan run ... 2> log`.
    result = gan("run", write_config(_ring(progress=True, eval_every=10)), "--set",
                 "eval.metrics=[{name: mode-coverage, num_samples: 200}]", "--output", tmp_path / "r")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["5/20", "10/20", "15/20", "20/20"]
    assert all("steps/s" in line and "loss_d=" in line for line in lines)
    assert "\r" not in result.stderr, "no progress-bar redraws in a log file"
    out = result.stdout
    assert f"run completed at step 20: {tmp_path / 'r'}" in out
    assert "metrics:     mode-coverage/modes" in out
    assert f"checkpoint:  {tmp_path / 'r' / 'checkpoints' / 'step-000020'}" in out
    assert "wall" in out and "CPU" in out


def test_a_terminal_gets_a_bar_and_no_lines():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = runlog.progress(10, 0, True, stream=stream)
    assert not isinstance(bar, runlog.LineProgress)
    bar.close()
    assert isinstance(runlog.progress(10, 0, True, stream=io.StringIO()), runlog.LineProgress)


def test_resume_says_which_checkpoint_it_continues_from(gan, write_config, tmp_path):
    config = write_config(_ring(steps=10))
    assert gan("run", config, "--output", tmp_path / "r").exit_code == 0
    result = gan("run", "--output", tmp_path / "r", "--resume", "--steps", 15)
    assert result.exit_code == 0, result.output
    assert f"resumed from {tmp_path / 'r' / 'checkpoints' / 'step-000010'} (step 10 of 15)" in result.stderr


def test_no_metrics_means_no_empty_records(gan, write_config, tmp_path):
    assert gan("run", write_config(_ring(eval_every=5, log_every=10)), "--output", tmp_path / "r").exit_code == 0
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    # Steps 5 and 15 are eval boundaries too, so the losses are flushed there as well.
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    assert all(sorted(r) == ["loss_d", "loss_g", "step", "steps_per_second"] for r in records)


def test_sample_grids_and_scalars_reach_tensorboard(gan, write_config, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = {**TINY_DIGITS, "train": {**TINY_DIGITS["train"], "tensorboard": True}}
    assert gan("run", write_config(cfg), "--output", tmp_path / "r").exit_code == 0
    events = EventAccumulator(str(tmp_path / "r" / "tensorboard" / "gancore"))
    events.Reload()
    assert [image.step for image in events.Images("samples")] == [6, 12]
    assert [s.step for s in events.Scalars("loss_d")] == [4, 6, 8, 12]


def test_trackers_are_checked_by_name_before_the_run():
    with pytest.raises(UserError, match="'weights-and-biases' is not one of Accelerate's trackers.*wandb"):
        runlog.tracker_names(False, ["weights-and-biases"])
    with pytest.raises(UserError, match="'aim' is not installed in this environment; `pip install aim`"):
        runlog.tracker_names(False, ["aim"])
    assert runlog.tracker_names(True, ["tensorboard"]) == ["tensorboard"]
    assert runlog.tracker_names(False, []) == []


def test_an_unknown_tracker_is_a_clear_cli_error(gan, write_config, tmp_path):
    result = gan("run", write_config(_ring()), "--set", "train.trackers=[mlflow]", "--output", tmp_path / "r")
    assert result.exit_code == 2
    assert "train.trackers: 'mlflow' is not installed" in result.stderr
    assert not (tmp_path / "r").exists(), "nothing is written for a run that cannot start"


def test_the_ema_of_a_short_run_follows_the_live_generator():
    # With decay 0.999 and no warm-up, the average after 300 steps would still be 74% the initial weights.
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 4)
    start = net.weight.detach().clone()
    ema = EMA({"generator": net}, decay=0.999)
    for step in range(1, 301):
        with torch.no_grad():
            net.weight.add_(0.01)  # a steady drift, as training moves the weights
        ema.update(step)
    live = net.weight.detach()
    shadow = ema.shadow["generator"]["weight"]
    assert (shadow - live).norm() < 0.15 * (live - start).norm()
