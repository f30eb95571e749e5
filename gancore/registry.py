"""Named entries that plugins register: algorithms, models, losses, datasets, metrics, feature
networks and data transforms.

Every entry is a name, a pydantic config model and a factory. A plugin hands
entries to the ``register`` callback of a registry hook::

    @hookimpl
    def gan_register_models(register):
        register(Model("mlp-generator", config=MLPConfig, factory=build_mlp_generator))

The registry records which plugin registered each entry, so that a duplicate
name is reported with both plugins, and ``gan plugins`` can show who gave what.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import UserError, config_error


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class NoOptions(StrictModel):
    """An entry that takes no options."""


@dataclass(frozen=True)
class Entry:
    """A named, configurable thing a plugin provides.

    :param name: the name a run file uses to select the entry.
    :param config: pydantic model that validates the entry's options.
    :param factory: called with a validated config (plus keyword arguments that
        depend on the kind of entry, see each subclass) to build the thing.
    :param description: one line shown by ``gan list``.
    :param plugin: filled in by the registry: the plugin that registered it.
    """

    kind: ClassVar[str] = "entry"
    name: str
    factory: Callable[..., Any]
    config: type[BaseModel] = NoOptions
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class Algorithm(Entry):
    """A training procedure (a GAN family). ``factory`` is a ``GANAlgorithm`` subclass,
    called as ``factory(config, ctx)``. ``defaults`` are run-config values (data,
    train, eval sections) used when the user gives no config file. ``provides`` is
    what it gives the losses in its config (``real_logits``, ``regularizer``; see
    ``gancore.losses``): a loss that requires more is refused when the run config
    is resolved. ``main`` marks the algorithm ``gan run --plugin NAME`` trains when
    none is named (otherwise: the one named like the plugin, else the first by name)."""

    kind: ClassVar[str] = "algorithm"
    defaults: dict = field(default_factory=dict)
    provides: frozenset[str] = frozenset()
    main: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "provides", _words(self.provides))


@dataclass(frozen=True)
class Model(Entry):
    """A network builder, called as ``factory(config, **shapes)`` where the algorithm
    passes what the network needs to know, e.g. ``data_shape=(1, 8, 8), latent_dim=64``."""

    kind: ClassVar[str] = "model"


@dataclass(frozen=True)
class Loss(Entry):
    """An adversarial objective or regularizer, called as ``factory(config)``.

    ``requires`` is what the loss needs from the algorithm that drives it
    (``real_logits``, ``regularizer``; see ``gancore.losses``); when not given,
    it is the factory's own ``requires`` attribute (empty if it has none)."""

    kind: ClassVar[str] = "loss"
    requires: frozenset[str] | None = None

    def __post_init__(self) -> None:
        requires = getattr(self.factory, "requires", ()) if self.requires is None else self.requires
        object.__setattr__(self, "requires", _words(requires))


@dataclass(frozen=True)
class Dataset(Entry):
    """A data source, called as ``factory(config, ctx)`` with a ``BuildContext`` (to build the datasets
    and transforms it names); returns a ``gancore.data.TensorData`` or ``LoaderData``."""

    kind: ClassVar[str] = "dataset"


@dataclass(frozen=True)
class Metric(Entry):
    """An evaluation metric, called as ``factory(config, ctx)`` with a ``BuildContext`` (to build the
    datasets and feature networks it names); the result is called with an ``EvalContext`` and
    returns ``{name: float}``."""

    kind: ClassVar[str] = "metric"


@dataclass(frozen=True)
class FeatureNetwork(Entry):
    """A feature network for the metrics that compare distributions in a feature space (FID, KID,
    inception score, precision/recall): ``features: NAME`` in a metric's options. The factory is
    called as ``factory(options)`` with the metric's ``gancore.metrics.features.ExtractorOptions``
    and returns a ``FeatureExtractor`` (``features(x)``, ``logits(x)``, ``num_features``)."""

    kind: ClassVar[str] = "features"


@dataclass(frozen=True)
class Transform(Entry):
    """A transform of image data, listed in an image dataset's ``transforms`` option. The factory is
    called as ``factory(config)`` and returns a ``gancore.data.transforms.ImageTransform``."""

    kind: ClassVar[str] = "transform"


KINDS: dict[str, type[Entry]] = {cls.kind: cls for cls in (Algorithm, Model, Loss, Dataset, Metric, FeatureNetwork, Transform)}
PLURALS = {"algorithm": "algorithms", "model": "models", "loss": "losses", "dataset": "datasets", "metric": "metrics",
           "features": "features", "transform": "transforms"}
# Kinds whose factory gets a BuildContext as its second argument: they build other entries by name.
WITH_CONTEXT = frozenset({"dataset", "metric"})


class Ref(BaseModel):
    """A reference to a registry entry in a config: ``{name: ..., <the entry's options>}``.

    The options are validated against the entry's own config model once the
    registry is loaded (see ``Registry.resolve``)."""

    model_config = ConfigDict(extra="allow")
    kind: ClassVar[str] = "entry"
    name: str

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ModelRef(Ref):
    kind: ClassVar[str] = "model"


class LossRef(Ref):
    kind: ClassVar[str] = "loss"


class DatasetRef(Ref):
    kind: ClassVar[str] = "dataset"


class MetricRef(Ref):
    kind: ClassVar[str] = "metric"


class AlgorithmRef(Ref):
    kind: ClassVar[str] = "algorithm"


class TransformRef(Ref):
    kind: ClassVar[str] = "transform"


class DuplicateEntryError(UserError):
    pass


class ReservedOptionError(UserError):
    """An entry's config has a field whose name the run file needs for itself (``name``, a metric's ``label``)."""


# Keys a run file's reference to an entry uses itself, so no entry's options may have them.
RESERVED_OPTIONS: dict[str, frozenset[str]] = {kind: frozenset({"name"}) for kind in KINDS}
RESERVED_OPTIONS["metric"] = frozenset({"name", "label"})


class Registry:
    """All entries of all loaded plugins, by kind and name."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}

    def add(self, entry: Entry, plugin: str) -> Entry:
        if not isinstance(entry, Entry) or type(entry) is Entry:
            raise TypeError(f"register() takes an Algorithm, Model, Loss, Dataset, Metric, FeatureNetwork or Transform, got {entry!r}")
        reserved = sorted(RESERVED_OPTIONS[entry.kind] & set(getattr(entry.config, "model_fields", {})))
        if reserved:
            raise ReservedOptionError(
                f"{entry.kind} '{entry.name}' has an option named {' and '.join(repr(r) for r in reserved)} in "
                f"{entry.config.__name__}, but a run file uses that key to "
                + ("choose the entry (name) and key its results (label)" if "label" in reserved else "choose the entry")
                + f" ({{name: {entry.name}, ...}}). Rename the option, e.g. '{reserved[0]}_' or 'run_{reserved[0]}'."
            )
        table = self.entries[entry.kind]
        if entry.name in table:
            other = table[entry.name].plugin
            raise DuplicateEntryError(
                f"{entry.kind} '{entry.name}' is registered twice: by plugin '{other}' and by plugin '{plugin}'. "
                f"Uninstall or disable one of them (GANCORE_DISABLE_PLUGINS={plugin})."
            )
        entry = _with_plugin(entry, plugin)
        table[entry.name] = entry
        return entry

    def remove_plugin(self, plugin: str) -> None:
        for table in self.entries.values():
            for name in [n for n, e in table.items() if e.plugin == plugin]:
                del table[name]

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def get(self, kind: str, name: str) -> Entry:
        table = self.entries[kind]
        if name not in table:
            hint = difflib.get_close_matches(name, table, n=1)
            maybe = f"; did you mean '{hint[0]}'?" if hint else ""
            raise UserError(f"unknown {kind} '{name}'; registered: {', '.join(sorted(table)) or 'none'}{maybe}")
        return table[name]

    def validate(self, ref: Ref, path: str) -> BaseModel:
        """Validate a reference's options against its entry's config; errors name ``path``."""
        entry = self.get(ref.kind, ref.name)
        try:
            return entry.config.model_validate(ref.options)
        except ValidationError as exc:
            raise config_error(exc, path, entry.config) from None

    def resolve(self, ref: Ref, path: str) -> Ref:
        """Return the reference with every option filled in and nested references resolved."""
        config = self.validate(ref, path)
        config = self.resolve_nested(config, path)
        return type(ref)(name=ref.name, **config.model_dump(mode="python"))

    def resolve_nested(self, config: BaseModel, path: str) -> BaseModel:
        """Resolve every ``Ref`` held by a config's fields (a model's generator, a loss, ...)."""
        updates = {}
        for key in type(config).model_fields:
            value = getattr(config, key)
            if isinstance(value, Ref):
                updates[key] = self.resolve(value, f"{path}.{key}")
            elif isinstance(value, list) and any(isinstance(v, Ref) for v in value):
                updates[key] = [self.resolve(v, f"{path}.{key}.{i}") for i, v in enumerate(value)]
            elif isinstance(value, BaseModel):
                updates[key] = self.resolve_nested(value, f"{path}.{key}")
        return config.model_copy(update=updates) if updates else config

    def walk(self, config: BaseModel, path: str) -> Iterator[tuple[str, Ref]]:
        """Every ``Ref`` in a config at any depth, with its path, outer before inner: a loss
        inside an algorithm's options, a loss inside that loss's options, a list of models..."""
        for key in type(config).model_fields:
            value = getattr(config, key)
            items = [(f"{path}.{key}.{i}", v) for i, v in enumerate(value)] if isinstance(value, list) else [(f"{path}.{key}", value)]
            for sub, item in items:
                if isinstance(item, Ref):
                    yield sub, item
                    yield from self.walk(self.validate(item, sub), sub)
                elif isinstance(item, BaseModel):
                    yield from self.walk(item, sub)

    def build(self, ref: Ref, path: str = "", **kwargs: Any) -> Any:
        """The entry ``ref`` names, built from its validated options (datasets and metrics also get a
        ``BuildContext``); errors name ``path``."""
        entry = self.get(ref.kind, ref.name)
        config = self.validate(ref, path or ref.name)
        if entry.kind in WITH_CONTEXT:
            return entry.factory(config, BuildContext(self, path or ref.name), **kwargs)
        return entry.factory(config, **kwargs)


@dataclass(frozen=True)
class BuildContext:
    """What a dataset or metric factory gets besides its options: the registry, to build the entries
    its options name (a dataset inside a dataset, a transform, a metric's reference data, a feature
    network), and the config path of the entry being built, for error messages.

    :param registry: every registered entry.
    :param path: where the entry being built sits in the run config, e.g. ``data`` or ``eval.metrics.0``.
    """

    registry: Registry
    path: str = ""

    def build(self, ref: Ref, option: str, **kwargs: Any) -> Any:
        """Build the entry that option ``option`` of this entry names; errors name ``<path>.<option>``."""
        return self.registry.build(ref, f"{self.path}.{option}" if self.path else option, **kwargs)

    def features(self, name: str, options: Any = None, option: str = "features") -> Any:
        """The feature network called ``name`` (a registered one, or a LeNet ``.safetensors`` file), built once per
        process; errors name ``<path>.<option>``."""
        from .errors import UserError
        from .metrics.features import get_extractor

        try:
            return get_extractor(self.registry, name, options)
        except UserError as exc:
            raise UserError(f"{self.path}.{option}: {exc}" if self.path else str(exc)) from None


def _words(value: Any) -> frozenset[str]:
    # requires="real_logits" means the one word, not its letters.
    return frozenset([value] if isinstance(value, str) else value)


def _with_plugin(entry: Entry, plugin: str) -> Entry:
    from dataclasses import replace

    return replace(entry, plugin=plugin)
