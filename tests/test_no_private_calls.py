"""Nothing outside gancore/ reaches into a run's or gancore's private code (issue 27).

The benchmarks, the plugins (code and tests) and the examples use a trained run through ``gancore.Run``'s public
methods (``Run.from_checkpoint``, ``sampling()``, ``generate``, ``evaluate``, ``next_batch``, ``data``,
``algorithm``) and gancore through its public names. Each Python file is read as code (its syntax tree, and the
code held in its strings, such as a child process's script), so comments and prose do not count, and a file's
own private names (``self._x`` of its own classes, its own ``_helper``) are its business. Flagged, with file:line:

* ``X._name`` where ``X`` names a run or a trainer (``run``, ``trainer``, ``self.run``, ``dcgan_run``, ``Run``...);
* ``X._name`` on any object where ``_name`` is a private member of ``gancore.run.Run``, of the loop
  (``gancore.trainer``), or of the removed ``Trainer`` (``_sampling``, ``_next_batch``, ``_loop``...), unless the
  file defines ``_name`` itself and ``X`` is ``self``/``cls``;
* a private name of a gancore module: ``from gancore.x import _y``, ``gancore.x._y``, ``alias._y`` for a module
  alias, ``from gancore.trainer import _Loop``;
* ``load_trainer`` and ``get_registry`` (removed: ``Run.from_checkpoint``, ``get_host().registry``), in code
  and, for files that are not Python (the examples' configs), anywhere in the text.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_PARTS = {"build", "dist", "__pycache__", ".venv", "_work"}

REMOVED = {"load_trainer": "Run.from_checkpoint", "get_registry": "get_host().registry"}
# Private members of the Trainer that plugin API 3 removed (git show 88abe90:gancore/trainer.py, trainer_samples.py,
# trainer_checkpoints.py): calls of them are what the benchmarks made before.
OLD_TRAINER_PRIVATE = {
    "_after_failure", "_cadences", "_channels_last", "_choose_threads", "_clocks", "_consistent", "_data_length", "_fit", "_flush",
    "_gather_rng", "_guard", "_guard_weights", "_is_boundary", "_last_checkpoint", "_loop", "_next_batch", "_restore", "_sampling",
    "_signal", "_signals", "_stop_requested", "_threads_chosen", "_train_step", "_trackers", "_write_grid",
}  # fmt: skip
RUN_LIKE = re.compile(r"(?:^|_)(?:run|trainer)s?$", re.I)  # run, trainer, self.run, dcgan_run, Run, Trainer, runs
ALLOWED: set[tuple[str, str]] = set()  # (module, private name) pairs a file outside gancore may use: none


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def class_private_names(path: Path, class_name: str) -> set[str]:
    """Private methods and ``self._x`` attributes of class ``class_name`` in ``path``."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for inner in ast.walk(node):
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)) and private(inner.name):
                    names.add(inner.name)
                elif isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id == "self" and private(inner.attr):
                    names.add(inner.attr)
    return names


PRIVATE_MEMBERS = (
    class_private_names(ROOT / "gancore" / "run.py", "Run") | class_private_names(ROOT / "gancore" / "trainer.py", "_Loop") | OLD_TRAINER_PRIVATE
)


def files() -> list[Path]:
    found = sorted((ROOT / "benchmarks").glob("*.py"))
    for plugin in sorted((ROOT / "plugins").iterdir()):
        if plugin.is_dir():
            found += [p for p in sorted(plugin.rglob("*")) if p.is_file() and p.suffix in (".py", ".yaml", ".yml")]
    found += [p for p in sorted((ROOT / "examples").rglob("*")) if p.is_file()]
    return [p for p in found if not SKIPPED_PARTS & set(p.relative_to(ROOT).parts) and not any(part.endswith(".egg-info") for part in p.parts)]


@functools.cache
def is_gancore_module(name: str) -> bool:
    if name != "gancore" and not name.startswith("gancore."):
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def last_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):  # load_run(...)._x; Run.from_checkpoint(...)._x is Run's
        name = last_name(node.func)
        if name in ("from_checkpoint", "from_config") and isinstance(node.func, ast.Attribute):
            return last_name(node.func.value)
        return name
    return None


class Finder(ast.NodeVisitor):
    """The flagged uses in one piece of code (a file, or code held in one of its strings)."""

    def __init__(self, own_names: set[str]) -> None:
        self.own = own_names  # private names the file defines itself
        self.modules: dict[str, str] = {}  # local name -> gancore module it is bound to
        self.found: list[tuple[int, str]] = []

    def flag(self, node: ast.AST, why: str) -> None:
        self.found.append((node.lineno, why))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if is_gancore_module(alias.name):
                if alias.asname:
                    self.modules[alias.asname] = alias.name
                else:
                    self.modules.setdefault(alias.name.split(".")[0], alias.name.split(".")[0])
            if any(private(part) for part in alias.name.split(".")[1:]) and alias.name.startswith("gancore."):
                self.flag(node, f"imports gancore's private module {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            if alias.name in REMOVED:
                self.flag(node, f"imports {alias.name} (removed; use {REMOVED[alias.name]})")
            if module.split(".")[0] == "gancore":
                if private(alias.name) and (module, alias.name) not in ALLOWED:
                    self.flag(node, f"imports the private name {alias.name} of {module}")
                elif is_gancore_module(f"{module}.{alias.name}"):
                    self.modules[alias.asname or alias.name] = f"{module}.{alias.name}"

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in REMOVED:
            self.flag(node, f"uses {node.id} (removed; use {REMOVED[node.id]})")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name, receiver = node.attr, node.value
        if name in REMOVED:
            self.flag(node, f"uses {name} (removed; use {REMOVED[name]})")
        elif private(name):
            chain = dotted(receiver)
            module = self.module_of(chain)
            owner = last_name(receiver)
            if module is not None:
                if (module, name) not in ALLOWED:
                    self.flag(node, f"uses the private name {name} of {module}")
            elif owner is not None and RUN_LIKE.search(owner) and not (owner in ("self", "cls") and name in self.own):
                self.flag(node, f"reaches into a run or trainer: {chain or owner}.{name}")
            elif name in PRIVATE_MEMBERS and not (isinstance(receiver, ast.Name) and receiver.id in ("self", "cls") and name in self.own):
                self.flag(node, f"uses {name}, a private member of gancore's Run / training loop (or the removed Trainer)")
        self.generic_visit(node)

    def module_of(self, chain: str | None) -> str | None:
        """The gancore module a dotted chain names (``gancore.trainer``, ``ckpt`` bound to gancore.checkpoint)."""
        if chain is None:
            return None
        head, *rest = chain.split(".")
        if head not in self.modules:
            return None
        module = self.modules[head]
        for part in rest:
            if not is_gancore_module(f"{module}.{part}"):
                return None  # an attribute of a module (a class, a function): not a module any more
            module = f"{module}.{part}"
        return module


def own_private_names(tree: ast.AST) -> set[str]:
    """Private names a piece of code defines: functions, classes, and attributes it assigns (``self._x = ...``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and private(node.name):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and private(node.attr):
            names.add(node.attr)
    return names


def code_strings(tree: ast.AST) -> list[tuple[int, ast.AST]]:
    """(first line, syntax tree) of every string constant that is a piece of Python code with an import or a call
    (a child process's script, ``python -c`` text); prose does not parse."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value:
            try:
                inner = ast.parse(textwrap.dedent(node.value))
            except SyntaxError:
                continue
            if any(isinstance(n, (ast.Import, ast.ImportFrom, ast.Call)) for n in ast.walk(inner)):
                found.append((node.lineno, inner))
    return found


def problems(path: Path) -> list[str]:
    text = path.read_text(errors="replace")
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if path.suffix != ".py":
        return [f"{where}:{i}: names {name} (removed; use {REMOVED[name]})"
                for i, line in enumerate(text.splitlines(), 1) for name in REMOVED if re.search(rf"\b{name}\b", line)]
    tree = ast.parse(text, str(path))
    found = []
    for offset, code in [(1, tree), *code_strings(tree)]:
        finder = Finder(own_private_names(tree) | own_private_names(code))
        finder.visit(code)
        found += [f"{where}:{offset + line - 1}: {why}" for line, why in finder.found]
    return sorted(set(found), key=lambda s: (s.split(":")[0], int(s.split(":")[1])))


FILES = files()
def test_the_scan_covers_benchmarks_plugins_and_examples():
    parts = {p.relative_to(ROOT).parts[0] for p in FILES}
    assert parts == {"benchmarks", "plugins", "examples"}
    assert any(p.name == "conftest.py" for p in FILES), "plugins' tests are scanned"
    assert {"_sampling", "_next_batch", "_loop"} <= PRIVATE_MEMBERS


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_calls(path):
    found = problems(path)
    assert not found, "public API only outside gancore/ (see tests/test_no_private_calls.py):\n" + "\n".join(found)


CAUGHT = '''
import gancore.trainer
from gancore import checkpoint as ckpt
from gancore.sampling import load_trainer
from gancore.trainer import _Loop
from gancore.plugins import get_registry
from gancore import plugins

class Mine:
    def _sampling(self):
        return self._sampling

def f(trainer, run, dcgan, timed):
    trainer._sampling()
    run._anything
    dcgan._next_batch()
    timed.trainer._next_batch()
    gancore.trainer._Loop.steps
    ckpt._newest
    plugins.get_registry()
    CHILD = """
import gancore.trainer
gancore.trainer.Trainer._loop = None
"""
'''


def test_the_finder_catches_each_kind(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text(CAUGHT)
    found = problems(bad)
    lines = {int(item.split(":")[1]) for item in found}
    # load_trainer, _Loop, get_registry imports; the six uses in f; plugins.get_registry; the child script's _loop.
    assert lines == {4, 5, 6, 14, 15, 16, 17, 18, 19, 20, 23}, found
    assert not any(":10:" in item or ":11:" in item for item in found), "a file's own self._x is its business"
