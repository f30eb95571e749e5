"""docs/writing-plugins.md cannot go stale: its blocks are run, in order, as a reader would.

* every ```python block is executed in one namespace, a module registered in ``sys.modules``
  (so the guide's ``register_plugin(sys.modules[__name__], ...)`` works as in a script);
* every ```yaml block whose first line is ``# NAME.yaml`` is written to that file;
* every ``$ gan ...`` line of a ```console block is run with the in-process ``gan`` and must exit 0;
* the guide's ``test_*`` functions (its testing section) are then called with the fixtures they name.
"""

from __future__ import annotations

import inspect
import re
import shlex
import sys
import types
from pathlib import Path

from gancore import hookspecs

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "writing-plugins.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def blocks(kind: str | None = None) -> list[tuple[str, str]]:
    return [(k, body) for k, body in BLOCK.findall(GUIDE.read_text()) if kind is None or k == kind]


def test_the_guide_runs(gan, write_config, make_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("writing_plugins_guide")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    ran = {"python": 0, "console": 0, "yaml": 0}
    for kind, body in blocks():
        if kind == "python":
            exec(compile(body, f"{GUIDE.name}:python block {ran['python'] + 1}", "exec"), module.__dict__)
        elif kind == "yaml":
            first = body.splitlines()[0]
            if re.fullmatch(r"# [\w.-]+\.yaml", first):
                (tmp_path / first[2:]).write_text(body)
        elif kind == "console":
            for line in body.splitlines():
                assert line.startswith("$ gan "), f"a console block holds only `$ gan ...` lines: {line!r}"
                result = gan(*shlex.split(line[len("$ gan "):]))
                assert result.exit_code == 0, f"{line}\n{result.output}"
        ran[kind] = ran.get(kind, 0) + 1
    assert ran["python"] >= 12 and ran["console"] >= 2 and ran["yaml"] >= 1, ran

    # What the console lines did.
    assert (tmp_path / "runs" / "relgan" / "checkpoints" / "step-000020").is_dir()
    assert (tmp_path / "runs" / "relgan" / "losses.csv").read_text().startswith("step,loss_d,loss_g")
    assert (tmp_path / "runs" / "relgan" / "status.txt").read_text() == "completed at step 20\n"
    assert (tmp_path / "runs" / "spiral" / "report.html").is_file()
    assert "mean-radius/fake" in (tmp_path / "runs" / "spiral" / "metrics.jsonl").read_text()

    # The guide's tests, with the fixtures they ask for.
    fixtures = {"gan": gan, "write_config": write_config, "make_run": make_run, "tmp_path": tmp_path / "guide-tests"}
    fixtures["tmp_path"].mkdir()
    tests = [fn for name, fn in vars(module).items() if name.startswith("test_") and callable(fn)]
    assert len(tests) >= 4
    for fn in tests:
        fn(**{p: fixtures[p] for p in inspect.signature(fn).parameters})


def test_every_hook_is_in_the_guide_with_its_signature():
    text = GUIDE.read_text()
    for name, fn in vars(hookspecs).items():
        if name.startswith("gan_") and callable(fn):
            signature = f"{name}({', '.join(inspect.signature(fn).parameters)})"
            assert f"`{signature}`" in text, f"docs/writing-plugins.md does not show `{signature}`"


def test_the_guide_covers_what_the_issue_asks_for_in_order():
    headings = re.findall(r"^## (.+)$", GUIDE.read_text(), re.M)
    order = ["config", "algorithm", "network", "loss", "dataset", "metric", "command", "lifecycle logger", "Testing", "Publishing", "Reference"]
    positions = [next(i for i, h in enumerate(headings) if word in h) for word in order]
    assert positions == sorted(positions), headings
    text = GUIDE.read_text()
    for must in ("ModelRef", "LossRef", "requires", "provides", "TensorData", "kind", "info", "streams",
                 "see every family's runs", "needs a default dataset", "gancore_api", "license-files", "No option may be called `name`"):
        assert must in text, must
