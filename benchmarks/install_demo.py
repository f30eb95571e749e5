"""What `make install` costs on disk and what `make demo` costs in time, as the README states them.

* the size of each virtual environment given (``--venvs``; the default is this repository's ``.venv``), with
  the torch it holds and whether the CUDA libraries came with it (``nvidia-*`` distributions);
* the demo, ``--repeats`` times one after the other: exactly what ``make demo`` runs after its install step
  (``gan run --plugin gan --output runs/demo --overwrite``, DCGAN on the 8x8 digits, 5,000 steps,
  ``train.threads: auto``, which ``OMP_NUM_THREADS`` overrides), with its wall time, its own CPU time (``os.times`` of
  the children), its thread count, and the load average before and after, since the machine may be shared.

    python benchmarks/install_demo.py [--repeats 3] [--venvs .venv /path/to/cpu-venv]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from results import update_section  # noqa: E402

TITLE = "Install size and demo time"


def venv_size(venv: Path) -> dict:
    """Bytes on disk (``du``), the torch version and whether nvidia-* (CUDA) distributions are installed."""
    size = int(subprocess.run(["du", "-sb", str(venv)], capture_output=True, text=True, check=True).stdout.split()[0])
    python = venv / "bin" / "python"
    probe = ("import importlib.metadata as m, torch; "
             "print(torch.__version__); print(sum(d.metadata['Name'].lower().startswith('nvidia-') for d in m.distributions()))")
    torch_version, nvidia = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    return {"venv": str(venv), "bytes": size, "torch": torch_version, "nvidia": int(nvidia)}


def demo_once(gan: Path, output: Path) -> dict:
    """One demo run: its wall seconds, what auto chose, and the load average around it (main() adds its CPU time)."""
    before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.Popen([str(gan), "run", "--plugin", "gan", "--output", str(output), "--overwrite"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the demo failed:\n{out[-3000:]}")
    found = re.search(r"threads: auto chose (\d+)|threads: (\d+ \([^)]*\))", out)
    if found:
        threads = f"{found.group(1)} (auto)" if found.group(1) else found.group(2)
    else:  # a count fixed by OMP_NUM_THREADS is not announced
        threads = f"{os.environ['OMP_NUM_THREADS']} (OMP_NUM_THREADS)" if os.environ.get("OMP_NUM_THREADS") else "?"
    return {"wall": wall, "load_before": before, "load_after": os.getloadavg(), "threads": threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--venvs", type=Path, nargs="+", default=[ROOT / ".venv"])
    parser.add_argument("--note", default="", help="a sentence on how the environments were built, printed under their sizes")
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args()

    sizes = [venv_size(v) for v in args.venvs]
    gan = ROOT / ".venv" / "bin" / "gan"
    runs = []
    for i in range(args.repeats):
        before = os.times()
        run = demo_once(gan, ROOT / "runs" / "demo")
        after = os.times()
        run["cpu"] = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        runs.append(run)
        print(f"demo {i}: {run['wall']:.0f} s wall, {run['cpu']:.0f} CPU s, threads {run['threads']}, "
              f"load {run['load_before'][0]:.2f} -> {run['load_after'][0]:.2f}", file=sys.stderr)

    walls, cpus = [r["wall"] for r in runs], [r["cpu"] for r in runs]
    loads = [x for r in runs for x in (r["load_before"][0], r["load_after"][0])]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, shared with other work "
        "(the 1-minute load average before and after each run is shown).",
        "Command: `python benchmarks/install_demo.py --repeats " + str(args.repeats) + "".join(
            f" --venvs {os.path.relpath(v, ROOT) if str(v).startswith(str(ROOT)) else v}" if i == 0 else f" {v}" for i, v in enumerate(args.venvs)) + "`.",
        "",
        "**Install size** (`du -sb` of the virtual environment that `make install` built):",
        "",
        "| environment | torch | CUDA libraries (nvidia-* packages) | size |",
        "| --- | --- | --- | --- |",
        *[f"| `{s['venv'] if not s['venv'].startswith(str(ROOT)) else os.path.relpath(s['venv'], ROOT)}` | {s['torch']} | "
          f"{s['nvidia'] or 'none'} | {s['bytes'] / 1e9:.2f} GB |" for s in sizes],
        "",
        *([args.note, ""] if args.note else []),
        "**`make demo`** (after its install step): `gan run --plugin gan --output runs/demo --overwrite`, DCGAN on the 8x8 digits, "
        f"5,000 steps, one run at a time, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS') or 'unset'}:",
        "",
        "| run | wall s | CPU s | threads | load before | load after |",
        "| --- | --- | --- | --- | --- | --- |",
        *[f"| {i} | {r['wall']:.0f} | {r['cpu']:.0f} | {r['threads']} | {r['load_before'][0]:.2f} | {r['load_after'][0]:.2f} |"
          for i, r in enumerate(runs)],
        "",
        f"Range: {min(walls):.0f}-{max(walls):.0f} s of wall time and {min(cpus):.0f}-{max(cpus):.0f} CPU s, at a 1-minute load "
        f"average of {min(loads):.2f}-{max(loads):.2f} on {os.cpu_count()} cores.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        update_section(TITLE, body)


if __name__ == "__main__":
    main()
