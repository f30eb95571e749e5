"""Fault tolerance of a run folder: each fault of issues 10 and 29 injected N times, then counted.

For every fault of issue 10 the run is then resumed (or just finished) and its final checkpoint compared,
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

Issue 29 adds one row per item (numbered as its items; each function's docstring says what it injects and what
"lost data" means for it): 1 a user's folder as --output, 2 --overwrite by a run that fails before its first
checkpoint, 3 a signal during the run's end, 4 a deleted .lock beside a live run, 5 a pickled CIFAR batch with a
payload, 6 hostile strings in report.html, 7 bit flips in a checkpoint, 8 SIGTERM to a two-process run, 9 SIGINT in
a process's first second, 10 sys.exit in a plugin, 11 damaged state.json for every reader, 12 damaged run.json and
metrics.jsonl, 13 `gan sample` beside a live run, 14 out-of-range seeds and betas, 15 a bad first image, 16 bad
sources for `gan cyclegan translate`, 17 a damaged feature network, 18 outputs that cannot be written, 19 a tiny
--truncation, 20 requests that cannot fit in memory, 21 a full disk with TensorBoard on. Every row also counts the
commands whose output held ``Traceback``, ``Aborted!`` or ``Exception in thread``.

Tiny MLPs on 64 ring points (a tiny DCGAN on digits for item 17, a tiny CycleGAN for 16 and 18), one process at a time, one thread
(OMP_NUM_THREADS=1). Runs are forked from this process (gancore is imported and warmed up once, and each child
runs ``gan``'s own entry point), so a signal or a kill -9 hits a real process; items 8 and 9 start new
processes (torchrun, a process's first second). Runs go to ``benchmarks/_work/faults``; the "Fault tolerance"
section of ``benchmarks/RESULTS.md`` is rewritten.

    OMP_NUM_THREADS=1 python benchmarks/faults.py            # 20 kills, n=5: 5 to 100 of every other fault
    OMP_NUM_THREADS=1 python benchmarks/faults.py --quick    # 3 kills, n=1; prints only
    OMP_NUM_THREADS=1 python benchmarks/faults.py --only "3.|sys.exit" -n 2   # some rows; prints only
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import update_section  # noqa: E402

import torch  # noqa: E402
import yaml  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

from gancore import Algorithm, GANAlgorithm, checkpoint as ckpt, hookimpl  # noqa: E402
from gancore.plugins import get_host  # noqa: E402
from gancore.testing import FullDisk, handles_signal  # noqa: E402

WORK = HERE / "_work" / "faults"
GAN = Path(sys.executable).parent / "gan"
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

MARKERS = ("Traceback", "Aborted!", "Exception in thread")


class Ran(NamedTuple):
    code: int
    err: str
    out: str


class Tally:
    """The commands of the row being measured whose stdout or stderr held a traceback (``MARKERS``)."""

    def __init__(self) -> None:
        self.commands = self.tracebacks = 0
        self.examples: list[str] = []

    def see(self, text: str, what: str) -> None:
        self.commands += 1
        if any(marker in text for marker in MARKERS):
            self.tracebacks += 1
            self.examples.append(f"--- {what}\n{text[-4000:]}")


TALLY = Tally()
_logs = iter(range(10**9))


def _child(args, out: Path, err: Path, setup, env) -> None:
    """In a forked child: ``gan ARGS`` through gancore's own entry point (signal handlers, plugin commands)."""
    code = 1
    try:
        os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
        os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
        os.environ.update(env or {})
        if setup:
            setup()
        sys.argv = ["gan", *(str(a) for a in args)]
        from gancore.cli import main as gan_main

        gan_main()
        code = 0
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - what escapes gancore's main is a traceback the user would see
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


class Child(NamedTuple):
    pid: int
    out: Path
    err: Path
    what: str


def fork_gan(*args, setup=None, env: dict | None = None) -> Child:
    """``gan ARGS`` in a forked child (gancore is imported once, here), its output to files; see ``reap``."""
    n = next(_logs)
    out, err = WORK / f".out-{n}", WORK / f".err-{n}"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _child(args, out, err, setup, env)
    return Child(pid, out, err, "gan " + " ".join(map(str, args)))


def reap(child: Child, timeout: float | None = 600) -> Ran:
    """Wait for ``child`` (killed after ``timeout`` s: exit status -9), tally its output."""
    timer = threading.Timer(timeout, os.kill, (child.pid, signal.SIGKILL)) if timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        _, status = os.waitpid(child.pid, 0)
    finally:
        if timer:
            timer.cancel()
    ran = Ran(os.waitstatus_to_exitcode(status), _read(child.err), _read(child.out))
    TALLY.see(ran.err + ran.out, child.what)
    child.out.unlink(missing_ok=True)
    child.err.unlink(missing_ok=True)
    return ran


def finished(child: Child) -> bool:
    """Whether ``child`` has ended (then it is reaped and tallied)."""
    try:
        pid, _ = os.waitpid(child.pid, os.WNOHANG)
    except ChildProcessError:
        return True
    if not pid:
        return False
    TALLY.see(_read(child.err) + _read(child.out), child.what)
    child.out.unlink(missing_ok=True)
    child.err.unlink(missing_ok=True)
    return True


def failed(what: str, *texts: str) -> None:
    """An injection whose outcome was not the promised one: said on stderr (the table counts it)."""
    print(f"FAILED {what}: " + " | ".join(t[-1500:] for t in texts), file=sys.stderr, flush=True)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def gan(*args, timeout: float | None = 600, setup=None, env: dict | None = None) -> Ran:
    """``gan ARGS`` in a forked child, waited for: (exit status, stderr, stdout)."""
    return reap(fork_gan(*args, setup=setup, env=env), timeout)


def gan_process(*args, env: dict | None = None) -> subprocess.Popen:
    """``gan ARGS`` as a new program (``.venv/bin/gan``): for what needs a fresh process (its first second, torchrun)."""
    return subprocess.Popen([str(GAN), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def communicate(proc: subprocess.Popen, what: str, timeout: float = 300) -> Ran:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    TALLY.see(err + out, what)
    return Ran(proc.returncode, err, out)


@contextmanager
def plugin(obj, name: str):
    """An in-process plugin for the forked runs inside the block."""
    host = get_host()
    host.register_plugin(obj, name)
    try:
        yield
    finally:
        host.unregister_plugin(name)
        host.registry  # noqa: B018 - built again here, once, not in every child


def warm_up() -> None:
    """Run each command once in this process, so that the forked children find everything imported and
    initialised (a fork then starts a command in ~0.1 s instead of ~2 s)."""
    import contextlib
    import io

    from gancore.cli import cli

    folder = fresh("warm-up")
    config = write_config(WORK / "warm-up.yaml", steps=10)
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        for args in (["run", config, "--output", folder], ["sample", folder, "-n", 4, "-o", WORK / "warm-up.npy"],
                     ["eval", folder, "--metric", "{name: mode-coverage, num_samples: 50}"]):
            try:
                cli.main(args=[str(a) for a in args], prog_name="gan", standalone_mode=False)
            except BaseException as exc:  # noqa: BLE001
                raise SystemExit(f"warm-up {args[0]} failed: {exc!r}\n{sink.getvalue()[-3000:]}") from exc
    import gancore.builtin.tools  # noqa: F401
    import gancore.report  # noqa: F401
    import gancore.runs  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    get_host().registry  # noqa: B018


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
            child = fork_gan("run", config, "--output", run_dir, *(["--resume"] if ckpt.list_checkpoints(run_dir) else []))
            time.sleep(rng.uniform(0.05, 0.5) * seconds)
            if finished(child):  # it finished first: nothing was injected
                done = True
                break
            os.kill(child.pid, signal.SIGKILL)
            reap(child)
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
            code, err, _ = gan("run", config, "--output", run_dir)
        finally:
            ckpt.open_for_writing = real_open
        before = fingerprints(run_dir)
        good = code == 2 and "No space left on device" in err and "Traceback" not in err and intact(run_dir)
        good = good and not any(p.name.startswith(".") for p in (run_dir / "checkpoints").iterdir())
        code, _, _ = gan("run", config, "--output", run_dir, "--resume")
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
        children = [fork_gan("run", config, "--output", run_dir) for _ in range(2)]
        codes = sorted(reap(child).code for child in children)
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
            code, err, _ = gan("run", config, "--output", run_dir, *evaluated)
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
            code, err, _ = gan("run", "--plugin", "nan-at", "--output", run_dir)
            os.environ["NAN_STEP"] = "0"
            newest = ckpt.list_checkpoints(run_dir)[-1]
            good = code == 2 and f"last good checkpoint, {newest}" in err and intact(run_dir)
            code, _, _ = gan("run", "--plugin", "nan-at", "--output", run_dir, "--resume")
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
        code, err, _ = gan("run", config, "--output", run_dir, "--resume")
        if code != 0 or "skipped a damaged checkpoint" not in err:
            lost += 1
        elif same(reference, run_dir):
            exact += 1
    return {"injected": n, "runs": n, "exact": exact, "lost": lost}


# ------------------------------------------------------------------ issue 29


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` but the lock, and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def status_of(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "run.json").read_text())["status"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def steps_in_metrics(run_dir: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]


def wait_for(predicate, timeout: float = 180.0) -> bool:
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            return False
        time.sleep(0.02)
    return True


def copy_run(source: Path, name: str) -> Path:
    target = fresh(name)
    shutil.copytree(source, target)
    return target


def row(injected: int, runs: int, lost: int, exact: int | None = None, **extra) -> dict:
    return {"injected": injected, "runs": runs, "exact": "—" if exact is None else exact, "lost": lost, **extra}


USER_FILES = {"config.yaml": b"lr: 0.1  # the user's own config\n", "metrics.jsonl": b'{"epoch": 9, "acc": 0.93}\n',
              "checkpoints/epoch=9.ckpt": b"the user's lightning checkpoint", "samples/my_photo.png": b"\x89PNG the user's photo"}
NOT_OURS = ['{"status": "completed"}', "[1, 2]", "{not json", '{"format": "gancore-run"}']


def users_folder(n: int, rng: random.Random, config: Path) -> dict:
    """1: a folder of the user's files (a random mix, sometimes with a run.json that is not gancore's) as --output,
    with or without --overwrite or --resume: exit 2 saying what is there; lost: any byte of it changed or a lock left."""
    lost = 0
    for i in range(n):
        folder = fresh(f"user-{i}")
        for name in rng.sample(sorted(USER_FILES), rng.randint(1, len(USER_FILES))):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(USER_FILES[name] + rng.randbytes(rng.randrange(64)))
        if rng.random() < 0.3:
            (folder / "run.json").write_text(rng.choice(NOT_OURS))
        before = snapshot(folder)
        code, err, _ = gan("run", config, "--output", folder, *rng.choice([[], ["--overwrite"], ["--resume"]]))
        if code != 2 or "did not write" not in err or snapshot(folder) != before or (folder / ".lock").exists():
            lost += 1
    return row(n, n, lost)


def _images(folder: Path) -> Path:
    import numpy as np
    from PIL import Image

    if not folder.is_dir():
        folder.mkdir(parents=True)
        for i in range(300):
            Image.fromarray(np.full((8, 8), i % 250, dtype=np.uint8)).save(folder / f"{i:03d}.png")
    return folder


def _placeless(name: str, data: bytes | None):
    """A run file's content without the run folder's own path (``output_dir``; a checkpoint's sha256 of its
    state, which holds it), so that a run copied elsewhere and resumed there compares equal to the original."""
    if data is None:
        return None
    if name.endswith("config.yaml"):
        return [line for line in data.decode().splitlines() if not line.startswith("output_dir:")]
    if name.endswith(ckpt.STATE):
        body = json.loads(data)
        body.get("meta", {}).get("config", {}).pop("output_dir", None)
        body.get("sha256", {}).pop(ckpt.STATE, None)
        return body
    return data


def overwrite_failing(n: int, rng: random.Random, reference: Path) -> dict:
    """2: --overwrite of a finished run by one that fails before its first checkpoint: a corrupt, empty or cut PNG
    (never the first file: that is item 15) read lazily through a DataLoader, or a kill -9 of the new run (then
    --resume, which puts the old run back). Lost: any byte of the old run's checkpoints, config or metrics changed."""
    source = _images(WORK / "images")
    lost = held = refused = kills = 0
    for i in range(n):
        run_dir = copy_run(reference, f"replaced-{i}")
        before = snapshot(run_dir)
        how = rng.choice(["garbage", "empty", "cut", "kill -9"])
        images = fresh(f"replaced-images-{i}")
        shutil.copytree(source, images)
        bad = images / f"{rng.randrange(1, 300):03d}.png"
        data = bad.read_bytes()
        bad.write_bytes({"garbage": b"\x89PNG not really", "empty": b"", "cut": data[: len(data) // 2]}.get(how, data))
        args = ("run", "--plugin", "gan", "--output", run_dir, "--overwrite", "--steps", 100 if how != "kill -9" else 10_000_000,
                "--set", f"data={{name: image-folder, root: '{images}', in_memory: false, image_size: 8}}",
                "--set", "eval.metrics=[]", "--set", "train.sample_count=4", "--set", "train.batch_size=4",
                "--set", "train.checkpoint_every=100000000", "--set", "train.progress=false", "--set", "train.tensorboard=false")
        if how != "kill -9":
            code, err, _ = gan(*args)
            ok = code == 2 and bad.name in err and "is back in" in err and snapshot(run_dir) == before
        else:
            kills += 1
            child = fork_gan(*args)
            started = wait_for(lambda r=run_dir: (r / ".replaced").is_dir() and (r / "metrics.jsonl").is_file()
                               and b'"step"' in (r / "metrics.jsonl").read_bytes())
            time.sleep(rng.uniform(0, 0.5))
            os.kill(child.pid, signal.SIGKILL)
            reap(child)
            for _ in range(40):  # the killed run's DataLoader workers may hold the lock a moment longer
                code, err, _ = gan("run", "--output", run_dir, "--resume")
                if code != 2 or "is running in it" not in err:
                    break
                held += 1
                time.sleep(0.25)
            after = snapshot(run_dir)
            if code == 2 and "differs from the one the checkpoint" in err:  # it read the replacement's config.yaml
                refused += 1
                ok = started and "the old run is back" in err and after == before
                code = gan("run", "--output", run_dir, "--resume").code
                ok = ok and code == 0
            else:
                # The old run resumed where it was copied to: its folder's name (output_dir) may be the only change.
                kept = [k for k in before if k.startswith("checkpoints/") or k == "config.yaml"]
                ok = started and code == 0 and "the old run is back" in err and all(
                    _placeless(k, after.get(k)) == _placeless(k, before[k]) for k in kept)
        if not ok or list(run_dir.glob(".replaced*")):
            lost += 1
            now = snapshot(run_dir)
            failed(f"2 ({how}, {bad.name}, exit {code})", err, str(sorted(set(before) ^ set(now))),
                   "changed: " + str(sorted(k for k in before if k in now and now[k] != before[k])))
    notes = []
    if held:
        notes.append(f"{held} --resume tries (0.25 s apart) right after the {kills} kill -9s were refused while the killed run's "
                     "DataLoader workers still held its lock (the message names the killed PID as running)")
    if refused:
        notes.append(f"{refused} of the {kills} first --resume sessions after a kill -9 put the old run back but then refused "
                     "it ('the algorithm section differs'): they had read the killed replacement's config.yaml; the old run "
                     "was intact and a second --resume continued it")
    return row(n, n, lost, note="; ".join(notes))


class _EndSignal:
    """Signals its own process ``delay`` s after the last step's hook (during the final checkpoint, sample grid,
    evaluation and run.json), and notes when that hook ran."""

    def __init__(self, delay: float | None, signum: int, note: Path) -> None:
        self.delay, self.signum, self.note = delay, signum, note

    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        if step == run.config.train.steps:
            self.note.write_text(repr(time.time()))
            if self.delay is not None:
                timer = threading.Timer(self.delay, self.send)
                timer.daemon = True
                timer.start()

    def send(self) -> None:
        """The signal, and a note that it was sent (a process that ended first never got one)."""
        Path(f"{self.note}.sent").write_text("sent")
        os.kill(os.getpid(), self.signum)


def signal_at_end(n: int, rng: random.Random) -> dict:
    """3: SIGINT or SIGTERM at a random moment of the run's end (from the last step to the exit; the moments are
    drawn within the end's length, measured on an unsignalled run). Lost: the final checkpoint missing or damaged,
    run.json left `running`, a wrong exit status, or an interrupted run that --resume does not complete."""
    config = WORK / "end.yaml"
    config.write_text(yaml.safe_dump({**TINY, "train": {**TINY["train"], "sample_every": 30, "eval_every": 0},
                                      "eval": {"metrics": [{"name": "mode-coverage", "num_samples": 50}]}}))
    note = WORK / "end-note"
    reference = fresh("end-reference")
    ends = []
    for _ in range(2):
        with plugin(_EndSignal(None, 0, note), "end-signal"):
            run_dir = fresh("end-timing")
            assert gan("run", config, "--output", reference if not reference.exists() else run_dir).code == 0
            ends.append(time.time() - float(note.read_text()))
    length = min(ends)
    exact = lost = late = 0
    sent = Path(f"{note}.sent")
    for i in range(n):
        run_dir = fresh(f"end-{i}")
        signum = rng.choice([signal.SIGINT, signal.SIGTERM])
        sent.unlink(missing_ok=True)
        with plugin(_EndSignal(rng.uniform(0, 0.9 * length), signum, note), "end-signal"):
            code, err, _ = gan("run", config, "--output", run_dir)
        final = run_dir / "checkpoints" / "step-000060"
        arrived = sent.exists()  # else the run was over before the drawn moment: it must simply have completed
        late += not arrived
        try:
            ckpt.load(final)
            ok = (code == 128 + signum and signal.Signals(signum).name in err) if arrived else code == 0
            ok = ok and status_of(run_dir) in ("completed", "interrupted")
        except Exception:  # noqa: BLE001
            ok = False
        if ok and status_of(run_dir) == "interrupted":
            resumed = gan("run", "--output", run_dir, "--resume")
            ok = resumed.code == 0 and status_of(run_dir) == "completed"
            if not ok:
                failed(f"3 (--resume after {signal.Signals(signum).name}, exit {resumed.code})", resumed.err)
        elif not ok:
            status = status_of(run_dir) if (run_dir / "run.json").exists() else "no run.json"
            failed(f"3 ({signal.Signals(signum).name}, exit {code}, run.json {status}, final checkpoint {final.exists()})", err)
        lost += not ok
        exact += ok and same(reference, run_dir)
    late_note = f"; in {late} of the {n} runs the end was over before the drawn moment, so no signal was sent (each completed)" if late else ""
    return row(n, n, lost, exact, note=f"the run's end lasted {length:.2f} s{late_note}")


def deleted_lock(n: int, rng: random.Random) -> dict:
    """4: a live run's .lock deleted by hand, then a second session (--resume, --overwrite or plain) in its folder:
    refused with exit 2 naming the live PID. Lost: the second one ran, the live run stopped, two run ids or steps out
    of order in the folder, a damaged checkpoint, or no --resume once the live run is stopped."""
    config = write_config(WORK / "live.yaml", steps=10_000_000, checkpoint_every=50, log_every=50)
    lost = 0
    for i in range(n):
        run_dir = fresh(f"lock-{i}")
        live = fork_gan("run", config, "--output", run_dir)
        ok = wait_for(lambda r=run_dir: bool(ckpt.list_checkpoints(r)))
        time.sleep(rng.uniform(0, 1.0))
        run_id = json.loads((run_dir / "run.json").read_text())["run_id"]
        (run_dir / ".lock").unlink()
        code, err, _ = gan("run", config, "--output", run_dir, *rng.choice([["--resume"], ["--overwrite"], []]))
        ok = ok and code == 2 and f"process {live.pid} is running in it" in err and not finished(live)
        os.kill(live.pid, signal.SIGTERM)
        ok = reap(live).code == 128 + signal.SIGTERM and ok
        steps = steps_in_metrics(run_dir)
        ids = {json.loads((f / ckpt.STATE).read_text())["meta"].get("run_id") for f in ckpt.list_checkpoints(run_dir)}
        ok = ok and intact(run_dir) and ids == {run_id} and steps == sorted(set(steps))
        last = int(ckpt.list_checkpoints(run_dir)[-1].name[5:])
        ok = ok and gan("run", config, "--output", run_dir, "--resume", "--steps", last + 5).code == 0
        lost += not ok
    return row(n, n, lost)


class _Payload:
    """Unpickling this makes the folder ``marker``: proof that a data file ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def pickled_cifar(n: int, rng: random.Random) -> dict:
    """5: CIFAR-10 batches in torchvision's layout, one of them (at random) carrying a __reduce__ payload. Lost:
    the payload ran (the refusal must name the md5)."""
    import pickle

    import numpy as np

    lost = 0
    names = [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]
    for i in range(n):
        root, marker = fresh(f"cifar-{i}"), fresh(f"cifar-{i}-payload-ran")
        (root / "cifar-10-batches-py").mkdir(parents=True)
        carrier = rng.choice(names)
        data = np.random.default_rng(rng.randrange(2**32))
        for name in names:
            batch = {"data": data.integers(0, 256, (4, 3072)).astype(np.uint8), "labels": [1, 2, 3, 4]}
            if name == carrier:
                batch[rng.choice(["extra", "labels", "data"])] = _Payload(marker)
            (root / "cifar-10-batches-py" / name).write_bytes(pickle.dumps(batch))
        code, err, _ = gan("run", "--plugin", "gan", "--steps", 1, "--output", fresh(f"cifar-run-{i}"), "--set", "data.name=cifar10",
                           "--set", f"data.root={root}", "--set", "train.progress=false", "--set", "train.tensorboard=false")
        lost += marker.exists() or code != 2 or "md5" not in err
    return row(n, n, lost)


HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "\"'><svg onload=alert(3)>", "javascript:alert(4)",
           "</td></tr></table><iframe src=x>", "<a href='javascript:alert(5)'>x</a>", "&lt;b&gt;&amp;", "<style>*{}</style>"]
TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "section", "table", "thead", "tbody", "tr",
        "th", "td", "code", "figure", "img", "figcaption", "a", "div", "pre"}


def _markup_problems(text: str, run_dir: Path) -> list[str]:
    """Tags not of the page's own, event handlers, and links that are not the run's files."""
    from html.parser import HTMLParser
    from urllib.parse import unquote

    problems: list[str] = []
    style = []

    def start(tag, attrs):
        if tag not in TAGS:
            problems.append(f"<{tag}>")
        if tag == "style":
            style.append(tag)
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                problems.append(f"{tag} {name}")
            if name == "src" and not value.startswith("data:image/png;base64,"):
                problems.append(f"src={value}")
            if name == "href" and (":" in value or "<" in value or not (run_dir / unquote(value)).is_file()):
                problems.append(f"href={value}")

    parser = HTMLParser(convert_charrefs=True)
    parser.handle_starttag = start
    parser.handle_startendtag = start
    parser.feed(text)
    if len(style) > 1:
        problems.append("a second <style>")
    return problems


def hostile_report(n: int, rng: random.Random, reference: Path) -> dict:
    """6: hostile strings (script tags, event handlers, javascript: links, closing tags) in a random choice of the
    run folder's name, run.json's fields, metrics keys, config.yaml and a sample file's name, then `gan report`. Lost:
    any markup or link of the hostile strings in the page (a tag not of the page, an on* attribute, a link that is
    not a file of the run)."""
    lost = 0
    for i in range(n):
        hostile = rng.choice(HOSTILE)
        name = f"report-{i}-" + (rng.choice(HOSTILE).replace("/", "") if rng.random() < 0.5 else "plain")
        run_dir = copy_run(reference, name)
        fields = rng.sample(["run.json", "session", "metrics", "config", "sample"], rng.randint(1, 5))
        record = json.loads((run_dir / "run.json").read_text())
        if "run.json" in fields:
            record.update(status=hostile, planned_steps=hostile)
        if "session" in fields:
            record["sessions"][0].update({key: hostile for key in ("started", "ended", "from_step", "to_step", "status", "resumed")})
        (run_dir / "run.json").write_text(json.dumps(record))
        if "metrics" in fields:
            with open(run_dir / "metrics.jsonl", "a") as fh:
                fh.write(json.dumps({"step": 60, hostile: 1.5, f"metric/{hostile}": 2.5, "note": hostile}) + "\n")
        if "config" in fields:
            config = yaml.safe_load((run_dir / "config.yaml").read_text())
            config["plugin"], config["algorithm"]["name"], config["data"]["name"] = hostile, hostile, hostile
            (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
        if "sample" in fields:
            shutil.copy(next((run_dir / "samples").glob("*.png")), run_dir / "samples" / f"step-{hostile.replace('/', '')}.png")
        code, _, _ = gan("report", run_dir)
        page = run_dir / "report.html"
        lost += code != 0 or not page.is_file() or bool(_markup_problems(page.read_text(), run_dir))
    return row(n, n, lost)


def _flip_bits(path: Path, rng: random.Random) -> int:
    data = bytearray(path.read_bytes())
    start = 8 + int.from_bytes(data[:8], "little")  # after the header: the tensors' bytes
    flips = rng.randint(1, 8)
    for _ in range(flips):
        data[rng.randrange(start, len(data))] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))
    return flips


EVAL = ["--metric", "{name: mode-coverage, num_samples: 50}", "--json"]


def _falls_back(run_dir: Path, config: Path, says: str) -> tuple[bool, bool]:
    """`gan sample`, `gan eval` and --resume on a run whose step-60 is damaged: each must use step-50 and warn.
    (whether all fell back, whether the resumed run ends as the reference)."""
    code, err, _ = gan("sample", run_dir, "-n", 4, "-o", WORK / "fallback.npy")
    ok = code == 0 and "step-000050" in err and says in err
    code, _, out = gan("eval", run_dir, *EVAL)
    try:
        ok = ok and code == 0 and json.loads(out)["step"] == 50
    except ValueError:
        ok = False
    code, err, _ = gan("run", config, "--output", run_dir, "--resume")
    ok = ok and code == 0 and "skipped a damaged checkpoint" in err and says in err
    return ok, ok and same(WORK / "reference", run_dir)


def flipped_bits(n: int, loads: int, rng: random.Random, reference: Path, config: Path) -> dict:
    """7: 1-8 random bit flips inside the newest checkpoint's tensor data, ``loads`` times read by checkpoint.load, then
    ``n`` times in a run folder read by `gan sample`, `gan eval` and --resume. Lost: a silent load (the damaged step-60
    taken instead of an error naming the sha256, or of falling back to step-50 with a warning)."""
    exact = lost = flips = 0
    folder = fresh("flip-load")
    for _ in range(loads):
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(ckpt.list_checkpoints(reference)[-1], folder)
        flips += _flip_bits(folder / ckpt.TENSORS, rng)
        try:
            ckpt.load(folder)
            lost += 1
        except Exception as exc:  # noqa: BLE001
            lost += "sha256" not in str(exc)
    for i in range(n):
        run_dir = copy_run(reference, f"flip-{i}")
        newest = ckpt.list_checkpoints(run_dir)[-1]
        flips += _flip_bits(newest / ckpt.TENSORS, rng)
        try:
            ckpt.load(newest)
            silent = True
        except Exception as exc:  # noqa: BLE001
            silent = "sha256" not in str(exc)
        ok, same_end = _falls_back(run_dir, config, "sha256")
        lost += silent or not ok
        exact += same_end
    return row(loads + n, n, lost, exact, note=f"{flips} bits flipped in all")


def _tree(pid: int) -> list:
    import psutil

    try:
        return [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def multi_process_sigterm(n: int, rng: random.Random) -> dict:
    """8, 9: SIGTERM to `gan run --num-processes 2` at a random moment after its first checkpoint, sent to the `gan`
    launcher or (every other time) to torchrun. Lost: a process left behind, no checkpoint of the step where they
    stopped, run.json not `interrupted`, or a folder still locked (--resume refused)."""
    import psutil

    config = write_config(WORK / "two.yaml", steps=10_000_000, checkpoint_every=20, log_every=5)
    lost = 0
    for i in range(n):
        run_dir = fresh(f"two-{i}")
        proc = gan_process("run", config, "--output", run_dir, "--num-processes", 2)
        tree: list = []
        try:
            ok = wait_for(lambda r=run_dir, p=proc: bool(ckpt.list_checkpoints(r)) or p.poll() is not None, timeout=300)
            ok = ok and proc.poll() is None and wait_for(lambda p=proc: len(_tree(p.pid)) >= 4, timeout=60)
            time.sleep(rng.uniform(0, 2.0))
            tree = _tree(proc.pid)
            if ok and tree:
                launch = [p for p in tree[1:] if "gancore.launch" in " ".join(p.cmdline())]
                victim = tree[0] if i % 2 == 0 or not launch else launch[0]
                victim.send_signal(signal.SIGTERM)
            code, err, _ = communicate(proc, f"gan run --num-processes 2 (SIGTERM, {'the launcher' if i % 2 == 0 else 'torchrun'})")
        finally:
            proc.kill() if proc.poll() is None else None
            _, alive = psutil.wait_procs(tree, timeout=10)
            for process in alive:
                process.kill()
        ok = ok and not alive and code == 143 and err.count("stopped by SIGTERM at step") == 1 and "checkpoint None" not in err
        if ok:
            stopped = int(err.split("stopped by SIGTERM at step ")[1].split(";")[0])
            ok = ckpt.list_checkpoints(run_dir)[-1].name == f"step-{stopped:06d}" and status_of(run_dir) == "interrupted"
            ok = ok and gan("run", config, "--output", run_dir, "--resume", "--steps", stopped + 2).code == 0
        lost += not ok
    return row(n, n, lost)


def first_second(n: int, rng: random.Random) -> dict:
    """9: SIGINT at a random moment of the first second of a new `gan run` process, counted from gancore's first
    line (its handler set): imports, plugins, building the run. Lost: not one line and exit 130 (a
    KeyboardInterrupt, `more than once`, a signal ignored: still running 30 s later), or a run.json left `running`."""
    lost = 0
    endings: list[str] = []
    for i in range(n):
        run_dir = fresh(f"first-{i}")
        proc = gan_process("run", "--plugin", "gan", "--steps", 100_000, "--output", run_dir, "--set", "train.progress=false")
        wait_for(lambda p=proc: handles_signal(p.pid, signal.SIGTERM) or p.poll() is not None, timeout=60)
        delay = rng.uniform(0.0, 1.0)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        code, err, _ = communicate(proc, "gan run (SIGINT in its first second)", timeout=30)  # a stop takes a second or two
        ok = code == 130 and "stopped by SIGINT" in err and "KeyboardInterrupt" not in err and "more than once" not in err
        if not ok or ((run_dir / "run.json").exists() and status_of(run_dir) != "interrupted"):
            lost += 1
            failed(f"9 (SIGINT {delay:.3f} s after gan set its handler)", f"exit {code}", err)
            last = [line for line in err.splitlines() if line.strip()][-1:] or ["nothing on stderr"]
            how = "still training 30 s later, killed" if code == -signal.SIGKILL else f"exit {code}, last line `{last[0][:100]}`"
            endings.append(f"SIGINT {delay:.2f} s in: {how}")
    note = f"{len(endings)} ended otherwise: " + "; ".join(endings) if endings else ""
    return row(n, n, lost, note=note)


PROBE = """import os, sys
gancore_api = 3
sys.exit(int(os.environ.get("PROBE_EXIT", "7")))
"""


def _probe_site() -> Path:
    site = WORK / "probe-site"
    if not site.is_dir():
        site.mkdir()
        (site / "gancore_exits.py").write_text(PROBE)
        info = site / "gancore_exits-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gancore-exits\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text("[gancore]\nexits = gancore_exits\n")
    return site


def _with_site():
    """In the child: the plugin that exits at import installed (on sys.path, found by its entry point)."""
    import importlib

    from gancore import plugins

    sys.path.insert(0, str(WORK / "probe-site"))
    importlib.invalidate_caches()
    plugins.reset_host()


class _Exits:
    def __init__(self, where: str, at: int, code: int) -> None:
        self.where, self.at, self.code = where, at, code

    @hookimpl
    def gan_register_models(self, register):
        if self.where == "register":
            sys.exit(self.code)

    @hookimpl
    def gan_train_start(self, run):
        if self.where == "train_start":
            sys.exit(self.code)

    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        if self.where == "step_end" and step == self.at:
            sys.exit(self.code)

    @hookimpl
    def gan_train_end(self, run, step, status):
        if self.where == "train_end":
            raise SystemExit(self.code)


def plugin_exits(n: int, rng: random.Random, reference: Path, config: Path) -> dict:
    """10: a plugin that calls sys.exit(N) at import (found by its entry point), while registering, or in a lifecycle
    hook (train start, a random step, train end): `gan plugins` lists it as broken, a hook is reported once and
    muted, and the run completes. Lost: the run not completed with all its checkpoints and run.json `completed`."""
    _probe_site()
    exact = lost = 0
    for i in range(n):
        where, code = rng.choice(["import", "register", "train_start", "step_end", "train_end"]), rng.randrange(1, 256)
        run_dir = fresh(f"exits-{i}")
        if where == "import":
            listed = gan("plugins", setup=_with_site, env={"PROBE_EXIT": str(code)})
            ran = gan("run", config, "--output", run_dir, setup=_with_site, env={"PROBE_EXIT": str(code)})
            ok = listed.code == 0 and "BROKEN exits" in listed.out and f"sys.exit({code})" in listed.out
        else:
            with plugin(_Exits(where, rng.randrange(1, 61), code), "exits"):
                listed = gan("plugins")
                ran = gan("run", config, "--output", run_dir)
            if where == "register":
                ok = listed.code == 0 and "BROKEN exits" in listed.out and f"sys.exit({code})" in listed.out
            else:
                ok = ran.err.count("plugin 'exits'") == 1 and f"({code})" in ran.err
        ok = ok and ran.code == 0 and status_of(run_dir) == "completed" and [p.name for p in ckpt.list_checkpoints(run_dir)] == [
            "step-000040", "step-000050", "step-000060"]
        lost += not ok
        exact += ok and same(reference, run_dir)
    return row(n, n, lost, exact)


def _random_json(rng: random.Random, depth: int = 0):
    kinds = ["int", "float", "str", "null", "bool"] + (["list", "dict"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "list":
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == "dict":
        keys = ["step", "format", "version", "meta", "state", "rng", "status", "sessions", "config", "train", "loss_d", "x", "sha256"]
        return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(5))}
    return {"int": lambda: rng.choice([0, -1, 20, 2**70]), "float": lambda: rng.choice([0.5, -1e308, 1e-300]),
            "str": lambda: rng.choice(["", "20", "gancore-checkpoint", "gancore-run", "\u00e9"]), "null": lambda: None,
            "bool": lambda: rng.random() < 0.5}[kind]()


def _damage_state(folder: Path, rng: random.Random) -> str:
    """A damaged state.json of a random shape; sealed (checksums that match) for the shapes that keep JSON valid
    half the time, so that the model of state.json and the RNG check are what catch it."""
    path = folder / ckpt.STATE
    body = json.loads(path.read_text())
    items = body["state"]["__dict__"]
    how = rng.choice(["no rng", "no train", "string step", "rng of wrong type", "wrong types", "nested deep", "random JSON", "torn"])
    if how == "no rng":
        body["state"]["__dict__"] = [item for item in items if item[0] != "rng"]
    elif how == "no train":
        del body["meta"]["config"]["train"]
    elif how == "string step":
        body["meta"]["step"] = str(body["meta"]["step"])
    elif how == "rng of wrong type":
        rng_item = next(item for item in items if item[0] == "rng")
        rng_item[1][0]["__dict__"] = [["torch", rng.choice([5, "x", None])], ["numpy", "no"], ["python", [1]]]
    elif how == "wrong types":
        item = rng.choice(items)
        item[1] = _random_json(rng)
    if how == "nested deep":
        depth = rng.randrange(1_000, 200_000)
        path.write_text("[" * depth + "]" * depth)
    elif how == "random JSON":
        path.write_text(json.dumps(_random_json(rng)))
    elif how == "torn":
        text = path.read_bytes()
        path.write_bytes(text[: rng.randrange(len(text))])
    else:
        path.write_text(json.dumps(body))
        if rng.random() < 0.5:
            ckpt.seal(folder)
            how += " (sealed)"
    return how


def damaged_state_readers(n: int, rng: random.Random, reference: Path, config: Path) -> dict:
    """11: the newest state.json of a random damaged shape (no rng, no train, wrong types, nested up to 200,000 deep,
    random JSON, torn). Lost: `gan sample`, `gan eval` or --resume did not fall back to step-50 with a warning."""
    exact = lost = 0
    for i in range(n):
        run_dir = copy_run(reference, f"state-readers-{i}")
        _damage_state(ckpt.list_checkpoints(run_dir)[-1], rng)
        ok, same_end = _falls_back(run_dir, config, "damaged")
        lost += not ok
        exact += same_end
    return row(n, n, lost, exact)


RUN_JSONS = ["[1, 2]", "7", '{"format": "gancore-run", "version": 1, "step": "20", "status": 5}',
             '{"format": "gancore-run", "version": 1, "sessions": [1, "x", {"wall_seconds": "1"}]}', "[" * 100_000]


def _bad_text(rng: random.Random, fixed: list[str]) -> bytes:
    how = rng.randrange(4)
    if how == 0:
        return rng.choice(fixed).encode()
    if how == 1:
        return rng.randbytes(rng.randrange(64))
    return json.dumps(_random_json(rng)).encode()


def damaged_records(n: int, rng: random.Random, reference: Path) -> dict:
    """12: run.json and/or metrics.jsonl of random shapes (JSON of any shape, bytes, deep nesting, bad lines) in one
    run folder beside a good one: `gan runs` (table and --json) and `gan report`. Lost: a folder not listed, the
    good run not `completed`, no report written, or a file of either run changed."""
    lost = 0
    for i in range(n):
        root = fresh(f"records-{i}")
        root.mkdir()
        good, bad = copy_run(reference, f"records-{i}/good"), copy_run(reference, f"records-{i}/bad")
        what = rng.choice(["run.json", "metrics.jsonl", "both"])
        if what != "metrics.jsonl":
            (bad / "run.json").write_bytes(_bad_text(rng, RUN_JSONS))
        if what != "run.json":
            with open(bad / "metrics.jsonl", "ab") as fh:
                fh.write(b"\n".join(_bad_text(rng, ["[1, 2]", '{"step": "20"}', '{"step": 1e400}', "[" * 100_000])
                                    for _ in range(rng.randint(1, 6))) + b"\n")
        before = {**snapshot(good), **{f"bad/{k}": v for k, v in snapshot(bad).items()}}
        code, _, out = gan("runs", root, "--json")
        try:
            listed = {r["path"]: r for r in json.loads(out)}
            ok = code == 0 and set(listed) == {"good", "bad"} and listed["good"]["status"] == "completed"
        except (ValueError, KeyError, TypeError):
            ok = False
        ok = ok and gan("runs", root).code == 0
        page = WORK / f"records-{i}.html"
        ok = ok and gan("report", bad, "-o", page).code == 0 and page.is_file()
        lost += not ok or before != {**snapshot(good), **{f"bad/{k}": v for k, v in snapshot(bad).items()}}
    return row(n, n, lost)


def sample_beside_live(n: int) -> dict:
    """13: `gan sample` again and again beside a live run that writes a checkpoint every step and keeps one. Lost:
    a call that failed (a false "no valid checkpoint", or any error) or a live run that stopped."""
    config = write_config(WORK / "live-1.yaml", steps=10_000_000, checkpoint_every=1, keep_checkpoints=1, log_every=100)
    run_dir = fresh("beside-live")
    live = fork_gan("run", config, "--output", run_dir)
    lost = 0
    try:
        wait_for(lambda: bool(ckpt.list_checkpoints(run_dir)))
        for i in range(n):
            lost += gan("sample", run_dir, "-n", 2, "-o", WORK / f"beside-{i % 2}.npy").code != 0
        lost += finished(live)
    finally:
        os.kill(live.pid, signal.SIGTERM)
        reap(live)
    return row(n, 1, lost)


def _families_with_betas() -> list[tuple[str, str]]:
    entries = get_host().registry.entries["algorithm"].values()
    return sorted((e.plugin, e.name) for e in entries if "betas" in e.config.model_fields)


def option_bounds(n: int, rng: random.Random) -> dict:
    """14: out-of-range values of options that torch, numpy or Python check again (train.seed, data.data_seed,
    algorithm.betas of a random algorithm of any installed family, `gan sample --seed`). Lost: the run started
    (anything written) or the refusal is not exit 2 naming the option."""
    families = _families_with_betas()
    lost = 0
    for i in range(n):
        run_dir = fresh(f"bounds-{i}")
        what = rng.choice(["train.seed", "data.data_seed", "algorithm.betas", "sample --seed"])
        if what == "sample --seed":
            output = WORK / f"bounds-{i}.npy"
            seed = rng.choice([-rng.randrange(1, 10**6), 2**31 + rng.randrange(10**12)])
            code, err, _ = gan("sample", WORK / "reference", "-n", 2, "--seed", seed, "-o", output)
            lost += code != 2 or "--seed" not in err or output.exists()
            continue
        if what == "algorithm.betas":
            plugin_name, algorithm = rng.choice(families)
            bad = [round(rng.uniform(1, 5), 2), round(rng.uniform(-2, -0.01), 2)]
            pair = rng.choice([[bad[0], 0.9], [0.5, rng.choice([1, bad[0]])], [bad[1], 0.9]])
            args = ["--plugin", plugin_name, "--set", f"algorithm.name={algorithm}", "--set", f"algorithm.betas={pair}"]
        else:
            value = rng.choice([-rng.randrange(1, 10**6), 2**32 + rng.randrange(10**14)])
            args = ["--plugin", "gan", "--set", f"{what}={value}"]
        code, err, _ = gan("run", *args, "--set", "train.steps=2", "--output", run_dir)
        lost += code != 2 or "invalid configuration" not in err or what not in err or "ValueError" in err or run_dir.exists()
    return row(n, n, lost)


def _png_header(side: int) -> bytes:
    """A PNG header of side x side grey pixels and no pixel data (a decompression bomb for PIL)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def _bad_image(rng: random.Random) -> tuple[str, bytes]:
    import io

    import numpy as np
    from PIL import Image

    how = rng.choice(["empty", "garbage", "text", "cut", "bomb"])
    if how == "cut":
        buffer = io.BytesIO()
        Image.fromarray(np.random.default_rng(rng.randrange(2**32)).integers(0, 255, (8, 8), dtype=np.uint8)).save(buffer, format="PNG")
        data = buffer.getvalue()
        return how, data[: rng.randrange(len(data) // 2, len(data) - 30)]  # into the pixel data (not just the IEND trailer)
    return how, {"empty": b"", "garbage": b"\x89PNG" + rng.randbytes(rng.randrange(64)), "text": b"notes, not an image\n",
                 "bomb": _png_header(rng.choice([10_000, 40_000]))}[how]


def bad_first_image(n: int, rng: random.Random) -> dict:
    """15: an image folder whose first (or a later) file is empty, garbage, text, cut short or a decompression bomb,
    read in memory or through a DataLoader worker, at its own size or resized. Lost: not refused with exit 2 naming
    the file (with data.skip_bad_files as the way out, or, for a header over PIL's warning size and no image_size,
    as the image whose size differs)."""
    import numpy as np
    from PIL import Image

    lost = 0
    for i in range(n):
        root = fresh(f"bad-image-{i}")
        root.mkdir()
        for k in range(4):
            Image.fromarray(np.full((8, 8), 40 * k, dtype=np.uint8)).save(root / f"{k + 1}.png")
        _, data = _bad_image(rng)
        bad = root / rng.choice(["0-bad.png", "9-bad.png", "2-bad.jpg"])
        bad.write_bytes(data)
        extra = f", in_memory: {rng.choice(['true', 'false'])}, image_size: {rng.choice(['null', '8'])}, num_workers: {rng.choice([0, 1])}"
        code, err, _ = gan("run", "--plugin", "gan", "--steps", 1, "--set", f"data={{name: image-folder, root: '{root}'{extra}}}",
                           "--set", "train.batch_size=5", "--set", "train.progress=false", "--set", "train.tensorboard=false",
                           "--set", "train.sample_every=0", "--set", "algorithm.latent_dim=4", "--set", "algorithm.generator.base_channels=4",
                           "--set", "algorithm.discriminator.base_channels=4", "--output", fresh(f"bad-image-run-{i}"))
        if code != 2 or bad.name not in err:
            lost += 1
            failed(f"15 ({bad.name}, {len(data)} bytes{extra})", f"exit {code}", err)
    return row(n, n, lost)


CYCLEGAN = {
    "plugin": "cyclegan",
    "algorithm": {"name": "cyclegan", "generator": {"name": "cyclegan-resnet-generator", "channels": 4, "residual_blocks": 1},
                  "discriminator": {"name": "patchgan-discriminator", "channels": 4, "layers": 1}, "pool_size": 4,
                  "load_size": 12, "crop_size": 8, "flip": True},
    "data": {"name": "unpaired",
             "a": {"name": "half", "half": "first", "of": {"name": "digits", "image_size": None, "channels": 3}},
             "b": {"name": "half", "half": "second", "of": {"name": "digits", "image_size": None,
                                                            "transforms": [{"name": "colorize", "mode": "random"}]}}},
    "train": {"steps": 2, "batch_size": 4, "checkpoint_every": 0, "log_every": 1, "sample_every": 0, "progress": False,
              "tensorboard": False},
}


def _cyclegan_run() -> Path:
    run_dir = WORK / "cyclegan"
    if not ckpt.list_checkpoints(run_dir):
        config = WORK / "cyclegan.yaml"
        config.write_text(yaml.safe_dump(CYCLEGAN))
        assert gan("run", config, "--output", fresh("cyclegan")).code == 0
    return run_dir


def _bad_npy(path: Path, rng: random.Random, marker: Path) -> str:
    import numpy as np

    how = rng.choice(["object", "pickle", "garbage", "zero bytes", "cut", "npz", "no images", "wrong shape", "NaN", "Inf",
                      "strings", "complex", "out of range"])
    shape = (rng.randint(1, 3), 3, 8, 8)
    if how == "object":
        np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    elif how == "pickle":
        np.save(path, np.array([_Payload(marker), 1], dtype=object), allow_pickle=True)
    elif how == "garbage":
        path.write_bytes(rng.randbytes(rng.randrange(1, 400)))
    elif how == "zero bytes":
        path.write_bytes(b"")
    elif how == "cut":
        np.save(path, np.zeros(shape, np.float32))
        path.write_bytes(path.read_bytes()[: rng.randrange(1, path.stat().st_size - 1)])
    elif how == "npz":
        with path.open("wb") as handle:
            np.savez(handle, x=np.zeros(shape, np.float32))
    else:
        data = np.random.default_rng(rng.randrange(2**32)).uniform(-1, 1, shape).astype(np.float32)
        if how in ("NaN", "Inf"):
            data.reshape(-1)[rng.randrange(data.size)] = np.nan if how == "NaN" else np.inf
        array = {"no images": np.zeros((0, 3, 8, 8), np.float32), "wrong shape": np.zeros((2, 3, 8, 8, 1), np.float32),
                 "strings": np.full(shape, "a"), "complex": np.zeros(shape, np.complex64),
                 "out of range": np.full(shape, rng.uniform(1.5, 100), np.float32)}.get(how, data)
        np.save(path, array)
    return how


def translate_sources(n: int, rng: random.Random) -> dict:
    """16: `gan cyclegan translate` of a bad source: a .npy (object or pickled arrays, a payload among them, garbage,
    empty, cut, an .npz, no images, wrong shape, NaN, Inf, strings, complex, out of range) or a folder with a bad image
    (decompression bomb, cut, empty, garbage). Lost: anything written at the destination, a payload run, or a bad
    source not refused (exit 2 naming it)."""
    run_dir = _cyclegan_run()
    lost = 0
    for i in range(n):
        marker, dst = fresh(f"translate-{i}-payload-ran"), fresh(f"translate-{i}-dst")
        if rng.random() < 0.6:
            src = fresh(f"translate-{i}.npy")
            _bad_npy(src, rng, marker)
            named = src
        else:
            import numpy as np
            from PIL import Image

            src = fresh(f"translate-{i}-src")
            src.mkdir()
            Image.fromarray(np.full((8, 8, 3), 100, dtype=np.uint8)).save(src / "0-good.png")
            named = src / "1-bad.png"
            named.write_bytes(_bad_image(rng)[1])
        code, err, _ = gan("cyclegan", "translate", run_dir, src, dst, "--direction", "b2a")
        lost += code != 2 or f"'{named}'" not in err or dst.exists() or marker.exists()
    return row(n, n, lost)


def unwritable_outputs(n: int, rng: random.Random, reference: Path) -> dict:
    """18: outputs that cannot be written: under a file, in /proc, or a file or folder where the destination's own
    files go, for `gan sample`, `gan report` and `gan cyclegan translate` (a read-only folder cannot be tried: the
    benchmark runs as root). Lost: the file in the way changed, anything written, or no exit 2 naming the path."""
    import numpy as np

    run_dir = _cyclegan_run()
    source = WORK / "translate-ok.npy"
    np.save(source, np.zeros((2, 3, 8, 8), np.float32))
    lost = 0
    for i in range(n):
        blocker = fresh(f"blocker-{i}")
        blocker.write_bytes(rng.randbytes(32))
        before = blocker.read_bytes()
        command = rng.choice(["sample", "report", "translate"])
        where = rng.choice(["under a file", "/proc", "inside"])
        if command == "translate":
            if where == "inside":
                dst = fresh(f"translate-inside-{i}")
                dst.mkdir()
                inside = rng.choice(["outputs", "index.html", "translated.npy"])
                (dst / inside).write_bytes(before) if inside == "outputs" else (dst / inside).mkdir()
                named, listed = dst / inside, {inside}
            else:
                dst = blocker / "x" if where == "under a file" else Path(f"/proc/gancore-faults-{i}")
                named, listed = dst, None
            code, err, _ = gan("cyclegan", "translate", run_dir, source, dst, "--direction", "b2a")
            written = ({p.name for p in dst.iterdir()} != listed) if listed else dst.exists()
        else:
            suffix = rng.choice([".png", ".npy", ".pt"]) if command == "sample" else ".html"
            named = blocker / f"x{suffix}" if where != "/proc" else Path(f"/proc/gancore-faults-{i}{suffix}")
            if where == "inside":  # a folder where the file should go
                named = fresh(f"blocker-{i}-folder{suffix}")
                named.mkdir()
            args = ("sample", reference, "-n", 4, "-o", named) if command == "sample" else ("report", reference, "-o", named)
            code, err, _ = gan(*args)
            written = named.is_file() or (named.is_dir() and any(named.iterdir()))
        lost += code != 2 or f"'{named}'" not in err or written or blocker.read_bytes() != before
    return row(n, n, lost)


def _damaged_lenet(path: Path, rng: random.Random) -> str:
    from safetensors.torch import save_file

    from gancore.metrics.features import LeNet

    state = {k: v.contiguous().clone() for k, v in LeNet().state_dict().items()}
    how = rng.choice(["garbage", "cut", "empty", "NaN", "Inf", "header"])
    if how in ("NaN", "Inf"):
        name = rng.choice([k for k, v in state.items() if v.is_floating_point() and v.numel()])
        state[name].view(-1)[rng.randrange(state[name].numel())] = float("nan" if how == "NaN" else rng.choice(["inf", "-inf"]))
    save_file(state, str(path))
    data = path.read_bytes()
    if how == "garbage":
        path.write_bytes(rng.randbytes(rng.randrange(1, 5000)))
    elif how == "cut":
        path.write_bytes(data[: rng.randrange(1, len(data))])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "header":
        header = json.dumps(_random_json(rng)).encode()
        path.write_bytes(len(header).to_bytes(8, "little") + header + data[8 + int.from_bytes(data[:8], "little"):])
    return how


DIGITS = {
    "plugin": "gan",
    "algorithm": {"name": "gan", "latent_dim": 8, "generator": {"name": "dcgan-generator", "base_channels": 8},
                  "discriminator": {"name": "dcgan-discriminator", "base_channels": 8}},
    "data": {"name": "digits"},
    "train": {"steps": 4, "batch_size": 16, "log_every": 2, "sample_every": 2, "checkpoint_every": 2, "progress": False,
              "tensorboard": False},
}


def damaged_features(n: int, rng: random.Random) -> dict:
    """17: `gan eval` with `features: FILE.safetensors`, a LeNet file damaged at random (garbage, cut, empty, a NaN or
    Inf weight, a header of random JSON). Lost: a silent load (exit 0: scores from damaged weights) or a refusal
    that does not name the file."""
    config = WORK / "digits.yaml"
    config.write_text(yaml.safe_dump(DIGITS))
    digits = fresh("digits")
    assert gan("run", config, "--output", digits).code == 0
    lost = 0
    for i in range(n):
        path = WORK / f"features-{i}.safetensors"
        _damaged_lenet(path, rng)
        code, err, _ = gan("eval", digits, "--metric", f"{{name: fid, features: '{path}', num_samples: 16}}")
        lost += code != 2 or str(path) not in err
    return row(n, n, lost)


def tiny_truncation(n: int, rng: random.Random, reference: Path) -> dict:
    """19: `gan sample --truncation T` with T = 10^-3 ... 10^-30 at random (one in four: NaN, 0 or a negative
    threshold, which must be refused). Lost: a hang (over 120 s), non-finite samples, or a file for a refused one."""
    import numpy as np

    lost = 0
    for i in range(n):
        output = WORK / f"truncated-{i}.npy"
        output.unlink(missing_ok=True)
        bad = rng.random() < 0.25
        threshold = rng.choice(["nan", "0", "-1"]) if bad else f"{10 ** -rng.uniform(3, 30):.3g}"
        code, err, _ = gan("sample", reference, "-n", rng.choice([4, 64, 256]), "--truncation", threshold, "-o", output, timeout=120)
        if bad:
            ok = code == 2 and ("positive threshold" in err or "is not in the range x>0" in err) and not output.exists()
        else:
            ok = code == 0 and np.isfinite(np.load(output)).all()
        if not ok:
            lost += 1
            failed(f"19 (--truncation {threshold})", f"exit {code}", err)
    return row(n, n, lost)


def oversized(n: int, rng: random.Random, reference: Path, config: Path) -> dict:
    """20: train.batch_size or train.sample_count of 10^11 ... 10^15, or `gan sample -n` 10^12 ... 10^16 to a .png,
    .pt or .npy: refused with the figure. Lost: killed (the out-of-memory killer), no message, or anything written."""
    lost = 0
    for i in range(n):
        what = rng.choice(["batch_size", "sample_count", "sample"])
        if what == "sample":
            output = WORK / f"huge-{i}{rng.choice(['.png', '.pt', '.npy'])}"
            code, err, _ = gan("sample", reference, "-n", int(10 ** rng.uniform(12, 16)), "-o", output)
            lost += code != 2 or ("memory" not in err and "free" not in err) or output.exists()
        else:
            run_dir = fresh(f"huge-{i}")
            value = int(10 ** rng.uniform(11, 15))
            code, err, _ = gan("run", config, "--output", run_dir, "--set", f"train.{what}={value}")
            lost += code != 2 or f"train.{what} {value} cannot fit in memory" not in err or (run_dir.exists() and any(run_dir.iterdir()))
    return row(n, n, lost)


FULL: list[bool] = []


class _FillsDisk:
    def __init__(self, at: int) -> None:
        self.at = at

    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        if step == self.at:
            FULL.append(True)


def full_disk_tensorboard(n: int, rng: random.Random, reference: Path) -> dict:
    """21: the disk fills at a random step of a run that logs to TensorBoard every step: its writer thread and the
    next checkpoint get ENOSPC. Lost: not exit 2 with one message, a damaged or missing earlier checkpoint, run.json
    not `failed`, or no --resume once there is room again."""
    from tensorboard.summary.writer import record_writer

    config = write_config(WORK / "tensorboard.yaml", tensorboard=True, log_every=1)
    real_open, real_write = ckpt.open_for_writing, record_writer.RecordWriter.write

    def write(self, data):
        if FULL:
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    exact = lost = 0
    for i in range(n):
        run_dir = fresh(f"tensorboard-{i}")
        at = rng.choice([s for s in range(11, 56) if s % 10])
        ckpt.open_for_writing = lambda path: FullDisk(path, 0) if FULL else real_open(path)
        record_writer.RecordWriter.write = write
        try:
            with plugin(_FillsDisk(at), "fills-disk"):
                code, err, _ = gan("run", config, "--output", run_dir)
        finally:
            ckpt.open_for_writing, record_writer.RecordWriter.write = real_open, real_write
        newest = ckpt.list_checkpoints(run_dir)[-1].name if ckpt.list_checkpoints(run_dir) else None
        ok = code == 2 and "No space left on device" in err and "_AsyncWriterThread" not in err and intact(run_dir)
        ok = ok and newest == f"step-{at // 10 * 10:06d}" and status_of(run_dir) == "failed"
        ok = ok and gan("run", config, "--output", run_dir, "--resume").code == 0
        lost += not ok
        exact += ok and same(reference, run_dir)
    return row(n, n, lost, exact)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--kills-per-run", type=int, default=5)
    parser.add_argument("-n", type=int, default=5, help="injections of every other fault (some rows take a multiple: COUNTS)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="run only the rows whose name holds one of these |-separated texts (prints only)")
    parser.add_argument("--quick", action="store_true", help="3 kills and 1 of each other fault; print, do not write RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.kills, args.kills_per_run, args.n = 3, 3, 1
    torch.set_num_threads(1)
    WORK.mkdir(parents=True, exist_ok=True)
    started, cpu = time.perf_counter(), time.process_time()
    warm_up()
    config = write_config(WORK / "run.yaml")
    reference = fresh("reference")
    assert gan("run", config, "--output", reference).code == 0
    n = args.n
    plan = {
        "kill -9 at a random moment (300 steps, a checkpoint every step)": lambda rng: kills(args.kills, args.kills_per_run, rng),
        "full disk (ENOSPC at a random byte of a checkpoint file)": lambda rng: full_disk(n, rng, reference, config),
        "two runs started together on one folder": lambda rng: two_runs(n, reference, config),
        "lifecycle hook raising at a random evaluation": lambda rng: raising_hook(n, rng),
        "weights NaN at a random step": lambda rng: nan_at(n, rng),
        "newest state.json of the wrong shape or torn": lambda rng: damaged_state(n, reference, config),
        "1. a user's folder as --output (random mix of their files; plain, --overwrite, --resume)": lambda rng: users_folder(4 * n, rng, config),
        "2. --overwrite by a run that fails before its first checkpoint (bad PNG read lazily, or kill -9)": lambda rng: overwrite_failing(2 * n, rng, reference),
        "3. SIGINT/SIGTERM at a random moment of the run's end": lambda rng: signal_at_end(4 * n, rng),
        "4. .lock deleted by hand, then a second session beside the live run": lambda rng: deleted_lock(2 * n, rng),
        "5. pickled CIFAR-10 batch with a __reduce__ payload": lambda rng: pickled_cifar(2 * n, rng),
        "6. hostile strings in report.html's fields and file names": lambda rng: hostile_report(4 * n, rng, reference),
        "7. random bit flips in the newest checkpoint's tensor data": lambda rng: flipped_bits(4 * n, 50 * n, rng, reference, config),
        "8. SIGTERM to `gan run --num-processes 2` (the launcher, or torchrun)": lambda rng: multi_process_sigterm(max(1, n - 1), rng),
        "9. SIGINT at a random moment of a new process's first second": lambda rng: first_second(4 * n, rng),
        "10. sys.exit in a plugin (at import, registering, in a lifecycle hook)": lambda rng: plugin_exits(4 * n, rng, reference, config),
        "11. damaged newest state.json (random shapes): sample, eval, --resume": lambda rng: damaged_state_readers(4 * n, rng, reference, config),
        "12. damaged run.json / metrics.jsonl (random shapes): runs, report": lambda rng: damaged_records(4 * n, rng, reference),
        "13. gan sample beside a live run keeping 1 checkpoint": lambda rng: sample_beside_live(20 * n),
        "14. out-of-range seeds and betas (every family with betas, gan sample --seed)": lambda rng: option_bounds(4 * n, rng),
        "15. an image folder whose first (or a later) file is bad": lambda rng: bad_first_image(4 * n, rng),
        "16. bad sources for gan cyclegan translate (.npy of any kind, bad images)": lambda rng: translate_sources(4 * n, rng),
        "17. damaged feature network file (gan eval, features: FILE)": lambda rng: damaged_features(4 * n, rng),
        "18. outputs that cannot be written (sample, report, translate)": lambda rng: unwritable_outputs(4 * n, rng, reference),
        "19. tiny (or invalid) --truncation": lambda rng: tiny_truncation(4 * n, rng, reference),
        "20. oversized train.batch_size / sample_count, gan sample -n": lambda rng: oversized(4 * n, rng, reference, config),
        "21. full disk with TensorBoard on (its writer thread too)": lambda rng: full_disk_tensorboard(2 * n, rng, reference),
    }
    if args.only:
        plan = {fault: run for fault, run in plan.items() if any(part in fault for part in args.only.split("|"))}
    rows = {}
    for fault, run in plan.items():
        TALLY.__init__()
        began = time.perf_counter()
        rows[fault] = {**run(random.Random(f"{args.seed}:{fault.split(' ')[0]}")), "tracebacks": TALLY.tracebacks, "commands": TALLY.commands, "seconds": time.perf_counter() - began}
        print(f"{fault}: {rows[fault]}", file=sys.stderr, flush=True)
        for example in TALLY.examples[:3]:
            print(example, file=sys.stderr, flush=True)
    children = os.times()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu + children.children_user + children.children_system
    lines = ["| fault | times injected | runs | runs resumed exactly | commands | tracebacks | runs that lost data |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    notes = []
    for fault, result in rows.items():
        lines.append(f"| {fault} | {result['injected']} | {result['runs']} | {result['exact']} | {result['commands']} | "
                     f"{result['tracebacks']} | {result['lost']} |")
        if result.get("note"):
            notes.append(f"{fault.split(' (')[0]}: {result['note']}.")
    body = (
        "Written by `benchmarks/faults.py` (issues 10 and 29). Each fault is injected into tiny runs (2x16 MLPs, 64 ring "
        "points, 60 steps, a checkpoint every 10; the kill runs 300 steps with a checkpoint every step, so many kills land "
        "inside a write). After the fault the run is resumed (or, for the hook, simply finishes). \"Resumed exactly\": "
        "its final checkpoint equals an uninterrupted run's, every tensor and the JSON state (— where the fault leaves "
        "nothing to resume). \"Tracebacks\": commands (of the \"commands\" run for the row, each `gan` process counted "
        "once) whose stdout or stderr held `Traceback`, `Aborted!` or `Exception in thread`. \"Lost data\", for the "
        "issue-10 rows: no valid checkpoint was left, a damaged or non-finite one was, an earlier checkpoint changed, "
        "the folder mixed two runs, or the error was not one message with exit 2; two runs at once: exactly one must "
        "run and the other exit 2; a lifecycle hook raising: the run must finish, the hook reported once.\n\n"
        "For the issue-29 rows (numbered as its items) \"lost data\" means: 1, any byte of the user's folder changed "
        "or a lock left in it (and the refusal is exit 2 saying what is there); 2, any byte of the old run changed (a "
        "bad PNG: it is back at once; a kill -9 of the new run: the next --resume puts it back); 3, the final "
        "checkpoint missing or damaged, run.json left `running`, or an interrupted run that --resume does not "
        "complete; 4, the second session ran, or the folder then holds two run ids, steps out of order or a damaged "
        "checkpoint; 5, the payload ran; 6, markup or a link from the hostile strings in the page (a tag not of the "
        "page's own, an `on*` attribute, a link that is not one of the run's files); 7 and 11, a silent load: "
        "checkpoint.load, `gan sample`, `gan eval` or --resume used the damaged step-60 instead of falling back to "
        "step-50 with a warning; 8, a process left behind, no checkpoint of the step where the run stopped, run.json "
        "not `interrupted`, or a folder still locked; 9, not one line with exit 130 (a traceback, or the signal ignored: the run still training 30 s later), or a run.json left `running`; 10, "
        "the run did not complete with its checkpoints (the plugin listed as broken, the hook reported once); 12, a "
        "run folder not listed by `gan runs`, no report, or a file of a run changed; 13, a `gan sample` call that "
        "failed (a false \"no valid checkpoint\") or a live run that stopped; 14, the run started (anything written) "
        "or the refusal was not exit 2 naming the option; 15, a bad image not refused with exit 2 naming the file; 16, anything written at the destination, a pickled payload run, or a bad source not "
        "refused naming it (a NaN `.npy` translated); 17, a silent load (exit 0: scores from a damaged file) or a "
        "message that does not name the file; 18, the file in the way changed, anything written, or no exit 2 naming "
        "the path (a read-only folder is not tried: the script runs as root, who writes anywhere); 19, a hang (over "
        "120 s), non-finite samples, or an invalid threshold not refused; 20, a process killed (out of memory), no "
        "message with the figure, or anything written; 21, not exit 2 with one message, a damaged earlier "
        "checkpoint, run.json not `failed`, or no --resume once there is room. The counts: n = 5 of every issue-10 "
        "fault but the kill (20 kills, 5 per run); 20 (4n) of most issue-29 kinds, 10 of 2, 4, 5 and 21, 4 of 8 "
        "(each a torchrun of two workers), 100 `gan sample` calls for 13, and 250 bit-flipped tensor files read by "
        "checkpoint.load besides the 20 run folders read by the commands for 7.\n\n"
        + "\n".join(lines)
        + ("\n\n" + " ".join(notes) if notes else "")
        + f"\n\n{seconds:.0f} s wall, {cpu_seconds:.0f} CPU s (one process at a time, OMP_NUM_THREADS=1, on a 2-core "
        f"machine shared with other work), seed {args.seed}."
    )
    print(body)
    if not args.quick and not args.only:
        update_section(TITLE, body)


if __name__ == "__main__":
    main()
