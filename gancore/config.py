"""Run configuration: pydantic models, YAML files and ``--set a.b=value`` overrides.

A run file names registry entries and gives their options::

    plugin: gan
    algorithm: {name: gan, loss: {name: hinge}}
    data: {name: ring}
    train: {steps: 20000, batch_size: 256}
    eval: {metrics: [{name: mode-coverage}]}

The structure is validated here; each entry's options are validated against
the entry's own config model by ``resolve_run_config`` once plugins are loaded.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from .bounds import Seed
from .errors import UserError, config_error
from .losses import CAPABILITIES
from .registry import AlgorithmRef, DatasetRef, MetricRef, Ref, Registry, StrictModel


class TrainConfig(StrictModel):
    steps: int = Field(2000, ge=0, description="number of training steps (one generator update each, for most families)")
    batch_size: int = Field(64, ge=1, description="real samples per step, per process")
    seed: Seed = Field(
        0, description="seed for torch, numpy, python and the data order: 0 to 2147483647 (2³¹ − 1: numpy takes seeds below 2³², "
        "and each process adds its index)"
    )
    mixed_precision: Literal["no", "bf16", "fp16"] = Field("no", description="Accelerate mixed precision mode")
    cpu: bool = Field(False, description="train on the CPU even when an accelerator is present")
    channels_last: bool = Field(
        False, description="networks and image batches in channels-last memory format (faster convolutions on GPUs, above all with bf16/fp16)"
    )
    compile: bool | Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = Field(
        False,
        description="torch.compile (inductor) every network the algorithm prepares: true, or a mode (reduce-overhead captures "
        "CUDA graphs on a GPU); the first steps are slow while it compiles. Checkpoints hold the plain weights, so a run can be "
        "resumed with or without it",
    )
    fused_optimizers: bool = Field(
        False,
        description="the fused implementation of the optimizers that have one (Adam, AdamW, SGD): one kernel per update "
        "instead of several per parameter, which matters on a GPU where small steps wait for the host",
    )
    deterministic: bool = Field(
        False,
        description="deterministic algorithms (torch.use_deterministic_algorithms, the cuBLAS workspace setting, no cuDNN "
        "autotuning): on a GPU a stopped and resumed run then ends bit for bit like an uninterrupted one, at some cost in speed; "
        "on the CPU runs are deterministic without it",
    )
    ema_decay: float | None = Field(None, ge=0.0, lt=1.0, description="keep an exponential moving average of the generator with this decay and sample from it; null disables")
    ema_start: int = Field(0, ge=0, description="step at which the EMA starts tracking (it copies the weights then)")
    log_every: int = Field(50, ge=1, description="steps between progress-bar updates and metrics.jsonl loss records (losses are averaged over them)")
    sample_every: int = Field(1000, ge=0, description="steps between sample grids in RUN/samples/; 0 disables (a grid is still written at the end)")
    sample_count: int = Field(64, ge=1, description="samples in each grid (points for 1-D/2-D data)")
    eval_every: int = Field(0, ge=0, description="steps between metric evaluations; 0 evaluates only at the end")
    checkpoint_every: int = Field(1000, ge=0, description="steps between checkpoints; 0 writes only the final one")
    keep_checkpoints: int = Field(3, ge=1, description="how many of the newest checkpoints to keep")
    tensorboard: bool = Field(True, description="also log to TensorBoard through Accelerate when tensorboard is installed")
    trackers: list[str] = Field(
        default_factory=list,
        description="more of Accelerate's trackers by name (wandb, mlflow, aim, comet_ml, clearml, dvclive, ...); each must be "
        "installed. They get the scalars of metrics.jsonl and the sample grids",
    )
    progress: bool = Field(True, description="show a progress bar")
    threads: Literal["auto"] | Annotated[int, Field(ge=1)] = Field(
        "auto",
        description="torch's intra-op CPU threads: auto times the first steps at 1 thread and at every available core and keeps "
        "the faster (OMP_NUM_THREADS, or several processes, give their own count instead); or a fixed number",
    )

    @field_validator("mixed_precision", mode="before")
    @classmethod
    def _yaml_no(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `no` (--set train.mixed_precision=no) as false.
        return "no" if value is False else value


class EvalMetricRef(MetricRef):
    """A metric of ``eval.metrics``: its name, its options, and an optional label (not an option of the metric)."""

    label: str | None = Field(
        None, min_length=1, description="results are keyed <label>/<value> instead of <name>/<value>; give one to list a metric twice"
    )


def metric_keys(refs: list[MetricRef]) -> list[str]:
    """What each metric's results are keyed by (its label, else its name); ValueError when two collide."""
    keys = [getattr(ref, "label", None) or ref.name for ref in refs]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            first = keys.index(key)
            if getattr(refs[i], "label", None):
                raise ValueError(f"metrics {first} and {i} have the same label '{key}'; labels must be unique")
            raise ValueError(
                f"metric '{key}' is listed twice (metrics {first} and {i}), so its results would overwrite each other; "
                f"give each copy a label, e.g. {{name: {key}, label: {key}-2, ...}}"
            )
    return keys


class EvalConfig(StrictModel):
    metrics: list[EvalMetricRef] = Field(
        default_factory=list,
        description="metrics computed every eval_every steps and at the end, e.g. [{name: mode-coverage}]; "
        "a metric may be listed twice with different options under different labels, e.g. {name: fid, label: fid-a2b, ...}",
    )

    @field_validator("metrics")
    @classmethod
    def _unique_keys(cls, metrics: list[EvalMetricRef]) -> list[EvalMetricRef]:
        metric_keys(metrics)
        return metrics

    def resolved(self, registry: Registry) -> "EvalConfig":
        """Every metric's options filled in and validated (errors name eval.metrics.<i>), labels kept."""
        metrics = [
            registry.resolve(m, f"eval.metrics.{i}").model_copy(update={"label": m.label}) for i, m in enumerate(self.metrics)
        ]
        return self.model_copy(update={"metrics": metrics})


class RunConfig(StrictModel):
    plugin: str = Field(description="the plugin (GAN family) that provides the algorithm")
    algorithm: AlgorithmRef = Field(description="the training algorithm and its options")
    data: DatasetRef = Field(description="the dataset and its options")
    train: TrainConfig = Field(default_factory=TrainConfig, description="the training loop")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="evaluation")
    output_dir: str | None = Field(None, description="run folder; default runs/<algorithm>-<dataset>")


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file '{path}' does not exist. Give a path to a YAML run file, or omit it to use the plugin's defaults (`gan config --plugin NAME` prints them).")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"config file '{path}' is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"config file '{path}' must hold a mapping of sections (plugin, algorithm, data, train, eval), not {type(data).__name__}")
    return data


def apply_overrides(data: dict, overrides: list[str], registry: Registry | None = None) -> dict:
    """Apply ``a.b.c=value`` overrides; values are parsed as YAML (``3`` is an int, ``[1,2]`` a list).

    A changed ``name`` chooses another entry: the old entry's options that the new one does not take
    are dropped (those given by other overrides stay, and are checked), so
    ``--set algorithm.generator.name=mlp-generator`` works, and ``--set algorithm.name=OTHER`` keeps the
    options (networks...) that the other algorithm takes too."""
    data = copy.deepcopy(data)
    given = {item.partition("=")[0].strip() for item in overrides}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set '{item}' is not of the form key.path=value, e.g. --set train.steps=500")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            if not isinstance(node.get(part), (dict, list)):  # a list is stepped into by index (eval.metrics.0)
                node[part] = {}
            node = node[part]
        if isinstance(node, list) and parts[-1].isdigit():
            node[int(parts[-1])] = value
        else:
            if parts[-1] == "name" and node.get("name") not in (None, value):
                prefix = ".".join(parts[:-1])
                accepted = _options_of(registry, value)
                for option in [k for k in node if k != "name" and f"{prefix}.{k}" not in given and k not in accepted]:
                    del node[option]
            node[parts[-1]] = value
    return data


def _options_of(registry: Registry | None, name: Any) -> set[str]:
    """The option names of the entry called ``name`` (of whatever kind); none if there is no such entry."""
    if registry is None or not isinstance(name, str):
        return set()
    for table in registry.entries.values():
        if name in table:
            return set(table[name].config.model_fields)
    return set()


def merge(base: dict, top: dict) -> dict:
    """Deep-merge two config dicts; ``top`` wins. A changed ``name`` replaces the whole section."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if (
            isinstance(value, dict)
            and isinstance(out.get(key), dict)
            and value.get("name", out[key].get("name")) == out[key].get("name")
        ):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def default_run_dict(registry: Registry, plugin: str, algorithm: str | None = None) -> dict:
    """The defaults of one of a plugin's algorithms (its main one unless named), as a run-config dict."""
    entry = registry.get("algorithm", algorithm) if algorithm else main_algorithm(registry, plugin)
    if entry.plugin != plugin:  # resolve_run_config says so, with the algorithms the plugin does have
        entry = main_algorithm(registry, plugin)
    try:
        options = entry.config().model_dump(mode="json")
    except ValidationError:  # a config with required fields: the user must give them
        options = {}
    base = {"plugin": plugin, "algorithm": {"name": entry.name, **options}}
    return merge(base, entry.defaults)


def main_algorithm(registry: Registry, plugin: str):
    mine = [e for e in registry.entries["algorithm"].values() if e.plugin == plugin]
    if not mine:
        raise UserError(f"plugin '{plugin}' registers no algorithm, so it cannot be run; `gan plugins` shows what it provides")
    marked = [e for e in mine if e.main]
    same = [e for e in mine if e.name == plugin]
    return (marked or same or sorted(mine, key=lambda e: e.name))[0]


def build_run_config(registry: Registry, plugin: str | None, file_data: dict | None, overrides: list[str]) -> RunConfig:
    """Defaults of the plugin, then the file, then ``--set`` overrides; validated and resolved."""
    file_data = file_data or {}
    file_plugin = file_data.get("plugin")
    if plugin and file_plugin and plugin != file_plugin:
        raise UserError(f"--plugin {plugin} disagrees with 'plugin: {file_plugin}' in the config file; drop one of them")
    plugin = plugin or file_plugin
    if not plugin:
        raise UserError("no plugin given: pass --plugin NAME or put 'plugin: NAME' in the config file")
    # The chosen algorithm's own defaults (its data, its train settings), not only the main one's.
    chosen = apply_overrides({"algorithm": dict(file_data.get("algorithm") or {})}, overrides, registry).get("algorithm")
    chosen = chosen.get("name") if isinstance(chosen, dict) else None
    data = merge(default_run_dict(registry, plugin, chosen), file_data)
    data = apply_overrides(data, overrides, registry)
    data["plugin"] = plugin
    return resolve_run_config(registry, data)


def resolve_run_config(registry: Registry, data: dict) -> RunConfig:
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, model=RunConfig) from None
    entry = registry.get("algorithm", config.algorithm.name)
    if entry.plugin != config.plugin:
        raise UserError(
            f"algorithm '{entry.name}' comes from plugin '{entry.plugin}', not '{config.plugin}'; "
            f"use --plugin {entry.plugin}, or pick one of: "
            + ", ".join(sorted(e.name for e in registry.entries["algorithm"].values() if e.plugin == config.plugin))
        )
    algorithm = registry.resolve(config.algorithm, "algorithm")
    check_losses(registry, algorithm)
    return config.model_copy(
        update={
            "algorithm": algorithm,
            "data": registry.resolve(config.data, "data"),
            "eval": config.eval.resolved(registry),
        }
    )


def check_losses(registry: Registry, algorithm: AlgorithmRef) -> None:
    """Refuse a loss, anywhere in the algorithm's options, that needs what the algorithm
    does not provide (``Loss.requires`` against ``Algorithm.provides``, see ``gancore.losses``)."""
    entry = registry.get("algorithm", algorithm.name)
    for path, ref in registry.walk(registry.validate(algorithm, "algorithm"), "algorithm"):
        if ref.kind != "loss":
            continue
        loss = registry.get("loss", ref.name)
        missing = sorted(loss.requires - entry.provides)
        if not missing:
            continue
        needs = "; ".join(f"{word} ({CAPABILITIES[word]})" if word in CAPABILITIES else word for word in missing)
        usable = sorted(name for name, other in registry.entries["loss"].items() if other.requires <= entry.provides)
        raise UserError(
            f"algorithm '{entry.name}' (plugin '{entry.plugin}') cannot drive loss '{loss.name}' (plugin '{loss.plugin}') "
            f"given at {path}: the loss needs {needs}, which the algorithm does not provide "
            f"(it provides: {', '.join(sorted(entry.provides)) or 'nothing'}). "
            f"Choose a loss it can drive ({', '.join(usable) or 'none is registered'}); or, as the algorithm's author, "
            f"give the loss what it needs and declare Algorithm(..., provides={{{', '.join(repr(w) for w in missing)}}})."
        )


def config_to_dict(config: RunConfig) -> dict:
    return json.loads(config.model_dump_json())


def saved_config_today(registry: Registry, saved: dict, sections: tuple[str, ...] | None = None) -> dict:
    """A config an earlier run wrote (its config.yaml, a checkpoint's meta) as today's options read it: an
    option added to gancore or a plugin since then takes its default, which keeps the old behaviour, so it
    compares equal to a config that leaves the option alone and differs from one that sets it. Only
    ``sections`` are read (None: all of them; the rest stay as written, so a removed option elsewhere does
    not matter); if today's options refuse them (an option removed since), ``saved`` comes back as written."""
    part = saved if sections is None else {k: saved[k] for k in sections if k in saved}
    try:
        resolved = config_to_dict(resolve_run_config(registry, part))
    except UserError:
        return saved
    return {**saved, **(resolved if sections is None else {k: resolved[k] for k in part})}


# ----------------------------------------------------------------------------
# Commented YAML for `gan config`
# ----------------------------------------------------------------------------


def commented_yaml(config: RunConfig, registry: Registry) -> str:
    lines: list[str] = []
    _emit_model(config, type(config), registry, lines, 0)
    return "\n".join(lines) + "\n"


def _emit_model(obj: BaseModel, cls: type[BaseModel], registry: Registry, lines: list[str], indent: int) -> None:
    pad = "  " * indent
    fields = dict(cls.model_fields)
    if isinstance(obj, Ref):
        entry = registry.get(obj.kind, obj.name)
        lines.append(f"{pad}name: {obj.name}  # {obj.kind} from plugin '{entry.plugin}'" + (f": {entry.description}" if entry.description else ""))
        cls, obj = entry.config, entry.config.model_validate(obj.options)
        fields = dict(cls.model_fields)
    for key, info in fields.items():
        value = getattr(obj, key)
        comment = f"  # {info.description}" if info.description else ""
        if isinstance(value, BaseModel):
            lines.append(f"{pad}{key}:{comment}")
            _emit_model(value, type(value), registry, lines, indent + 1)
        elif isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
            lines.append(f"{pad}{key}:{comment}")
            for item in value:
                sub: list[str] = []
                _emit_model(item, type(item), registry, sub, indent + 2)
                sub[0] = f"{pad}  - " + sub[0].lstrip()
                lines.extend(sub)
        else:
            dumped = json.loads(json.dumps(value, default=str))
            text = yaml.safe_dump(dumped, default_flow_style=True, width=10_000).strip()
            text = text.removesuffix("\n...").strip()
            lines.append(f"{pad}{key}: {text}{comment}")
