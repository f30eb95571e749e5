"""``gan report RUN``: one self-contained HTML page about a run.

The page holds, with every picture embedded (``data:`` URIs, so it can be
mailed or moved): the status and timings (``run.json``), the last values, the
loss and metric curves (matplotlib, from ``metrics.jsonl``), the sample grids
over time (``samples/step-*.png``, each also linked to its file), the
checkpoints and the resolved config.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from .checkpoint import list_checkpoints
from .errors import UserError
from .runs import human_size, is_metric_key, read_metrics, read_record, summarize

SPEED_KEYS = ("steps_per_second",)


def write_report(run_dir: Path, output: Path | None = None, *, max_grids: int = 12) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or not ((run_dir / "config.yaml").is_file() or (run_dir / "metrics.jsonl").is_file()):
        raise UserError(f"'{run_dir}' is not a run folder (it has no config.yaml or metrics.jsonl); `gan runs` lists the runs")
    output = Path(output) if output else run_dir / "report.html"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(run_dir, output.parent, max_grids=max_grids))
    return output


def render(run_dir: Path, page_dir: Path, *, max_grids: int = 12) -> str:
    summary = summarize(run_dir)
    record = read_record(run_dir)
    records = read_metrics(run_dir)
    parts = [
        f"<h1>{_e(run_dir.name or str(run_dir))}</h1>",
        f"<p>{_e(summary.plugin)} / {_e(summary.algorithm)} on {_e(summary.dataset)}: step {summary.step}"
        + (f" of {summary.planned_steps}" if summary.planned_steps is not None else "")
        + f", <b>{_e(summary.status)}</b>, {human_size(summary.size_bytes)} on disk.</p>",
        _section("Timings", _timings(record, records)),
        _section("Last values", _table(["value", "at step"], _last_values(records))),
        _section("Curves", _curves(records)),
        _section("Samples over time", _grids(run_dir, page_dir, max_grids)),
        _section("Checkpoints", _checkpoints(run_dir)),
        _section("Resolved config", _config(run_dir)),
    ]
    return PAGE.format(title=_e(f"gan report: {run_dir}"), body="\n".join(parts))


# ------------------------------------------------------------------- pieces


def _timings(record: dict, records: list[dict]) -> str:
    sessions = record.get("sessions") or []
    rows = []
    for i, s in enumerate(sessions, 1):
        rows.append([f"session {i}" + (" (resumed)" if s.get("resumed") else ""), s.get("started", "?"), s.get("ended", "-"),
                     f"{s.get('from_step', '?')} → {s.get('to_step', '?')}", _seconds(s.get("wall_seconds")),
                     _seconds(s.get("cpu_seconds")), s.get("status", "running")])
    speeds = [r["steps_per_second"] for r in records if isinstance(r.get("steps_per_second"), (int, float))]
    text = _table(["", "started", "ended", "steps", "wall", "CPU", "status"], rows) if rows else "<p>No run.json: the run predates it.</p>"
    if len(sessions) > 1 and all("wall_seconds" in s for s in sessions):
        text += f"<p>Total: {_seconds(sum(s['wall_seconds'] for s in sessions))} wall, {_seconds(sum(s['cpu_seconds'] for s in sessions))} CPU.</p>"
    if speeds:
        text += f"<p>Training speed: {sum(speeds) / len(speeds):.4g} steps/s on average (min {min(speeds):.4g}, max {max(speeds):.4g}).</p>"
    return text


def _last_values(records: list[dict]) -> list[list[str]]:
    last: dict[str, tuple[float, int]] = {}
    for r in records:
        for key, value in r.items():
            if key != "step" and isinstance(value, (int, float)):
                last[key] = (value, r.get("step", 0))
    ordered = sorted(last, key=lambda k: (not is_metric_key(k), k))
    return [[f"<code>{_e(k)}</code>", f"{last[k][0]:.6g}", str(last[k][1])] for k in ordered]


def _curves(records: list[dict]) -> str:
    keys: dict[str, list[str]] = {"losses and other logged values": [], "metrics": [], "speed": []}
    for r in records:
        for key, value in r.items():
            if key == "step" or not isinstance(value, (int, float)):
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
        figures.append(f"<figure><img alt='{_e(title)}' src='{_plot(records, panels, title)}'><figcaption>{_e(title)}</figcaption></figure>")
    return "\n".join(figures) or "<p>No values were logged.</p>"


def _plot(records: list[dict], panels: list[list[str]], title: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols if cols > 1 else 8, 3.2 * rows), squeeze=False)
    for ax, names in zip(axes.flat, panels):
        for name in names:
            points = [(r["step"], r[name]) for r in records if isinstance(r.get(name), (int, float)) and "step" in r]
            if points:
                steps, values = zip(*points)
                ax.plot(steps, values, marker="." if len(points) < 30 else None, label=name)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if len(names) > 1:
            ax.legend(fontsize="small")
        else:
            ax.set_title(names[0], fontsize="medium")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return _data_uri(buffer.getvalue())


def _grids(run_dir: Path, page_dir: Path, max_grids: int) -> str:
    grids = sorted((run_dir / "samples").glob("step-*.png")) if (run_dir / "samples").is_dir() else []
    if not grids:
        return "<p>No sample grids.</p>"
    if len(grids) > max_grids:  # spread over the run, always with the last
        picks = sorted({round(i * (len(grids) - 1) / (max_grids - 1)) for i in range(max_grids)}) if max_grids > 1 else [len(grids) - 1]
        grids = [grids[i] for i in picks]
    cells = []
    for path in grids:
        link = _relative(path, page_dir)
        step = path.stem.split("-")[-1].lstrip("0") or "0"
        cells.append(
            f"<figure><a href='{_e(link)}'><img alt='samples at step {step}' src='{_data_uri(path.read_bytes())}'></a>"
            f"<figcaption>step {step}</figcaption></figure>"
        )
    return "<div class='grids'>" + "\n".join(cells) + "</div>"


def _checkpoints(run_dir: Path) -> str:
    kept = list_checkpoints(run_dir)
    if not kept:
        return "<p>No checkpoints.</p>"
    rows = [[f"<code>{_e(str(p.relative_to(run_dir)))}</code>", human_size(sum(f.stat().st_size for f in p.rglob('*') if f.is_file()))] for p in kept]
    return _table(["checkpoint", "size"], rows)


def _config(run_dir: Path) -> str:
    path = run_dir / "config.yaml"
    return f"<pre>{_e(path.read_text())}</pre>" if path.is_file() else "<p>No config.yaml.</p>"


# ------------------------------------------------------------------ helpers


def _relative(path: Path, page_dir: Path) -> str:
    import os

    return Path(os.path.relpath(path.resolve(), page_dir.resolve())).as_posix()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _seconds(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    minutes, seconds = divmod(float(value), 60)
    return f"{int(minutes)} min {seconds:.1f} s" if minutes else f"{seconds:.1f} s"


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>\n{body}\n</section>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.2em 0.8em; text-align: left; }}
figure {{ display: inline-block; margin: 0.5em; text-align: center; }}
figure img {{ max-width: 100%; }}
.grids img {{ width: 240px; image-rendering: pixelated; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
