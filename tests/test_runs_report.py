"""``run.json`` (kept by the builtin tools plugin's lifecycle hooks), ``gan runs`` and ``gan report``."""

from __future__ import annotations

import base64
import copy
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gancore import GANAlgorithm, hookimpl
from gancore.registry import Algorithm

from .conftest import TINY_RING

PNG = b"\x89PNG\r\n\x1a\n"


def _ring(**train):
    config = copy.deepcopy(TINY_RING)
    config["train"].update(train)
    config["eval"] = {"metrics": [{"name": "mode-coverage", "num_samples": 200}]}
    return config


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One completed run of 20 steps (grids every 5, an evaluation at 10 and 20), shared by the tests below."""
    from click.testing import CliRunner

    from gancore import plugins
    from gancore.cli import cli

    root = tmp_path_factory.mktemp("runs")
    plugins.reset_host()
    path = root / "ring.yaml"
    import yaml

    path.write_text(yaml.safe_dump(_ring(sample_every=5, eval_every=10)))
    result = CliRunner().invoke(cli, ["run", str(path), "--output", str(root / "ring")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    plugins.reset_host()
    return root / "ring"


def test_run_json_records_status_steps_and_times(finished):
    record = json.loads((finished / "run.json").read_text())
    assert record["status"] == "completed" and record["step"] == 20 and record["planned_steps"] == 20
    (session,) = record["sessions"]
    assert session["from_step"] == 0 and session["to_step"] == 20 and session["status"] == "completed"
    assert session["wall_seconds"] > 0 and session["cpu_seconds"] > 0 and not session["resumed"]


def test_a_resumed_run_adds_a_session(gan, write_config, tmp_path):
    path = write_config(_ring(steps=10, checkpoint_every=5))
    assert gan("run", path, "--output", tmp_path / "r", "--steps", 5).exit_code == 0
    assert json.loads((tmp_path / "r" / "run.json").read_text())["planned_steps"] == 5
    out = gan("run", path, "--output", tmp_path / "r", "--resume")
    assert out.exit_code == 0, out.output
    record = json.loads((tmp_path / "r" / "run.json").read_text())
    assert [(s["from_step"], s["to_step"], s["resumed"]) for s in record["sessions"]] == [(0, 5, False), (5, 10, True)]
    assert record["status"] == "completed" and record["step"] == 10


class Failing(GANAlgorithm):
    def __init__(self, config, ctx):
        super().__init__(config, ctx)

    def train_step(self, batch, step):
        raise RuntimeError("the family has a bug")


class Stopper:
    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        if step == 3:
            run.should_stop = True


def test_gan_runs_lists_completed_interrupted_and_failed_runs(gan, write_config, inline_plugin, finished, tmp_path):
    import shutil

    root = tmp_path / "runs"
    shutil.copytree(finished, root / "ring")
    inline_plugin(Stopper(), "stopper")
    assert gan("run", write_config(_ring()), "--output", root / "stopped").exit_code == 0
    inline_plugin(type("P", (), {"gan_register_algorithms": hookimpl(lambda self, register: register(
        Algorithm("failing", Failing, description="fails", defaults={"data": {"name": "ring"}})))})(), "failing")
    with pytest.raises(RuntimeError, match="has a bug"):
        gan("run", "--plugin", "failing", "--output", root / "nested" / "failed", "--set", "train.progress=false")
    # A run folder from before run.json: its status comes from its checkpoints.
    shutil.copytree(finished, root / "old")
    (root / "old" / "run.json").unlink()

    out = gan("runs", root, "--json")
    assert out.exit_code == 0, out.output
    runs = {r["path"]: r for r in json.loads(out.output)}
    assert set(runs) == {"ring", "stopped", "nested/failed", "old"}
    assert (runs["ring"]["status"], runs["ring"]["step"], runs["ring"]["planned_steps"]) == ("completed", 20, 20)
    assert runs["ring"]["plugin"] == "gan" and runs["ring"]["dataset"] == "ring" and runs["ring"]["size_bytes"] > 0
    assert runs["ring"]["metrics"]["mode-coverage/modes"] >= 0 and "loss_d" in runs["ring"]["losses"]
    assert (runs["stopped"]["status"], runs["stopped"]["step"]) == ("interrupted", 3)
    assert (runs["nested/failed"]["status"], runs["nested/failed"]["plugin"]) == ("failed", "failing")
    assert (runs["old"]["status"], runs["old"]["step"]) == ("completed", 20)

    table = gan("runs", root).output.splitlines()
    assert table[0].split()[:6] == ["run", "plugin", "algorithm", "data", "steps", "status"]
    assert any(line.startswith("ring ") and "20/20" in line and "completed" in line and "mode-coverage/" in line for line in table)
    assert gan("runs", tmp_path / "nowhere").exit_code == 2


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.headings, self._in_h2 = [], [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        elif tag == "a":
            self.links.append(attrs["href"])
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def test_gan_report_writes_one_page_whose_images_all_exist(gan, finished, tmp_path):
    out = gan("report", finished)
    assert out.exit_code == 0, out.output
    page = finished / "report.html"
    text = page.read_text()
    parser = _Page()
    parser.feed(text)
    assert parser.headings == ["Timings", "Last values", "Curves", "Samples over time", "Checkpoints", "Resolved config"]
    grids = sorted(p.name for p in (finished / "samples").glob("step-*.png"))
    assert grids == [f"step-{s:06d}.png" for s in (5, 10, 15, 20)]
    # Every picture is embedded (a page that can be mailed) and is a real PNG; every link points at a file.
    assert len(parser.images) == 3 + len(grids)  # losses, metrics, speed, and one image per grid
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
    assert [Path(link).name for link in parser.links] == grids
    assert all((page.parent / link).is_file() for link in parser.links)
    assert "mode-coverage/modes" in text and "loss_d" in text and "session 1" in text and "plugin: gan" in text

    elsewhere = tmp_path / "pages" / "ring.html"
    assert gan("report", finished, "-o", elsewhere, "--max-grids", 2).exit_code == 0
    moved = _Page()
    moved.feed(elsewhere.read_text())
    assert [Path(link).name for link in moved.links] == ["step-000005.png", "step-000020.png"]
    assert all((elsewhere.parent / link).resolve().is_file() for link in moved.links)
    assert gan("report", tmp_path).exit_code == 2
