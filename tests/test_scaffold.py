"""``gan new-plugin NAME``: the distribution it writes installs, passes its own tests and trains.

The end-to-end test does what the issue asks of a new plugin author, in a new
virtual environment (so the shared one never sees the plugin): ``gan
new-plugin``, ``pip install -e DIR`` (the entry point is then found through
the installed metadata, as for any user), ``pytest DIR`` and ``gan run
--plugin NAME --steps 20``. The environment borrows torch & co. from this one
and reads gancore from this checkout; nothing touches the network.
"""

from __future__ import annotations

import importlib
import json
import sys
import tomllib
from pathlib import Path

import pytest

from gancore import scaffold
from gancore.errors import UserError
from gancore.testing import borrowing_venv, check_plugin, run_checked

ROOT = Path(__file__).resolve().parents[1]


def test_new_plugin_writes_a_complete_distribution(gan, tmp_path):
    out = gan("new-plugin", "rel-gan", "--dir", tmp_path / "rel")
    assert out.exit_code == 0, out.output
    folder = tmp_path / "rel"
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert written == sorted([
        ".gitignore", "LICENSE", "README.md", "pyproject.toml", "examples/rel-gan-digits.yaml",
        *[f"gan_rel_gan/{m}.py" for m in ("__init__", "plugin", "config", "algorithm", "models")],
        "tests/conftest.py", "tests/test_plugin.py",
    ])
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    assert project["name"] == "gan-rel-gan" and project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert project["entry-points"]["gancore"] == {"rel-gan": "gan_rel_gan.plugin"}
    assert project["dependencies"] == [scaffold.gancore_range()] == ["gancore>=0.1,<0.2"]
    assert "class RelGAN(GANAlgorithm)" in (folder / "gan_rel_gan" / "algorithm.py").read_text()
    assert f"pip install -e {folder}" in out.output and "gan run --plugin rel-gan --steps 20" in out.output


def test_new_plugin_refuses_bad_names_and_a_folder_in_use(gan, tmp_path):
    for bad in ("Foo", "9lives", "my_gan", "gan-foo", "gan", "a--b"):
        with pytest.raises(UserError):
            scaffold.names(bad)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    out = gan("new-plugin", "foo", "--dir", tmp_path / "used")
    assert out.exit_code == 2 and "not empty" in out.output
    assert (tmp_path / "used" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(("version", "expected"), [("0.1.0", "gancore>=0.1,<0.2"), ("1.4.2", "gancore>=1.4,<2")])
def test_the_dependency_range_stops_at_the_next_breaking_release(version, expected):
    assert scaffold.gancore_range(version) == expected


def test_the_scaffolded_plugin_works_in_process(inline_plugin, gan, tmp_path, monkeypatch):
    """Fast check of the generated code (no install): conformance, and a short run of its own networks."""
    scaffold.write_plugin("quick", tmp_path / "quick")
    monkeypatch.syspath_prepend(str(tmp_path / "quick"))
    plugin = importlib.import_module("gan_quick.plugin")
    try:
        inline_plugin(plugin, "quick")
        check_plugin("quick")
        sets = ["algorithm.latent_dim=2", "algorithm.generator={name: quick-generator, hidden_dim: 8, num_blocks: 1}",
                "algorithm.discriminator={name: quick-discriminator, hidden_dim: 8}", "data={name: ring, num_samples: 256}",
                "train.batch_size=16", "train.progress=false", "train.tensorboard=false"]
        out = gan("run", "--plugin", "quick", "--steps", 3, "--output", tmp_path / "run", *[a for s in sets for a in ("--set", s)])
        assert out.exit_code == 0, out.output
        assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "completed"
    finally:
        for name in [m for m in sys.modules if m == "gan_quick" or m.startswith("gan_quick.")]:
            del sys.modules[name]


@pytest.mark.slow
def test_new_plugin_install_pytest_and_run_as_a_plugin_author_would(tmp_path):
    # gancore from the checkout (with its version metadata), torch & co. borrowed, no plugin at all.
    fresh = borrowing_venv(tmp_path / "fresh", extra_paths=(ROOT,), keep_gancore_metadata=True)
    python, env = fresh.python, fresh.env
    gan = [python, "-m", "gancore.cli"]

    # gan new-plugin foo && pip install -e foo
    run_checked([*gan, "new-plugin", "foo"], timeout=120, cwd=tmp_path, env=env)
    run_checked([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-e", tmp_path / "foo"],
         timeout=180, cwd=tmp_path, env=env)
    report = json.loads(run_checked([*gan, "plugins", "--json"], timeout=120, cwd=tmp_path, env=env).stdout)
    (foo,) = [p for p in report["plugins"] if p["name"] == "foo"]
    assert foo["distribution"] == "gan-foo" and foo["registered"]["algorithms"] == ["foo"]
    assert not report["broken"], report["broken"]

    # pytest foo
    run_checked([python, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", tmp_path / "foo"], timeout=600, cwd=tmp_path, env=env)

    # gan run --plugin foo --steps 20
    run_checked([*gan, "run", "--plugin", "foo", "--steps", 20, "--output", tmp_path / "run", "--set", "train.progress=false"], timeout=300, cwd=tmp_path, env=env)
    assert (tmp_path / "run" / "checkpoints" / "step-000020").is_dir()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "completed"
