"""Fault tolerance of a run folder: each fault of issue 10 injected N times, then counted.

For every fault the run is then resumed (or just finished) and its final checkpoint compared,
tensor for tensor and its JSON state too, with an uninterrupted reference run: "resumed exactly".
A run "lost data" when, after the fault, no valid checkpoint was left, a non-finite or half-written
checkpoint was left, an earlier checkpoint changed, or the folder mixed two runs.

* ``kill -9``: a run (300 steps, a checkpoint every step, so many kills land inside a write) killed
  at random moments, resumed after each kill, several times per run;
* ``full disk``: ``OSError(ENOSPC)`` at a random byte of a random checkpoint's files, then --resume;
* ``two runs at once``: two processes started together on one folder;
* ``raising lifecycle hook``: a plugin whose ``gan_eval_end`` raises at a random evaluation;
* ``NaN at a chosen step``: weights turn NaN at a random step, then the run is resumed from the
  checkpoint the message names, without the NaN;
* ``damaged state.json``: the newest checkpoint's ``state.json`` replaced by JSON of the wrong shape
  (or a torn file), then --resume falls back.

Tiny MLPs on 64 ring points, one process at a time, one thread (OMP_NUM_THREADS=1). Runs are forked
from this process (gancore is imported once), so a kill -9 hits a real process. Runs go to
``benchmarks/_work/faults``; the "Fault tolerance" section of ``benchmarks/RESULTS.md`` is rewritten.

    OMP_NUM_THREADS=1 python benchmarks/faults.py            # 20 kills, 5 of every other fault
    OMP_NUM_THREADS=1 python benchmarks/faults.py --quick    # 3 kills, 1 of each, prints only
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import update_section  # noqa: E402

import torch  # noqa: E402
import yaml  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

from gancore import Algorithm, GANAlgorithm, checkpoint as ckpt, hookimpl  # noqa: E402
from gancore.plugins import get_host  # noqa: E402
from gancore.testing import FullDisk  # noqa: E402

WORK = HERE / "_work" / "faults"
TITLE = "Fault tolerance"
TINY = {
    "plugin": "gan",
    "algorithm": {
        "name": "gan",
        "latent_dim": 2,
        "generator": {"name": "mlp-generator", "hidden_dim": 16, "num_layers": 2},
        "discriminator": {"name": "mlp-discriminator", "hidden_dim": 16, "num_layers": 2},
    },
    "data": {"name": "ring", "num_samples": 64},
    "train": {"steps": 60, "batch_size": 16, "log_every": 5, "sample_every": 0, "checkpoint_every": 10,
              "keep_checkpoints": 3, "progress": False, "tensorboard": False},
}


# ------------------------------------------------------------------ running gan


def fork_gan(*args, quiet: bool = True) -> int:
    """``gan ARGS`` in a forked child; returns its pid."""
    pid = os.fork()
    if pid == 0:  # the child: run the command, never return into the parent's code
        code = 1
        try:
            if quiet:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.dup2(null, 2)
            from gancore.cli import cli

            cli.main(args=[str(a) for a in args], prog_name="gan", standalone_mode=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001
            code = 1
        os._exit(code)
    return pid


def gan(*args) -> tuple[int, str]:
    """``gan ARGS`` in a forked child, waited for: (exit status, stderr text)."""
    log = WORK / f".stderr-{os.getpid()}"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 2)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            from gancore.cli import cli

            cli.main(args=[str(a) for a in args], prog_name="gan", standalone_mode=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001
            import traceback

            traceback.print_exc()
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), log.read_text() if log.exists() else ""


def write_config(path: Path, **train) -> Path:
    path.write_text(yaml.safe_dump({**TINY, "train": {**TINY["train"], **train}}))
    return path


def final(run_dir: Path) -> tuple[str, dict, dict]:
    folder = ckpt.list_checkpoints(run_dir)[-1]
    return folder.name, load_file(str(folder / ckpt.TENSORS)), json.loads((folder / ckpt.STATE).read_text())["state"]


def same(a: Path, b: Path) -> bool:
    name_a, tensors_a, state_a = final(a)
    name_b, tensors_b, state_b = final(b)
    return name_a == name_b and tensors_a.keys() == tensors_b.keys() and all(torch.equal(tensors_a[k], tensors_b[k]) for k in tensors_a) and state_a == state_b


def intact(run_dir: Path) -> bool:
    """Every checkpoint loads with finite weights and no temporary folder is left."""
    try:
        for folder in ckpt.list_checkpoints(run_dir):
            ckpt.load(folder)
    except Exception:  # noqa: BLE001
        return False
    return bool(ckpt.list_checkpoints(run_dir))


def fingerprints(run_dir: Path) -> dict[str, bytes]:
    return {f.name: (f / ckpt.TENSORS).read_bytes() + (f / ckpt.STATE).read_bytes() for f in ckpt.list_checkpoints(run_dir)}


def fresh(name: str) -> Path:
    path = WORK / name
    shutil.rmtree(path, ignore_errors=True)
    return path


# ------------------------------------------------------------------ the faults


def kills(total: int, per_run: int, rng: random.Random) -> dict:
    config = write_config(WORK / "kill.yaml", steps=300, checkpoint_every=1, keep_checkpoints=2, log_every=20)
    reference = fresh("kill-reference")
    assert gan("run", config, "--output", reference)[0] == 0
    started = time.perf_counter()
    assert gan("run", config, "--output", fresh("kill-timing"))[0] == 0
    seconds = time.perf_counter() - started
    injected = exact = lost = runs = cut_writes = 0
    while injected < total:
        runs += 1
        run_dir, ok, done = fresh(f"kill-{runs}"), True, False
        for _ in range(per_run):
            if injected >= total:
                break
            pid = fork_gan("run", config, "--output", run_dir, *(["--resume"] if ckpt.list_checkpoints(run_dir) else []))
            time.sleep(rng.uniform(0.05, 0.5) * seconds)
            if os.waitpid(pid, os.WNOHANG)[0]:  # it finished first: nothing was injected
                done = True
                break
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            injected += 1
            cut_writes += any(p.name.startswith(".") for p in (run_dir / "checkpoints").glob(".step-*"))
            if ckpt.list_checkpoints(run_dir) and not intact(run_dir):
                ok = False
        code = 0 if done else gan("run", config, "--output", run_dir, *(["--resume"] if ckpt.list_checkpoints(run_dir) else []))[0]
        temporaries = [p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".")]
        if code != 0 or temporaries or not ok:
            lost += 1
        elif same(reference, run_dir):
            exact += 1
    return {"injected": injected, "runs": runs, "exact": exact, "lost": lost, "note": f"{cut_writes} of the kills cut a checkpoint write"}


def full_disk(n: int, rng: random.Random, reference: Path, config: Path) -> dict:
    exact = lost = 0
    for i in range(n):
        run_dir = fresh(f"enospc-{i}")
        step = rng.choice([20, 30, 40, 50])
        target = rng.choice([ckpt.TENSORS, ckpt.STATE])
        budget = rng.randrange(0, 1500 if target == ckpt.TENSORS else 200)
        real_open = ckpt.open_for_writing
        ckpt.open_for_writing = lambda p, s=step, t=target, b=budget: FullDisk(p, b) if f".step-{s:06d}." in str(p) and p.name == t else real_open(p)
        try:
            code, err = gan("run", config, "--output", run_dir)
        finally:
            ckpt.open_for_writing = real_open
        before = fingerprints(run_dir)
        good = code == 2 and "No space left on device" in err and "Traceback" not in err and intact(run_dir)
        good = good and not any(p.name.startswith(".") for p in (run_dir / "checkpoints").iterdir())
        code, _ = gan("run", config, "--output", run_dir, "--resume")
        kept = {k: v for k, v in fingerprints(run_dir).items() if k in before}
        if not good or code != 0:
            lost += 1
        elif same(reference, run_dir) and all(kept[k] == before[k] for k in kept):
            exact += 1
    return {"injected": n, "runs": n, "exact": exact, "lost": lost}


def two_runs(n: int, reference: Path, config: Path) -> dict:
    exact = lost = 0
    for i in range(n):
        run_dir = fresh(f"concurrent-{i}")
        pids = [fork_gan("run", config, "--output", run_dir) for _ in range(2)]
        codes = sorted(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids)
        steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        if codes != [0, 2] or steps != sorted(set(steps)):
            lost += 1
        elif same(reference, run_dir):
            exact += 1
    return {"injected": n, "runs": n, "exact": exact, "lost": lost}


class _RaisingHook:
    def __init__(self, at: int) -> None:
        self.at = at

    @hookimpl
    def gan_eval_end(self, run, step, metrics):
        if step == self.at:
            raise RuntimeError("the logger is down")


def raising_hook(n: int, rng: random.Random) -> dict:
    evaluated = ["--set", "train.eval_every=10", "--set", "eval.metrics=[{name: mode-coverage, num_samples: 50}]"]
    config = write_config(WORK / "hook.yaml")
    reference = fresh("hook-reference")
    assert gan("run", config, "--output", reference, *evaluated)[0] == 0
    exact = lost = 0
    host = get_host()
    for i in range(n):
        run_dir = fresh(f"hook-{i}")
        host.register_plugin(_RaisingHook(rng.choice([10, 20, 30, 40, 50])), "raising-logger")
        try:
            code, err = gan("run", config, "--output", run_dir, *evaluated)
        finally:
            host.unregister_plugin("raising-logger")
        if code != 0 or err.count("gan_eval_end hook raised") != 1:
            lost += 1
        elif same(reference, run_dir):
            exact += 1
    return {"injected": n, "runs": n, "exact": exact, "lost": lost}


class _NaNAt(GANAlgorithm):
    def __init__(self, config, ctx):
        super().__init__(config, ctx)
        self.generator = torch.nn.Linear(2, 2)
        self.register_state("generator")  # plugin API 3: the checkpoint (and its NaN guard) holds what is declared

    def train_step(self, batch, step):
        with torch.no_grad():
            self.generator.weight.add_(0.01 * batch["x"][0, 0])
            if step == int(os.environ.get("NAN_STEP", "0")):
                self.generator.weight.fill_(float("nan"))
        return {"loss": torch.tensor(1.0)}

    @torch.no_grad()
    def sample(self, n, *, seed=None):
        return self.generator(self.noise(n, 2, seed))


class _NaNPlugin:
    @hookimpl
    def gan_register_algorithms(self, register):
        register(Algorithm("nan-at", _NaNAt, defaults={"data": {"name": "ring", "num_samples": 64},
                                                       "train": {"progress": False, "tensorboard": False, "batch_size": 16,
                                                                 "steps": 60, "checkpoint_every": 10, "log_every": 5}}))


def nan_at(n: int, rng: random.Random) -> dict:
    host = get_host()
    host.register_plugin(_NaNPlugin(), "nan-at")
    exact = lost = 0
    try:
        reference = fresh("nan-reference")
        assert gan("run", "--plugin", "nan-at", "--output", reference)[0] == 0
        for i in range(n):
            run_dir = fresh(f"nan-{i}")
            os.environ["NAN_STEP"] = str(rng.randrange(12, 58))
            code, err = gan("run", "--plugin", "nan-at", "--output", run_dir)
            os.environ["NAN_STEP"] = "0"
            newest = ckpt.list_checkpoints(run_dir)[-1]
            good = code == 2 and f"last good checkpoint, {newest}" in err and intact(run_dir)
            code, _ = gan("run", "--plugin", "nan-at", "--output", run_dir, "--resume")
            if not good or code != 0:
                lost += 1
            elif same(reference, run_dir):
                exact += 1
    finally:
        host.unregister_plugin("nan-at")
        os.environ.pop("NAN_STEP", None)
    return {"injected": n, "runs": n, "exact": exact, "lost": lost}


SHAPES = ["[]", "{}", '"text"', '{"format": "gancore-checkpoint-1"}', '{"format": "gancore-checkpoint-1", "meta": [], "state": {}}',
          '{"format": "gancore-checkpoint-1", "meta": {"step": 60}, "state": {}}', '{"format": "gancore-checkpo']


def damaged_state(n: int, reference: Path, config: Path) -> dict:
    exact = lost = 0
    for i in range(n):
        run_dir = fresh(f"state-{i}")
        assert gan("run", config, "--output", run_dir, "--steps", 50)[0] == 0
        (ckpt.list_checkpoints(run_dir)[-1] / ckpt.STATE).write_text(SHAPES[i % len(SHAPES)])
        code, err = gan("run", config, "--output", run_dir, "--resume")
        if code != 0 or "skipped a damaged checkpoint" not in err:
            lost += 1
        elif same(reference, run_dir):
            exact += 1
    return {"injected": n, "runs": n, "exact": exact, "lost": lost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--kills-per-run", type=int, default=5)
    parser.add_argument("-n", type=int, default=5, help="injections of every other fault")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="3 kills and 1 of each other fault; print, do not write RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.kills, args.kills_per_run, args.n = 3, 3, 1
    torch.set_num_threads(1)
    WORK.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    started, cpu = time.perf_counter(), time.process_time()
    config = write_config(WORK / "run.yaml")
    reference = fresh("reference")
    assert gan("run", config, "--output", reference)[0] == 0
    rows = {
        "kill -9 at a random moment (300 steps, a checkpoint every step)": kills(args.kills, args.kills_per_run, rng),
        "full disk (ENOSPC at a random byte of a checkpoint file)": full_disk(args.n, rng, reference, config),
        "two runs started together on one folder": two_runs(args.n, reference, config),
        "lifecycle hook raising at a random evaluation": raising_hook(args.n, rng),
        "weights NaN at a random step": nan_at(args.n, rng),
        "newest state.json of the wrong shape or torn": damaged_state(args.n, reference, config),
    }
    children = os.times()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu + children.children_user + children.children_system
    lines = ["| fault | times injected | runs | runs resumed exactly | runs that lost data |", "| --- | ---: | ---: | ---: | ---: |"]
    notes = []
    for fault, row in rows.items():
        lines.append(f"| {fault} | {row['injected']} | {row['runs']} | {row['exact']} | {row['lost']} |")
        if row.get("note"):
            notes.append(f"{fault}: {row['note']} (a temporary checkpoint folder was there right after the kill).")
    body = (
        "Written by `benchmarks/faults.py` (issue 10). Each fault is injected into tiny runs (2x16 MLPs, 64 ring points, "
        "60 steps, a checkpoint every 10; the kill runs 300 steps with a checkpoint every step, so many kills land inside a "
        "write). After the fault the run is resumed (or, for the hook, simply finishes). \"Resumed exactly\": its final "
        "checkpoint equals an uninterrupted run's, every tensor and the JSON state. \"Lost data\": no valid checkpoint "
        "was left, a damaged or non-finite one was, an earlier checkpoint changed, the folder mixed two runs, or the error "
        "was not one message with exit 2. Two runs at once: exactly one must run and the other exit 2. A lifecycle hook "
        "raising: the run must finish, the hook reported once.\n\n"
        + "\n".join(lines)
        + ("\n\n" + " ".join(notes) if notes else "")
        + f"\n\n{seconds:.0f} s wall, {cpu_seconds:.0f} CPU s (one process at a time, OMP_NUM_THREADS=1), seed {args.seed}."
    )
    print(body)
    if not args.quick:
        update_section(TITLE, body)


if __name__ == "__main__":
    main()
