"""The core names no family: every family is a plugin, and gancore/ holds no word of one (code, docstrings,
messages, templates, shipped weights' records). The names come from the installed plugins themselves (their
plugin, distribution and module names, and the algorithms they register), plus the families' usual written forms."""

from __future__ import annotations

import re
from pathlib import Path

from gancore.plugins import get_host

CORE = Path(__file__).resolve().parents[1] / "gancore"
WRITTEN_FORMS = {"e-gan", "progressive gan", "semi-supervised gan", "boundary-seeking"}


def family_names() -> set[str]:
    host = get_host()
    names = set(WRITTEN_FORMS)
    for name, info in host.info.items():
        if info.distribution == "gancore":
            continue
        names |= {name, info.distribution, info.module.split(".")[0]}
    names |= {entry.name for entry in host.registry.entries["algorithm"].values() if entry.plugin in host.info
              and host.info[entry.plugin].distribution != "gancore"}
    return {n.lower() for n in names}


def test_the_installed_families_are_found():
    names = family_names()
    assert {"bgan", "wgan", "wgan-gp", "cyclegan", "progressive", "egan", "sgan", "fm-gan", "bigan", "gan_semisup"} <= names


def test_no_file_of_the_core_names_a_family():
    names = sorted(family_names(), key=len, reverse=True)
    pattern = re.compile(r"(?<![a-z0-9_])(" + "|".join(re.escape(n) for n in names) + r")(?![a-z0-9_])", re.I)
    found = []
    for path in sorted(CORE.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".md", ".json", ".tmpl", ".txt", ".yaml"}:
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for match in pattern.finditer(line):
                    found.append(f"{path.relative_to(CORE.parent)}:{number}: {match.group(0)}")
    assert not found, "the core names families:\n" + "\n".join(found)
