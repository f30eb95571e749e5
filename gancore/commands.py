"""Commands that load when they run, so that ``gan --help`` stays fast.

``gan --help`` lists every plugin's commands, so every plugin module is imported
for it. A plugin whose commands import torch (1-2 s) at import would make the
listing that slow. A ``LazyCommand`` carries only a name and a one-line help;
the module that defines the real click command is imported when the command is
run, or when its own ``--help`` is asked for::

    @hookimpl
    def gan_register_commands(cli):
        cli.add_command(LazyCommand("quantize-images", "gan_foo.commands:quantize", "fit a palette to a folder of images"))

The target is a click command or group (``gan foo quantize ...``), or a function that
adds commands to a group as ``gan_register_commands`` does; the command of that name is
taken from what it adds.
"""

from __future__ import annotations

import importlib

import click

from .errors import UserError


class LazyCommand(click.Command):
    """A click command known by name and help until it is used; ``target`` is ``"module:attribute"``."""

    def __init__(self, name: str, target: str, help: str) -> None:
        super().__init__(name, help=help, add_help_option=False)
        module, _, attribute = target.partition(":")
        if not module or not attribute:
            raise ValueError(f"LazyCommand target {target!r} is not of the form 'package.module:command'")
        self.target = target
        self._loaded: click.Command | None = None

    def load(self) -> click.Command:
        if self._loaded is None:
            module, _, attribute = self.target.partition(":")
            try:
                command = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError) as exc:
                raise UserError(f"the command 'gan {self.name}' could not be loaded from {self.target}: {exc}") from None
            if not isinstance(command, click.Command) and callable(command):
                group = click.Group()
                command(group)  # add_commands(cli), as the plugin's hook would call it
                command = group.commands.get(self.name)
            if not isinstance(command, click.Command):
                raise UserError(f"the command 'gan {self.name}': {self.target} neither is a click command nor adds one of that name")
            self._loaded = command
        return self._loaded

    def make_context(self, info_name, args, parent=None, **extra):
        # click's Group.invoke runs sub_ctx.command.invoke(sub_ctx): the context names the real command.
        return self.load().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):
        return self.load().invoke(ctx)

    def get_params(self, ctx):
        return self.load().get_params(ctx)

    def get_help(self, ctx) -> str:
        return self.load().get_help(ctx)
