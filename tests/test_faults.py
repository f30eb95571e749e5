"""Fault injection (issue 10): kill -9, a full disk, two runs in one folder, a raising lifecycle hook,
NaN weights, damaged checkpoints and data, and the messages each one gets.

Every case trains tiny MLPs on 64 ring points, so it takes a second or two; the kill -9 loop is
marked slow. The numbers in the test names' docstrings refer to the defects of issue 10."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from gancore import Algorithm, GANAlgorithm, hookimpl
from gancore import checkpoint as ckpt
from gancore.testing import FullDisk, checkpoint_tensors

from .conftest import TINY_FAULTS as TINY
from .conftest import run_gan_subprocess


def tiny(**train) -> dict:
    return {**TINY, "train": {**TINY["train"], **train}}


def invoke(*args):
    """The CLI in-process, keeping stderr and any exception (the ``gan`` fixture re-raises)."""
    from gancore.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def all_finite(folder: Path) -> bool:
    return all(torch.isfinite(t).all() for t in load_file(str(folder / "tensors.safetensors")).values() if t.is_floating_point())


def steps_of(run_dir: Path) -> list[str]:
    return [p.name for p in ckpt.list_checkpoints(run_dir)]


def temporaries(run_dir: Path) -> list[str]:
    folder = run_dir / "checkpoints"
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.is_dir() else []


# ------------------------------------------------------------------ 1. NaN


def test_exploding_learning_rates_leave_only_finite_checkpoints(gan, write_config, tmp_path):
    """1: the issue's repro; the checkpoint the message names is finite, and sample uses it."""
    path = write_config(tiny(steps=100, checkpoint_every=2, log_every=2, ema_decay=0.9))
    out = gan("run", path, "--output", tmp_path / "r", "--set", "algorithm.lr_generator=1e4",
              "--set", "algorithm.lr_discriminator=1e4")
    assert out.exit_code == 2, out.output
    assert "NaN or Inf" in out.output and "Traceback" not in out.output
    kept = ckpt.list_checkpoints(tmp_path / "r")
    assert all(all_finite(folder) for folder in kept)
    if not kept:  # the weights blew up within the first checkpoint interval
        assert "no checkpoint had been written yet" in out.output
        return
    assert f"last good checkpoint, {kept[-1]}" in out.output
    sampled = gan("sample", tmp_path / "r", "-n", 5, "-o", tmp_path / "s.npy")
    assert sampled.exit_code == 0 and np.isfinite(np.load(tmp_path / "s.npy")).all()


class _NaNAt(GANAlgorithm):
    """Finite losses always; its weights turn NaN in step ``nan_step`` (the loss guard cannot see it)."""

    def __init__(self, config, ctx):
        super().__init__(config, ctx)
        self.generator = torch.nn.Linear(2, 2)
        self.register_state("generator")

    def train_step(self, batch, step):
        with torch.no_grad():
            self.generator.weight.add_(0.01)
            if step == int(os.environ.get("NAN_STEP", "7")):
                self.generator.weight.fill_(float("nan"))
        return {"loss": torch.tensor(float("nan") if step == int(os.environ.get("NAN_LOSS_STEP", "0")) else 1.0)}

    @torch.no_grad()
    def sample(self, n, *, seed=None):
        return self.generator(self.noise(n, 2, seed))


class _NaNPlugin:
    @hookimpl
    def gan_register_algorithms(self, register):
        register(Algorithm("nan-at", _NaNAt, defaults={"data": {"name": "ring", "num_samples": 64},
                                                       "train": {"progress": False, "tensorboard": False, "batch_size": 16}}))


def test_nan_at_a_chosen_step_is_never_checkpointed(inline_plugin, gan, tmp_path, monkeypatch):
    """1: the weights are checked before writing, whatever the losses say."""
    inline_plugin(_NaNPlugin(), "nan-at")
    monkeypatch.setenv("NAN_STEP", "7")
    out = gan("run", "--plugin", "nan-at", "--output", tmp_path / "r", "--steps", 20,
              "--set", "train.checkpoint_every=3", "--set", "train.log_every=100")
    assert out.exit_code == 2
    assert "weights or optimizer state became NaN or Inf by step 9 (algorithm.generator.weight)" in out.output
    assert "step-000006" in out.output and steps_of(tmp_path / "r") == ["step-000003", "step-000006"]
    assert all(all_finite(f) for f in ckpt.list_checkpoints(tmp_path / "r")) and not temporaries(tmp_path / "r")


def test_sample_and_eval_refuse_non_finite_weights(gan, write_config, tmp_path):
    """1 and 7: a NaN checkpoint (written by an older version) is refused by name; the default
    choice falls back to an older one and says why."""
    assert gan("run", write_config(tiny()), "--output", tmp_path / "r").exit_code == 0
    newest = tmp_path / "r" / "checkpoints" / "step-000020"
    tensors = load_file(str(newest / "tensors.safetensors"))
    save_file({k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in tensors.items()},
              str(newest / "tensors.safetensors"))
    ckpt.seal(newest)  # as that version wrote it: its checksum matches, its weights are NaN
    out = invoke("sample", tmp_path / "r", "-n", 4, "-o", tmp_path / "s.npy", "--checkpoint", newest)
    assert out.exit_code == 2 and "non-finite weights" in out.output and "Traceback" not in out.output
    out = invoke("sample", tmp_path / "r", "-n", 4, "-o", tmp_path / "s.npy")
    assert out.exit_code == 0, out.output
    assert "using checkpoint" in out.output and "step-000010" in out.output and "skipped" in out.output
    out = invoke("eval", tmp_path / "r", "--metric", "{name: mode-coverage, num_samples: 50}", "--checkpoint", newest)
    assert out.exit_code == 2 and "non-finite weights" in out.output
    out = invoke("eval", tmp_path / "r", "--metric", "{name: mode-coverage, num_samples: 50}", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["checkpoint"].endswith("step-000010") and "skipped" in report["why"] and report["step"] == 10


# ------------------------------------------------------------ 2. two runs


def _start(config_path, run_dir, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "gancore.cli", "run", str(config_path), "--output", str(run_dir), *map(str, extra)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(predicate, timeout=120.0):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_a_live_run_locks_its_folder(gan, write_config, tmp_path):
    """2 and 5: a second run and a --resume exit 2 naming the holder's PID; sample needs no lock;
    after kill -9 the lock is gone and the resume removes the dead write's temporary folder."""
    path = write_config(tiny(steps=10_000_000, checkpoint_every=50, log_every=50))
    run_dir = tmp_path / "r"
    proc = _start(path, run_dir)
    try:
        _wait_for(lambda: ckpt.list_checkpoints(run_dir))
        for extra in ([], ["--resume"], ["--overwrite"]):
            out = invoke("run", path, "--output", run_dir, *extra)
            assert out.exit_code == 2, out.output
            assert f"process {proc.pid} is running in it" in out.output and "Traceback" not in out.output
        out = invoke("sample", run_dir, "-n", 4, "-o", tmp_path / "s.npy")
        assert out.exit_code == 0, out.output
    finally:
        proc.kill()
        proc.wait()
    (run_dir / "checkpoints" / ".step-999999.1.deadbeef").mkdir()  # as a write cut by the kill leaves it
    left = len(temporaries(run_dir))  # the kill itself may also have cut a write
    out = invoke("run", path, "--output", run_dir, "--resume", "--steps", int(steps_of(run_dir)[-1][5:]) + 5)
    assert out.exit_code == 0, out.output
    assert f"removed {left} temporary checkpoint folder" in out.output and not temporaries(run_dir)


def test_two_runs_started_together_one_refused(write_config, tmp_path):
    """2: started at the same moment on one folder, exactly one runs; the folder is that run's alone."""
    path = write_config(tiny(steps=1500, checkpoint_every=500, log_every=100))
    procs = [_start(path, tmp_path / "r") for _ in range(2)]
    results = [p.communicate(timeout=240) + (p.returncode,) for p in procs]
    codes = sorted(r[2] for r in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[2] == 2)
    assert "is in use" in loser[1] and "Traceback" not in loser[1]
    steps = [json.loads(line)["step"] for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)), "metrics.jsonl holds one run's records"


# ---------------------------------------------------- 3, 8. replacing a run


def test_overwrite_keeps_the_old_run_when_the_new_one_cannot_start(gan, write_config, tmp_path):
    """3: a bad data root leaves the old run exactly as it was."""
    path = write_config(tiny())
    assert gan("run", path, "--output", tmp_path / "r").exit_code == 0
    before = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "r").rglob("*"))
    out = gan("run", path, "--output", tmp_path / "r", "--overwrite", "--set", "data.name=image-folder",
              "--set", f"data.root={tmp_path / 'missing'}")
    assert out.exit_code == 2 and "is not a folder" in out.output
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "r").rglob("*")) == before


def test_a_folder_without_checkpoints_is_not_a_run_to_protect(gan, write_config, tmp_path):
    """4 and 8: an empty filter is a message; the next run in that folder just starts."""
    out = gan("run", "--plugin", "gan", "--output", tmp_path / "r", "--set", "data.name=digits", "--set", "data.classes=[42]",
              "--steps", 2)
    assert out.exit_code == 2 and "has no samples" in out.output and "data.classes" in out.output
    assert not (tmp_path / "r").exists(), "nothing is left behind by a run that never started"
    path = write_config(tiny(steps=200, checkpoint_every=100))
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.yaml").write_text("plugin: gan\n")  # an older run that died before its first checkpoint
    (tmp_path / "r" / "run.json").write_text('{"format": "gancore-run", "version": 1, "status": "failed"}')
    (tmp_path / "r" / "metrics.jsonl").write_text('{"step": 5}\n')
    out = gan("run", path, "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    assert "ended before its first checkpoint" in out.output
    steps = [json.loads(line)["step"] for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(5, 201, 5)), "the old run's records are gone"
    assert yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["algorithm"]["name"] == "gan"


# ------------------------------------------------------- 4. environment


def test_impossible_output_folders_are_messages(gan, write_config, tmp_path):
    """4: a file where the folder should be, a path under /proc, a read-only folder."""
    path = write_config(tiny())
    (tmp_path / "file").write_text("x")
    targets = [tmp_path / "file", tmp_path / "file" / "sub", Path("/proc/gancore-run")]
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    if os.geteuid() != 0:  # root writes anywhere
        targets.append(readonly / "r")
    for target in targets:
        out = invoke("run", path, "--output", target)
        assert out.exit_code == 2, (target, out.output)
        assert "Traceback" not in out.output and "--output" in out.output


@pytest.mark.parametrize("target,budget", [(ckpt.TENSORS, 0), (ckpt.TENSORS, 700), (ckpt.STATE, 10)],
                         ids=["tensors-first-byte", "tensors-byte-700", "state-json"])
def test_full_disk_during_a_checkpoint_keeps_the_previous_one(gan, write_config, tmp_path, monkeypatch, target, budget):
    """4: ENOSPC at a chosen byte of the second checkpoint: one message, exit 2, the first checkpoint intact."""
    path = write_config(tiny())

    def full_disk(p):
        return FullDisk(p, budget) if ".step-000020." in str(p) and p.name == target else open(p, "wb")

    monkeypatch.setattr(ckpt, "open_for_writing", full_disk)
    out = gan("run", path, "--output", tmp_path / "r")
    assert out.exit_code == 2, out.output
    assert "No space left on device" in out.output and "step-000010" in out.output and "intact" in out.output
    assert steps_of(tmp_path / "r") == ["step-000010"] and not temporaries(tmp_path / "r")
    ckpt.load(tmp_path / "r" / "checkpoints" / "step-000010")
    monkeypatch.undo()
    out = gan("run", path, "--output", tmp_path / "r", "--resume")
    assert out.exit_code == 0 and steps_of(tmp_path / "r")[-1] == "step-000020"


def _png(path, size=(8, 8), value=128):
    from PIL import Image

    Image.fromarray(np.full((size[1], size[0]), value, dtype=np.uint8)).save(path)


def test_bad_images_are_named_and_can_be_skipped(gan, tmp_path):
    """4: a corrupt file is named with the skip option; mixed sizes suggest image_size."""
    root = tmp_path / "images"
    root.mkdir()
    for i in range(4):
        _png(root / f"ok-{i}.png", value=40 * i)
    (root / "zz-bad.png").write_bytes(b"\x89PNG not really")
    common = ("run", "--plugin", "gan", "--steps", 2, "--set", f"data={{name: image-folder, root: '{root}'}}",
              "--set", "train.batch_size=2", "--set", "train.progress=false", "--set", "train.tensorboard=false")
    out = invoke(*common, "--output", tmp_path / "a")
    assert out.exit_code == 2 and "zz-bad.png" in out.output and "data.skip_bad_files=true" in out.output
    out = invoke(*common, "--output", tmp_path / "b", "--set", "data.skip_bad_files=true")
    assert out.exit_code == 0, out.output
    assert "skipped 1 file(s)" in out.output
    (root / "zz-bad.png").unlink()
    _png(root / "zz-big.png", size=(12, 12))
    out = invoke(*common, "--output", tmp_path / "c")
    assert out.exit_code == 2 and "differ in size" in out.output and "data.image_size=8" in out.output


@pytest.mark.parametrize("name,files", [
    ("mnist", ["MNIST/raw/train-images-idx3-ubyte", "MNIST/raw/train-labels-idx1-ubyte",
               "MNIST/raw/t10k-images-idx3-ubyte", "MNIST/raw/t10k-labels-idx1-ubyte"]),
    ("cifar10", [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)] + ["cifar-10-batches-py/test_batch"]),
])
def test_garbage_dataset_files_are_named(gan, tmp_path, name, files):
    """4: files that exist but do not parse are named; nothing is unpickled into a traceback."""
    for rel in files:
        (tmp_path / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / rel).write_bytes(b"garbage" * 10)
    out = invoke("run", "--plugin", "gan", "--steps", 1, "--output", tmp_path / "r", "--set", f"data.name={name}",
                 "--set", f"data.root={tmp_path / 'data'}")
    assert out.exit_code == 2, out.output
    assert "is damaged" in out.output and str(tmp_path / "data") in out.output and "Traceback" not in out.output


@pytest.mark.parametrize("body", ["[]", '{"format": "gancore-checkpoint-1", "state": {}}', '{"format": "gancore-checkpoint-1", "meta": [], "state": {}}',
                                  '{"format": "gancore-checkpoint-1", "meta": {"step": 20}, "state": {}}', '"text"'],
                         ids=["list", "no-meta", "meta-list", "meta-without-config", "string"])
def test_a_state_json_of_the_wrong_shape_is_a_damaged_checkpoint(gan, write_config, tmp_path, body):
    """4: resume falls back to the older valid checkpoint, as for damaged tensors."""
    path = write_config(tiny())
    assert gan("run", path, "--output", tmp_path / "r").exit_code == 0
    (tmp_path / "r" / "checkpoints" / "step-000020" / "state.json").write_text(body)
    out = invoke("run", path, "--output", tmp_path / "r", "--resume", "--steps", 25)
    assert out.exit_code == 0, out.output
    assert "skipped a damaged checkpoint" in out.output and "step-000020" in out.output
    assert steps_of(tmp_path / "r")[-1] == "step-000025"


# ------------------------------------------------------------- 6. metrics


def test_resume_from_an_older_checkpoint_truncates_the_metrics(gan, write_config, tmp_path):
    """6: no step is logged twice; the TensorBoard events are purged past the checkpoint too."""
    path = write_config(tiny(steps=20, checkpoint_every=10, tensorboard=True))
    assert gan("run", path, "--output", tmp_path / "r").exit_code == 0
    (tmp_path / "r" / "checkpoints" / "step-000020" / "tensors.safetensors").write_bytes(b"x")
    with open(tmp_path / "r" / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 2')  # a line torn by a crash
    out = gan("run", path, "--output", tmp_path / "r", "--resume")
    assert out.exit_code == 0, out.output
    steps = [json.loads(line)["step"] for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [5, 10, 15, 20]


def test_non_finite_values_are_logged_as_null_with_their_key(inline_plugin, gan, tmp_path, monkeypatch):
    """6: every line is strict JSON; the bad value is null and its key is named."""
    inline_plugin(_NaNPlugin(), "nan-at")
    monkeypatch.setenv("NAN_STEP", "0")
    monkeypatch.setenv("NAN_LOSS_STEP", "4")
    out = gan("run", "--plugin", "nan-at", "--output", tmp_path / "r", "--steps", 10, "--set", "train.log_every=2")
    assert out.exit_code == 2 and "loss became NaN or Inf by step 4" in out.output

    def strict(text):
        raise ValueError(f"bare {text} in metrics.jsonl")

    records = [json.loads(line, parse_constant=strict) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 4 and records[-1]["loss"] is None and records[-1]["nonfinite"] == ["loss"]


# ------------------------------------------------------ 7. sample / eval


def test_sample_and_eval_have_their_own_words_for_no_run(gan, write_config, tmp_path):
    """7: not a run, or every checkpoint damaged: no advice about --resume."""
    (tmp_path / "empty").mkdir()
    for command in (["sample", tmp_path / "empty", "-o", tmp_path / "s.npy"], ["eval", tmp_path / "empty", "--metric", "mode-coverage"]):
        out = invoke(*command)
        assert out.exit_code == 2 and "not a trained run" in out.output and "--resume" not in out.output
    assert gan("run", write_config(tiny(keep_checkpoints=1)), "--output", tmp_path / "r").exit_code == 0
    (tmp_path / "r" / "checkpoints" / "step-000020" / "state.json").write_text("{")
    out = invoke("sample", tmp_path / "r", "-o", tmp_path / "s.npy")
    assert out.exit_code == 2 and "found no valid checkpoint" in out.output and "--resume" not in out.output


# ------------------------------------------------------------ 9, 10. minor


def test_load_plugins_with_an_unknown_name_warns(monkeypatch):
    """9: the warning, and the unknown-plugin error naming the variable."""
    monkeypatch.setenv("GANCORE_LOAD_PLUGINS", "no-such-plugin")
    out = invoke("plugins")
    assert "GANCORE_LOAD_PLUGINS names 'no-such-plugin', which matches no installed plugin" in out.output
    out = invoke("run", "--plugin", "wgan")
    assert out.exit_code == 2 and "GANCORE_LOAD_PLUGINS=no-such-plugin" in out.output


def test_batch_larger_than_the_data_warns_once_and_checkpoints_follow_the_umask(gan, write_config, tmp_path):
    """10"""
    old = os.umask(0o022)
    try:
        out = invoke("run", write_config(tiny(batch_size=100, steps=10)), "--output", tmp_path / "r")
    finally:
        os.umask(old)
    assert out.exit_code == 0, out.output
    assert out.output.count("larger than the dataset 'ring' (64 samples)") == 1
    folder = tmp_path / "r" / "checkpoints" / "step-000010"
    assert folder.stat().st_mode & 0o777 == 0o755
    assert {(folder / f).stat().st_mode & 0o777 for f in (ckpt.TENSORS, ckpt.STATE)} == {0o644}


# ----------------------------------------------------- 11. lifecycle hooks


class _RaisingEval:
    @hookimpl
    def gan_eval_end(self, run, step, metrics):
        raise RuntimeError("logger is down")

    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        self.calls = getattr(self, "calls", 0) + 1


class _StopAt12:
    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        if step == 12:
            run.should_stop = True


def test_a_raising_lifecycle_hook_is_reported_once_and_training_goes_on(inline_plugin, write_config, tmp_path):
    """11: reported once with plugin, hook and error; its hooks skipped; should_stop still works."""
    raising = inline_plugin(_RaisingEval(), "flaky-logger")
    inline_plugin(_StopAt12(), "stopper")
    cfg = {**tiny(steps=20, eval_every=5), "eval": {"metrics": [{"name": "mode-coverage", "num_samples": 50}]}}
    out = invoke("run", write_config(cfg), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    assert out.output.count("plugin 'flaky-logger'") == 1
    assert "gan_eval_end hook raised RuntimeError: logger is down" in out.output
    assert raising.calls == 5, "skipped after it raised at step 5"
    assert steps_of(tmp_path / "r")[-1] == "step-000012"


class _Breaks(GANAlgorithm):
    """Trains, then fails: in its step (inconsistent state) or in sample (after a complete step)."""

    def __init__(self, config, ctx):
        super().__init__(config, ctx)
        self.generator = torch.nn.Linear(2, 2)

    def train_step(self, batch, step):
        if os.environ.get("BREAK_IN") == "step" and step == 7:
            raise RuntimeError("a bug in the family")
        with torch.no_grad():
            self.generator.weight.add_(0.01)
        return {"loss": torch.tensor(1.0)}

    @torch.no_grad()
    def sample(self, n, *, seed=None):
        if os.environ.get("BREAK_IN") == "sample":
            raise ValueError("cannot draw")
        return self.generator(self.noise(n, 2, seed))


class _BreaksPlugin:
    @hookimpl
    def gan_register_algorithms(self, register):
        register(Algorithm("breaks", _Breaks, defaults={"data": {"name": "ring", "num_samples": 64},
                                                        "train": {"progress": False, "tensorboard": False, "batch_size": 16}}))


def test_an_error_after_the_first_step_keeps_the_last_consistent_state(inline_plugin, tmp_path, monkeypatch):
    """11: an error after a complete step saves it; one inside a step names the newest checkpoint."""
    inline_plugin(_BreaksPlugin(), "breaks")
    monkeypatch.setenv("BREAK_IN", "sample")
    out = invoke("run", "--plugin", "breaks", "--output", tmp_path / "a", "--steps", 20, "--set", "train.sample_every=6",
                 "--set", "train.checkpoint_every=0")
    assert isinstance(out.exception, ValueError)
    assert steps_of(tmp_path / "a") == ["step-000006"] and "a checkpoint of the last complete step was written" in out.output
    monkeypatch.setenv("BREAK_IN", "step")
    out = invoke("run", "--plugin", "breaks", "--output", tmp_path / "b", "--steps", 20, "--set", "train.checkpoint_every=5")
    assert isinstance(out.exception, RuntimeError)
    assert steps_of(tmp_path / "b") == ["step-000005"]
    assert f"the newest checkpoint is {tmp_path / 'b' / 'checkpoints' / 'step-000005'}" in out.output


# -------------------------------------------------------- 12. name clashes


class _Twin:
    @hookimpl
    def gan_register_datasets(self, register):
        from gancore import Dataset, TensorData

        register(Dataset("ring", lambda cfg: TensorData({"x": torch.zeros(4, 2)}, "points")))
        register(Dataset("twin-points", lambda cfg: TensorData({"x": torch.zeros(4, 2)}, "points")))


def test_a_name_clash_refuses_only_that_entry(inline_plugin):
    """12: both plugins named, both ways out, no doubled period; the rest of the plugin works; --check fails."""
    inline_plugin(_Twin(), "twin")
    from gancore.plugins import get_host

    host = get_host()
    assert host.registry.get("dataset", "ring").plugin == "datasets" and host.registry.get("dataset", "twin-points").plugin == "twin"
    assert "twin" not in host.broken
    out = invoke("plugins")
    assert "dataset 'ring' is registered twice: by plugin 'datasets' and by plugin 'twin'" in out.output
    assert "GANCORE_DISABLE_PLUGINS=datasets or GANCORE_DISABLE_PLUGINS=twin" in out.output and ".." not in out.output
    assert out.exit_code == 0
    assert invoke("plugins", "--check").exit_code == 1


def test_broken_and_disabled_plugins_in_gan_plugins(inline_plugin, monkeypatch):
    """12: disabled plugins are listed as disabled; the run-time message has one period."""

    class Bad:
        @hookimpl
        def gan_register_models(self, register):
            raise RuntimeError("cannot build.")

    inline_plugin(Bad(), "bad")
    out = invoke("run", "--plugin", "bad")
    assert out.exit_code == 2 and "cannot build. Fix or reinstall" in out.output and ".." not in out.output
    assert invoke("plugins", "--check").exit_code == 1
    monkeypatch.setenv("GANCORE_DISABLE_PLUGINS", "metrics")
    from gancore.plugins import reset_host

    reset_host()
    out = invoke("plugins")
    assert "DISABLED metrics" in out.output and invoke("plugins", "--check").exit_code == 0


# ------------------------------------------------------- 13. messages


def test_messages_point_the_right_way(write_config, tmp_path):
    """13: resume of nothing, --set with a space, an unknown key with a close name."""
    out = invoke("run", "--output", tmp_path / "nothere", "--resume")
    assert out.exit_code == 2 and "'" + str(tmp_path / "nothere") + "' does not exist" in out.output and "no plugin given" not in out.output
    out = invoke("run", "--plugin", "gan", "--set", "train.steps", "5")
    assert out.exit_code == 2 and "write --set train.steps=5" in out.output
    out = invoke("run", "--plugin", "gan", "--set", "data.clases=[1]")
    assert out.exit_code == 2 and "data.clases: unknown key" in out.output and "did you mean 'classes'?" in out.output
    out = invoke("run", "--plugin", "gan", "--set", "train.stesp=5")
    assert "did you mean 'steps'?" in out.output


# ------------------------------------------------------------ kill -9


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_equals_an_uninterrupted_run(gan, write_config, tmp_path):
    """The issue's fault-injection loop: kills land anywhere, many during checkpoint writes (one per step).
    After each, the newest checkpoint loads; the resume removes temporary folders; the end is bit-exact."""
    steps = 300
    path = write_config(tiny(steps=steps, checkpoint_every=1, log_every=10, keep_checkpoints=2))
    assert gan("run", path, "--output", tmp_path / "full").exit_code == 0
    run_dir, rng = tmp_path / "killed", random.Random(10)
    for round_ in range(3):
        proc = _start(path, run_dir, *(["--resume"] if round_ else []))
        before = steps_of(run_dir)[-1] if round_ else None
        _wait_for(lambda: steps_of(run_dir) and steps_of(run_dir)[-1] != before)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert steps_of(run_dir), "a checkpoint is always there"
        for folder in ckpt.list_checkpoints(run_dir):
            ckpt.load(folder)  # none is half written, nor half deleted
    out = run_gan_subprocess("run", path, "--output", run_dir, "--resume")
    assert out.returncode == 0, out.stderr
    assert not temporaries(run_dir)
    name_a, full, state_a = checkpoint_tensors(tmp_path / "full")
    name_b, resumed, state_b = checkpoint_tensors(run_dir)
    assert name_a == name_b == f"step-{steps:06d}"
    assert all(torch.equal(full[k], resumed[k]) for k in full) and state_a == state_b
