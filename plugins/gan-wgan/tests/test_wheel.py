"""Installing the wheels is enough: no source tree, no editable install.

Builds the wheels of gancore and gan-wgan from copies of their sources (so the
checkout gets no build/ folders), installs them into a new virtual
environment that borrows torch and the other third-party packages from the
current one (but not gancore or any plugin), and runs ``gan`` from there.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from gancore.testing import borrowing_venv, run_checked

PLUGIN = Path(__file__).resolve().parents[1]
ROOT = PLUGIN.parents[1]
@pytest.mark.slow
def test_wheels_install_and_run_in_a_fresh_virtual_environment(tmp_path):
    # Build both wheels offline, from copies of the sources.
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "tests", "runs")
    shutil.copytree(ROOT / "gancore", src / "gancore" / "gancore", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / "gancore" / name)
    shutil.copytree(PLUGIN, src / "gan-wgan", ignore=ignore)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    run_checked([*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, src / "gancore", src / "gan-wgan"], timeout=120)
    built = sorted(p.name for p in wheels.glob("*.whl"))
    assert [n.split("-")[0] for n in built] == ["gan_wgan", "gancore"], built

    # A new environment: the wheels, plus links to torch & co. found through a .pth file.
    fresh = borrowing_venv(tmp_path / "fresh")
    python, site, env = fresh.python, fresh.site, fresh.env
    venv = python.parents[1]
    run_checked([*pip, "--python", python, "install", "--quiet", "--no-deps", "--no-index", *wheels.glob("*.whl")], timeout=120)

    where = run_checked([python, "-c", "import gancore, gan_wgan; print(gancore.__file__); print(gan_wgan.__file__)"], timeout=60, cwd=tmp_path, env=env)
    assert all(line.startswith(str(site)) for line in where.stdout.split()), f"imported from outside the new environment: {where.stdout}"

    gan = venv / "bin" / "gan"
    report = json.loads(run_checked([gan, "plugins", "--json"], timeout=60, cwd=tmp_path, env=env).stdout)
    found = {p["name"]: p for p in report["plugins"]}
    assert found["wgan"]["distribution"] == "gan-wgan"
    assert found["wgan"]["registered"]["algorithms"] == ["wgan", "wgan-gp"]
    assert not report["broken"], report["broken"]

    tiny = ["algorithm.generator.base_channels=8", "algorithm.critic.base_channels=8", "train.batch_size=16", "train.progress=false",
            "train.tensorboard=false", "train.sample_every=0", "train.checkpoint_every=0"]
    sets = [item for o in tiny for item in ("--set", o)]
    run_checked([gan, "run", "--plugin", "wgan", "--steps", 20, "--output", tmp_path / "run", *sets], timeout=120, cwd=tmp_path, env=env)
    assert (tmp_path / "run" / "checkpoints" / "step-000020").is_dir()
    assert (tmp_path / "run" / "samples" / "step-000020.png").is_file()
