"""The card's story from wheels, with no network: ``pip install --find-links dist gan-bgan`` pulls gancore
from ``dist/`` as its dependency; then ``gan plugins`` lists bgan and ``gan run --plugin bgan --steps 5`` works.

The wheels are built as ``make dist`` builds them (the venv's setuptools, no build isolation), from copies
of the sources so the checkout gets no build/ folders. The new environment borrows torch & co. from this one
(a .pth file of links), never gancore or a plugin: pip must find those in dist/.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from gancore.testing import borrowing_venv, run_checked

ROOT = Path(__file__).resolve().parents[1]


def test_the_makefile_builds_gancore_and_every_plugin():
    makefile = (ROOT / "Makefile").read_text()
    (recipe,) = re.findall(r"^dist:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert "-m build --no-isolation --outdir dist ." in recipe and "$(foreach p,$(PLUGINS)" in recipe


@pytest.mark.parametrize("pyproject", ["pyproject.toml", "plugins/gan-wgan/pyproject.toml", "plugins/gan-bgan/pyproject.toml"])
def test_license_metadata_is_in_the_current_form(pyproject):
    import tomllib

    project = tomllib.loads((ROOT / pyproject).read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / pyproject).parent.joinpath("LICENSE").is_file()


@pytest.mark.slow
def test_pip_install_find_links_dist_gan_bgan_in_a_fresh_environment(tmp_path):
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "tests", "runs")
    shutil.copytree(ROOT / "gancore", src / "gancore" / "gancore", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / "gancore" / name)
    shutil.copytree(ROOT / "plugins" / "gan-bgan", src / "gan-bgan", ignore=ignore)
    dist = tmp_path / "dist"
    built = run_checked([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist,
                  src / "gancore", src / "gan-bgan"], timeout=300)
    assert "deprecated" not in built.stdout + built.stderr, "packaging metadata prints deprecation warnings"
    assert sorted(p.name.split("-")[0] for p in dist.glob("*.whl")) == ["gan_bgan", "gancore"]

    fresh = borrowing_venv(tmp_path / "fresh")
    python, site, env = fresh.python, fresh.site, fresh.env
    venv = python.parents[1]
    # The user's command: dependencies resolved, gancore found only in dist/.
    installed = run_checked([sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--find-links", dist, "gan-bgan"], timeout=300)
    assert re.search(r"Successfully installed .*gan-bgan-0\.1\.0.*gancore-0\.1\.0|Successfully installed .*gancore-0\.1\.0.*gan-bgan", installed.stdout), installed.stdout

    where = run_checked([python, "-c", "import gancore, gan_bgan; print(gancore.__file__); print(gan_bgan.__file__)"], timeout=60, cwd=tmp_path, env=env)
    assert all(line.startswith(str(site)) for line in where.stdout.split()), where.stdout

    gan = venv / "bin" / "gan"
    report = json.loads(run_checked([gan, "plugins", "--json"], timeout=120, cwd=tmp_path, env=env).stdout)
    found = {p["name"]: p for p in report["plugins"]}
    assert found["bgan"]["distribution"] == "gan-bgan" and "bgan" in found["bgan"]["registered"]["algorithms"]
    assert set(found) == {"gan", "datasets", "metrics", "tools", "threads", "bgan"} and not report["broken"], report
    run_checked([gan, "run", "--plugin", "bgan", "--steps", 5, "--output", tmp_path / "run", "--set", "train.progress=false"], timeout=300, cwd=tmp_path, env=env)
    assert (tmp_path / "run" / "checkpoints" / "step-000005").is_dir()
