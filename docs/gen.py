"""Write the documentation site's pages into build/docs, offline; `make docs` then runs `mkdocs build --strict`.

What goes there:

* the hand-written pages of docs/ as they are (docs/writing-plugins.md among them, unchanged);
* index.md: README.md, the project's front page;
* families/NAME.md: one page per family, from its plugin README (docs/families/gan.md for the builtin
  family), with its example configs and what it registers appended;
* reference/cli.md: every `gan` command and option, walked from ``gancore.cli.cli`` once the plugins have
  added theirs;
* reference/config.md: every option of the run file and of every registered entry (algorithms, models,
  losses, datasets, metrics), from their pydantic models: type, default and description;
* benchmarks/: benchmarks/RESULTS.md (the index), benchmarks/results/*.md and the pictures they show.

Links are written for the repository (GitHub renders README.md and the plugin READMEs); they are rewritten
for the site here. A link to a file that is neither a page nor a picture (an example config, say) gets a
copy of that file under files/. A link to something that does not exist stops the script.

    python docs/gen.py [--out build/docs]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import shutil
import sys
import tomllib
import types
import typing
from pathlib import Path, PurePosixPath

import click
import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BENCHMARKS = ROOT / "benchmarks"
OUT = ROOT / "build" / "docs"
FAMILY_ORDER = ["gan", "wgan", "bgan", "cyclegan", "progressive", "evolutionary", "semisup"]
KIND_TITLES = {"algorithm": "Algorithms", "model": "Models (networks)", "loss": "Losses", "dataset": "Datasets", "metric": "Metrics",
               "transform": "Transforms (image data)", "features": "Feature networks"}
KIND_PLURALS = {"algorithm": "algorithms", "model": "models", "loss": "losses", "dataset": "datasets", "metric": "metrics",
                "transform": "transforms", "features": "features"}
LINK = re.compile(r"(!?\[(?:[^\[\]]|\[[^\]]*\])*\])\(([^()\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")


# ------------------------------------------------------------------ ids shared with the tests


def cli_id(path: list[str], option: str | None = None) -> str:
    """The anchor of a command (``["gan", "run"]``) or of one of its parameters on the CLI page."""
    return "cli-" + "-".join(path[1:] or ["gan"]) + (f"--{option}" if option else "")


def config_id(scope: str, field: str | None = None) -> str:
    """The anchor of a config section or entry (``train``, ``model-dcgan-generator``) or of one of its fields."""
    return "config-" + scope + (f"--{field}" if field else "")


# ------------------------------------------------------------------ links


def site_path(repo_path: str) -> str | None:
    """Where a repository file is in the site, if it is a page or a picture the site has."""
    p = PurePosixPath(repo_path)
    if repo_path == "README.md":
        return "index.md"
    if p.parts[0] == "docs" and p.suffix == ".md":
        return str(PurePosixPath(*p.parts[1:]))
    if len(p.parts) == 3 and p.parts[0] == "plugins" and p.name == "README.md" and p.parts[1].startswith("gan-"):
        return f"families/{plugin_name(ROOT / p.parent)}.md"
    if repo_path == "benchmarks/RESULTS.md":
        return "benchmarks/index.md"
    if p.parts[0] == "benchmarks" and (p.suffix == ".png" or (len(p.parts) == 3 and p.parts[1] == "results" and p.suffix == ".md")):
        return repo_path
    return None


def rewrite_links(text: str, source: str, page: str, out: Path) -> str:
    """Rewrite the relative links of ``text`` (the repository file ``source``) for the site page ``page``."""

    def one(match: re.Match) -> str:
        label, target = match.groups()
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            return match.group(0)
        path, _, anchor = target.partition("#")
        repo = os.path.normpath(os.path.join(os.path.dirname(source), path)) if path else source
        if repo.startswith("docs/") and not (ROOT / repo).exists() and repo[len("docs/"):] in generated_pages():
            # a hand-written page's link to a page this script writes (the references, a family page)
            relative = os.path.relpath(repo[len("docs/"):], os.path.dirname(page) or ".")
            return f"{label}({relative}{'#' + anchor if anchor else ''})"
        if repo.startswith("..") or not (ROOT / repo).exists():
            raise SystemExit(f"{source}: the link {target} points to {repo}, which does not exist")
        if (ROOT / repo).is_dir():
            raise SystemExit(f"{source}: the link {target} points to a folder; link a file")
        where = site_path(repo)
        if where is None:  # a file the site shows as it is: an example config, a script
            where = f"files/{repo}"
            (out / where).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / repo, out / where)
        relative = os.path.relpath(where, os.path.dirname(page) or ".")
        return f"{label}({relative}{'#' + anchor if anchor else ''})"

    lines, fenced = [], False
    for line in text.splitlines(keepends=True):
        if FENCE.match(line.lstrip()):
            fenced = not fenced
        lines.append(line if fenced else LINK.sub(one, line))
    return "".join(lines)


def generated_pages() -> set[str]:
    """The site paths of the pages this script generates (hand-written pages may link to them)."""
    return {"reference/cli.md", "reference/config.md", *(f"families/{name}.md" for name in families())}


def copy_page(source: str, page: str, out: Path, text: str | None = None) -> None:
    text = (ROOT / source).read_text() if text is None else text
    (out / page).parent.mkdir(parents=True, exist_ok=True)
    (out / page).write_text(rewrite_links(text, source, page, out))


# ------------------------------------------------------------------ plugins


def plugin_name(folder: Path) -> str:
    """The gancore entry point a plugin distribution declares (its ``gan run --plugin`` name)."""
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    (name,) = project["entry-points"]["gancore"]
    return name


def families() -> dict[str, dict]:
    """Family name -> its README (repository path), examples folder and distribution, in FAMILY_ORDER."""
    found = {"gan": {"readme": "docs/families/gan.md", "examples": "examples", "distribution": "gancore (builtin)"}}
    for folder in sorted((ROOT / "plugins").glob("gan-*/")):
        found[plugin_name(folder)] = {"readme": f"plugins/{folder.name}/README.md", "examples": f"plugins/{folder.name}/examples",
                                      "distribution": folder.name}
    return {name: found[name] for name in sorted(found, key=lambda n: (FAMILY_ORDER + sorted(found)).index(n))}


def load_cli():
    """``gancore.cli.cli`` with every plugin's commands, and which plugin added each top-level command."""
    from gancore.cli import cli
    from gancore.plugins import get_host

    host = get_host()
    owner = {name: "gancore" for name in cli.commands}
    for impl in host.pm.hook.gan_register_commands.get_hookimpls():
        group = click.Group()
        impl.function(*[{"cli": group}[a] for a in impl.argnames])
        owner.update({name: impl.plugin_name for name in group.commands})
    host.register_commands(cli)
    return cli, owner


def real_command(command: click.Command) -> click.Command:
    from gancore.commands import LazyCommand

    return command.load() if isinstance(command, LazyCommand) else command


def walk_commands(command: click.Command, path: list[str]):
    """Every command and group under ``command``, depth first, with its path (``["gan", "bgan", "quantize"]``)."""
    command = real_command(command)
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from walk_commands(command.commands[name], [*path, name])


# ------------------------------------------------------------------ the CLI page


def command_params(command: click.Command, ctx: click.Context) -> list[click.Parameter]:
    """A command's arguments and options, without the --help every command has."""
    return [p for p in command.get_params(ctx) if "--help" not in getattr(p, "opts", ())]


def param_row(path: list[str], param: click.Parameter) -> str:
    if isinstance(param, click.Argument):
        name = param.human_readable_name
        what = "argument" + (", required" if param.required else ", optional") + (", repeatable" if param.nargs == -1 else "")
        help_text = ""
    else:
        name = ", ".join(param.opts + param.secondary_opts)
        what = "flag" if param.is_flag else param.type.name
        what += ", repeatable" if param.multiple else ""
        what += ", required" if param.required else ""
        help_text = param.help or ""
    if isinstance(param.type, click.Choice):
        what += ": " + " \\| ".join(f"`{c}`" for c in param.type.choices)
    value = param.default
    unset = value is None or value is False or value == () or "UNSET" in repr(value)  # click 8.2+: Sentinel.UNSET
    default = "" if unset else f"`{value}`"
    anchor = f'<a id="{cli_id(path, param.name)}"></a>'
    return f"| {anchor}`{name}` | {what} | {default} | {escape(help_text)} |"


def cli_page(out: Path) -> None:
    cli, owner = load_cli()
    lines = [
        "# Command-line reference",
        "",
        "Every `gan` command, with the commands that the installed plugins add. Generated by `docs/gen.py` from the",
        "click commands themselves (`gan COMMAND --help` prints the same).",
        "",
    ]
    for path, command in walk_commands(cli, ["gan"]):
        ctx = click.Context(command, info_name=" ".join(path))
        title = " ".join(path)
        added = owner.get(path[1], "gancore") if len(path) > 1 else "gancore"
        lines += [f"## `{title}` {{#{cli_id(path)}}}", ""]
        if added != "gancore":
            lines += [f"Added by the plugin `{added}`.", ""]
        text = inspect.cleandoc(command.help or command.short_help or "")
        lines += [escape_block(text), "", "```text", command.collect_usage_pieces(ctx) and f"{title} {' '.join(command.collect_usage_pieces(ctx))}" or title, "```", ""]
        params = command_params(command, ctx)
        if params:
            lines += ["| option | kind | default | what |", "| --- | --- | --- | --- |", *(param_row(path, p) for p in params), ""]
        if isinstance(command, click.Group):
            lines += ["Commands: " + ", ".join(f"[`{title} {n}`](#{cli_id([*path, n])})" for n in sorted(command.commands)), ""]
    write(out / "reference" / "cli.md", "\n".join(lines))


# ------------------------------------------------------------------ the config page


def type_name(annotation) -> str:
    from gancore.registry import Ref

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" if isinstance(a, str) else f"`{json.dumps(a)}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        named = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(named) + (" or null" if type(None) in args else "")
    if origin in (list, tuple, dict, set, frozenset):
        inner = ", ".join(type_name(a) for a in args if a is not Ellipsis)
        return f"{origin.__name__}[{inner}]" if inner else origin.__name__
    if isinstance(annotation, type) and issubclass(annotation, Ref):
        return f"{'an' if annotation.kind[0] in 'aeiou' else 'a'} {annotation.kind}: `{{name: ..., options}}`"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section (below)"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def default_text(field) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "its own defaults"
    try:
        text = json.dumps(value, default=str) if not isinstance(value, str) else value
    except TypeError:
        text = str(value)
    return f"`{text}`" if len(text) < 80 else f"`{text[:77]}...`"


def nested_models(annotation) -> list[type[BaseModel]]:
    """Pydantic sections (not registry references) inside a field's type, to expand below it."""
    from gancore.registry import Ref

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [] if issubclass(annotation, Ref) else [annotation]
    return [m for a in typing.get_args(annotation) if a is not Ellipsis for m in nested_models(a)]


def model_rows(model: type[BaseModel], scope: str, prefix: str = "", expand: bool = True) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        anchor = f'<a id="{config_id(scope, key)}"></a>'
        kind = escape(type_name(field.annotation))
        if not expand and nested_models(field.annotation):  # a section with its own table below
            kind = f"[section `{key}`](#{config_id(key)})"
        rows.append(f"| {anchor}`{key}` | {kind} | {escape(default_text(field))} | {escape(field.description or '')} |")
        for sub in nested_models(field.annotation) if expand else ():
            if sub is not model:
                rows += model_rows(sub, scope, f"{key}.")
    return rows


def table(model: type[BaseModel], scope: str, expand: bool = True) -> list[str]:
    """The options of ``model``, with the fields of its plain pydantic sections (``augment.policy``) below
    each; ``expand=False`` leaves sections that have their own table (the run file's train and eval)."""
    if not model.model_fields:
        return ["No options.", ""]
    return ["| option | type | default | what |", "| --- | --- | --- | --- |", *model_rows(model, scope, expand=expand), ""]


def config_page(out: Path) -> None:
    from gancore.config import EvalConfig, RunConfig, TrainConfig
    from gancore.plugins import get_host

    registry = get_host().registry
    lines = [
        "# Config reference",
        "",
        "Every option a run file takes: the run file's own sections, then every entry that the installed plugins",
        "register, each with its options. Generated by `docs/gen.py` from the pydantic models; `gan config --plugin NAME`",
        "prints the same for one family, with the defaults of its run filled in. An entry is named in the run file",
        "with its options beside the name, e.g. `generator: {name: dcgan-generator, base_channels: 32}`; a misspelt",
        "option is an error (`extra=\"forbid\"`).",
        "",
        "## The run file {#" + config_id("run") + "}",
        "",
        "```yaml",
        "plugin: gan                                # the family",
        "algorithm: {name: gan, ...}                # an algorithm and its options (below)",
        "data: {name: digits, ...}                  # a dataset and its options (below)",
        "train: {steps: 2000, batch_size: 64, ...}  # the training loop",
        "eval: {metrics: [{name: fid}]}             # metrics and their options (below)",
        "output_dir: runs/mine",
        "```",
        "",
        *table(RunConfig, "run", expand=False),
        "## `train` {#" + config_id("train") + "}",
        "",
        *table(TrainConfig, "train"),
        "## `eval` {#" + config_id("eval") + "}",
        "",
        *table(EvalConfig, "eval"),
        "Each item of `eval.metrics` is `{name: METRIC, label: ..., <the metric's options>}`: `label` (optional) keys",
        "its results `<label>/<value>` instead of `<name>/<value>`, so that one metric can be listed twice.",
        "",
    ]
    for kind, title in KIND_TITLES.items():
        entries = [registry.entries[kind][n] for n in sorted(registry.entries[kind])]
        lines += [f"## {title} {{#{config_id(KIND_PLURALS[kind])}}}", ""]
        lines += [", ".join(f"[`{e.name}`](#{config_id(f'{kind}-{e.name}')})" for e in entries), ""]
        for entry in entries:
            lines += [f"### {kind} `{entry.name}` {{#{config_id(f'{kind}-{entry.name}')}}}", ""]
            lines += [f"From the plugin `{entry.plugin}`. {escape_block(entry.description)}".strip(), ""]
            lines += table(entry.config, f"{kind}-{entry.name}")
    write(out / "reference" / "config.md", "\n".join(lines))


# ------------------------------------------------------------------ family pages


def example_blocks(folder: str) -> list[str]:
    lines = ["## Example configs", "",
             "Every example of this family, as it ships (generated from the files; `gan run FILE` trains one).", ""]
    for path in sorted((ROOT / folder).glob("*.yaml")):
        text = path.read_text()
        comment = " ".join(line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#"))
        config = yaml.safe_load(text)
        rel = path.relative_to(ROOT).as_posix()
        lines += [f"### `{path.name}`", "", comment or "", "", "```bash", f"gan run {rel}", "```", "",
                  f'??? example "{path.name}: {config.get("algorithm", {}).get("name", "?")} on {config.get("data", {}).get("name", "?")}"',
                  "", "    ```yaml", *("    " + line for line in text.rstrip().splitlines()), "    ```", ""]
    return lines


def registered_blocks(plugin: str) -> list[str]:
    from gancore.plugins import get_host

    registry = get_host().registry
    lines = ["## What it registers", "", "Each name links to its options in the [config reference](../reference/config.md).", "",
             "| kind | names |", "| --- | --- |"]
    for kind in KIND_TITLES:
        names = sorted(n for n, e in registry.entries[kind].items() if e.plugin == plugin)
        if names:
            lines.append(f"| {KIND_PLURALS[kind]} | " + ", ".join(f"[`{n}`](../reference/config.md#{config_id(f'{kind}-{n}')})" for n in names) + " |")
    _, owner = load_cli()
    commands = sorted(name for name, who in owner.items() if who == plugin)
    if commands:
        lines.append("| commands | " + ", ".join(f"[`gan {n}`](../reference/cli.md#{cli_id(['gan', n])})" for n in commands) + " |")
    return [*lines, ""]


def family_pages(out: Path) -> dict[str, str]:
    """families/NAME.md for every family; returns name -> the page's title."""
    titles = {}
    for name, family in families().items():
        page = f"families/{name}.md"
        text = rewrite_links((ROOT / family["readme"]).read_text(), family["readme"], page, out).rstrip()
        # written for the site already: not rewritten
        text += "\n\n" + "\n".join(example_blocks(family["examples"]) + registered_blocks(name))
        write(out / page, text)
        titles[name] = text.splitlines()[0].lstrip("# ").strip()
    return titles


# ------------------------------------------------------------------ helpers and main


def plain(text: str) -> str:
    """Help and descriptions are plain text: outside `code` spans, braces and angle brackets stay text
    (attr_list would take a trailing {name: ...} for attributes, HTML a <placeholder> for a tag), and
    asterisks are not emphasis (``2**31`` is a power, not bold)."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(part if part.startswith("`") else
                   part.replace("{", "&#123;").replace("}", "&#125;").replace("<", "&lt;").replace("*", "&#42;")
                   for part in parts)


def escape(text: str) -> str:
    """Text for one table cell: one line, pipes escaped."""
    return plain(" ".join(str(text).split())).replace("|", "\\|")


def escape_block(text: str) -> str:
    # click's \b marks a paragraph it must not rewrap; here the paragraph is kept as it is.
    return plain((text or "").replace("\b\n", ""))


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip() + "\n")


def generate(out: Path = OUT) -> Path:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for page in sorted(DOCS.rglob("*.md")):
        rel = page.relative_to(DOCS).as_posix()
        if not rel.startswith("families/"):
            copy_page(f"docs/{rel}", rel, out)
    for asset in DOCS.glob("*.css"):
        shutil.copyfile(asset, out / asset.name)
    copy_page("README.md", "index.md", out)
    copy_page("benchmarks/RESULTS.md", "benchmarks/index.md", out)
    for results in sorted((BENCHMARKS / "results").glob("*.md")):
        copy_page(f"benchmarks/results/{results.name}", f"benchmarks/results/{results.name}", out)
    for picture in sorted(BENCHMARKS.glob("*.png")):
        (out / "benchmarks").mkdir(exist_ok=True)
        shutil.copyfile(picture, out / "benchmarks" / picture.name)
    family_pages(out)
    cli_page(out)
    config_page(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the pages (default build/docs)")
    args = parser.parse_args()
    out = generate(args.out.resolve())
    print(f"wrote {sum(1 for _ in out.rglob('*.md'))} pages to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
