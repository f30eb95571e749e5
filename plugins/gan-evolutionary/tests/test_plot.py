"""The share of wins per mutation: weighted by the steps each record covers, plotted into the run folder
when an egan run ends (the algorithm's ``finish``), and on demand by ``gan egan plot``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from gan_evolutionary import plugin
from gan_evolutionary.plot import PLOT_NAME, read_shares
from gancore.cli import GanGroup


def egan_command(*args):
    """``gan egan ...`` through a group that handles errors as ``gan`` does (exit 2, one paragraph)."""
    group = GanGroup()
    plugin.gan_register_commands(group)
    return CliRunner().invoke(group, ["egan", *map(str, args)])


def test_shares_are_weighted_by_the_steps_each_record_covers(tmp_path):
    records = [
        {"step": 4, "won_a": 0.25, "won_b": 0.75, "loss_d": 1.0},
        {"step": 5, "mode-coverage/modes": 3.0},
        {"step": 6, "won_a": 1.0, "won_b": 0.0},
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    steps, shares, overall = read_shares(tmp_path)
    assert steps == [4, 6] and shares == {"a": [0.25, 1.0], "b": [0.75, 0.0]}
    assert overall["a"] == pytest.approx((4 * 0.25 + 2 * 1.0) / 6) and overall["b"] == pytest.approx(4 * 0.75 / 6)


def test_an_egan_run_leaves_the_plot_and_the_command_redraws_it(gan, write_config, tiny_ring, tmp_path):
    tiny_ring["train"].update(steps=8, checkpoint_every=0)
    run = tmp_path / "r"
    out = gan("run", write_config(tiny_ring), "--output", run)
    assert out.exit_code == 0, out.output
    assert (run / "mutations.png").stat().st_size > 5000
    # The installed `gan` command line has the plugin's command.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "gancore.cli", "egan", "plot", str(run), "--output", str(tmp_path / "again.png")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "again.png").is_file()
    _, _, overall = read_shares(run)
    assert sum(overall.values()) == pytest.approx(1.0)
    assert all(f"{name} {100 * share:.1f}%" in out.stdout for name, share in overall.items())


def test_other_runs_get_no_plot_and_the_command_says_why(gan, write_config, tmp_path):
    plain = {
        "plugin": "gan",
        "algorithm": {"name": "gan", "latent_dim": 2, "generator": {"name": "mlp-generator", "hidden_dim": 8},
                      "discriminator": {"name": "mlp-discriminator", "hidden_dim": 8}},
        "data": {"name": "ring", "num_samples": 256},
        "train": {"steps": 4, "batch_size": 32, "progress": False, "tensorboard": False, "sample_every": 0, "checkpoint_every": 0},
    }
    run = tmp_path / "gan"
    assert gan("run", write_config(plain), "--output", run).exit_code == 0
    assert not (run / "mutations.png").exists(), "only an egan run draws the plot"
    out = egan_command("plot", run)
    assert out.exit_code == 2 and "not an egan run" in out.output and "Traceback" not in out.output
    out = egan_command("plot", tmp_path / "nowhere")
    assert out.exit_code == 2 and "no metrics.jsonl" in out.output


def test_finish_draws_the_plot_on_the_main_process_once_the_run_has_logged(make_run, tiny_ring):
    run = make_run(tiny_ring)
    algorithm = run.algorithm
    algorithm.finish(run, "interrupted")  # stopped before its first record: nothing to draw, and no error
    assert not (run.run_dir / PLOT_NAME).exists()
    for step in (1, 2):
        logs = algorithm.train_step(run.next_batch(), step)
        run.log({"step": step, **{k: float(v) for k, v in logs.items()}})
    # Another process of the same run draws nothing: the main one does.
    algorithm.finish(SimpleNamespace(is_main_process=False, run_dir=run.run_dir), "completed")
    assert not (run.run_dir / PLOT_NAME).exists()
    algorithm.finish(run, "completed")
    assert (run.run_dir / PLOT_NAME).stat().st_size > 5000
    _, _, overall = read_shares(run.run_dir)
    assert sum(overall.values()) == pytest.approx(1.0) and set(overall) == set(algorithm.mutation_names)
