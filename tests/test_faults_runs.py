"""Fault injection, round 3 (issue 29): the run folder's owner and its replacement, signals at every moment
(the final phase, the first second, a multi-process launcher and torchrun), a deleted lock, checksums,
plugins that call sys.exit, damaged state.json, run.json and metrics.jsonl, a reader racing a live run, a
full disk with TensorBoard; and a seeded fuzz test over every file a run folder holds.

The numbers in the docstrings are the items of issue 29. Runs are tiny MLPs on 64 ring points. Faults that
need a real process (signals, exits at import, a full disk in a writer thread) run ``gan`` in a subprocess
with ``gancore_probe``, a fault-injection plugin found through an entry point like any other, driven by
``GANCORE_PROBE``."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
import yaml
from click.testing import CliRunner

from gancore import checkpoint as ckpt
from gancore import hookimpl, runs
from gancore.errors import UserError
from gancore.rundir import RunLock
from gancore.testing import handles_signal

from .conftest import TINY_FAULTS as TINY

GAN = Path(sys.executable).parent / "gan"
EVAL = ["--metric", "{name: mode-coverage, num_samples: 50}"]

PROBE = '''"""gancore_probe: faults on request (GANCORE_PROBE), for tests/test_faults_runs.py."""
import errno, os, signal, sys

from gancore import hookimpl

gancore_api = 3
MODE = os.environ.get("GANCORE_PROBE", "")

if MODE == "exit-at-import":
    sys.exit(7)


def _signal(where, run, step):
    kind, _, rest = MODE.partition(":")
    at, _, name = rest.partition(":")
    if kind == "signal" and at == where and (step is None or step == run.config.train.steps):
        os.kill(os.getpid(), getattr(signal, name))


@hookimpl
def gan_train_step_end(run, step, logs):
    _signal("step_end", run, step)
    if MODE == "enospc" and step == 15:
        full.append(True)


@hookimpl
def gan_eval_end(run, step, metrics):
    _signal("eval_end", run, step)


@hookimpl
def gan_train_end(run, step, status):
    _signal("train_end", run, None)


full = []
if MODE == "enospc":  # the disk fills after step 15: TensorBoard's writer thread fails first, then a checkpoint
    import gancore.checkpoint as ckpt
    from gancore.testing import FullDisk
    from tensorboard.summary.writer import record_writer

    _open, _write = ckpt.open_for_writing, record_writer.RecordWriter.write

    def open_for_writing(path):
        return FullDisk(path, 0) if full else _open(path)

    def write(self, data):
        if full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return _write(self, data)

    ckpt.open_for_writing, record_writer.RecordWriter.write = open_for_writing, write
'''


def tiny(**train) -> dict:
    return {**TINY, "train": {**TINY["train"], **train}}


def invoke(*args):
    """The CLI in-process, keeping stderr and any exception."""
    from gancore.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def write(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def steps_of(run_dir: Path) -> list[str]:
    return [p.name for p in ckpt.list_checkpoints(run_dir)]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (but the lock) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def status_of(run_dir: Path) -> str:
    return json.loads((run_dir / "run.json").read_text())["status"]


def clean(text: str) -> bool:
    return "Traceback" not in text and "Aborted!" not in text and "Exception in thread" not in text


@pytest.fixture(scope="module")
def probe_site(tmp_path_factory) -> str:
    """A folder that, on PYTHONPATH, installs the ``probe`` plugin: its module and a dist-info with its entry point."""
    site = tmp_path_factory.mktemp("probe-site")
    (site / "gancore_probe.py").write_text(PROBE)
    info = site / "gancore_probe-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gancore-probe\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[gancore]\nprobe = gancore_probe\n")
    return str(site)


def gan_process(*args, probe_site: str | None = None, mode: str = "", program: Path | None = None, **popen):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GANCORE_PROBE": mode}
    if probe_site:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [probe_site, env.get("PYTHONPATH")]))
    command = [str(program)] if program else [sys.executable, "-m", "gancore.cli"]
    return subprocess.Popen([*command, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)


def wait_for(predicate, timeout=180.0):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A completed tiny run with checkpoints at steps 10 and 20 (tests copy it)."""
    from gancore import plugins

    root = tmp_path_factory.mktemp("finished")
    plugins.reset_host()
    out = invoke("run", write(root / "run.yaml", tiny()), "--output", root / "r")
    plugins.reset_host()
    assert out.exit_code == 0, out.output
    return root / "r"


def copy_run(finished: Path, tmp_path: Path, name: str = "r") -> Path:
    shutil.copytree(finished, tmp_path / name)
    return tmp_path / name


# ------------------------------------------------------- 1. a folder gancore did not write


def _users_folder(folder: Path) -> None:
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "epoch=9.ckpt").write_bytes(b"the user's lightning checkpoint")
    (folder / "config.yaml").write_text("lr: 0.1  # the user's own config\n")
    (folder / "samples").mkdir()
    (folder / "samples" / "my_photo.png").write_bytes(b"\x89PNG the user's photo")


@pytest.mark.parametrize("extra", [[], ["--overwrite"], ["--resume"]], ids=["plain", "overwrite", "resume"])
def test_a_folder_gancore_did_not_write_is_never_touched(write_config, tmp_path, extra):
    """1: refused with exit 2, saying what is there, with or without --overwrite; not a byte changes, no lock file."""
    folder = tmp_path / "p"
    _users_folder(folder)
    before = snapshot(folder)
    out = invoke("run", write_config(tiny()), "--output", folder, *extra)
    assert out.exit_code == 2, out.output
    assert "holds files that gancore did not write" in out.output and "checkpoints/, config.yaml, samples/" in out.output
    assert clean(out.output) and snapshot(folder) == before and not (folder / ".lock").exists()


def test_a_run_json_that_is_not_ours_or_damaged_is_not_ours(write_config, tmp_path):
    """1: a run.json without gancore's format and version (or not JSON) does not make a folder gancore's."""
    for i, text in enumerate(['{"status": "completed"}', "[1, 2]", "{not json"]):
        folder = tmp_path / f"p{i}"
        _users_folder(folder)
        (folder / "run.json").write_text(text)
        before = snapshot(folder)
        out = invoke("run", write_config(tiny()), "--output", folder, "--overwrite")
        assert out.exit_code == 2 and "did not write" in out.output and "run.json" in out.output, out.output
        assert snapshot(folder) == before


def test_overwrite_removes_only_what_gancore_wrote(write_config, finished, tmp_path):
    """1 and small: the user's own file in a run folder stays; an old report.html goes with the old run;
    run.json names its format, version and run id, and the checkpoints carry the id."""
    run_dir = copy_run(finished, tmp_path)
    (run_dir / "notes.txt").write_text("what I tried")
    (run_dir / "report.html").write_text("<html>the old run's report</html>")
    old_id = json.loads((run_dir / "run.json").read_text())["run_id"]
    out = invoke("run", write_config(tiny(steps=10)), "--output", run_dir, "--overwrite")
    assert out.exit_code == 0, out.output
    assert (run_dir / "notes.txt").read_text() == "what I tried" and not (run_dir / "report.html").exists()
    assert steps_of(run_dir) == ["step-000010"] and not list(run_dir.glob(".replaced*")) and not list(run_dir.glob(".discarded*"))
    record = json.loads((run_dir / "run.json").read_text())
    assert (record["format"], record["version"]) == ("gancore-run", 1) and record["run_id"] != old_id
    assert len(record["sessions"]) == 1
    meta = json.loads((run_dir / "checkpoints" / "step-000010" / "state.json").read_text())["meta"]
    assert meta["run_id"] == record["run_id"]


# ------------------------------------------------ 2. --overwrite keeps the old run until it is replaced


def test_overwrite_keeps_the_old_run_when_the_new_one_fails_before_its_first_checkpoint(finished, tmp_path):
    """2: the issue's case: a corrupt image read lazily through a DataLoader stops the new run at step ~70,
    before its first checkpoint; the old run is back, byte for byte."""
    import numpy as np
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    for i in range(300):
        Image.fromarray(np.full((8, 8), i % 250, dtype=np.uint8)).save(images / f"{i:03d}.png")
    (images / "150.png").write_bytes(b"\x89PNG not really")
    run_dir = copy_run(finished, tmp_path)
    before = snapshot(run_dir)
    out = invoke("run", "--plugin", "gan", "--output", run_dir, "--overwrite", "--steps", 100,
                 "--set", f"data={{name: image-folder, root: '{images}', in_memory: false, image_size: 8}}",
                 "--set", "eval.metrics=[]", "--set", "train.sample_count=4", "--set", "train.batch_size=4",
                 "--set", "train.checkpoint_every=200", "--set", "train.progress=false", "--set", "train.tensorboard=false")
    assert out.exit_code == 2, out.output
    assert "150.png" in out.output and "no checkpoint had been written yet" in out.output
    assert "is back in" in out.output and clean(out.output)
    assert snapshot(run_dir) == before and not list(run_dir.glob(".replaced*"))


def test_a_replacing_run_killed_before_its_first_checkpoint_gives_the_old_run_back(write_config, finished, tmp_path):
    """2: kill -9 while the new run trains (old run set aside, no checkpoint of its own yet): the next session
    in the folder puts the old run back and resumes it."""
    run_dir = copy_run(finished, tmp_path)
    before = snapshot(run_dir)
    path = write_config(tiny(steps=10_000_000, checkpoint_every=10_000_000, log_every=50))
    proc = gan_process("run", path, "--output", run_dir, "--overwrite")
    try:
        wait_for(lambda: (run_dir / ".replaced").is_dir() and (run_dir / "metrics.jsonl").is_file()
                 and b'"step": 50' in (run_dir / "metrics.jsonl").read_bytes())
    finally:
        proc.kill()
        proc.communicate()
    assert not steps_of(run_dir), "the new run had no checkpoint"
    out = invoke("run", write_config(tiny(steps=25)), "--output", run_dir, "--resume")
    assert out.exit_code == 0, out.output
    assert "the old run is back" in out.output and "resumed from" in out.output and "step-000020" in out.output
    assert steps_of(run_dir)[-1] == "step-000025" and not list(run_dir.glob(".replaced*"))
    assert all(snapshot(run_dir).get(name) == data for name, data in before.items() if name.startswith("checkpoints/step-000020"))


def test_resume_without_a_config_file_after_a_killed_replacement_continues_the_old_run(write_config, finished, tmp_path):
    """2: the replacement (a different config) is killed before its first checkpoint; ``--resume`` with no config
    file reads the old run's config (set aside), not the replacement's, puts the old run back and continues it."""
    run_dir = copy_run(finished, tmp_path)
    path = write_config(tiny(steps=10_000_000, checkpoint_every=10_000_000, log_every=50))
    proc = gan_process("run", path, "--output", run_dir, "--overwrite", "--set", "algorithm.latent_dim=3")
    try:
        wait_for(lambda: (run_dir / ".replaced").is_dir() and (run_dir / "metrics.jsonl").is_file()
                 and b'"step": 50' in (run_dir / "metrics.jsonl").read_bytes())
    finally:
        proc.kill()
        proc.communicate()
    assert "latent_dim: 3" in (run_dir / "config.yaml").read_text(), "the replacement's config is in the folder"
    out = invoke("run", "--output", run_dir, "--resume", "--steps", 25)
    assert out.exit_code == 0, out.output
    assert "the old run is back" in out.output and "step-000020" in out.output
    assert steps_of(run_dir)[-1] == "step-000025" and "latent_dim: 3" not in (run_dir / "config.yaml").read_text()


# ------------------------------------------------------------- 3. a signal as the run ends


@pytest.mark.parametrize("where,name", [("step_end", "SIGINT"), ("eval_end", "SIGTERM"), ("train_end", "SIGINT"), ("train_end", "SIGTERM")])
def test_a_signal_as_the_run_ends_keeps_the_final_checkpoint_and_never_leaves_running(probe_site, write_config, tmp_path, where, name):
    """3: a real process signals itself just after the last step (before its final checkpoint), during the final
    evaluation, and while its end hooks run: exit 128+N, the final checkpoint is there, run.json is not
    `running`, one message and no traceback (nor `Aborted!`)."""
    config = {**tiny(steps=20, eval_every=0), "eval": {"metrics": [{"name": "mode-coverage", "num_samples": 50}]}}
    run_dir = tmp_path / "r"
    proc = gan_process("run", write_config(config), "--output", run_dir, probe_site=probe_site, mode=f"signal:{where}:{name}")
    _, err = proc.communicate(timeout=240)
    signum = getattr(signal, name)
    assert proc.returncode == 128 + signum, err[-2000:]
    assert clean(err) and f"{name}" in err, err[-2000:]
    assert steps_of(run_dir)[-1] == "step-000020"
    ckpt.load(run_dir / "checkpoints" / "step-000020")
    status = status_of(run_dir)
    assert status == ("interrupted" if where == "step_end" else "completed"), status
    if status == "interrupted":  # the last grid and metrics were not made: --resume makes them
        out = invoke("run", "--output", run_dir, "--resume")
        assert out.exit_code == 0 and status_of(run_dir) == "completed", out.output


# ------------------------------------------------------------------ 4. a deleted lock


def test_a_deleted_lock_does_not_let_a_second_run_in(write_config, tmp_path):
    """4: with RUN/.lock deleted by hand, --resume, --overwrite and a plain run beside the live run still exit 2
    naming its PID; once it is killed, --resume works."""
    path = write_config(tiny(steps=10_000_000, checkpoint_every=50, log_every=50))
    run_dir = tmp_path / "r"
    proc = gan_process("run", path, "--output", run_dir)
    try:
        wait_for(lambda: steps_of(run_dir))
        (run_dir / ".lock").unlink()
        for extra in (["--resume"], ["--overwrite"], []):
            out = invoke("run", path, "--output", run_dir, *extra)
            assert out.exit_code == 2, out.output
            assert f"process {proc.pid} is running in it" in out.output and clean(out.output)
    finally:
        proc.kill()
        proc.communicate()
    out = invoke("run", path, "--output", run_dir, "--resume", "--steps", int(steps_of(run_dir)[-1][5:]) + 5)
    assert out.exit_code == 0, out.output


def test_run_json_naming_a_live_process_refuses_a_second_run_unless_its_pid_was_reused(tmp_path):
    """4: no lock held at all, but run.json says `running` by a live process that started when it says: refused;
    the same PID with another start time (a reused PID) is someone else: the lock is taken."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        started = round(psutil.Process(sleeper.pid).create_time(), 2)
        for pid_started, refused in ((started, True), (started - 3600, False)):
            run_dir = tmp_path / f"r{refused}"
            run_dir.mkdir()
            record = {"format": "gancore-run", "version": 1, "run_id": "x", "status": "running",
                      "sessions": [{"pid": sleeper.pid, "pid_started": pid_started, "host": __import__("socket").gethostname()}]}
            (run_dir / "run.json").write_text(json.dumps(record))
            if refused:
                with pytest.raises(UserError, match=f"process {sleeper.pid} is running in it now .its run.json says so"):
                    RunLock(run_dir).acquire()
            else:
                RunLock(run_dir).acquire().release()
    finally:
        sleeper.kill()
        sleeper.wait()


# -------------------------------------------------------------------- 7. checksums


def _flip_in_tensor_data(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    start = 8 + int.from_bytes(data[:8], "little")  # after the header: the tensors' bytes
    at = rng.randrange(start, len(data))
    data[at] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


def test_a_byte_flipped_in_tensor_data_is_damage_and_readers_fall_back(finished, tmp_path):
    """7: 30 single-bit flips inside the newest checkpoint's tensor data are each refused by its sha256; sample,
    eval and --resume fall back to step 10 with a warning."""
    rng = random.Random(7)
    newest = finished / "checkpoints" / "step-000020"
    for i in range(30):
        folder = tmp_path / f"flip-{i}"
        shutil.copytree(newest, folder)
        _flip_in_tensor_data(folder / ckpt.TENSORS, rng)
        with pytest.raises(UserError, match="does not match its sha256"):
            ckpt.load(folder)
    run_dir = copy_run(finished, tmp_path)
    _flip_in_tensor_data(run_dir / "checkpoints" / "step-000020" / ckpt.TENSORS, rng)
    out = invoke("sample", run_dir, "-n", 4, "-o", tmp_path / "s.npy")
    assert out.exit_code == 0 and "step-000010" in out.output and "sha256" in out.output, out.output
    out = invoke("eval", run_dir, *EVAL, "--json")
    assert out.exit_code == 0 and json.loads(out.stdout)["step"] == 10, out.output
    out = invoke("run", "--output", run_dir, "--resume", "--steps", 22)
    assert out.exit_code == 0 and "skipped a damaged checkpoint" in out.output and "sha256" in out.output, out.output
    assert steps_of(run_dir)[-1] == "step-000022"


# ------------------------------------------------- 8, 9. signals to a multi-process run


def _tree(pid: int) -> list[psutil.Process]:
    return [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]


def _two_processes(write_config, tmp_path):
    path = write_config(tiny(steps=10_000_000, checkpoint_every=20, log_every=5))
    run_dir = tmp_path / "r"
    proc = gan_process("run", path, "--output", run_dir, "--num-processes", 2)
    wait_for(lambda: steps_of(run_dir) or proc.poll() is not None, timeout=300)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    wait_for(lambda: len(_tree(proc.pid)) >= 4)  # launcher, torchrun, two workers
    return proc, run_dir, _tree(proc.pid)


@pytest.mark.parametrize("target", ["launcher", "torchrun"])
def test_a_signal_to_a_multi_process_run_stops_every_process_after_a_checkpoint(write_config, tmp_path, target):
    """8, 9: SIGTERM to the `gan` launcher is forwarded to torchrun's process group and the launcher waits;
    SIGTERM to torchrun itself stops the workers too. Either way: exit 143, no process left, one message from
    rank 0 (no `checkpoint None` from rank 1), no traceback (no SignalException), a checkpoint of the step
    where they stopped, run.json `interrupted`, and the folder free for --resume."""
    proc, run_dir, tree = _two_processes(write_config, tmp_path)
    try:
        victim = tree[0] if target == "launcher" else next(p for p in tree[1:] if "gancore.launch" in " ".join(p.cmdline()))
        victim.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=240)
    finally:
        for process in tree:
            if process.is_running():
                process.kill()
    gone, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, f"left behind: {alive}"
    assert proc.returncode == 143, err[-3000:]
    assert "Traceback" not in err and "SignalException" not in err and "checkpoint None" not in err, err[-3000:]
    assert err.count("stopped by SIGTERM at step") == 1, err[-3000:]
    stopped = int(err.split("stopped by SIGTERM at step ")[1].split(";")[0])
    assert steps_of(run_dir)[-1] == f"step-{stopped:06d}" and status_of(run_dir) == "interrupted"
    out = invoke("run", "--output", run_dir, "--resume", "--steps", stopped + 2)
    assert out.exit_code == 0, out.output


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the signal mask from /proc")
def test_sigint_in_the_first_second_gives_one_line_and_no_traceback(tmp_path):
    """9: SIGINT at seeded moments of the first second of a real `gan run` (gancore's imports, the plugins, building
    the run) and up to three seconds (its first steps): one line, or a checkpoint, and exit 130; never a
    KeyboardInterrupt traceback, `Aborted!` or `cannot load module more than once`. The moments count from the
    first line of gancore code that can run (`gan`'s handler set, seen in /proc): Python's own start and `import
    gancore` come before it."""
    rng = random.Random(9)
    for i in range(8):
        delay = rng.uniform(0.0, 1.0) if i < 6 else rng.uniform(1.0, 3.0)
        run_dir = tmp_path / f"r{i}"
        proc = gan_process("run", "--plugin", "gan", "--steps", 100_000, "--output", run_dir,
                           "--set", "train.progress=false", program=GAN)
        wait_for(lambda: handles_signal(proc.pid, signal.SIGTERM) or proc.poll() is not None, timeout=60)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert clean(err) and "more than once" not in err and "KeyboardInterrupt" not in err, (delay, err[-2000:])
        assert proc.returncode == 130 and "stopped by SIGINT" in err, (delay, proc.returncode, err[-2000:])
        if (run_dir / "run.json").exists():
            assert status_of(run_dir) == "interrupted"


def test_a_signal_inside_a_lazy_import_ends_the_process_in_one_line(tmp_path):
    """9: a SIGINT that lands while a module is being imported (torch and numpy import lazily, long after
    start-up) ends the process at once in one line: raising there left the import half done (an
    ``ImportError: cannot load module more than once`` or a ``RecursionError`` traceback). Outside an
    import the same signal still unwinds as ``Signalled``."""
    (tmp_path / "slow_module.py").write_text("import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)\n")
    code = ("import os, signal, sys, time\nfrom gancore import signals\nfrom gancore.errors import Signalled\nsignals.install()\n"
            "try:\n    os.kill(os.getpid(), signal.SIGINT); time.sleep(5)\nexcept Signalled:\n    print('unwound')\n"
            "sys.stdout.flush()\nimport slow_module\nprint('not reached')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))})
    assert proc.stdout.split() == ["unwound"], proc.stdout + proc.stderr
    assert proc.returncode == 128 + signal.SIGINT and proc.stderr.strip() == "gan: stopped by SIGINT; no run was changed", proc.stderr


# ------------------------------------------------------- 10. plugins that call sys.exit


def test_a_plugin_that_exits_at_import_is_listed_as_broken(probe_site, write_config, tmp_path):
    """10: `gan plugins` lists it (instead of every command exiting 7 with no output); a run of another plugin works."""
    proc = gan_process("plugins", probe_site=probe_site, mode="exit-at-import")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "BROKEN probe" in out and "sys.exit(7)" in out
    proc = gan_process("run", write_config(tiny()), "--output", tmp_path / "r", probe_site=probe_site, mode="exit-at-import")
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0 and steps_of(tmp_path / "r")[-1] == "step-000020", err[-2000:]


class _ExitsInHooks:
    @hookimpl
    def gan_train_start(self, run):
        raise SystemExit(5)

    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        raise SystemExit(3)


class _ExitsLater:
    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        if step == 12:
            sys.exit(3)


def test_a_lifecycle_hook_that_calls_sys_exit_is_muted_and_training_goes_on(inline_plugin, write_config, tmp_path):
    """10: reported once and muted like any raising hook; the run completes with its checkpoints, run.json
    `completed`."""
    for name, plugin in (("exits-at-12", _ExitsLater()), ("exits-at-start", _ExitsInHooks())):
        inline_plugin(plugin, name)
        run_dir = tmp_path / name
        out = invoke("run", write_config(tiny()), "--output", run_dir)
        assert out.exit_code == 0, out.output
        assert out.output.count(f"plugin '{name}'") == 1 and "sys.exit(" in out.output
        assert steps_of(run_dir) == ["step-000010", "step-000020"] and status_of(run_dir) == "completed"
        from gancore.plugins import get_host

        get_host().unregister_plugin(name)


class _ExitsWhenRegistering:
    @hookimpl
    def gan_register_models(self, register):
        sys.exit(4)


def test_a_registry_hook_that_calls_sys_exit_breaks_only_its_plugin(inline_plugin):
    """10"""
    inline_plugin(_ExitsWhenRegistering(), "exits-registering")
    out = invoke("plugins")
    assert out.exit_code == 0 and "BROKEN exits-registering" in out.output and "sys.exit(4)" in out.output


# ---------------------------------------------------------- 11. a damaged state.json


def _rewrite_state(folder: Path, change) -> None:
    body = json.loads((folder / ckpt.STATE).read_text())
    change(body)
    (folder / ckpt.STATE).write_text(json.dumps(body))


def _no_rng(body):
    body["state"]["__dict__"] = [item for item in body["state"]["__dict__"] if item[0] != "rng"]


def _no_train(body):
    del body["meta"]["config"]["train"]


def _string_step(body):
    body["meta"]["step"] = "20"


def _rng_of_wrong_type(body):
    rng = next(item for item in body["state"]["__dict__"] if item[0] == "rng")
    rng[1][0]["__dict__"] = [["torch", 5], ["numpy", "no"], ["python", [1]]]


DAMAGE = {"no-rng": _no_rng, "no-train": _no_train, "string-step": _string_step, "rng-of-wrong-type": _rng_of_wrong_type}


@pytest.mark.parametrize("damage,sealed", [*((d, True) for d in DAMAGE), ("no-rng", False), ("nested-200000-deep", False)])
def test_a_damaged_newest_state_json_falls_back_everywhere(finished, tmp_path, damage, sealed):
    """11: missing rng or train, wrong types (sealed: with checksums that match, so the model of state.json and
    the RNG check are what catch it; unsealed: the checksum does), and JSON nested 200,000 deep: --resume, gan
    sample and gan eval fall back to step 10 with a warning, no traceback."""
    run_dir = copy_run(finished, tmp_path)
    newest = run_dir / "checkpoints" / "step-000020"
    if damage == "nested-200000-deep":
        (newest / ckpt.STATE).write_text("[" * 200_000 + "]" * 200_000)
    else:
        _rewrite_state(newest, DAMAGE[damage])
        if sealed:
            ckpt.seal(newest)
    with pytest.raises(UserError, match="missing or damaged"):
        ckpt.load(newest)
    out = invoke("sample", run_dir, "-n", 4, "-o", tmp_path / "s.npy")
    assert out.exit_code == 0 and "step-000010" in out.output and "skipped" in out.output, out.output
    out = invoke("eval", run_dir, *EVAL, "--json")
    assert out.exit_code == 0 and json.loads(out.stdout)["step"] == 10, out.output
    out = invoke("run", "--output", run_dir, "--resume", "--steps", 22)
    assert out.exit_code == 0 and "skipped a damaged checkpoint" in out.output, out.output
    assert steps_of(run_dir)[-1] == "step-000022"


# ------------------------------------------------ 12. damaged run.json and metrics.jsonl


RUN_JSONS = {"list": "[1, 2]", "number": "7", "string-step": '{"format": "gancore-run", "version": 1, "step": "20", "status": 5}',
             "sessions-of-numbers": '{"format": "gancore-run", "version": 1, "sessions": [1, "x", {"wall_seconds": "1"}]}',
             "not-utf8": b"\xff\xfe{", "deep": "[" * 100_000}
METRICS_LINES = ["[1, 2]", "7", '{"step": "20", "loss_d": 1}', '{"step": 1e400}', '{"step": 30, "loss_d": "x", "m/v": 1e999}',
                 "[" * 100_000, '{"step": 31, "loss_d": 0.5}']


def test_damaged_run_json_and_metrics_never_break_gan_runs_or_gan_report(gan, finished, tmp_path):
    """12: one folder per damaged run.json, all in one directory beside a good run: `gan runs` lists every one
    (the bad ones as damaged, saying why) with exit 0; bad metrics.jsonl lines are skipped and counted; `gan
    report` writes its page for each."""
    root = tmp_path / "runs"
    copy_run(finished, root, "good")
    for name, text in RUN_JSONS.items():
        folder = copy_run(finished, root, name)
        (folder / "run.json").write_bytes(text if isinstance(text, bytes) else text.encode())
    lines = copy_run(finished, root, "bad-lines")
    with open(lines / "metrics.jsonl", "ab") as fh:
        fh.write(b"\xff\xfe not utf-8\n" + "\n".join(METRICS_LINES).encode() + b"\n")
    out = gan("runs", root, "--json")  # the gan fixture: plugin commands, and any exception is raised
    assert out.exit_code == 0, out.output
    listed = {r["path"]: r for r in json.loads(out.stdout)}
    assert set(listed) == {"good", "bad-lines", *RUN_JSONS}
    assert listed["good"]["status"] == "completed" and not listed["good"]["problems"]
    for name in ("list", "number", "not-utf8", "deep"):
        assert listed[name]["status"] == "damaged" and "run.json" in listed[name]["problems"][0], listed[name]
    assert listed["sessions-of-numbers"]["wall_seconds"] is None
    assert listed["bad-lines"]["skipped_lines"] == 6 and listed["bad-lines"]["losses"]["loss_d"] == 0.5
    table = gan("runs", root)
    assert table.exit_code == 0 and "damaged" in table.output and "6 line(s) skipped" in table.output, table.output
    for name in [*RUN_JSONS, "bad-lines"]:
        out = gan("report", root / name, "-o", tmp_path / f"{name}.html")
        assert out.exit_code == 0 and clean(out.output), (name, out.output)


# ------------------------------------------------------------ 13. a reader beside a live run


def test_a_checkpoint_deleted_under_the_reader_is_no_damage(finished, tmp_path, monkeypatch):
    """13: as a live run with keep_checkpoints 1 does, step-20 is replaced by step-30 while `gan sample` reads it:
    the reader lists again and uses step-30 (not "no valid checkpoint", not an error)."""
    run_dir = copy_run(finished, tmp_path)
    shutil.rmtree(run_dir / "checkpoints" / "step-000010")
    real_load, raced = ckpt.load, []

    def racing_load(folder, **kwargs):
        if not raced:
            raced.append(folder)
            shutil.copytree(folder, folder.parent / ".step-000030.1.tmp")
            os.replace(folder.parent / ".step-000030.1.tmp", folder.parent / "step-000030")
            shutil.rmtree(folder)  # pruned under the reader
        return real_load(folder, **kwargs)

    monkeypatch.setattr(ckpt, "load", racing_load)
    out = invoke("sample", run_dir, "-n", 4, "-o", tmp_path / "s.npy")
    assert out.exit_code == 0, out.output
    assert "step-000030" in out.output and "skipped" not in out.output and raced


def test_gan_sample_beside_a_live_run_that_keeps_one_checkpoint(write_config, tmp_path):
    """13: 40 `gan sample` calls while a live run writes a checkpoint every step and keeps one: all succeed."""
    path = write_config(tiny(steps=10_000_000, checkpoint_every=1, keep_checkpoints=1, log_every=100))
    run_dir = tmp_path / "r"
    proc = gan_process("run", path, "--output", run_dir)
    try:
        wait_for(lambda: steps_of(run_dir))
        for i in range(40):
            out = invoke("sample", run_dir, "-n", 2, "-o", tmp_path / f"s{i % 2}.npy")
            assert out.exit_code == 0 and out.exception is None, (i, out.output)
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.communicate()


# ------------------------------------------------------------------ 21. a full disk


def test_a_full_disk_gives_one_message_and_no_writer_thread_traceback(probe_site, write_config, tmp_path):
    """21: the disk fills at the second checkpoint, and TensorBoard's writer thread fails at its next write:
    exit 2, the clean message naming the kept checkpoint, and no thread traceback before it."""
    run_dir = tmp_path / "r"
    proc = gan_process("run", write_config(tiny(tensorboard=True, log_every=1)), "--output", run_dir,
                       probe_site=probe_site, mode="enospc")
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 2, err[-3000:]
    assert "No space left on device" in err and "step-000010" in err, err[-3000:]
    assert clean(err) and "_AsyncWriterThread" not in err, err[-3000:]
    assert steps_of(run_dir) == ["step-000010"] and status_of(run_dir) == "failed"


# --------------------------------------------------------------------------- small


def test_gan_runs_shows_a_live_runs_progress_and_a_killed_one(gan, write_config, tmp_path):
    """Small: a live run shows the newest checkpoint's step (not 0/N) and `running`; after kill -9, `killed`."""
    root = tmp_path / "runs"
    path = write_config(tiny(steps=10_000_000, checkpoint_every=50, log_every=50))
    proc = gan_process("run", path, "--output", root / "live")
    try:
        wait_for(lambda: len(steps_of(root / "live")) >= 1 and int(steps_of(root / "live")[-1][5:]) >= 100)
        (listed,) = json.loads(gan("runs", root, "--json").stdout)
        assert listed["status"] == "running" and listed["step"] >= 100, listed
    finally:
        proc.kill()
        proc.communicate()
    (listed,) = json.loads(gan("runs", root, "--json").stdout)
    assert listed["status"] == "killed" and listed["step"] >= 100, listed


# --------------------------------------------------------------------------- fuzz


def _random_json(rng: random.Random, depth: int = 0):
    kinds = ["int", "float", "str", "null", "bool"] + (["list", "dict"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "list":
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == "dict":
        keys = ["step", "format", "version", "meta", "state", "rng", "status", "sessions", "config", "train", "loss_d", "x"]
        return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(5))}
    return {"int": lambda: rng.choice([0, -1, 20, 2**70]), "float": lambda: rng.choice([0.5, -1e308, 1e-300]),
            "str": lambda: rng.choice(["", "20", "gancore-checkpoint", "gancore-run", "\u00e9"]), "null": lambda: None,
            "bool": lambda: rng.random() < 0.5}[kind]()


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """Random bytes, a random JSON shape, or the file itself with a few bytes changed, cut or repeated."""
    how = rng.randrange(5)
    if how == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    if how == 1:
        return json.dumps(_random_json(rng)).encode()
    if how == 2 and data:
        out = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if how == 3:
        return data[: rng.randrange(len(data) + 1)]
    return data + data[: rng.randrange(len(data) + 1)]


def test_fuzz_the_files_of_a_run_folder(gan, finished, tmp_path):
    """Seeded: 400 cases of random bytes and JSON shapes (and cut, repeated and changed files) in state.json,
    tensors.safetensors, run.json and metrics.jsonl of a run's newest checkpoint and folder. Readers never raise
    anything but a UserError; the older checkpoint is never changed and is what they fall back to; `gan runs`
    lists the folder. Every 25th case also goes through the CLI (sample, runs, report). Under a minute."""
    started = time.perf_counter()
    rng = random.Random(29)
    targets = ["checkpoints/step-000020/state.json", "checkpoints/step-000020/tensors.safetensors", "run.json", "metrics.jsonl"]
    older = snapshot(finished / "checkpoints" / "step-000010")
    run_dir = tmp_path / "r"
    cases = 400
    for case in range(cases):
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.copytree(finished, run_dir)
        target = run_dir / targets[case % len(targets)]
        original = target.read_bytes()
        target.write_bytes(_mutate(original, rng))
        try:
            folder, _, meta, warnings = ckpt.newest_valid(run_dir, "read")
        except UserError as exc:
            pytest.fail(f"case {case}: no fallback to the valid step-10: {exc}")
        if folder.name == "step-000010":
            assert warnings and target.parent.name == "step-000020", case
        elif target.parent.name == "step-000020":  # taken: so what was changed means the same
            assert target.read_bytes() == original or json.loads(target.read_bytes()) == json.loads(original), case
        summary = runs.summarize(run_dir)
        assert summary.plugin == "gan" and summary.status in ("completed", "damaged"), (case, summary)
        if case % 25 == 0:
            out = invoke("sample", run_dir, "-n", 2, "-o", tmp_path / "s.npy")
            assert out.exit_code == 0 and out.exception is None, (case, out.output)
            for command in (["runs", tmp_path, "--json"], ["report", run_dir, "-o", tmp_path / "page.html"]):
                out = gan(*command)
                assert out.exit_code == 0 and out.exception is None, (case, command, out.output)
        assert snapshot(run_dir / "checkpoints" / "step-000010") == older, case
    assert time.perf_counter() - started < 60, "the fuzz test must stay under a minute"


# ------------------------------------------------------------ 20. requests that cannot fit in memory


def test_a_batch_or_a_sample_grid_that_cannot_fit_is_refused_with_the_figures(write_config, tmp_path):
    """20: a batch of 10**12 would be killed by the out-of-memory killer; it is refused before anything is written."""
    for option, value in (("batch_size", 10**12), ("sample_count", 10**12)):
        run_dir = tmp_path / option
        out = invoke("run", write_config(tiny(**{option: value})), "--output", run_dir)
        assert out.exit_code == 2, out.output
        assert f"train.{option} {value} cannot fit in memory" in out.output and "available" in out.output, out.output
        assert out.exception is None or isinstance(out.exception, SystemExit)
        assert not run_dir.exists() or not any(run_dir.iterdir())


def test_gan_sample_refuses_more_samples_than_memory_or_disk_holds(finished, tmp_path):
    """20: -n 10**13 is refused for a picture or a .pt file (memory) and for a .npy file (disk), naming the figure."""
    for name, says in (("s.png", "holds every sample in memory"), ("s.pt", "holds every sample in memory"), ("s.npy", "free")):
        out = invoke("sample", finished, "-n", 10**13, "-o", tmp_path / name)
        assert out.exit_code == 2 and says in out.output and "Traceback" not in out.output, out.output
        assert not (tmp_path / name).exists()


def test_a_npy_written_in_blocks_holds_the_samples_of_one_call(finished, tmp_path, monkeypatch):
    """20: .npy files are generated and written block by block; the samples are those of one call (.pt)."""
    import numpy as np

    from gancore import sampling
    from gancore.metrics.base import CHUNK

    monkeypatch.setattr(sampling, "NPY_BLOCK_BYTES", 1)  # the smallest block: one generation chunk
    count = 3 * CHUNK + 7
    for name in ("s.npy", "s.pt"):
        out = invoke("sample", finished, "-n", count, "-o", tmp_path / name, "--seed", 5)
        assert out.exit_code == 0, out.output
    blocks, whole = np.load(tmp_path / "s.npy"), torch.load(tmp_path / "s.pt", weights_only=True)
    assert blocks.shape == tuple(whole.shape) and blocks.shape[0] == count
    assert torch.equal(torch.from_numpy(blocks), whole)


def test_a_killed_runs_forked_workers_do_not_keep_its_lock(tmp_path):
    """Small (found by benchmarks/faults.py): a run's forked children (DataLoader workers) inherited the lock's
    open file, so after a kill -9 of the run a --resume was refused for seconds, naming the dead PID. The lock
    now lives exactly as long as the process that took it."""
    run_dir = tmp_path / "r"
    code = ("import multiprocessing as mp, sys, time\nfrom gancore.rundir import RunLock\n"
            f"lock = RunLock({str(run_dir)!r}).acquire()\n"
            "child = mp.get_context('fork').Process(target=time.sleep, args=(60,)); child.start()\n"
            "print(child.pid, flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    worker = int(holder.stdout.readline())
    try:
        with pytest.raises(UserError, match="is in use"):
            RunLock(run_dir).acquire()  # held while the run lives
        holder.kill()
        holder.wait(timeout=30)
        assert psutil.pid_exists(worker) and psutil.Process(worker).status() != psutil.STATUS_ZOMBIE
        RunLock(run_dir).acquire().release()  # at once, while its worker still lives
    finally:
        holder.kill()
        try:
            os.kill(worker, signal.SIGKILL)
        except ProcessLookupError:
            pass
