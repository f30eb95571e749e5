"""Test helpers and conformance checks for plugin authors.

A plugin's ``tests/conftest.py`` imports the fixtures it wants; pytest picks
up fixtures from a conftest's namespace::

    from gancore.testing import fresh_host, gan, make_run, write_config  # noqa: F401

Fixtures:

* ``fresh_host`` (autouse once imported): every test loads plugins afresh, with
  ``GANCORE_DISABLE_PLUGINS`` / ``GANCORE_LOAD_PLUGINS`` cleared, and one torch
  thread (test processes share the cores);
* ``gan``: the ``gan`` command line in-process, ``gan("run", "--plugin", "x", ...)``;
* ``write_config``: a run-config dict written as YAML in ``tmp_path``;
* ``make_run``: a ``Run`` built from a run-config dict, nothing trained, to drive
  ``run.algorithm.train_step(run.next_batch(), step)`` by hand;
* ``inline_plugin``: register a plugin object (a module or a class with
  hookimpls) for one test.

Conformance checks, plain functions that raise ``AssertionError``:

* ``check_plugin(name)``: the plugin loads, registers something, documents
  every option, and the default run config of each of its algorithms validates;
* ``check_resume(gan, config_path, out_dir)``: a run stopped half way and resumed
  ends with the same weights, optimizer states, EMA, RNG and counters, bit for
  bit, as the same run done in one go, and with the same value in every attribute
  of its algorithm: one that differs is state the algorithm does not declare;
* ``checkpoint_tensors(run_dir)``: the newest checkpoint's tensors and state;
* ``check_step_devices(run)``: a dry run of ``train_step`` with every network, optimizer state,
  tensor and batch on PyTorch's ``meta`` device: a tensor that the step makes on the CPU (it would
  be on the wrong device on a GPU) or a value it reads on the host (``.item()``, ``if t:``) fails it,
  on a machine without a GPU;
* ``no_host_sync()``: inside it, a tensor's value read on the host, a tensor made
  without a device or copied from host data, by any code but torch's own, fails.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
import yaml

from . import hookimpl, plugins

__all__ = [
    "BorrowingVenv",
    "FullDisk",
    "borrowing_venv",
    "check_plugin",
    "check_resume",
    "checkpoint_tensors",
    "fresh_host",
    "gan",
    "inline_plugin",
    "make_run",
    "check_step_devices",
    "no_host_sync",
    "run_checked",
    "write_config",
]


# ------------------------------------------------------------------ fixtures


@pytest.fixture(autouse=True)
def fresh_host(monkeypatch):
    """Each test loads plugins afresh, with no allow or deny lists from the environment."""
    torch.set_num_threads(1)
    monkeypatch.delenv("GANCORE_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("GANCORE_LOAD_PLUGINS", raising=False)
    plugins.reset_host()
    yield
    plugins.reset_host()


@pytest.fixture
def gan():
    """Invoke the ``gan`` CLI in-process: ``gan("run", "--plugin", "gan", ...)``; returns click's ``Result``.

    As the real ``gan`` does, it has the commands plugins add (``gan_register_commands``) of the
    plugins loaded when it is invoked, inline ones included."""
    from click.testing import CliRunner

    from .cli import GanGroup, cli

    runner = CliRunner()

    def invoke(*args: Any):
        group = GanGroup(name="gan", commands=dict(cli.commands), params=list(cli.params), help=cli.help)
        plugins.get_host().register_commands(group)
        return runner.invoke(group, [str(a) for a in args], catch_exceptions=False)

    return invoke


def invoke_gan(*args: Any):
    """``gan`` in-process with the commands plugins add, as the ``gan`` fixture, but an uncaught exception
    stays in ``result.exception`` (for tests that check that there is none)."""
    from click.testing import CliRunner

    from .cli import GanGroup, cli

    group = GanGroup(name="gan", commands=dict(cli.commands), params=list(cli.params), help=cli.help)
    plugins.get_host().register_commands(group)
    return CliRunner().invoke(group, [str(a) for a in args])


def assert_refused(result, *needles: str) -> str:
    """``result`` (of ``gan``) is a refusal as gancore promises for bad input: exit status 2, one message
    saying each of ``needles``, no traceback and no uncaught exception. Returns the message."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, (needle, result.output)
    return result.output


@pytest.fixture
def write_config(tmp_path):
    """``write_config(data, name="run.yaml") -> Path``: a run-config dict as a YAML file in ``tmp_path``."""

    def write(data: dict, name: str = "run.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data))
        return path

    return write


@pytest.fixture
def make_run(tmp_path):
    """``make_run(config, overrides=()) -> Run``: networks, optimizers and data built, nothing trained."""
    from .config import build_run_config
    from .run import Run

    def make(config: dict, overrides: tuple[str, ...] | list[str] = ()):
        host = plugins.get_host()
        return Run.from_config(build_run_config(host.registry, None, config, list(overrides)), host, tmp_path / "run")

    return make


@pytest.fixture
def inline_plugin():
    """``inline_plugin(module_or_class, "name")``: a plugin registered for one test."""
    registered = []

    def add(obj, name: str):
        plugins.get_host().register_plugin(obj, name)
        registered.append(name)
        return obj

    yield add
    for name in registered:
        plugins.get_host().unregister_plugin(name)


# ------------------------------------------------------- conformance checks


def checkpoint_tensors(run_dir: Path, step: int | None = None) -> tuple[str, dict[str, torch.Tensor], dict]:
    """(folder name, tensors, the JSON state) of the newest checkpoint of a run, or of ``step``."""
    from safetensors.torch import load_file

    folders = sorted((Path(run_dir) / "checkpoints").iterdir())
    assert folders, f"{run_dir} has no checkpoints"
    folder = folders[-1] if step is None else Path(run_dir) / "checkpoints" / f"step-{step:06d}"
    state = json.loads((folder / "state.json").read_text())
    return folder.name, load_file(str(folder / "tensors.safetensors")), state["state"]


class _StopAt:
    """Stops a run after ``step`` as an interruption would: a checkpoint is written and the run ends."""

    def __init__(self, step: int) -> None:
        self.step = step

    @hookimpl
    def gan_train_step_end(self, run, step, logs):
        if step == self.step:
            run.should_stop = True


class _Fingerprint:
    """Keeps what every attribute of a run's algorithm holds when the run ends."""

    def __init__(self) -> None:
        self.taken: dict[str, Any] | None = None
        self.declared: tuple[str, ...] = ()

    @hookimpl
    def gan_train_end(self, run, step, status):
        self.taken, self.declared = attribute_values(run.algorithm), run.algorithm.state_names


def attribute_values(algorithm) -> dict[str, Any]:
    """Every attribute of ``algorithm`` (but its config and context) as comparable values: networks and
    other objects with ``state_dict`` by their state, tensors copied to the CPU, containers and plain
    objects walked, a few levels deep."""
    skip = {"ctx", "config", "_state"}
    return {name: _comparable(value, 0) for name, value in vars(algorithm).items() if name not in skip}


def _comparable(value: Any, depth: int) -> Any:
    from pydantic import BaseModel

    if isinstance(value, torch.Tensor):
        return ("tensor", value.detach().cpu().clone())
    if isinstance(value, torch.nn.Module):
        return {k: ("tensor", v.detach().cpu().clone()) for k, v in value.state_dict().items()}
    if isinstance(value, torch.Generator):
        return ("tensor", value.get_state())
    if isinstance(value, BaseModel):
        return value.model_dump()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth > 4:
        return None
    if hasattr(value, "state_dict") and not isinstance(value, type):
        return _comparable(value.state_dict(), depth + 1)
    if isinstance(value, (list, tuple)):
        return [_comparable(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _comparable(v, depth + 1) for k, v in value.items()}
    if hasattr(value, "__dict__") and not callable(value):
        return {k: _comparable(v, depth + 1) for k, v in vars(value).items()}
    return None  # functions, classes, handles: not state


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and len(a) == 2 and a[0] == "tensor":
        return not (isinstance(b, tuple) and len(b) == 2 and b[0] == "tensor" and a[1].shape == b[1].shape
                    and a[1].dtype == b[1].dtype and torch.equal(a[1], b[1]))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() != b.keys() or any(_differs(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) != len(b) or any(_differs(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:  # NaN in both
        return False
    return type(a) is not type(b) or a != b


def differing_attributes(full: dict[str, Any], resumed: dict[str, Any]) -> list[str]:
    """The attributes whose values differ between two ``attribute_values`` (present in one only included)."""
    return sorted(name for name in full.keys() | resumed.keys()
                  if name not in full or name not in resumed or _differs(full[name], resumed[name]))


def check_resume(gan: Callable, config: Path, out_dir: Path, *, stop_at: int, sets: list[str] | tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """Run ``config`` in one go, and again stopped after ``stop_at`` steps and resumed; assert both end alike:
    the same checkpoint (weights, optimizer states, EMA, RNG, data positions, declared state) bit for bit,
    and the same value in every attribute of the algorithm, so that state the algorithm forgot to declare
    (``register_state``) is named.

    The stopped run still plans the full number of steps (schedules such as a
    learning-rate decay depend on it). ``sets`` are ``--set`` overrides for all
    three runs. Returns the final tensors."""
    out_dir = Path(out_dir)
    overrides = [item for s in sets for item in ("--set", s)]
    host = plugins.get_host()

    def run(folder: str, *extra: str, plugin: Any = None) -> None:
        if plugin is not None:
            host.register_plugin(plugin, "gancore-testing-check-resume")
        try:
            result = gan("run", config, "--output", out_dir / folder, *extra, *overrides)
        finally:
            if plugin is not None:
                host.unregister_plugin("gancore-testing-check-resume")
        assert result.exit_code == 0, result.output

    full, resumed = _Fingerprint(), _Fingerprint()
    run("full", plugin=full)
    run("half", plugin=_StopAt(stop_at))
    newest = max(p.name for p in (out_dir / "half" / "checkpoints").iterdir())
    assert newest == f"step-{stop_at:06d}", f"the stopped run's newest checkpoint is {newest}, not step {stop_at}"
    run("half", "--resume", plugin=resumed)

    differ = differing_attributes(full.taken, resumed.taken)
    undeclared = [name for name in differ if name not in full.declared]
    hint = (
        f"; the algorithm's attribute(s) {', '.join(undeclared)} also differ from the uninterrupted run's: they are state "
        f"that it does not declare (declared: {', '.join(full.declared) or 'nothing'}), so add them with self.register_state(...)"
        if undeclared else ""
    )
    name_a, full_tensors, state_a = checkpoint_tensors(out_dir / "full")
    name_b, resumed_tensors, state_b = checkpoint_tensors(out_dir / "half")
    assert name_a == name_b, f"the uninterrupted run ended at {name_a}, the resumed one at {name_b}"
    assert full_tensors.keys() == resumed_tensors.keys(), f"tensors differ in name: {sorted(full_tensors.keys() ^ resumed_tensors.keys())}{hint}"
    for key in full_tensors:
        assert torch.equal(full_tensors[key], resumed_tensors[key]), f"tensor {key} differs after resume{hint}"
    assert state_a == state_b, f"the JSON state (step, data positions, algorithm state) differs after resume{hint}"
    assert not undeclared, f"after the resume the checkpoints agree{hint}"
    assert not differ, f"after the resume, the declared state {', '.join(differ)} differs from the uninterrupted run's"
    return full_tensors


# ------------------------------------------------------------- devices and host syncs

# Functions that work on the host by design, in a step: a data stream draws each epoch's order on the CPU and
# copies it to the device without waiting (gancore.data.base.Order).
HOST_BY_DESIGN = ("gancore.data.base.Order._draw",)
READS = ("item", "tolist", "cpu", "numpy", "nonzero", "__bool__", "__float__", "__int__", "__index__")  # each waits for the device
FROM_HOST = ("tensor", "as_tensor", "from_numpy")  # host data copied to the device, which waits for it
FACTORIES = ("zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "arange", "linspace", "eye",
             "scalar_tensor", "normal", "bernoulli")  # on the CPU unless given a device


def _outside_torch(allow: tuple[str, ...]) -> str | None:
    """'file:line (function)' of the code that made the call being watched, when it is not torch's own (nor
    this watcher's), unless it is, or is called by, a function in ``allow``; None otherwise."""
    import sys

    torch_dir, here = str(Path(torch.__file__).parent), __file__
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == here:
        frame = frame.f_back
    if frame is None or frame.f_code.co_filename.startswith(torch_dir):
        return None
    caller = frame
    while frame is not None:
        if f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}" in allow:
            return None
        frame = frame.f_back
    return f"{caller.f_code.co_filename}:{caller.f_lineno} ({caller.f_code.co_qualname})"


@contextmanager
def no_host_sync(allow: tuple[str, ...] = ()):
    """Inside the block, code other than torch's own that reads a tensor's value on the host (``.item()``,
    ``.tolist()``, ``.cpu()``, ``bool(t)``, ``float(t)``...), makes a tensor without a device (it lands on the
    CPU), copies host data into a tensor (``torch.tensor``...) or draws on one device with a generator of
    another fails, naming each place: on a GPU each is a wait for the device or a wrong device. ``allow``:
    qualified names of functions (``module.Class.method``) that may, e.g. a family's documented host decision."""
    from torch.overrides import TorchFunctionMode

    allowed = (*HOST_BY_DESIGN, *allow)
    found: list[str] = []
    originals = {name: getattr(torch.Tensor, name) for name in READS}

    def watched(name):
        def read(self, *args, **kwargs):
            where = _outside_torch(allowed)
            if where:
                found.append(f"Tensor.{name} at {where}")
            return originals[name](self, *args, **kwargs)

        return read

    class Factories(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            name = getattr(func, "__name__", "")
            if getattr(torch, name, None) is func and (name in FROM_HOST or (name in FACTORIES and kwargs.get("device") is None)
                                                        or _generator_elsewhere(kwargs)):
                where = _outside_torch(allowed)
                if where:
                    found.append(f"torch.{name} at {where}")
            return func(*args, **kwargs)

    for name in READS:
        setattr(torch.Tensor, name, watched(name))
    try:
        with Factories():
            yield found
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)
    assert not found, "host syncs or tensors on the wrong device in a step: " + "; ".join(dict.fromkeys(found))


def _generator_elsewhere(kwargs: dict) -> bool:
    generator, device = kwargs.get("generator"), kwargs.get("device")
    return generator is not None and device is not None and torch.device(generator.device).type != torch.device(device).type


def check_step_devices(run, steps: int = 2) -> None:
    """Dry-run ``steps`` steps of ``run``'s algorithm with everything on the ``meta`` device (no values, only
    shapes and devices): networks, optimizer states, the algorithm's tensors, the data. A tensor that a step
    makes on the CPU meets the others there and fails ("Tensor on device cpu is not on the expected device
    meta"), and so does a value read on the host (``.item()``, ``if t:``): on a GPU the first would be on the
    wrong device and the second a wait. The run cannot be used for anything else afterwards."""
    from .data import Batches

    meta = torch.device("meta")
    params: dict[int, torch.nn.Parameter] = {}
    _to_meta(run.algorithm, params, set(), depth=0)
    for optimizer in _optimizers(run.algorithm):
        _optimizer_to_meta(optimizer, params)
    run.data = run.ctx.data = run.data.to(meta)
    run.batches = Batches(run.data, run.config.train.batch_size, run.config.train.seed)
    run.ctx.__class__ = type("MetaTrainContext", (type(run.ctx),), {"device": property(lambda self: meta)})
    algorithm = run.algorithm
    for step in range(run.step + 1, run.step + 1 + steps):
        try:
            algorithm.train_step(run.next_batch(size=algorithm.batch_size(step)), step)
        except (RuntimeError, NotImplementedError) as exc:
            text = str(exc).splitlines()[0]
            if "meta" not in text:
                raise
            raise AssertionError(f"step {step} of {type(algorithm).__name__} on the meta device: {text}, at {_where(exc)}") from None


def _where(exc: BaseException) -> str:
    """The innermost frame of a traceback that is not torch's own code."""
    import traceback

    torch_dir = str(Path(torch.__file__).parent)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(torch_dir)]
    return f"{frames[-1].filename}:{frames[-1].lineno} ({frames[-1].line})" if frames else "?"


def _to_meta(value: Any, params: dict[int, torch.nn.Parameter], seen: set[int], depth: int) -> Any:
    """``value`` with its tensors on the meta device: modules in place (their new parameters recorded in ``params``
    by the old ones' ids), tensors copied, containers and plain objects walked (a few levels deep)."""
    if id(value) in seen or depth > 6:
        return value
    if isinstance(value, torch.nn.Module):
        seen.add(id(value))
        before = dict(value.named_parameters())
        value.to("meta")
        after = dict(value.named_parameters())
        params.update({id(p): after[name] for name, p in before.items()})
        return value
    if isinstance(value, torch.Tensor):
        return value.to("meta") if value.device.type != "meta" else value
    if isinstance(value, (torch.optim.Optimizer, torch.Generator, type)) or callable(value) and not hasattr(value, "__dict__"):
        return value
    seen.add(id(value))
    if isinstance(value, list):
        value[:] = [_to_meta(v, params, seen, depth + 1) for v in value]
    elif isinstance(value, tuple):
        return type(value)(_to_meta(v, params, seen, depth + 1) for v in value) if not hasattr(value, "_fields") else value
    elif isinstance(value, dict):
        for key in list(value):
            if key != "step":  # an optimizer state's step counter: torch keeps it on the CPU, on every device
                value[key] = _to_meta(value[key], params, seen, depth + 1)
    elif hasattr(value, "__dict__") and not isinstance(value, (str, bytes)) and type(value).__module__.split(".")[0] not in ("torch", "accelerate", "pydantic"):
        for key, item in list(vars(value).items()):
            moved = _to_meta(item, params, seen, depth + 1) if key not in ("ctx", "config") else item
            if moved is not item:
                object.__setattr__(value, key, moved)  # frozen dataclasses too
    return value


def _optimizers(algorithm) -> list[torch.optim.Optimizer]:
    found = []
    for value in vars(algorithm).values():
        inner = getattr(value, "optimizer", value)
        if isinstance(inner, torch.optim.Optimizer) and all(inner is not o for o in found):
            found.append(inner)
    return found


def _optimizer_to_meta(optimizer: torch.optim.Optimizer, params: dict[int, torch.nn.Parameter]) -> None:
    """Point ``optimizer`` at the meta parameters that replaced its own, its state moved along (the CPU step
    counters of torch's optimizers stay on the CPU, where torch keeps them)."""
    state = {}
    for group in optimizer.param_groups:
        moved = [params.get(id(p), p) for p in group["params"]]
        for old, new in zip(group["params"], moved):
            if old in optimizer.state:
                state[new] = {k: (v if k == "step" or not isinstance(v, torch.Tensor) else v.to("meta")) for k, v in optimizer.state[old].items()}
        group["params"] = moved
    optimizer.state.clear()
    optimizer.state.update(state)


def check_plugin(name: str) -> None:
    """What every plugin owes its users: it loads, registers something, documents its options,
    and each of its algorithms has a default run config that validates."""
    from .config import build_run_config

    host = plugins.get_host()
    assert name not in host.broken, f"plugin {name} is broken: {host.broken[name].error}"
    info = host.require(name)
    assert any(info.registered.values()), f"plugin {name} registers nothing"
    registry = host.registry
    for kind, table in registry.entries.items():
        for entry in table.values():
            if entry.plugin != name:
                continue
            assert entry.description, f"{kind} '{entry.name}' of plugin {name} has no description (shown by `gan list`)"
            for field_name, field in entry.config.model_fields.items():
                assert field.description, f"option {field_name} of {kind} '{entry.name}' has no description (shown by `gan config`)"
            if kind == "algorithm":
                config = build_run_config(registry, name, {"algorithm": {"name": entry.name}}, [])
                assert config.algorithm.name == entry.name


# ------------------------------------------------- fresh environments (slow tests)

OURS = ("gancore", "gan_", "gan-", "__editable__")  # never borrowed: gancore and plugins come from what a test installs


def run_checked(cmd, *, timeout: float, cwd=None, env=None):
    """Run a command (items made strings); assert it exits 0, showing the end of its output if not."""
    import subprocess

    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    return out


@dataclass
class BorrowingVenv:
    """A new virtual environment: ``python``, its ``site`` folder, and ``env`` for subprocesses (its bin
    first on PATH, one thread, no GANCORE_/PYTHON*/VIRTUAL_ENV variables from outside)."""

    python: Path
    site: Path
    env: dict


def borrowing_venv(folder: Path, *, extra_paths: tuple[Path, ...] = (), keep_gancore_metadata: bool = False) -> BorrowingVenv:
    """A virtual environment without pip in ``folder/venv`` that borrows this environment's third-party
    packages (torch & co., through a ``.pth`` file of links) but not gancore or any plugin, so that what a
    test installs there (wheels, ``pip install -e``) is what it runs. ``extra_paths`` go on its path too
    (a source checkout); ``keep_gancore_metadata`` borrows gancore's dist-info (its version) as well."""
    import os
    import sys
    import sysconfig

    folder = Path(folder)
    borrowed = folder / "borrowed"
    borrowed.mkdir(parents=True)
    for site in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        for entry in Path(site).iterdir():
            keep = keep_gancore_metadata and entry.name.startswith("gancore-") and entry.name.endswith(".dist-info")
            if (entry.name.startswith(OURS) and not keep) or entry.suffix == ".pth" or (borrowed / entry.name).exists():
                continue
            (borrowed / entry.name).symlink_to(entry)
    venv = folder / "venv"
    run_checked([sys.executable, "-m", "venv", "--without-pip", venv], timeout=60)
    python = venv / "bin" / "python"
    site = Path(run_checked([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], timeout=30).stdout.strip())
    (site / "borrowed.pth").write_text("".join(f"{p}\n" for p in (*extra_paths, borrowed)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GANCORE_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(OMP_NUM_THREADS="1", PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    return BorrowingVenv(python, site, env)


def handles_signal(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has set a handler for ``signum`` (Linux, from ``/proc``): a test waits for this
    before it sends a ``gan`` process a signal, since Python sets no SIGTERM handler of its own and ``gan``
    sets its handlers first. False when the process is gone."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    except OSError:
        return False
    return bool(int(fields["SigCgt"].strip(), 16) & (1 << (signum - 1)))


class FullDisk:
    """A file opened for writing that takes ``budget`` bytes, writes the part of the next write that fits,
    then raises ``OSError(ENOSPC)`` as a full disk does: put it in place of a writer's ``open`` to test
    what a full disk does to checkpoints (``gancore.checkpoint.open_for_writing``)."""

    def __init__(self, path, budget: int) -> None:
        self.fh, self.left = open(path, "wb"), budget

    def write(self, data):
        import errno
        import os

        if len(data) > self.left:
            self.fh.write(bytes(data[: self.left]))
            self.left = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.fh.name))
        self.left -= len(data)
        return self.fh.write(data)

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()
