"""The JSON Schema of a plugin's run file, for editors with YAML schema support and for checking files.

``run_config_schema(registry, plugin, resolved)`` describes the *file* a user
writes, which gancore merges onto the plugin's defaults: so nothing is
required, and a section that keeps the default entry may leave out its
``name``. Every reference to an entry (``algorithm``, ``data``,
``algorithm.generator``, ``algorithm.loss``, ``eval.metrics[i]``...) is an
``anyOf`` over the registered entries of its kind, each branch being that
entry's own options with ``name`` fixed by ``const``; unknown keys are errors
everywhere, as in gancore. The entries the run chooses (the plugin's defaults,
or ``--set`` overrides) are the branches where ``name`` may be omitted, and
every entry's options are described, so an editor can complete and check any
choice.

The schema is JSON Schema 2020-12 and has no dangling ``$ref``: the options
models' own definitions are copied under ``$defs`` with the entry in their key.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import BaseModel

from .config import EvalConfig, RunConfig, TrainConfig
from .registry import PLURALS, Ref, Registry

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _ref_kinds() -> dict[str, str]:
    """pydantic definition name -> entry kind, for every ``Ref`` class (ModelRef, LossRef, EvalMetricRef...)."""
    kinds, todo = {}, [Ref]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls is not Ref:
            kinds[cls.__name__] = cls.kind
    return kinds


class _Builder:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.defs: dict[str, Any] = {}
        self.ref_kinds = _ref_kinds()

    # -- references to entries -------------------------------------------------

    def ref(self, kind: str, default: str | None, only: list[str] | None = None, label: bool = False) -> dict:
        """A schema for a reference to an entry of ``kind``; the ``default`` entry may omit its name."""
        names = sorted(only if only is not None else self.registry.entries[kind])
        key = f"{kind}{'+label' if label else ''}{'@' + default if default else ''}{'|' + ','.join(names) if only is not None else ''}"
        if key not in self.defs:
            self.defs[key] = {}  # reserve: entries may refer to their own kind
            branches = []
            for name in names:
                branch = {"$ref": f"#/$defs/{self.entry(kind, name, label)}"}
                if name != default:
                    branch = {"allOf": [branch], "required": ["name"]}
                branches.append(branch)
            plural = PLURALS[kind]
            choose = f"one of the registered {plural}: {', '.join(names)}" if names else f"no {kind} is registered"
            self.defs[key] = {"type": "object", "description": f"a {kind} by name, with its options ({choose})", "anyOf": branches}
        return {"$ref": f"#/$defs/{key}"}

    def entry(self, kind: str, name: str, label: bool = False, defaults: dict[str, str] | None = None) -> str:
        """The definition of one entry's options (``name`` fixed); returns its key under ``$defs``."""
        key = f"{kind}:{name}{'+label' if label else ''}{'@run' if defaults else ''}"
        if key in self.defs:
            return key
        self.defs[key] = {}
        entry = self.registry.get(kind, name)
        schema = self.options(entry.config, key, defaults)
        schema["properties"] = {
            "name": {"const": name, "description": f"{kind} from plugin '{entry.plugin}'" + (f": {entry.description}" if entry.description else "")},
            **schema.get("properties", {}),
        }
        if label:
            schema["properties"]["label"] = {
                "type": "string", "minLength": 1,
                "description": "results are keyed <label>/<value> instead of <name>/<value>; give one to list a metric twice",
            }
        schema["title"] = f"{kind} '{name}'"
        if entry.description:
            schema["description"] = entry.description
        self.defs[key] = schema
        return key

    # -- pydantic models ---------------------------------------------------------

    def options(self, model: type[BaseModel], prefix: str, defaults: dict[str, str] | None = None) -> dict:
        """``model``'s JSON schema, with its definitions moved to ``$defs`` under ``prefix``, references
        to entries replaced by ``ref`` schemas, and nothing required (the file is merged onto defaults)."""
        raw = model.model_json_schema(mode="validation")
        local = raw.pop("$defs", {})
        field_defaults = _field_defaults(model)
        if defaults:
            field_defaults.update(defaults)

        def rename(node: Any, field: str | None) -> Any:
            if isinstance(node, dict):
                target = node.get("$ref", "")
                if target.startswith("#/$defs/"):
                    def_name = target.split("/")[-1]
                    if def_name in self.ref_kinds:
                        kind = self.ref_kinds[def_name]
                        out = self.ref(kind, field_defaults.get(field) if field else None, label=def_name == "EvalMetricRef")
                        return {**out, **{k: v for k, v in node.items() if k != "$ref"}}
                    return {**{k: rename(v, field) for k, v in node.items() if k != "$ref"}, "$ref": f"#/$defs/{prefix}.{def_name}"}
                return {k: rename(v, field) for k, v in node.items()}
            if isinstance(node, list):
                return [rename(v, field) for v in node]
            return node

        for def_name, body in local.items():
            if def_name not in self.ref_kinds:
                self.defs[f"{prefix}.{def_name}"] = _no_required(rename(body, None))
        properties = {name: rename(prop, name) for name, prop in raw.get("properties", {}).items()}
        schema = {k: v for k, v in raw.items() if k not in ("properties", "required", "title")}
        schema.update(type="object", properties=properties, additionalProperties=False)
        return schema


def _field_defaults(model: type[BaseModel]) -> dict[str, str]:
    """The entry each ``Ref`` field of ``model`` chooses when the file does not say."""
    out = {}
    for name, field in model.model_fields.items():
        try:
            value = field.get_default(call_default_factory=True)
        except Exception:  # noqa: BLE001 - a required field has no default
            continue
        if isinstance(value, Ref):
            out[name] = value.name
    return out


def _no_required(schema: dict) -> dict:
    schema = dict(schema)
    schema.pop("required", None)
    return schema


def run_config_schema(registry: Registry, plugin: str, resolved: RunConfig) -> dict[str, Any]:
    """The JSON Schema of a run file of ``plugin``; ``resolved`` (its default config, or the config after
    ``--set`` overrides) says which entries a file may keep without naming them."""
    builder = _Builder(registry)
    algorithms = sorted(name for name, e in registry.entries["algorithm"].items() if e.plugin == plugin)
    chosen = resolved.algorithm.name
    # The chosen algorithm's references default to what the resolved config holds (the plugin's defaults).
    run_defaults = {key: value.name for key, value in resolved.algorithm if isinstance(value, Ref)}
    run_defaults.update({key: value["name"] for key, value in (resolved.algorithm.model_extra or {}).items() if isinstance(value, dict) and "name" in value})
    chosen_key = builder.entry("algorithm", chosen, defaults=run_defaults)
    # Inline, so that $defs.AlgorithmRef (the name pydantic gives it) shows the chosen algorithm's options.
    algorithm = {"anyOf": [copy.deepcopy(builder.defs[chosen_key])] + [
        {"allOf": [{"$ref": f"#/$defs/{builder.entry('algorithm', name)}"}], "required": ["name"]} for name in algorithms if name != chosen
    ], "description": f"the training algorithm and its options: one of {', '.join(algorithms)}"}

    train = builder.options(TrainConfig, "train")
    eval_ = builder.options(EvalConfig, "eval")
    fields = RunConfig.model_fields
    doc = {
        "$schema": DIALECT,
        "title": f"gancore run file for plugin '{plugin}'",
        "description": "A run file is merged onto the plugin's defaults (`gan config --plugin "
        f"{plugin}` prints them), so every key may be left out.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "plugin": {"type": "string", "enum": [plugin], "description": fields["plugin"].description},
            "algorithm": {"$ref": "#/$defs/AlgorithmRef"},
            "data": {**builder.ref("dataset", resolved.data.name), "description": fields["data"].description},
            "train": {**train, "description": fields["train"].description},
            "eval": {**eval_, "description": fields["eval"].description},
            "output_dir": {"type": ["string", "null"], "description": fields["output_dir"].description},
        },
    }
    doc["$defs"] = {"AlgorithmRef": algorithm, **dict(sorted(builder.defs.items()))}
    check_refs(doc)
    return doc


def check_refs(doc: dict) -> None:
    """Raise ValueError on a ``$ref`` that points at nothing."""
    defs = doc.get("$defs", {})

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            target = node.get("$ref")
            if isinstance(target, str) and (not target.startswith("#/$defs/") or target[len("#/$defs/"):] not in defs):
                raise ValueError(f"dangling $ref {target}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)


def dumps(doc: dict) -> str:
    return json.dumps(copy.deepcopy(doc), indent=2)
