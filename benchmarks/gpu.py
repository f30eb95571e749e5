"""GPU speed: gancore against a plain PyTorch loop, row by row, and the options that take the host out of the loop.

Rows: the fast DCGAN recipe (examples/dcgan-mnist5k-fast.yaml); the same DCGAN with 64 channels at
batch 256; WGAN-GP on mnist5k; the BigGAN example; CycleGAN (one step of the coloured-digits example).
For each row and each option set (baseline fp32; compile with CUDA graphs, `reduce-overhead`; fused
optimizers; channels_last; bf16 autocast; all of them, "best") one child process (a fresh CUDA
context, one CPU thread) trains the row's config through gancore's real path (`Run.from_config` and
`gancore.fit`), and a `gan_train_step_end` hook runs, after every block of gancore's steps, a block
of steps of a plain PyTorch loop (benchmarks/gpu_plain.py) with the same networks, optimizers,
losses, options and on-device data: both sides share the process, the device and the minute's load.
The first blocks of each side (compilation, CUDA graph capture, allocator) are not counted; the last
block of each side runs under torch.profiler (kernels launched and their device time) instead of
being timed. Blocks are timed between `torch.cuda.synchronize()` calls.

Reported per row and option set: steps/s of each side, images/s, the ratio gancore / plain, the gain
of each option over the baseline, the GPU's busy share, peak memory, whether CUDA graphs were used;
then the targets (ratio >= 0.95 everywhere; the fast DCGAN >= 500 steps/s and BigGAN >= 100 steps/s
with their best options), met or not, and what bounds the plain loop (launches per step x the cost
of one launch). The table goes into benchmarks/RESULTS.md ("GPU: gancore against a plain loop"),
the raw numbers into benchmarks/_work/gpu/results.json.

    python benchmarks/gpu.py                                     # a GPU machine: every row and option set
    python benchmarks/gpu.py --rows dcgan-fast,biggan --options baseline,best --merge
    python benchmarks/gpu.py --device cpu --steps 40             # dry run on the CPU: prints, writes no RESULTS.md

A full sweep is 30 children of about a minute each on an H200; `--rows`/`--options` take a part, and
`--merge` keeps the cells of an earlier call (same commit and device) in the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work" / "gpu"
sys.path.insert(0, str(HERE))
from results import child_env, update_section

from gancore import hookimpl

TITLE = "GPU: gancore against a plain loop"
RATIO_TARGET = 0.95
SPEED_TARGETS = {"dcgan-fast": 500.0, "biggan": 100.0}  # steps/s of gancore with the row's best options, on an H200

# name: (config, --set overrides, default steps on a GPU: about 20-40 s a side at baseline speed)
ROWS = {
    "dcgan-fast": ("examples/dcgan-mnist5k-fast.yaml", (), 2000),
    "dcgan64-b256": ("examples/dcgan-mnist5k-fast.yaml",
                     ("algorithm.generator.base_channels=64", "algorithm.discriminator.base_channels=64", "train.batch_size=256"), 1000),
    "wgan-gp": ("plugins/gan-wgan/examples/wgan-gp-mnist5k.yaml", (), 600),
    "biggan": ("examples/biggan-mnist5k.yaml", (), 400),
    "cyclegan": ("plugins/gan-cyclegan/examples/cyclegan-mnist-colored.yaml", (), 800),
}
# What both sides leave out: evaluation, periodic grids and checkpoints (the run's final ones come after the timing), trackers.
COMMON_SETS = ("eval.metrics=[]", "train.sample_every=0", "train.checkpoint_every=0", "train.tensorboard=false",
               "train.progress=false", "train.threads=1")
OPTION_SETS = ("baseline", "compile", "fused", "channels_last", "bf16", "best")
CUDA_ONLY = "n/a (cpu)"
DRY_VERDICT = "not judged: a CPU dry run (the targets are for a GPU)"
CPU_BATCH = 4  # a CPU dry run's batches at most: it exercises the code, and bf16 on a CPU without bf16 units is ~10x slower


def option_fields(name: str, compile_mode: str, compile_ok: bool = True) -> dict:
    """The plain loop's Options of an option set (the gancore side gets the same through ``train``)."""
    every = {"compile": compile_mode if compile_ok else None, "fused": True, "channels_last": True, "bf16": True}
    return every if name == "best" else {k: v for k, v in every.items() if k == name}


def gancore_sets(fields: dict) -> list[str]:
    mode = fields.get("compile")
    return ([f"train.compile={mode}"] if mode else []) + (["train.fused_optimizers=true"] if fields.get("fused") else []) \
        + (["train.channels_last=true"] if fields.get("channels_last") else []) + (["train.mixed_precision=bf16"] if fields.get("bf16") else [])


# ----------------------------------------------------------------- the child: one row, one option set


class Interleave:
    """After every ``block`` of gancore's steps, ``block`` steps of the plain loop. Blocks 1..warmup of each side
    are not counted; the last block of each side is profiled (kernels and their device time) instead of timed."""

    def __init__(self, spec: dict, options) -> None:
        import torch

        self.torch, self.options = torch, options
        self.block, self.warmup, self.blocks = spec["block"], spec["warmup"], spec["steps"] // spec["block"]
        self.cuda = spec["device"] == "cuda"
        self.plain, self.mark, self.profiler, self.skips_seen, self.error, self.profile_error = None, None, None, 0, None, None
        self.sides = {side: {"steps": 0, "seconds": 0.0, "peak_bytes": 0, "cudagraph_skips": 0} for side in ("gancore", "plain")}
        self.block_ratios: list[float] = []

    def role(self, k: int) -> str:
        return "warmup" if k <= self.warmup else "profile" if k == self.blocks else "timed"

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def begin(self, k: int) -> None:
        if self.role(k) == "profile":
            from torch.profiler import ProfilerActivity, profile

            self.profiler = profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.cuda else []))
            try:
                self.profiler.start()
            except Exception as exc:  # noqa: BLE001 - the timings stand without it
                self.profiler, self.profile_error = None, f"{type(exc).__name__}: {exc}"
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats()
        self.sync()
        self.mark = time.perf_counter()

    def end(self, side: str, k: int) -> float:
        """Close ``side``'s block ``k``: its seconds, peak memory, CUDA graph skips, or its profile."""
        self.sync()
        seconds, stats = time.perf_counter() - self.mark, self.sides[side]
        skips = self.cudagraph_skips()
        stats["cudagraph_skips"] += skips - self.skips_seen
        self.skips_seen = skips
        if self.profile_error:
            stats["profile_error"], self.profile_error = self.profile_error, None
        if self.profiler is not None:
            try:
                self.profiler.stop()
                stats.update(profile_stats(self.profiler, self.block))
            except Exception as exc:  # noqa: BLE001 - the timings stand without it
                stats["profile_error"] = f"{type(exc).__name__}: {exc}"
            self.profiler = None
        elif self.role(k) == "timed":
            stats["steps"] += self.block
            stats["seconds"] += seconds
            if self.cuda:
                stats["peak_bytes"] = max(stats["peak_bytes"], self.torch.cuda.max_memory_allocated())
        return seconds

    def cudagraph_skips(self) -> int:
        # torch's own count of graphs it could not capture (a private counter: the public logs only print them)
        if not self.options.compile:
            return 0
        from torch._dynamo.utils import counters

        return int(counters["inductor"].get("cudagraph_skips", 0))

    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        if step % self.block or self.error:
            return
        try:
            self.interleave(run, step // self.block)
        except Exception as exc:  # noqa: BLE001 - gancore would only warn and mute the hook: stop the run and report it instead
            self.error = f"the plain loop failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            run.should_stop = True

    def interleave(self, run, k: int) -> None:
        from gpu_plain import plain_loop

        ours = self.end("gancore", k) if self.mark is not None else None
        if self.plain is None:  # built after gancore's first block; its own first blocks warm it up
            self.plain = plain_loop(run, self.options)
        self.begin(k)
        for _ in range(self.block):
            self.plain.step()
        plain = self.end("plain", k)
        if ours and self.role(k) == "timed":
            self.block_ratios.append(plain / ours)
        self.begin(k + 1)


def profile_stats(profiler, steps: int) -> dict:
    """Device operations (kernels, copies, fills) per step and device-busy seconds per step: the union of their
    intervals on the device's clock. On the CPU there are none; the count of host events shows the profiler ran."""
    from torch.autograd import DeviceType

    events = profiler.events()
    # Device events are kernels, copies and fills, and the device-side spans of record_function ranges (the optimizers'
    # steps), which are not work: torch's own tables leave them out by is_user_annotation, as here.
    spans = sorted((e.time_range.start, e.time_range.end) for e in events
                   if e.device_type == DeviceType.CUDA and not getattr(e, "is_user_annotation", False)
                   and getattr(e, "activity_type", None) != "gpu_user_annotation")
    busy, reach = 0.0, float("-inf")
    for start, end in spans:
        if end > reach:
            busy += end - max(start, reach)
            reach = end
    graphs = sum(1 for e in events if e.name.startswith(("cudaGraphLaunch", "cuGraphLaunch")))  # the call that replays a captured graph
    return {"device_ops_per_step": len(spans) / steps, "kernel_seconds_per_step": busy / 1e6 / steps,
            "graph_launches_per_step": graphs / steps, "profiled_events": len(events)}


def images_per_step(run) -> tuple[int, str]:
    """Images a step processes, and how that is counted: the real batches of the D (critic) steps and the generated
    batch of the G step; for CycleGAN, the real images of both domains."""
    cfg, b = run.algorithm.config, run.config.train.batch_size
    if hasattr(cfg, "n_critic"):
        return b * (cfg.n_critic + 1), f"batch {b} x (n_critic {cfg.n_critic} + 1)"
    if hasattr(cfg, "d_steps"):
        return b * (cfg.d_steps + 1), f"batch {b} x (D steps {cfg.d_steps} + 1)"
    return 2 * b, f"batch {b} x 2 domains (real A and B)"


def launch_cost(device: str, launches: int = 5000) -> float | None:
    """Seconds per launch of an empty kernel (``x.add_(1)`` on one element), the host's cost when nothing waits."""
    import torch

    if device != "cuda":
        return None
    x = torch.zeros(1, device=device)
    for _ in range(200):
        x.add_(1)
    torch.cuda.synchronize()
    began = time.perf_counter()
    for _ in range(launches):
        x.add_(1)
    torch.cuda.synchronize()
    return (time.perf_counter() - began) / launches


def child(spec: dict) -> None:
    if spec["device"] == "cuda":
        # Two profiler sessions in a process that replays CUDA graphs: keep CUPTI loaded between them, as torch's
        # profiler does itself when it knows of the graphs (it reads the global inductor flag, not a compile mode).
        os.environ.setdefault("TEARDOWN_CUPTI", "0")
        os.environ.setdefault("DISABLE_CUPTI_LAZY_REINIT", "1")
    import torch
    from gpu_plain import Options

    from gancore.config import build_run_config, load_yaml
    from gancore.plugins import get_host
    from gancore.run import Run
    from gancore.trainer import fit

    torch.set_num_threads(1)
    options = Options(**spec["fields"])
    config_file, sets, _ = ROWS[spec["row"]]
    host = get_host()
    bench = Interleave(spec, options)
    host.register_plugin(bench, "gpu-benchmark")
    overrides = [*COMMON_SETS, *sets, *gancore_sets(spec["fields"]), f"train.steps={spec['steps']}"]
    overrides += (["train.cpu=true"] if spec["device"] == "cpu" else []) + ([f"train.batch_size={spec['batch']}"] if spec["batch"] else [])
    config = build_run_config(host.registry, None, load_yaml(ROOT / config_file), overrides)
    if spec["batch_cap"] and config.train.batch_size > spec["batch_cap"]:  # a CPU dry run: smaller batches, the same code
        config = build_run_config(host.registry, None, load_yaml(ROOT / config_file), [*overrides, f"train.batch_size={spec['batch_cap']}"])
    run_dir = Path(spec["run_dir"])
    shutil.rmtree(run_dir, ignore_errors=True)
    run = Run.from_config(config, host, run_dir, training=True)
    run.begin()
    fit(run)
    if bench.error:
        raise SystemExit(bench.error)
    images, counted = images_per_step(run)
    result = {"sides": bench.sides, "block_ratios": bench.block_ratios, "images_per_step": images, "images_counted": counted,
              "launch_seconds": launch_cost(spec["device"]), "device_name": str(run.accelerator.device)}
    Path(spec["out"]).write_text(json.dumps(result))


# ---------------------------------------------------------------- the parent: children, table, targets


def run_cell(row: str, option: str, fields: dict, args, steps: int) -> dict:
    """One child; its result, or {"error": ...} with the last line of its log."""
    name = f"{row}.{option}"
    spec = {"row": row, "fields": fields, "device": args.device, "steps": steps, "block": steps // args.blocks, "batch": args.batch_size,
            "batch_cap": CPU_BATCH if args.device == "cpu" and not args.batch_size else None,
            "warmup": args.warmup_blocks, "out": str(WORK / f"{name}.json"), "run_dir": str(WORK / "runs" / name)}
    spec["steps"] = spec["block"] * args.blocks
    log = WORK / f"{name}.log"
    Path(spec["out"]).unlink(missing_ok=True)
    began = time.perf_counter()
    try:
        with open(log, "w") as out:
            code = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)], env=child_env(),
                                  stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, timeout=args.timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s; see {log}"}
    if code != 0 or not Path(spec["out"]).exists():
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        return {"error": f"exit {code}: {lines[-1].strip() if lines else 'no output'} (see {log.relative_to(ROOT)})"}
    cell = json.loads(Path(spec["out"]).read_text())
    if not all(side["steps"] for side in cell["sides"].values()):
        return {"error": f"no timed block (see {log.relative_to(ROOT)})"}
    return {**cell, "steps": spec["steps"], "block": spec["block"], "wall": time.perf_counter() - began, "fields": fields}


def compile_probe() -> str | None:
    """None when torch.compile works on the CPU (it needs a C++ compiler), else why not."""
    code = "import torch; f = torch.compile(lambda x: x * 2 + 1); print(float(f(torch.ones(4)).sum()))"
    proc = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode == 0:
        return None
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit {proc.returncode}"


def machine(device: str) -> dict:
    import accelerate
    import torch

    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "accelerate": accelerate.__version__,
            "python": platform.python_version(), "cores": os.cpu_count(), "device": device}
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    info["commit"] = git("rev-parse", "--short", "HEAD") or "unknown"
    info["dirty"] = bool(git("status", "--porcelain", "--", "gancore", "plugins", "benchmarks/gpu.py", "benchmarks/gpu_plain.py"))
    if device == "cuda":
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, check=False) if shutil.which("nvidia-smi") else None
        if smi is not None and smi.returncode == 0 and smi.stdout.count(",") >= 2:
            name, driver, memory = (part.strip() for part in smi.stdout.strip().splitlines()[0].split(",")[:3])
            info["gpu"] = f"{name} ({memory}, driver {driver})"
        else:
            props = torch.cuda.get_device_properties(0)
            info["gpu"] = f"{props.name} ({props.total_memory // 2**20} MiB, driver unknown: no nvidia-smi)"
    else:
        info["gpu"] = f"no GPU (a CPU dry run on {platform.machine()})"
    return info


def fmt(value, spec: str = ".1f", unit: str = "") -> str:
    return value if isinstance(value, str) else "-" if value is None else f"{value:{spec}}{unit}"


def side_numbers(cell: dict, side: str, cuda: bool) -> dict:
    """steps/s, busy share, peak MiB of one side of a cell (CUDA-only ones as n/a on the CPU)."""
    s = cell["sides"][side]
    rate = s["steps"] / s["seconds"] if s["seconds"] else None
    busy = s["kernel_seconds_per_step"] * rate if cuda and rate and "kernel_seconds_per_step" in s else None
    return {"rate": rate, "busy": busy if cuda else CUDA_ONLY, "peak": s["peak_bytes"] / 2**20 if cuda else CUDA_ONLY,
            "ops": s.get("device_ops_per_step") if cuda else CUDA_ONLY, "skips": s["cudagraph_skips"], "graphs": s.get("graph_launches_per_step")}


def results_table(cells: dict, cuda: bool, notes: dict) -> str:
    head = ("| row | options | gancore steps/s | plain steps/s | ratio | gancore images/s | gain over baseline (gancore, plain) "
            "| GPU busy (gancore, plain) | peak MiB (gancore, plain) | CUDA graphs (gancore, plain) |")
    lines = [head, "|" + " --- |" * 10]
    for (row, option), cell in cells.items():
        if "error" in cell or "skipped" in cell:
            lines.append(f"| {row} | {option} | {cell.get('error') or cell['skipped']} |" + " |" * 7)
            continue
        g, p = side_numbers(cell, "gancore", cuda), side_numbers(cell, "plain", cuda)
        base = cells.get((row, "baseline"), {})
        gain = "-" if "sides" not in base or option == "baseline" else \
            f"{g['rate'] / side_numbers(base, 'gancore', cuda)['rate']:.2f}x, {p['rate'] / side_numbers(base, 'plain', cuda)['rate']:.2f}x"
        busy = CUDA_ONLY if not cuda else f"{fmt(g['busy'], '.0%')}, {fmt(p['busy'], '.0%')}"
        peak = CUDA_ONLY if not cuda else f"{g['peak']:.0f}, {p['peak']:.0f}"
        graphs = CUDA_ONLY if not cuda else "-" if not cell["fields"].get("compile") else \
            f"{fmt(g['graphs'], '.0f')}, {fmt(p['graphs'], '.0f')} replays per step; {g['skips']}, {p['skips']} skipped"
        label = option + (f" ({notes[option]})" if option in notes else "")
        lines.append(f"| {row} | {label} | {g['rate']:.1f} | {p['rate']:.1f} | **{g['rate'] / p['rate']:.3f}** | "
                     f"{g['rate'] * cell['images_per_step']:,.0f} | {gain} | {busy} | {peak} | {graphs} |")
    return "\n".join(lines)


def targets_table(cells: dict, cuda: bool) -> str:
    lines = ["| target | row | measured | met |", "| --- | --- | --- | --- |"]
    for row in dict.fromkeys(r for r, _ in cells):
        ratios = {o: side_numbers(c, "gancore", cuda)["rate"] / side_numbers(c, "plain", cuda)["rate"]
                  for (r, o), c in cells.items() if r == row and "sides" in c}
        if ratios:
            low = [f"{o} {v:.3f}" for o, v in ratios.items() if v < RATIO_TARGET]
            lines.append(f"| gancore / plain >= {RATIO_TARGET} with the same options | {row} | {min(ratios.values()):.3f} at worst "
                         f"({len(ratios)} option sets) | {('not met: ' + ', '.join(low) if low else 'met') if cuda else DRY_VERDICT} |")
        if row in SPEED_TARGETS:
            rates = {o: side_numbers(c, "gancore", cuda)["rate"] for (r, o), c in cells.items() if r == row and "sides" in c}
            if rates:
                best = max(rates, key=rates.get)
                verdict = ("met" if rates[best] >= SPEED_TARGETS[row] else "not met") if cuda else DRY_VERDICT
                lines.append(f"| >= {SPEED_TARGETS[row]:.0f} steps/s with the best options | {row} | {rates[best]:.1f} ({best}) | {verdict} |")
    return "\n".join(lines)


def launch_section(cells: dict, cuda: bool) -> str:
    """What bounds the plain loop: device operations per step times the cost of an empty launch, for every eager
    option set that was profiled; and the gap to each speed target the plain loop itself does not reach."""
    if not cuda:
        return f"Launch bound: {CUDA_ONLY} (kernel launches are counted by the CUDA profiler)."
    lines = [("| row | options | device ops per step (plain, gancore) | cost of an empty launch | host bound for the plain loop "
              "| plain measured | measured / bound |"), "|" + " --- |" * 7]
    bounds = {}
    for (row, option), cell in cells.items():
        if "sides" not in cell or cell["fields"].get("compile") or not cell.get("launch_seconds"):
            continue
        p, g = side_numbers(cell, "plain", cuda), side_numbers(cell, "gancore", cuda)
        if not p["ops"]:
            continue
        bound = 1 / (p["ops"] * cell["launch_seconds"])
        bounds.setdefault(row, (option, p["ops"], cell["launch_seconds"], bound))
        lines.append(f"| {row} | {option} | {p['ops']:.0f}, {fmt(g['ops'], '.0f')} | {cell['launch_seconds'] * 1e6:.1f} us | "
                     f"{bound:.0f} steps/s | {p['rate']:.1f} | {p['rate'] / bound:.2f} |")
    gaps = []
    for row, target in SPEED_TARGETS.items():
        rates = {o: side_numbers(c, "plain", cuda)["rate"] for (r, o), c in cells.items() if r == row and "sides" in c}
        if rates and max(rates.values()) < target:
            best = max(rates, key=rates.get)
            why = ""
            if row in bounds:
                option, ops, cost, bound = bounds[row]
                why = (f" Eager ({option}), it launches {ops:.0f} device operations per step at {cost * 1e6:.1f} us each, so the host "
                       f"alone bounds it at {bound:.0f} steps/s; only fewer launches (a captured step, fused kernels) get past that.")
            gaps.append(f"- {row}: the plain loop itself reaches {rates[best]:.1f} steps/s at best ({best}), "
                        f"{target / rates[best]:.2f}x short of {target:.0f}.{why}")
    return "\n".join(lines + ([""] + gaps if gaps else []))


def report(cells: dict, info: dict, command: str, notes: dict) -> str:
    cuda = info["device"] == "cuda"
    counted = {r: c["images_counted"] for (r, _), c in cells.items() if "images_counted" in c}
    rows = "\n".join(f"| {r} | `{ROWS[r][0]}`{' with ' + ', '.join(f'`{s}`' for s in ROWS[r][1]) if ROWS[r][1] else ''} | {counted.get(r, '-')} |"
                     for r in dict.fromkeys(r for r, _ in cells))
    machine_line = (f"Machine: {info['gpu']}, {info['cores']} CPU cores; torch {info['torch']} (CUDA {info['cuda']}), accelerate "
                    f"{info['accelerate']}, Python {info['python']}; commit {info['commit']}{' with uncommitted changes' if info['dirty'] else ''}.")
    return f"""{machine_line}
Command: `{command}`.{f' **A CPU dry run**: batches of at most {CPU_BATCH} unless --batch-size is given, the GPU-only columns read n/a, and no target is judged.' if not cuda else ''}

Each cell is one child process (a fresh CUDA context, one CPU thread) that trains the row's config through gancore's own
path (`Run.from_config(..., training=True)`, `gancore.fit`; no evaluation, periodic grids or checkpoints) while a
`gan_train_step_end` hook runs, after every block of gancore's steps, as many steps of a plain PyTorch loop
(benchmarks/gpu_plain.py) with the same networks, optimizers, losses, options and on-device data. The first
blocks of each side are warm-up (compilation, CUDA graph capture, allocator) and not counted; steps/s and the ratio
come from the totals of the timed blocks, each bracketed by `torch.cuda.synchronize()`. **GPU busy** is the device
time of the kernels of each side's last block, taken with torch.profiler (the union of their intervals), per step,
times the side's steps/s: CUDA events around a block would only give its span, which is the wall time whether the
GPU worked or waited. **Peak** is `torch.cuda.max_memory_allocated()` over each side's timed blocks after
`reset_peak_memory_stats()`, for the whole process: both sides' weights, optimizer states and data are resident
throughout, so the two columns differ by their working memory. **CUDA graphs**: graph replays per step (`cudaGraphLaunch`
calls in the profile) and the graphs torch would not capture (its `cudagraph_skips` count). Images/s is steps/s times the images a step processes:

| row | config | images per step |
| --- | --- | --- |
{rows}

{results_table(cells, cuda, notes)}

{targets_table(cells, cuda)}

{launch_section(cells, cuda)}"""


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cuda (the benchmark) or cpu (a dry run)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of: {', '.join(ROWS)}")
    parser.add_argument("--options", default=",".join(OPTION_SETS), help=f"comma-separated option sets, of: {', '.join(OPTION_SETS)}")
    parser.add_argument("--steps", type=int, help="gancore steps per child (default: per row on cuda, 40 on cpu)")
    parser.add_argument("--blocks", type=int, default=10, help="blocks per side (default 10)")
    parser.add_argument("--warmup-blocks", type=int, default=2, help="blocks per side not counted (default 2)")
    parser.add_argument("--batch-size", type=int, help="every row at this batch size (default: the rows' own on cuda; at most 4 on cpu)")
    parser.add_argument("--compile-mode", default="reduce-overhead", choices=("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"))
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per child before it is stopped")
    parser.add_argument("--write", action="store_true", help="write RESULTS.md after a CPU dry run too")
    parser.add_argument("--merge", action="store_true", help="keep the cells of results.json of the same commit and device")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return args
    args.rows, args.options = args.rows.split(","), args.options.split(",")
    for given, known, flag in ((args.rows, ROWS, "--rows"), (args.options, OPTION_SETS, "--options")):
        unknown = [x for x in given if x not in known]
        if unknown:
            parser.error(f"{flag}: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(known)}")
    if args.warmup_blocks < 1 or args.blocks < args.warmup_blocks + 2:
        parser.error("--blocks must leave, after --warmup-blocks (at least 1), a timed block and a profiled block")
    if args.batch_size is not None and args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.steps is not None and args.steps < args.blocks:
        parser.error(f"--steps {args.steps}: at least one step per block ({args.blocks} blocks)")
    return args


def main() -> None:
    args = arguments()
    if args.child:
        return child(json.loads(args.child))
    rows, options = args.rows, args.options
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"error: --device cuda: torch {torch.__version__} sees no CUDA device here; run on a GPU machine, "
              "or use --device cpu for a dry run", file=sys.stderr)
        sys.exit(2)
    WORK.mkdir(parents=True, exist_ok=True)
    info, command = machine(args.device), "python benchmarks/gpu.py " + " ".join(sys.argv[1:])
    notes, compile_ok = {}, True
    if args.device == "cpu" and {"compile", "best"} & set(options):
        why = compile_probe()
        compile_ok = why is None
        print(f"torch.compile on the CPU: {'works (a C++ compiler was found)' if compile_ok else 'does not work: ' + why}", flush=True)
        if not compile_ok:
            notes["best"] = "without compile: " + why
    saved = WORK / "results.json"
    cells: dict = {}
    if args.merge and saved.exists():
        old = json.loads(saved.read_text())
        if {k: old["machine"].get(k) for k in ("commit", "device", "gpu")} == {k: info[k] for k in ("commit", "device", "gpu")}:
            cells = {tuple(k.split("/")): v for k, v in old["cells"].items()}
            command += " (--merge: with the cells of earlier calls on this commit)"
    for row in rows:
        for option in options:
            if option == "compile" and not compile_ok:
                cells[(row, option)] = {"skipped": f"skipped: torch.compile does not work on this CPU ({notes['best']})"}
                continue
            steps = args.steps or (ROWS[row][2] if args.device == "cuda" else 40)
            cell = run_cell(row, option, option_fields(option, args.compile_mode, compile_ok), args, steps)
            cells[(row, option)] = cell
            print(f"{row} {option}: " + (cell["error"] if "error" in cell else
                  f"gancore {side_numbers(cell, 'gancore', False)['rate']:.1f} steps/s, plain {side_numbers(cell, 'plain', False)['rate']:.1f} "
                  f"({cell['wall']:.0f} s)"), flush=True)
    order = {k: i for i, k in enumerate((r, o) for r in ROWS for o in OPTION_SETS)}
    cells = dict(sorted(cells.items(), key=lambda kv: order[kv[0]]))
    body = report(cells, info, command, notes)
    saved.write_text(json.dumps({"machine": info, "command": command, "cells": {"/".join(k): v for k, v in cells.items()}}, indent=1))
    print("\n" + body)
    if args.device == "cuda" or args.write:
        update_section(TITLE, body)
        print(f"\nwritten: benchmarks/RESULTS.md, section '{TITLE}'")
    else:
        print(f"\n(dry run: RESULTS.md left as it is; --write writes it) raw numbers: {saved.relative_to(ROOT)}")
    sys.exit(1 if any("error" in c for c in cells.values()) else 0)


if __name__ == "__main__":
    main()
