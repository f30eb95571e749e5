"""benchmarks/RESULTS.md is an index a reader can trust: every row links to a section that exists, carries
that section's date and commit, and quotes numbers that are in it; every section lives in the file that
``benchmarks/results.py`` routes its title to, and every benchmark script's title has a route."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def load_results(name: str = "benchmark_results"):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / "results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


results = load_results()


def sections(path: Path) -> dict[str, str]:
    """``## title`` -> the section's text, code blocks skipped when looking for headings."""
    found, title, fenced = {}, None, False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if line.startswith("## ") and not fenced:
            title = line[3:]
            found[title] = ""
        elif title is not None:
            found[title] += line + "\n"
    return found


def all_sections() -> dict[str, tuple[str, str]]:
    return {title: (path.name, text) for path in sorted((BENCHMARKS / "results").glob("*.md")) for title, text in sections(path).items()}


def index_rows() -> list[dict]:
    rows, header = [], None
    for line in (BENCHMARKS / "RESULTS.md").read_text().splitlines():
        if not line.startswith("|") or line.startswith("| ---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if "date" in cells:
            header = cells
            continue
        rows.append(dict(zip(header, cells)))
    return rows


def test_every_section_is_in_the_file_its_title_routes_to():
    found = all_sections()
    assert not (BENCHMARKS / "results" / results.UNSORTED).exists(), "route the sections of results/unsorted.md in ROUTES"
    assert set(found) == set(results.ROUTES), set(found) ^ set(results.ROUTES)
    for title, (name, _) in found.items():
        assert results.ROUTES[title] == name, title


def test_every_benchmark_script_writes_a_routed_title():
    titles = set()
    for script in BENCHMARKS.glob("*.py"):
        text = script.read_text()
        titles |= set(re.findall(r'^TITLE = "(.+)"$', text, re.M)) | set(re.findall(r'update_section\("([^"]+)"', text))
    assert titles == set(results.ROUTES) - set(results.RECORDS), titles ^ (set(results.ROUTES) - set(results.RECORDS))


def test_every_section_starts_with_its_date_and_commit():
    for title, (_, text) in all_sections().items():
        first = text.strip().splitlines()[0]
        assert results.STAMP.fullmatch(first), f"{title}: {first!r}"


def test_the_index_links_every_section_with_its_date_commit_and_numbers():
    found = all_sections()
    linked = set()
    rows = index_rows()
    assert len(rows) >= 25
    for row in rows:
        link = re.search(r"\]\(results/([\w.-]+\.md)#([\w-]+)\)", row.get("figure") or row["section"])
        assert link, row
        (title,) = [t for t, (name, _) in found.items() if name == link[1] and results.anchor(t) == link[2]] or [None]
        assert title, f"no section for {link[0]}"
        linked.add(title)
        stamp = results.STAMP.search(found[title][1])
        commit = stamp["commit"] + (" + local changes" if stamp["dirty"] else "")
        assert (row["date"], row["commit"]) == (stamp["date"], commit), (title, row)
        if "result" in row:
            text = found[title][1].replace(",", "")
            for number in re.findall(r"\d+(?:[.,]\d+)*", re.sub(r"`[^`]*`", "", row["result"])):
                assert number.replace(",", "") in text, f"{number} of the row {row['figure']} is not in its section"
    assert linked == set(found), f"sections the index does not link: {set(found) - linked}"


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_the_commits_of_the_stamps_exist():
    for title, (_, text) in all_sections().items():
        commit = results.STAMP.search(text)["commit"]
        assert subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT).returncode == 0, (title, commit)


def test_update_section_routes_stamps_and_restamps_the_index(tmp_path, capsys):
    index = tmp_path / "RESULTS.md"
    index.write_text(
        "# index\n\n| figure | result | date | commit | command |\n| --- | --- | --- | --- | --- |\n"
        "| [start-up](results/core.md#cli-start-up) | 0.19 s | 2020-01-01 | 0000000 | `python benchmarks/startup.py` |\n"
        "| [other](results/core.md#data-paths-in-memory-tensors-vs-dataloader-mnist5k) | 1.03x | 2020-01-01 | 0000000 | `x` |\n"
    )
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "core.md").write_text(
        "# Core\n\n## CLI start-up\n\n_Written 2020-01-01 at commit 0000000._\n\nold\n\n"
        "## Data paths: in-memory tensors vs DataLoader (mnist5k)\n\n_Written 2020-01-01 at commit 0000000._\n\nkept\n"
    )
    results.update_section("CLI start-up", "new table ![picture](startup.png) [web](https://example.org) [here](#x)", index)

    text = (tmp_path / "results" / "core.md").read_text()
    written = sections(tmp_path / "results" / "core.md")
    assert "old" not in text and written["Data paths: in-memory tensors vs DataLoader (mnist5k)"].strip().endswith("kept")
    body = written["CLI start-up"]
    stamp = results.STAMP.search(body)
    assert stamp["date"] == datetime.now(timezone.utc).strftime("%Y-%m-%d") and stamp["commit"] != "0000000"
    assert "![picture](../startup.png)" in body and "(https://example.org)" in body and "(#x)" in body
    rows = index.read_text().splitlines()
    assert f"| {stamp['date']} | {stamp['commit']}" in rows[4] and "2020-01-01 | 0000000" in rows[5]

    results.update_section("A new benchmark", "body", index)
    assert "no route for the section 'A new benchmark'" in capsys.readouterr().err
    assert "## A new benchmark" in (tmp_path / "results" / results.UNSORTED).read_text()

    plain = tmp_path / "elsewhere.md"
    results.update_section("CLI start-up", "as before", plain)
    assert plain.read_text().endswith("## CLI start-up\n\nas before\n") and "_Written" not in plain.read_text()


def test_cyclegan_follow_ups_are_commands_not_folders(tmp_path, monkeypatch):
    """``cyclegan_mnist_colored.py --follow-ups`` trains every probe and follow-up from its own --set overrides
    (each a distinct, valid config), and keeps only a finished run of exactly that config."""
    import json
    import sys

    import yaml

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setitem(sys.modules, "results", load_results("results"))
    spec = importlib.util.spec_from_file_location("cyclegan_mnist_colored", BENCHMARKS / "cyclegan_mnist_colored.py")
    cyclegan = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cyclegan)
    runs = cyclegan.follow_up_runs()
    assert len(runs) == len(cyclegan.PROBES) + len(cyclegan.FOLLOW_UPS) + len(cyclegan.SHORT_FOLLOW_UPS) == 24
    configs = {folder: sys.modules["results"].run_config(cyclegan.EXAMPLE, [f"train.steps={steps}", *sets]) for folder, (steps, sets) in runs.items()}
    assert len({json.dumps(c, sort_keys=True, default=str) for c in configs.values()}) == len(runs), "two follow-ups are the same run"
    assert configs["cyclegan-probe-lr1e-3"]["algorithm"]["lr_constant_steps"] == 500
    assert configs["cyclegan-tune-fixedcolour"]["data"]["b"]["of"]["transforms"] == [
        {"name": "colorize", "mode": "fixed", "foreground": [1.0, 0.0, 0.0], "background": [0.0, 0.0, 0.0]}]

    monkeypatch.setattr(cyclegan, "RUN", tmp_path / "cyclegan-mnist-colored")
    kept, stale = tmp_path / "cyclegan-probe-lr1e-3", tmp_path / "cyclegan-probe-lambdab1"
    for folder, config in ((kept, configs["cyclegan-probe-lr1e-3"]), (stale, configs["cyclegan-probe-lr1e-3"])):
        folder.mkdir()
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
        (folder / "run.json").write_text(json.dumps({"status": "completed"}))
    started = {}
    monkeypatch.setattr(cyclegan, "run_children", lambda children, jobs: started.update(children) or iter(()))
    cyclegan.train_follow_ups(jobs=2)
    assert kept.name not in started and stale.name in started and len(started) == 23
    command = started["cyclegan-explore-d3-lambdab1"][0]
    assert command[command.index("--steps") + 1] == "4000" and "algorithm.discriminator.layers=3" in command
