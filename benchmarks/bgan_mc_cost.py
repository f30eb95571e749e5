"""Seconds per BGAN generator step against the number of Monte-Carlo samples m.

The networks and data of plugins/gan-bgan/examples/bgan-binary-mnist5k.yaml (28x28
binary digits, batch 64), built once in one process with one thread. Every
m in --ms is timed side by side: each repeat runs a few steps at every m in
turn, so load on the machine hits them all alike. A step is one trainer step of
``bgan``: the generator's forward pass, m samples per z, the discriminator on
the real batch and on all m*N samples in one batched pass, and both updates.
Both ``discriminator_samples`` modes are timed: ``one`` (the default: D trains on
one sample per z; the m*N scoring pass needs no gradient) and ``all`` (D also
trains on the m*N samples, as the reference code).

The table goes into benchmarks/RESULTS.md with the fitted growth: the exponent
b of t ~ m^b between the smallest and largest m, and t = a + c*m by least squares.

    python benchmarks/bgan_mc_cost.py [--ms 5 10 20 40] [--repeats 5] [--steps 4]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from results import update_section  # noqa: E402

EXAMPLE = ROOT / "plugins" / "gan-bgan" / "examples" / "bgan-binary-mnist5k.yaml"
MODES = ("one", "all")


def build(mode: str, run_dir: Path):
    """The example's run with ``discriminator_samples: mode``, built and not trained (``fresh_run``)."""
    from scoring import fresh_run

    overrides = [f"algorithm.discriminator_samples={mode}", "train.tensorboard=false", "train.progress=false", "eval.metrics=[]"]
    return fresh_run(EXAMPLE, run_dir, overrides)


def time_steps(run, m: int, steps: int, step0: int) -> float:
    algorithm = run.algorithm
    algorithm.config.n_mc_samples = m
    start = time.perf_counter()
    for i in range(steps):
        algorithm.train_step(run.next_batch(), step0 + i)
    return (time.perf_counter() - start) / steps


def fit(ms: list[int], seconds: list[float]) -> tuple[float, float, float]:
    """Exponent between the ends, and the least-squares line a + c*m."""
    exponent = math.log(seconds[-1] / seconds[0]) / math.log(ms[-1] / ms[0])
    mean_m, mean_t = statistics.mean(ms), statistics.mean(seconds)
    slope = sum((m - mean_m) * (t - mean_t) for m, t in zip(ms, seconds)) / sum((m - mean_m) ** 2 for m in ms)
    return exponent, mean_t - slope * mean_m, slope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ms", type=int, nargs="+", default=[5, 10, 20, 40])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per m per repeat")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per m before the first repeat")
    parser.add_argument("--no-results", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    times: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {mode: build(mode, Path(tmp) / mode) for mode in MODES}
        step = 1
        for mode, run in runs.items():
            for m in args.ms:
                time_steps(run, m, args.warmup, step)
                step += args.warmup
        for r in range(args.repeats):
            for m in args.ms:
                for mode, run in runs.items():
                    times.setdefault((mode, m), []).append(time_steps(run, m, args.steps, step))
                    step += args.steps
            print(f"repeat {r}: " + ", ".join(f"{mode} m={m} {times[(mode, m)][-1]:.3f}s" for m in args.ms for mode in MODES), flush=True)

    median = {key: statistics.median(values) for key, values in times.items()}
    rows = []
    for i, m in enumerate(args.ms):
        cells = []
        for mode in MODES:
            t = median[(mode, m)]
            # The cost of one more sample per z, from the previous m: flat when the growth is linear.
            marginal = "–" if i == 0 else f"{1000 * (t - median[(mode, args.ms[i - 1])]) / (m - args.ms[i - 1]):.1f}"
            cells += [f"{t:.3f}", f"{t / median[(mode, args.ms[0])]:.2f}x", marginal]
        rows.append(f"| {m} | " + " | ".join(cells) + " |")
    fits = {mode: fit(args.ms, [median[(mode, m)] for m in args.ms]) for mode in MODES}
    fit_rows = "\n".join(
        f"| `{mode}` | {b:.2f} | {a:.3f} + {c * 1000:.1f} ms·m | {median[(mode, args.ms[-1])] / median[(mode, args.ms[-2])]:.2f}x |"
        for mode, (b, a, c) in fits.items()
    )
    m_ratio = args.ms[-1] / args.ms[-2]
    body = f"""Seconds per generator step of `bgan` against the Monte-Carlo samples per latent, m. Networks and data of
`plugins/gan-bgan/examples/bgan-binary-mnist5k.yaml`: binary 28x28 mnist5k, batch 64, `bgan-generator` and
`bgan-discriminator` with 32 base channels. One process, one thread, CPU; every m timed side by side
({args.repeats} repeats of {args.steps} steps at each m in turn, after {args.warmup} warm-up steps; medians).
A step is a whole trainer step: G forward, m·N samples, D on the real batch and on all m·N samples in one
batched pass, and the D and G updates. `one` (the default): D trains on one sample per z and the m·N scoring
pass runs without gradient; `all`: D also trains on all m·N samples (as the reference code).
Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}.
Command: `python benchmarks/bgan_mc_cost.py --ms {' '.join(map(str, args.ms))} --repeats {args.repeats} --steps {args.steps}`.

| m | `one` s/step | vs m={args.ms[0]} | ms per extra m | `all` s/step | vs m={args.ms[0]} | ms per extra m |
| --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

| mode | exponent b in t ∝ m^b (m={args.ms[0]}→{args.ms[-1]}) | least-squares t = a + c·m (s) | t(m={args.ms[-1]}) / t(m={args.ms[-2]}) |
| --- | --- | --- | --- |
{fit_rows}

Target: cost no worse than linear in m (b ≤ 1; doubling m at most doubles the step, {m_ratio:.0f}x here). The reference
README warns of quadratic growth; here the m samples are one batched pass, so cost is a fixed part (the
generator and the real batch) plus a part linear in m."""
    print(body)
    if not args.no_results:
        update_section("BGAN: seconds per generator step against m", body)


if __name__ == "__main__":
    main()
