"""The share of wins per mutation over a run, from its ``metrics.jsonl``.

Every logged record of an ``egan`` run holds ``won_<mutation>``: the share of the
survivors that mutation made, averaged by the trainer over the steps since the
previous record. ``RUN/mutations.png`` stacks these shares (they add up to 1) over
the steps; the legend gives each mutation's share of the whole run. It is written
when training ends (the algorithm's ``finish``) and by ``gan egan plot RUN``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gancore import UserError

PREFIX = "won_"
PLOT_NAME = "mutations.png"


def read_shares(run_dir: Path) -> tuple[list[int], dict[str, list[float]], dict[str, float]]:
    """(steps, share per mutation at each step, share per mutation over the whole run) of a run."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise UserError(f"'{run_dir}' holds no metrics.jsonl, so it is not a gan run folder (or it has not logged yet)")
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    records = sorted((r for r in records if any(k.startswith(PREFIX) for k in r)), key=lambda r: r["step"])
    # A resumed run logs again from its checkpoint: keep the last record of each step.
    records = list({r["step"]: r for r in records}.values())
    if not records:
        raise UserError(f"'{path}' holds no {PREFIX}<mutation> records: it is not an egan run, or it ended before its first log")
    names = list(dict.fromkeys(k[len(PREFIX):] for r in records for k in r if k.startswith(PREFIX)))  # in logged order
    steps = [r["step"] for r in records]
    shares = {name: [float(r.get(PREFIX + name, 0.0)) for r in records] for name in names}
    # Each record averages the steps since the one before: weigh it by their number.
    weights = [step - previous for step, previous in zip(steps, [0, *steps[:-1]])]
    total = sum(weights)
    overall = {name: sum(w * s for w, s in zip(weights, values)) / total for name, values in shares.items()}
    return steps, shares, overall


def plot_mutation_shares(run_dir: Path, output: Path | None = None, title: str | None = None) -> Path:
    """Write the plot (default ``RUN/mutations.png``) and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, shares, overall = read_shares(run_dir)
    output = Path(output) if output is not None else Path(run_dir) / PLOT_NAME
    output.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    labels = [f"{name} ({100 * overall[name]:.0f}% of the run)" for name in shares]
    # Each record covers the steps since the one before: draw it back to there (from step 0 for the first).
    ax.stackplot([0, *steps], *([v[0], *v] for v in shares.values()), labels=labels, step="pre", alpha=0.85)
    ax.set_xlim(0, steps[-1])
    ax.set_ylim(0, 1)
    ax.set_xlabel("step (one evolutionary iteration)")
    ax.set_ylabel("share of wins")
    ax.set_title(title or f"E-GAN: which mutation made the survivor ({Path(run_dir).name})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=len(labels), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(output)
    plt.close(fig)
    return output


def add_commands(cli: click.Group) -> None:
    @cli.group()
    def egan():
        """Evolutionary GAN (E-GAN) tools."""

    @egan.command()
    @click.argument("run", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help=f"where to write the plot (default RUN/{PLOT_NAME})")
    @click.option("--title", default=None, help="the plot's title")
    def plot(run, output, title):
        """Plot the share of wins per mutation over the steps of the egan run RUN."""
        path = plot_mutation_shares(run, output, title)
        _, _, overall = read_shares(run)
        click.echo(f"wrote {path}: " + ", ".join(f"{name} {100 * share:.1f}%" for name, share in overall.items()))
