"""``gan cyclegan translate``: folders and .npy files in, PNGs and an index.html of input | output pairs out."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def run(gan, write_config, tiny_digits, tmp_path):
    tiny_digits["train"].update(steps=2, checkpoint_every=0, ema_decay=0.9)
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "run")
    assert out.exit_code == 0, out.output
    return tmp_path / "run"


def _folder(path, count: int, mode: str):
    rng = np.random.default_rng(0)
    (path / "sub").mkdir(parents=True)
    for i in range(count):
        shape = (10, 12) if mode == "L" else (10, 12, 3)  # not square and not 8x8: cropped and resized
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(path / ("sub" if i % 2 else ".") / f"{i}.png")
    return path


def _linked(page: str) -> set[str]:
    return set(re.findall(r'src="([^"]+)"', page))


def test_translate_round_trips_a_folder_and_its_page_links_every_image(gan_cli, run, tmp_path):
    src = _folder(tmp_path / "grey", 5, "RGB")
    out = gan_cli("cyclegan", "translate", run, src, tmp_path / "b", "--direction", "a2b")
    assert out.exit_code == 0, out.output
    assert "translated 5 images a2b" in out.output
    names = sorted(p.stem for p in (tmp_path / "b" / "outputs").glob("*.png"))
    assert names == ["0", "2", "4", "sub__1", "sub__3"]
    page = (tmp_path / "b" / "index.html").read_text()
    assert _linked(page) == {f"{kind}/{n}.png" for kind in ("inputs", "outputs") for n in names}
    assert all((tmp_path / "b" / link).is_file() for link in _linked(page))
    with Image.open(tmp_path / "b" / "outputs" / "0.png") as image:
        assert image.size == (8, 8) and image.mode == "RGB"

    # ... and back: the outputs of a2b, translated b2a with the live generator.
    back = gan_cli("cyclegan", "translate", run, tmp_path / "b" / "outputs", tmp_path / "a", "--direction", "b2a", "--weights", "live")
    assert back.exit_code == 0, back.output
    assert sorted(p.stem for p in (tmp_path / "a" / "outputs").glob("*.png")) == names
    assert len(_linked((tmp_path / "a" / "index.html").read_text())) == 10


def test_translate_a_npy_file(gan, gan_cli, run, tmp_path):
    samples = tmp_path / "samples.npy"
    assert gan("sample", run, "-n", 6, "-o", samples).exit_code == 0  # G(a): images of domain B
    out = gan_cli("cyclegan", "translate", run, samples, tmp_path / "t", "--direction", "b2a")
    assert out.exit_code == 0, out.output
    translated = np.load(tmp_path / "t" / "translated.npy")
    assert translated.shape == (6, 3, 8, 8) and np.abs(translated).max() <= 1
    assert len(list((tmp_path / "t" / "outputs").glob("*.png"))) == 6


def test_bad_input_is_one_clear_message_and_exit_2(gan, gan_cli, run, write_config, tmp_path):
    def fails(*args, expect):
        out = gan_cli("cyclegan", "translate", *args)
        assert out.exit_code == 2, out.output
        assert expect in out.output and "Traceback" not in out.output

    fails(run, tmp_path / "missing", tmp_path / "d", "--direction", "a2b", expect="does not exist")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    fails(run, tmp_path / "empty", tmp_path / "d", "--direction", "a2b", expect="no images")
    fails(run, tmp_path / "empty", tmp_path / "d", "--direction", "a2c", expect="'a2c' is not one of 'a2b', 'b2a'")
    fails(tmp_path / "nothing", tmp_path / "empty", tmp_path / "d", "--direction", "a2b", expect="does not exist")
    np.save(tmp_path / "bad.npy", np.zeros((2, 1, 8, 8), dtype=np.float32))
    fails(run, tmp_path / "bad.npy", tmp_path / "d", "--direction", "a2b", expect="(N, 3, H, W)")

    plain = {"plugin": "gan", "data": {"name": "digits"}, "train": {"steps": 1, "progress": False, "tensorboard": False}}
    assert gan("run", write_config(plain, "gan.yaml"), "--output", tmp_path / "gan-run").exit_code == 0
    src = _folder(tmp_path / "imgs", 1, "L")
    fails(tmp_path / "gan-run", src, tmp_path / "d", "--direction", "a2b", expect="not a CycleGAN")


def test_gan_cyclegan_translate_is_a_gan_command(tmp_path):
    # The real entry point: `gan` loads the plugin's commands through gan_register_commands.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("GANCORE_DISABLE_PLUGINS", None)
    result = subprocess.run(
        [sys.executable, "-m", "gancore.cli", "cyclegan", "translate", tmp_path / "run", tmp_path / "missing", tmp_path / "d", "--direction", "a2b"],
        capture_output=True, text=True, env=env, timeout=240,
    )
    assert result.returncode == 2, result.stderr
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
