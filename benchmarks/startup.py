"""CLI start-up: `gan --help`, `gan --version` and `gan plugins` against `python -c "import torch"`.

Each command runs in a fresh process, interleaved with the others, `--repeats` times;
the table gives the median wall time and its ratio to importing torch, measured in the
same run, so the load of the machine affects both sides alike. It also says whether
the command imported torch at all (`-X importtime` of one extra run).

    python benchmarks/startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import child_env, update_section  # noqa: E402

GAN = [sys.executable, "-m", "gancore.cli"]
COMMANDS = {
    "gan --help": [*GAN, "--help"],
    "gan --version": [*GAN, "--version"],
    "gan plugins": [*GAN, "plugins"],
    'python -c "import torch"': [sys.executable, "-c", "import torch"],
}


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def imports_torch(command: list[str]) -> bool:
    out = subprocess.run([command[0], "-X", "importtime", *command[1:]], env=child_env(), capture_output=True, text=True, check=True)
    return any(line.rstrip().endswith("| torch") for line in out.stderr.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the file cache: the first run of anything reads from disk
        wall(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    load = os.getloadavg()[0]
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            times[name].append(wall(command))
    torch_median = statistics.median(times['python -c "import torch"'])
    rows = []
    for name, command in COMMANDS.items():
        median = statistics.median(times[name])
        rows.append(f"| `{name}` | {median:.2f} s | {median / torch_median:.2f} | {'yes' if imports_torch(command) else 'no'} |")
        print(f"{name}: median {median:.3f} s over {args.repeats} ({min(times[name]):.3f}-{max(times[name]):.3f})")
    body = f"""Written by `benchmarks/startup.py --repeats {args.repeats}`: each command in a fresh process, the four interleaved,
median wall time, with every plugin of this repository installed. {platform.machine()}, {os.cpu_count()} cores,
Python {platform.python_version()}, 1-minute load average {load:.2f} at the start.

| command | median wall | ÷ `import torch` | imports torch |
| --- | --- | --- | --- |
{chr(10).join(rows)}

`gan --help` and `gan --version` load every plugin module (to list the commands plugins add) but no
plugin imports torch at its top: each hook imports what it registers, and commands that need torch are
`gancore.LazyCommand`s. `gan plugins` lists what every plugin registers, so it imports the families'
modules, and torch with them."""
    update_section("CLI start-up", body)


if __name__ == "__main__":
    main()
