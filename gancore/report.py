"""``gan report RUN``: one self-contained HTML page about a run.

The page holds, with every picture embedded (``data:`` URIs, so it can be
mailed or moved): the status and timings (``run.json``), the last values, the
loss and metric curves (matplotlib, from ``metrics.jsonl``), the sample grids
over time (``samples/step-*.png``, each also linked to its file), the
checkpoints and the resolved config. The page is a Jinja2 template that
escapes every value: file names, ``run.json`` fields and ``metrics.jsonl``
keys are shown as text, whatever they hold.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .checkpoint import list_checkpoints
from .errors import UserError
from .runs import human_size, is_metric_key, read_metrics, read_record, summarize

SPEED_KEYS = ("steps_per_second",)


def write_report(run_dir: Path, output: Path | None = None, *, max_grids: int = 12) -> Path:
    from .outputs import check_writable_file, write_atomically

    run_dir = Path(run_dir)
    if not run_dir.is_dir() or not ((run_dir / "config.yaml").is_file() or (run_dir / "metrics.jsonl").is_file()):
        raise UserError(f"'{run_dir}' is not a run folder (it has no config.yaml or metrics.jsonl); `gan runs` lists the runs")
    output = Path(output) if output else run_dir / "report.html"
    check_writable_file(output, "gan report: the page")
    page = render(run_dir, output.parent, max_grids=max_grids)
    write_atomically(output, page.encode("utf-8"), "gan report: the page")
    return output


def render(run_dir: Path, page_dir: Path, *, max_grids: int = 12) -> str:
    """The page, from a template that escapes every value it is given: names of files, keys and values of
    ``metrics.jsonl``, fields of ``run.json`` and the config are text, never markup."""
    summary = summarize(run_dir)
    record = read_record(run_dir)
    record = record if isinstance(record, dict) else {}
    records = [r for r in read_metrics(run_dir) if isinstance(r, dict)]
    steps = f"step {summary.step}" + (f" of {summary.planned_steps}" if summary.planned_steps is not None else "")
    return _template().render(
        title=f"gan report: {run_dir}",
        name=run_dir.name or str(run_dir),
        summary=summary,
        steps=steps,
        size=human_size(summary.size_bytes),
        timings=_timings(record, records),
        last_values=_last_values(records),
        curves=_curves(records),
        grids=_grids(run_dir, page_dir, max_grids),
        checkpoints=_checkpoints(run_dir),
        config=_config(run_dir),
    )


# ------------------------------------------------------------------- pieces
# Each piece returns values for the template, never markup.


def _timings(record: dict, records: list[dict]) -> dict:
    sessions = [s for s in record.get("sessions") or [] if isinstance(s, dict)] if isinstance(record.get("sessions"), list) else []
    rows = []
    for i, s in enumerate(sessions, 1):
        rows.append([f"session {i}" + (" (resumed)" if s.get("resumed") is True else ""), s.get("started", "?"), s.get("ended", "-"),
                     f"{s.get('from_step', '?')} → {s.get('to_step', '?')}", _seconds(s.get("wall_seconds")),
                     _seconds(s.get("cpu_seconds")), s.get("status", "running")])
    speeds = [r["steps_per_second"] for r in records if _number(r.get("steps_per_second"))]
    total = None
    if len(sessions) > 1 and all(_number(s.get("wall_seconds")) and _number(s.get("cpu_seconds")) for s in sessions):
        total = (_seconds(sum(s["wall_seconds"] for s in sessions)), _seconds(sum(s["cpu_seconds"] for s in sessions)))
    speed = f"{sum(speeds) / len(speeds):.4g} steps/s on average (min {min(speeds):.4g}, max {max(speeds):.4g})" if speeds else None
    return {"header": ["", "started", "ended", "steps", "wall", "CPU", "status"], "rows": rows, "total": total, "speed": speed}


def _last_values(records: list[dict]) -> list[tuple[str, str, str]]:
    last: dict[str, tuple[float, Any]] = {}
    for r in records:
        for key, value in r.items():
            if key != "step" and _number(value):
                last[key] = (value, r.get("step", 0))
    ordered = sorted(last, key=lambda k: (not is_metric_key(k), k))
    return [(k, f"{last[k][0]:.6g}", str(last[k][1])) for k in ordered]


def _curves(records: list[dict]) -> list[dict]:
    keys: dict[str, list[str]] = {"losses and other logged values": [], "metrics": [], "speed": []}
    for r in records:
        for key, value in r.items():
            if key == "step" or not _number(value):
                continue
            group = "speed" if key in SPEED_KEYS else "metrics" if is_metric_key(key) else "losses and other logged values"
            if key not in keys[group]:
                keys[group].append(key)
    figures = []
    for title, names in keys.items():
        if not names:
            continue
        # Metrics differ in scale: one small plot each. Losses share one plot, as they are read together.
        panels = [[n] for n in names] if title == "metrics" else [names]
        figures.append({"title": title, "uri": _plot(records, panels, title)})
    return figures


def _plot(records: list[dict], panels: list[list[str]], title: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols if cols > 1 else 8, 3.2 * rows), squeeze=False)
    for ax, names in zip(axes.flat, panels):
        for name in names:
            points = [(r["step"], r[name]) for r in records if _number(r.get(name)) and _number(r.get("step"))]
            if points:
                steps, values = zip(*points)
                # Names are drawn as plain text: matplotlib would read $...$ as mathtext.
                ax.plot(steps, values, marker="." if len(points) < 30 else None, label=_plain(name))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if len(names) > 1:
            ax.legend(fontsize="small")
        else:
            ax.set_title(_plain(names[0]), fontsize="medium")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return _data_uri(buffer.getvalue())


def _grids(run_dir: Path, page_dir: Path, max_grids: int) -> list[dict]:
    grids = sorted((run_dir / "samples").glob("step-*.png")) if (run_dir / "samples").is_dir() else []
    if len(grids) > max_grids:  # spread over the run, always with the last
        picks = sorted({round(i * (len(grids) - 1) / (max_grids - 1)) for i in range(max_grids)}) if max_grids > 1 else [len(grids) - 1]
        grids = [grids[i] for i in picks]
    cells = []
    for path in grids:
        try:
            png = path.read_bytes()
        except OSError:  # removed by a live run's cleanup, or unreadable: leave it out
            continue
        step = path.stem.split("-")[-1].lstrip("0") or "0"
        cells.append({"link": quote(_relative(path, page_dir)), "step": step, "uri": _data_uri(png)})
    return cells


def _checkpoints(run_dir: Path) -> list[tuple[str, str]]:
    rows = []
    for folder in list_checkpoints(run_dir):
        try:
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        except OSError:  # removed by a live run while it was measured
            continue
        rows.append((str(folder.relative_to(run_dir)), human_size(size)))
    return rows


def _config(run_dir: Path) -> str | None:
    path = run_dir / "config.yaml"
    try:
        return path.read_text(errors="replace") if path.is_file() else None
    except OSError:
        return None


# ------------------------------------------------------------------ helpers


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _plain(text: str) -> str:
    return str(text).replace("$", r"\$")


def _relative(path: Path, page_dir: Path) -> str:
    import os

    return Path(os.path.relpath(path.resolve(), page_dir.resolve())).as_posix()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _seconds(value: Any) -> str:
    if not _number(value):
        return "-"
    minutes, seconds = divmod(float(value), 60)
    return f"{int(minutes)} min {seconds:.1f} s" if minutes else f"{seconds:.1f} s"


def _template():
    from jinja2 import Environment, StrictUndefined

    # autoescape: every value that reaches the page is escaped, whatever the run's files hold.
    return Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True).from_string(PAGE)


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border-bottom: 1px solid #ddd; padding: 0.2em 0.8em; text-align: left; }
figure { display: inline-block; margin: 0.5em; text-align: center; }
figure img { max-width: 100%; }
.grids img { width: 240px; image-rendering: pixelated; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
</style>
</head>
<body>
<h1>{{ name }}</h1>
<p>{{ summary.plugin }} / {{ summary.algorithm }} on {{ summary.dataset }}: {{ steps }}, <b>{{ summary.status }}</b>, {{ size }} on disk.</p>
<section><h2>Timings</h2>
{% if timings.rows %}
<table><thead><tr>{% for h in timings.header %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in timings.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% else %}
<p>No run.json: the run predates it.</p>
{% endif %}
{% if timings.total %}<p>Total: {{ timings.total[0] }} wall, {{ timings.total[1] }} CPU.</p>{% endif %}
{% if timings.speed %}<p>Training speed: {{ timings.speed }}.</p>{% endif %}
</section>
<section><h2>Last values</h2>
{% if last_values %}
<table><thead><tr><th>value</th><th>at step</th></tr></thead><tbody>
{% for key, value, step in last_values %}<tr><td><code>{{ key }}</code></td><td>{{ value }}</td><td>{{ step }}</td></tr>
{% endfor %}</tbody></table>
{% else %}
<p>None.</p>
{% endif %}
</section>
<section><h2>Curves</h2>
{% for figure in curves %}
<figure><img alt="{{ figure.title }}" src="{{ figure.uri }}"><figcaption>{{ figure.title }}</figcaption></figure>
{% else %}
<p>No values were logged.</p>
{% endfor %}
</section>
<section><h2>Samples over time</h2>
{% if grids %}
<div class="grids">
{% for grid in grids %}
<figure><a href="{{ grid.link }}"><img alt="samples at step {{ grid.step }}" src="{{ grid.uri }}"></a><figcaption>step {{ grid.step }}</figcaption></figure>
{% endfor %}
</div>
{% else %}
<p>No sample grids.</p>
{% endif %}
</section>
<section><h2>Checkpoints</h2>
{% if checkpoints %}
<table><thead><tr><th>checkpoint</th><th>size</th></tr></thead><tbody>
{% for folder, size in checkpoints %}<tr><td><code>{{ folder }}</code></td><td>{{ size }}</td></tr>
{% endfor %}</tbody></table>
{% else %}
<p>No checkpoints.</p>
{% endif %}
</section>
<section><h2>Resolved config</h2>
{% if config is not none %}<pre>{{ config }}</pre>{% else %}<p>No config.yaml.</p>{% endif %}
</section>
</body>
</html>
"""
