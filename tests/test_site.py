"""The documentation site and the front page.

* The site builds offline with ``mkdocs build --strict`` (a broken link, anchor or a page missing from the nav
  fails), and its generated references hold every option of every command and of every config model.
* The getting-started tour runs, in order, in a fresh folder, with fewer steps than the page shows; the README's
  tour is part of it.
* A number that links to a benchmark section is in that section; the README says what CI runs.
* (slow) ``pip install gan-bgan`` by name from a package index served on 127.0.0.1, into a fresh environment.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import typing
from pathlib import Path

import click
import pytest
from pydantic import BaseModel

from gancore.testing import borrowing_venv, run_checked

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "getting-started.md"


def load_gen():
    spec = importlib.util.spec_from_file_location("docs_gen", ROOT / "docs" / "gen.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_gen()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """docs/gen.py and `mkdocs build --strict` into a temporary folder, with every network connection refused."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    folder = tmp_path_factory.mktemp("site")
    connect = socket.socket.connect

    def offline(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"the docs build tried to reach {address}")
        return connect(self, address)

    socket.socket.connect = offline
    try:
        gen.generate(folder / "docs")
        build(load_config(str(ROOT / "mkdocs.yml"), docs_dir=str(folder / "docs"), site_dir=str(folder / "site"), strict=True))
    finally:
        socket.socket.connect = connect
    return folder / "site"


def ids(page: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page.read_text()))


def words(text: str) -> str:
    """Text as a reader sees it: tags and Markdown's backticks gone, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).replace("`", "").split())


# ------------------------------------------------------------------ the references


def test_the_site_has_every_page_of_the_nav(site):
    for page in ("index", "getting-started", "concepts", "writing-plugins", "installing-plugins", "gpus", "reference/cli",
                 "reference/config", "benchmarks/index", "benchmarks/results/cyclegan", *(f"families/{f}" for f in gen.families())):
        assert (site / f"{page}.html").is_file(), page
    # writing-plugins.md is included as it is: every heading of it is on its page.
    built = (site / "writing-plugins.html").read_text()
    for heading in re.findall(r"^## (.+)$", (ROOT / "docs" / "writing-plugins.md").read_text(), re.M):
        assert html.escape(re.sub(r"`", "", heading), quote=False) in re.sub(r"</?code>", "", built), heading


def cli_expectations():
    from gancore.plugins import reset_host

    reset_host()
    cli, _ = gen.load_cli()
    for path, command in gen.walk_commands(cli, ["gan"]):
        yield path, command, [p for p in command.get_params(click.Context(command)) if "--help" not in getattr(p, "opts", ())]


def test_every_command_and_option_is_in_the_cli_reference(site):
    page = site / "reference" / "cli.html"
    found, text = ids(page), words(page.read_text())
    commands = list(cli_expectations())
    names = {" ".join(path) for path, _, _ in commands}
    assert {"gan run", "gan eval", "gan bgan quantize", "gan cyclegan translate", "gan progressive schedule", "gan egan plot"} <= names
    for path, command, params in commands:
        assert gen.cli_id(path) in found, path
        for param in params:
            assert gen.cli_id(path, param.name) in found, (path, param.name)
            if getattr(param, "help", None):
                assert " ".join(param.help.replace("`", "").split())[:40] in text, (path, param.name)


def fields(model: type[BaseModel], prefix: str = "", expand: bool = True):
    """Every field of a config model, and of the plain pydantic sections inside it (not registry references)."""
    from gancore.registry import Ref

    for name, field in model.model_fields.items():
        yield f"{prefix}{name}", field
        stack = [field.annotation] if expand else []
        while stack:
            a = stack.pop()
            if isinstance(a, type) and issubclass(a, BaseModel) and not issubclass(a, Ref) and a is not model:
                yield from fields(a, f"{prefix}{name}.")
            else:
                stack += [x for x in typing.get_args(a) if x is not Ellipsis]


def test_every_config_option_is_in_the_config_reference_with_its_description(site):
    from gancore.config import EvalConfig, RunConfig, TrainConfig
    from gancore.plugins import get_host, reset_host

    page = site / "reference" / "config.html"
    found, text = ids(page), words(page.read_text())
    reset_host()
    models = [("run", RunConfig), ("train", TrainConfig), ("eval", EvalConfig)]
    registry = get_host().registry
    for kind, table in registry.entries.items():
        assert table, kind
        models += [(f"{kind}-{name}", entry.config) for name, entry in table.items()]
    assert len(models) > 60
    count = 0
    for scope, model in models:
        assert gen.config_id(scope) in found, scope
        for key, field in fields(model, expand=scope != "run"):  # the run file's train and eval have their own tables
            count += 1
            assert gen.config_id(scope, key) in found, (scope, key)
            if field.description:
                assert " ".join(field.description.replace("`", "").split())[:50] in text, (scope, key)
    assert count > 400


# ------------------------------------------------------------------ the tour


# The tour of docs/getting-started.md, in its order, and what the test adds to each command to keep it short.
FAST = ["--set", "train.sample_every=0", "--set", "train.checkpoint_every=0", "--set", "train.progress=false", "--set", "train.tensorboard=false"]
TOUR = [
    (". .venv/bin/activate", None),
    ("gan plugins", []),
    ("gan list datasets", []),
    ("gan config --plugin gan > my.yaml", []),
    ("gan run --plugin gan my.yaml --set train.steps=500 --output runs/mine", ["--set", "train.steps=6", *FAST]),
    ("gan sample runs/mine -n 64 -o grid.png", []),
    ("gan eval runs/mine --metric fid --metric kid -n 1000", ["-n", "200"]),
    ("gan run --output runs/mine --resume --steps 1000", ["--steps", "12"]),
    ("gan runs", []),
    ("gan report runs/mine", []),
    ("gan run examples/gan-ring.yaml --output runs/ring", ["--steps", "40", *FAST]),
    ("gan eval runs/ring --metric mode-coverage", []),
    ("gan run examples/biggan-mnist5k.yaml --output runs/cond --steps 300", ["--steps", "3", *FAST, "--set", "eval.metrics=[]"]),
    ("gan sample runs/cond --classes 0-9 -n 10 -o rows.png --truncation 1.0", []),
]


def console_lines(path: Path) -> list[str]:
    blocks = re.findall(r"^```console\n(.*?)^```$", path.read_text(), re.S | re.M)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_the_tour_is_the_one_this_test_runs():
    assert console_lines(GUIDE) == [line for line, _ in TOUR]
    readme = console_lines(ROOT / "README.md")
    tour = [line for line, _ in TOUR]
    assert readme and all(line in tour for line in readme), "the README's tour is part of the getting-started tour"
    assert [tour.index(line) for line in readme] == sorted(tour.index(line) for line in readme), "in the same order"


def test_the_getting_started_tour_runs_in_order_in_a_fresh_folder(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("GANCORE_LOAD_PLUGINS", None)
    env.pop("GANCORE_DISABLE_PLUGINS", None)
    out = {}
    for line, extra in TOUR:
        if extra is None:  # the shell's own state (activate): the test's PATH already has gan
            continue
        command = f"{line} {shlex.join(extra)}" if extra else line
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        out[line] = done.stdout + done.stderr
    assert "bgan" in out["gan plugins"] and "mnist5k" in out["gan list datasets"]
    assert "algorithm:" in (tmp_path / "my.yaml").read_text()
    assert "kid" in out["gan eval runs/mine --metric fid --metric kid -n 1000"]
    assert (tmp_path / "grid.png").stat().st_size > 0 and (tmp_path / "rows.png").stat().st_size > 0
    assert (tmp_path / "runs" / "mine" / "checkpoints" / "step-000012").is_dir(), "the resume reached its steps"
    assert re.search(r"^mine .*completed", out["gan runs"], re.M) and (tmp_path / "runs" / "mine" / "report.html").is_file()
    assert "mode-coverage" in out["gan eval runs/ring --metric mode-coverage"]


# ------------------------------------------------------------------ numbers and the front page


def numbers_in(text: str) -> list[str]:
    return re.findall(r"\d+(?:[.,]\d+)*", re.sub(r"`[^`]*`", "", text))


def linked_numbers(path: Path):
    """(number, results file, anchor) for every number in the text of a link to a benchmark section."""
    text = path.read_text()
    for label, target in re.findall(r"\[([^\]]*)\]\(([^)\s]*benchmarks/results/[\w.-]+\.md#[\w-]+|results/[\w.-]+\.md#[\w-]+)\)", text):
        file, anchor = re.search(r"results/([\w.-]+\.md)#([\w-]+)$", target).groups()
        for number in numbers_in(label):
            yield number, file, anchor


def section_text(file: str, anchor: str) -> str:
    spec = importlib.util.spec_from_file_location("benchmark_results_for_site", ROOT / "benchmarks" / "results.py")
    results = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(results)
    text = (ROOT / "benchmarks" / "results" / file).read_text()
    for title in re.findall(r"^## (.+)$", text, re.M):
        if results.anchor(title) == anchor:
            start = text.index(f"## {title}\n")
            end = text.find("\n## ", start + 1)
            return text[start : end if end > 0 else None]
    raise AssertionError(f"no section #{anchor} in benchmarks/results/{file}")


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "plugins").glob("gan-*/README.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_number_that_links_to_a_benchmark_section_is_in_it(page):
    for number, file, anchor in linked_numbers(page):
        assert number.replace(",", "") in section_text(file, anchor).replace(",", ""), f"{page.name}: {number} is not in {file}#{anchor}"


def test_the_readme_is_a_front_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 130
    assert len(list(linked_numbers(ROOT / "README.md"))) >= 10
    for family in gen.families().values():
        assert family["readme"] in text, f"the README links {family['readme']}"


def test_ci_runs_the_readmes_test_commands():
    """.ci/run installs and builds the docs as the README says, then runs the README's own pytest commands,
    which are also what `make test` and `make test-slow` run."""
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    readme = (ROOT / "README.md").read_text()
    commands = [line.split("#")[0].strip() for line in readme.splitlines() if line.startswith("    .venv/bin/python -m pytest")]
    assert commands == ['.venv/bin/python -m pytest -n auto -q -m "not slow"', ".venv/bin/python -m pytest -n auto -q -m slow"]
    assert ci[-2:] == commands and "make install" in ci and "make docs" in ci, ci
    assert "runs after `make install` and `make docs`" in " ".join(readme.split())
    makefile = (ROOT / "Makefile").read_text()
    assert "VENV ?= .venv" in makefile and "PY := $(VENV)/bin/python" in makefile
    assert re.search(r'^test: install\n\t\$\(PY\) -m pytest -n auto -q -m "not slow"$', makefile, re.M)
    assert re.search(r"^test-slow: install\n\t\$\(PY\) -m pytest -n auto -q -m slow$", makefile, re.M)


@pytest.mark.parametrize("readme", sorted((ROOT / "plugins").glob("gan-*/README.md")) + [ROOT / "docs" / "families" / "gan.md"],
                         ids=lambda p: p.parent.name)
def test_every_family_page_has_results_with_links_and_its_known_limits(readme):
    text = readme.read_text()
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert "Results" in headings and "Known limits" in headings, headings
    results = text[text.index("## Results") :]
    results = results[: results.find("\n## ", 5)]
    assert re.search(r"\]\([./]*benchmarks/results/\w+\.md#", results), "the results link their benchmark sections"
    assert "benchmarks/RESULTS.md)" not in text or "#" in text, "links go to a section"


# ------------------------------------------------------------------ a package index (slow)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_pip_install_gan_bgan_by_name_from_a_local_package_index(tmp_path):
    """docs/installing-plugins.md, "Your team's own package index": wheels, `make index`, a web server on
    127.0.0.1, `pip install --index-url ... gan-bgan` into a fresh environment, then a few steps of training."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "tests", "runs")
    shutil.copytree(ROOT / "gancore", src / "gancore" / "gancore", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / "gancore" / name)
    for plugin in ("gan-bgan", "gan-cyclegan"):
        shutil.copytree(ROOT / "plugins" / plugin, src / plugin, ignore=ignore)
    dist = tmp_path / "dist"
    built = run_checked([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-v", "-w", dist,
                         src / "gancore", src / "gan-bgan", src / "gan-cyclegan"], timeout=600)
    assert "is absent from the `packages` configuration" not in built.stdout + built.stderr, "setuptools warns about a package"
    index = tmp_path / "index"
    run_checked(["make", "-s", "index", f"DIST={dist}", f"INDEX={index}"], timeout=60, cwd=ROOT)
    assert sorted(p.name for p in (index / "simple").iterdir()) == ["gan-bgan", "gan-cyclegan", "gancore"]

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", index, str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        fresh = borrowing_venv(tmp_path / "fresh")
        url = f"http://127.0.0.1:{port}/simple/"
        # Only this index: no pip.conf, no find-links or extra index from the environment.
        env = {k: v for k, v in fresh.env.items() if not k.startswith(("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"))}
        installed = run_checked([sys.executable, "-m", "pip", "--python", fresh.python, "install", "--index-url", url, "gan-bgan"],
                                timeout=600, env={**env, "PIP_CONFIG_FILE": os.devnull})
        assert f"Looking in indexes: {url}" in installed.stdout, installed.stdout
        assert re.search(r"Successfully installed .*gan-bgan-0\.1\.0", installed.stdout) and "gancore-0.1.0" in installed.stdout, installed.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)

    gan = fresh.python.parent / "gan"
    where = run_checked([fresh.python, "-c", "import gancore, gan_bgan; print(gancore.__file__, gan_bgan.__file__)"], timeout=60,
                        cwd=tmp_path, env=fresh.env)
    assert all(path.startswith(str(fresh.site)) for path in where.stdout.split()), where.stdout
    example = ROOT / "plugins" / "gan-bgan" / "examples" / "bgan-binary-digits.yaml"
    run_checked([gan, "run", "--plugin", "bgan", example, "--steps", 5, "--output", tmp_path / "run",
                 "--set", "train.progress=false", "--set", "train.tensorboard=false"], timeout=300, cwd=tmp_path, env=fresh.env)
    assert (tmp_path / "run" / "checkpoints" / "step-000005").is_dir()


def test_descriptions_are_plain_text_outside_code_spans():
    """A description's ``2**31``, ``{name: x}`` or ``<path>`` is shown as written, not as bold, attributes or a tag."""
    import markdown

    page = markdown.markdown(gen.escape("0 <= seed < 2**31 (numpy: below 2**32); {name: x} in <path>; `a**b {c}`"),
                             extensions=["attr_list"])
    assert "<strong>" not in page and "<path>" not in page
    assert "2**31" in html.unescape(re.sub("<[^>]+>", "", page)) and "{name: x}" in html.unescape(page)
    assert "<code>a**b {c}</code>" in page
