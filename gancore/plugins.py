"""Plugin manager: the builtin plugins plus every ``gancore`` entry point.

Loading is lazy and happens once. A plugin that fails to import, or whose
registry hook raises (``sys.exit`` included), is recorded in ``broken`` and
left out; every other plugin keeps working. An entry whose name another plugin registered first is
refused on its own (``clashes``); the rest of that plugin loads. A lifecycle
hook that raises is reported once and that plugin's lifecycle hooks are
skipped for the rest of the run; training goes on.
``GANCORE_DISABLE_PLUGINS=a,b`` blocks plugins by name (``disabled``);
``GANCORE_LOAD_PLUGINS=a,b`` loads only those entry-point plugins.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .api import check_plugin_api
from .errors import UserError
from .registry import PLURALS, DuplicateEntryError, Registry

BUILTIN_PLUGINS = ("gancore.builtin.gan", "gancore.builtin.datasets", "gancore.builtin.metrics", "gancore.builtin.tools",
                   "gancore.builtin.threads")
REGISTRY_HOOKS = {f"gan_register_{plural}": kind for kind, plural in PLURALS.items()}


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Clash:
    kind: str
    name: str
    first: str  # the plugin whose entry is kept
    second: str  # the plugin whose entry is refused

    def message(self) -> str:
        return (
            f"{self.kind} '{self.name}' is registered twice: by plugin '{self.first}' and by plugin '{self.second}'; "
            f"the one from '{self.first}' is used and the one from '{self.second}' is refused (the rest of both plugins works). "
            f"To choose, disable one of them: GANCORE_DISABLE_PLUGINS={self.first} or GANCORE_DISABLE_PLUGINS={self.second}"
        )


@dataclass
class BrokenPlugin:
    name: str
    distribution: str
    version: str
    error: str
    details: str = ""


class PluginHost:
    """Holds the pluggy manager, what loaded, what broke, and the registry."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("gancore")
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.broken: dict[str, BrokenPlugin] = {}
        self.disabled: dict[str, str] = {}  # name -> why it was not loaded ("GANCORE_DISABLE_PLUGINS", ...)
        self.clashes: list[Clash] = []
        self.muted: set[str] = set()  # plugins whose lifecycle hook raised in this run
        self.warnings: list[str] = []
        self._registry: Registry | None = None
        self._load()

    # -- loading ----------------------------------------------------------

    def _load(self) -> None:
        disabled = _env_list("GANCORE_DISABLE_PLUGINS")
        allowed = _env_list("GANCORE_LOAD_PLUGINS")
        version = _version("gancore")
        builtin_names = {m.rsplit(".", 1)[-1] for m in BUILTIN_PLUGINS}
        for module_name in BUILTIN_PLUGINS:
            name = module_name.rsplit(".", 1)[-1]
            if name in disabled:
                self.disabled[name] = f"gancore {version}, disabled by GANCORE_DISABLE_PLUGINS"
                continue
            self._add(name, module_name, "gancore", version, lambda m=module_name: importlib.import_module(m))
        entry_points = _entry_points()
        for ep in entry_points:
            dist = ep.dist.name if ep.dist else "?"
            dist_version = ep.dist.version if ep.dist else "?"
            if ep.name in disabled:
                self.disabled[ep.name] = f"{dist} {dist_version}, disabled by GANCORE_DISABLE_PLUGINS"
                continue
            if allowed and ep.name not in allowed:
                self.disabled[ep.name] = f"{dist} {dist_version}, not in GANCORE_LOAD_PLUGINS"
                continue
            if ep.name in self.info or ep.name in self.broken:
                self.broken[f"{ep.name} ({dist})"] = BrokenPlugin(
                    ep.name, dist, dist_version, f"the plugin name '{ep.name}' is already taken by another plugin"
                )
                continue
            self._add(ep.name, ep.value, dist, dist_version, ep.load)
        unknown = sorted(allowed - {ep.name for ep in entry_points} - builtin_names)
        if unknown:
            installed = sorted({ep.name for ep in entry_points})
            self._warn(
                f"GANCORE_LOAD_PLUGINS names {', '.join(repr(n) for n in unknown)}, which matches no installed plugin "
                f"(installed third-party plugins: {', '.join(installed) or 'none'})"
            )

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)
            print(f"warning: {text}", file=sys.stderr)
    def _add(self, name: str, module_name: str, dist: str, version: str, load) -> None:
        # pluggy does not guard ep.load(); a broken plugin must not stop the others.
        try:
            module = load()
            check_plugin_api(module)  # a plugin written for another plugin API is listed, not loaded
            self.pm.register(module, name=name)
            self.pm.check_pending()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of third-party code is recorded, sys.exit too
            if self.pm.get_plugin(name) is not None:
                self.pm.unregister(name=name)
            self.broken[name] = BrokenPlugin(name, dist, version, _one_line(exc), traceback.format_exc())
            return
        hooks = sorted(h.name for h in self.pm.get_hookcallers(module) or [])
        self.info[name] = PluginInfo(name, module_name, dist, version, hooks)

    def _mark_broken(self, name: str, error: str) -> None:
        """Move a loaded plugin whose hook raised to ``broken``; call it inside the ``except``
        block, so that the traceback is the hook's."""
        info = self.info.pop(name, None)
        self.broken[name] = BrokenPlugin(
            name, info.distribution if info else "?", info.version if info else "?", error, traceback.format_exc()
        )

    def register_plugin(self, module: Any, name: str) -> None:
        """Register an in-process plugin object (tests, notebooks). Resets the registry."""
        self._add(name, getattr(module, "__name__", repr(module)), "<in-process>", "", lambda: module)
        self._registry = None

    def unregister_plugin(self, name: str) -> None:
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self.info.pop(name, None)
        self.broken.pop(name, None)
        self._registry = None

    # -- the registry -------------------------------------------------------

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self._build_registry()
        return self._registry

    def _build_registry(self) -> Registry:
        registry = Registry()
        self.clashes = []
        for info in self.info.values():
            info.registered = {}
        for hook_name in REGISTRY_HOOKS:
            caller = getattr(self.pm.hook, hook_name)
            # Call each plugin on its own, so a raising hook is pinned on its plugin.
            for impl in caller.get_hookimpls():  # registration order: builtins first
                plugin = impl.plugin_name
                if plugin in self.broken:
                    continue
                added = []

                def register(entry, plugin=plugin, added=added):
                    try:
                        added.append(registry.add(entry, plugin))
                    except DuplicateEntryError:
                        # Only this entry is refused; the plugin's other entries still register.
                        clash = Clash(entry.kind, entry.name, registry.entries[entry.kind][entry.name].plugin, plugin)
                        self.clashes.append(clash)
                        self._warn(clash.message())

                try:
                    impl.function(*[{"register": register}[arg] for arg in impl.argnames])
                except (Exception, SystemExit) as exc:  # noqa: BLE001
                    registry.remove_plugin(plugin)
                    self._mark_broken(plugin, f"{hook_name} raised {_one_line(exc)}")
                    continue
                if plugin in self.info:
                    for entry in added:
                        self.info[plugin].registered.setdefault(PLURALS[entry.kind], []).append(entry.name)
        # A plugin that broke while registering gets no lifecycle calls either.
        for name in self.broken:
            if self.pm.get_plugin(name) is not None:
                self.pm.unregister(name=name)
        return registry

    def require(self, plugin: str) -> PluginInfo:
        """The plugin a run asks for, or a user error that says what is wrong with it."""
        self.registry  # registration can break a plugin too
        if plugin in self.info:
            return self.info[plugin]
        if plugin in self.broken:
            bad = self.broken[plugin]
            raise UserError(
                f"plugin '{plugin}' (distribution {bad.distribution} {bad.version}) is installed but failed to load: "
                f"{bad.error.rstrip('.')}. Fix or reinstall it; `gan plugins` lists every plugin and its status."
            )
        known = sorted(self.info)
        hint = difflib.get_close_matches(plugin, known, n=1)
        maybe = f"; did you mean '{hint[0]}'?" if hint else ""
        disabled = ""
        if plugin in _env_list("GANCORE_DISABLE_PLUGINS"):
            disabled = " (it is disabled by GANCORE_DISABLE_PLUGINS)"
        elif _env_list("GANCORE_LOAD_PLUGINS"):
            allowed = ",".join(sorted(_env_list("GANCORE_LOAD_PLUGINS")))
            state = "installed, but " if plugin in self.disabled else ""
            disabled = f" ({state}GANCORE_LOAD_PLUGINS={allowed} loads only those third-party plugins)"
        install = "" if hint else f". To add a family, pip install its package (e.g. gan-{plugin})"
        raise UserError(f"unknown plugin '{plugin}'{disabled}; installed: {', '.join(known)}{maybe}{install}")

    # -- typed hook calls -----------------------------------------------------

    def register_commands(self, cli) -> None:
        for impl in self.pm.hook.gan_register_commands.get_hookimpls():
            try:
                impl.function(*[{"cli": cli}[a] for a in impl.argnames])
            except (Exception, SystemExit) as exc:  # noqa: BLE001
                self._mark_broken(impl.plugin_name, f"gan_register_commands raised {_one_line(exc)}")

    def begin_run(self) -> None:
        """A new run: every plugin's lifecycle hooks are called again."""
        self.muted = set()

    def train_start(self, run) -> None:
        self._lifecycle("gan_train_start", run=run)

    def train_step_end(self, run, step: int, logs: dict) -> None:
        self._lifecycle("gan_train_step_end", run=run, step=step, logs=logs)

    def eval_end(self, run, step: int, metrics: dict) -> None:
        self._lifecycle("gan_eval_end", run=run, step=step, metrics=metrics)

    def train_end(self, run, step: int, status: str) -> None:
        self._lifecycle("gan_train_end", run=run, step=step, status=status)

    def implements(self, hook_name: str) -> bool:
        """Whether any plugin that still gets lifecycle calls implements ``hook_name``."""
        return any(impl.plugin_name not in self.muted for impl in getattr(self.pm.hook, hook_name).get_hookimpls())

    def _lifecycle(self, hook_name: str, **kwargs: Any) -> None:
        """Call each plugin's implementation on its own (in pluggy's order, newest first): one that
        raises is reported once and its plugin gets no more lifecycle calls in this run."""
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            plugin = impl.plugin_name
            if plugin in self.muted:
                continue
            try:
                impl.function(*[kwargs[arg] for arg in impl.argnames])
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - a logger's bug (or sys.exit) must not end everybody's run
                self.muted.add(plugin)
                info = self.info.get(plugin)
                dist = f" ({info.distribution} {info.version})".replace(" )", ")") if info else ""
                print(
                    f"warning: plugin '{plugin}'{dist}: its {hook_name} hook raised {_one_line(exc)}; "
                    "its lifecycle hooks are skipped for the rest of this run, which goes on",
                    file=sys.stderr,
                )

    def as_json(self) -> dict:
        return {
            "plugins": [vars(p) for p in self.info.values()],
            "broken": [{k: v for k, v in vars(b).items() if k != "details"} for b in self.broken.values()],
            "clashes": [{**vars(c), "message": c.message()} for c in self.clashes],
            "disabled": [{"name": name, "why": why} for name, why in self.disabled.items()],
        }


_host: PluginHost | None = None


def get_host() -> PluginHost:
    global _host
    if _host is None:
        _host = PluginHost()
    return _host


def reset_host() -> None:
    """Forget loaded plugins (tests change the environment between calls)."""
    global _host
    _host = None


def _entry_points():
    return sorted(metadata.entry_points(group="gancore"), key=lambda ep: ep.name)


def _env_list(var: str) -> set[str]:
    return {item.strip() for item in os.environ.get(var, "").split(",") if item.strip()}


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit: it called sys.exit({exc.code!r})"
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0] if text else type(exc).__name__
