"""The hook specs are the reference manual: each documents exactly its parameters, its return, and an
example that is valid Python; and each hook is implemented or called in at least one test that runs it.

(``tests/test_hooks.py`` holds a ``test_hook_<name>`` per hook; this file checks the documentation is
exact, not only present, and looks for the calls in every test of the repository.)
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import textwrap
from pathlib import Path

import pytest

from gancore import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = {name: fn for name, fn in vars(hookspecs).items() if name.startswith("gan_") and callable(fn)}


def _example(doc: str) -> str:
    """The indented block after ``Example::``."""
    after = doc.split("Example::", 1)[1]
    lines = []
    for line in after.splitlines()[1:]:
        if line.strip() and not line.startswith((" ", "\t")):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip()


def test_the_hooks_are_the_ones_the_design_names():
    assert sorted(HOOKS) == sorted([
        "gan_register_algorithms", "gan_register_models", "gan_register_losses", "gan_register_datasets",
        "gan_register_metrics", "gan_register_features", "gan_register_transforms", "gan_register_commands",
        "gan_train_start", "gan_train_step_end", "gan_eval_end", "gan_train_end",
    ])


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_each_hook_documents_exactly_its_parameters_and_return(name):
    fn = HOOKS[name]
    doc = inspect.getdoc(fn) or ""
    documented = re.findall(r":param (\w+):", doc)
    assert documented == list(inspect.signature(fn).parameters), f"{name}: :param: lines {documented} do not match its signature"
    assert doc.count(":return:") == 1, f"{name} needs one :return:"
    assert inspect.signature(fn).return_annotation in (None, "None"), f"{name}: hooks return nothing"
    assert doc.splitlines()[0].endswith("."), f"{name}: the first line is a sentence"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_each_hook_has_an_example_that_is_python_and_implements_it(name):
    doc = inspect.getdoc(HOOKS[name]) or ""
    assert "Example::" in doc, f"{name} has no Example"
    example = _example(doc)
    tree = ast.parse(example)  # a SyntaxError here is an example that cannot be copied
    implemented = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == name]
    assert implemented, f"{name}'s example does not implement {name}"
    (fn,) = implemented
    assert any(isinstance(d, ast.Name) and d.id == "hookimpl" for d in fn.decorator_list), f"{name}'s example lacks @hookimpl"
    spec = list(inspect.signature(HOOKS[name]).parameters)
    args = [a.arg for a in fn.args.args]
    assert args == spec[: len(args)], f"{name}'s example takes {args}, the spec {spec}"


@functools.cache
def _exercised() -> dict[str, list[str]]:
    """Hook name -> test files that implement it (so gancore calls it) or call it directly."""
    found: dict[str, list[str]] = {name: [] for name in HOOKS}
    for path in sorted([*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("plugins/*/tests/**/test_*.py")]):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.Call):
                names.add(getattr(node.func, "attr", getattr(node.func, "id", None)))
        for name in names & set(HOOKS):
            found[name].append(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_each_hook_is_exercised_by_a_test(name):
    """A test implements it (and so gets called by gancore) or calls it directly."""
    assert _exercised()[name], f"no test implements or calls {name}"
