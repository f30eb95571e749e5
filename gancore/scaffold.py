"""``gan new-plugin NAME``: a complete plugin distribution that works at once.

It writes::

    NAME/                          (or --dir DIR)
      pyproject.toml               the gancore entry point, gancore as a dependency with the range this core supports
      README.md  LICENSE  .gitignore
      gan_NAME/__init__.py         the quickstart (module docstring)
      gan_NAME/plugin.py           hookimpls only: what the plugin registers, and gancore_api
      gan_NAME/config.py           the algorithm's options (ModelRef / LossRef fields pick networks and losses)
      gan_NAME/algorithm.py        a small working GAN on the builtin networks: change train_step to make it yours
      gan_NAME/models.py           a network of its own (MLP generator and discriminator)
      examples/NAME-digits.yaml    a run file
      tests/                       gancore.testing: installed, conformance, a run, bit-exact resume

so that ``pip install -e gan-NAME && pytest gan-NAME && gan run --plugin NAME --steps 20`` pass.

The text of each file is a template in ``gancore/templates/new_plugin/`` (package data, so the
templates read as the files they become), with ``[[key]]`` placeholders filled from ``names``.
"""

from __future__ import annotations

import re
from datetime import date
from importlib import resources
from pathlib import Path

from . import PLUGIN_API, __version__
from .errors import UserError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
RESERVED_NAMES = ("gan", "datasets", "metrics", "tools")

# The files of a new plugin, in the order they are written and listed: the path written (with
# [[key]] placeholders) -> its template in templates/new_plugin/. The folder is flat and has no
# dot-files, which package-data globs would leave out of the wheel.
LAYOUT = {
    "pyproject.toml": "pyproject.toml.tmpl",
    ".gitignore": "gitignore.tmpl",
    "LICENSE": "LICENSE.tmpl",
    "README.md": "README.md.tmpl",
    "[[package]]/__init__.py": "__init__.py.tmpl",
    "[[package]]/plugin.py": "plugin.py.tmpl",
    "[[package]]/config.py": "config.py.tmpl",
    "[[package]]/algorithm.py": "algorithm.py.tmpl",
    "[[package]]/models.py": "models.py.tmpl",
    "examples/[[name]]-digits.yaml": "example.yaml.tmpl",
    "tests/conftest.py": "conftest.py.tmpl",
    "tests/test_plugin.py": "test_plugin.py.tmpl",
}


def names(name: str) -> dict[str, str]:
    """The names a plugin called ``name`` uses: distribution, package, classes, its entries."""
    if not NAME_PATTERN.match(name):
        raise UserError(
            f"plugin name '{name}' must be lower-case letters and digits, words joined by '-', starting with a letter "
            "(e.g. 'relgan' or 'my-family'); it names the plugin, its algorithm and the distribution gan-NAME"
        )
    if name.startswith("gan-"):
        raise UserError(f"give the plugin's name without the 'gan-' prefix: gan new-plugin {name[4:]} (the distribution is then {name})")
    if name in RESERVED_NAMES:
        raise UserError(f"'{name}' is the name of a builtin plugin; choose another name")
    camel = "".join(part.capitalize() for part in name.split("-"))
    family = camel[:-3] if camel.lower().endswith("gan") and len(camel) > 3 else camel
    return {
        "name": name,
        "dist": f"gan-{name}",
        "package": f"gan_{name.replace('-', '_')}",
        "cls": f"{family}GAN",
        "config_cls": f"{camel}Config",
        "api": str(PLUGIN_API),
        "gancore_range": gancore_range(),
        "year": str(date.today().year),
    }


def gancore_range(version: str = __version__) -> str:
    """The gancore versions a new plugin supports: this one up to the next breaking release
    (the next minor release while gancore is 0.x, the next major one after)."""
    parts = [int(p) for p in re.findall(r"\d+", version)[:2]] + [0, 0]
    major, minor = parts[0], parts[1]
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f"gancore>={major}.{minor},<{upper}"


def files(name: str) -> dict[str, str]:
    """Relative path -> text of every file of the new distribution."""
    n = names(name)
    folder = resources.files(__package__) / "templates" / "new_plugin"
    return {_fill(path, n): _fill((folder / template).read_text(encoding="utf-8"), n) for path, template in LAYOUT.items()}


def write_plugin(name: str, dest: str | Path | None = None, *, force: bool = False) -> tuple[Path, list[Path]]:
    """Write the distribution into ``dest`` (default ``./NAME``); returns the folder and the files written."""
    names(name)  # a bad name is reported before a folder in use
    folder = Path(dest) if dest is not None else Path(name)
    if folder.exists() and any(folder.iterdir()) and not force:
        raise UserError(f"'{folder}' exists and is not empty; choose another --dir, or pass --force to write into it")
    written = []
    for rel, text in files(name).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return folder, written


def _fill(text: str, n: dict[str, str]) -> str:
    # [[key]] placeholders: the templates are full of braces (dicts, f-strings, TOML tables).
    return re.sub(r"\[\[(\w+)\]\]", lambda m: n[m.group(1)], text)
