"""The plugin API version: which plugins this gancore can load.

gancore declares ``gancore.PLUGIN_API`` (the version of the contract it
provides) and ``gancore.SUPPORTED_PLUGIN_APIS`` (the versions it loads). A
plugin declares the version it was written for as a module attribute of its
plugin module (the module its entry point names)::

    gancore_api = 2

A plugin that declares a version gancore does not support is not loaded:
``gan plugins`` lists it as broken with ``IncompatiblePluginAPI`` and both
versions, and ``gan run --plugin NAME`` says the same, instead of failing at
run time. A plugin that declares nothing is loaded (it predates the version).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from . import PLUGIN_API, SUPPORTED_PLUGIN_APIS, __version__


class IncompatiblePluginAPI(Exception):
    """A plugin written for a plugin API version this gancore does not load."""


def check_plugin_api(module: ModuleType | Any) -> None:
    """Raise ``IncompatiblePluginAPI`` when ``module.gancore_api`` is set to a version this gancore does not load."""
    declared = getattr(module, "gancore_api", None)
    if declared is None or declared in SUPPORTED_PLUGIN_APIS:
        return
    supported = ", ".join(str(v) for v in sorted(SUPPORTED_PLUGIN_APIS))
    raise IncompatiblePluginAPI(
        f"written for gancore plugin API {declared!r}, but this gancore ({__version__}) has plugin API {PLUGIN_API} "
        f"(it loads API {supported}); install a release of the plugin written for API {PLUGIN_API}, or a gancore that loads API {declared!r}"
    )
