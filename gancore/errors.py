"""Errors that the CLI turns into a short message and exit status 2."""

from __future__ import annotations

from pydantic import ValidationError


class UserError(Exception):
    """A problem with what the user asked for: bad config, missing file, unknown plugin.

    The CLI prints the message without a traceback and exits with status 2.
    """


def format_validation_error(error: ValidationError, prefix: str = "") -> str:
    """Turn a pydantic error into lines that name each offending field by its dotted path."""
    lines = []
    for item in error.errors():
        path = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        if item["type"] == "extra_forbidden":
            message = "unknown key (not a field of this section)"
        else:
            message = item["msg"]
        shown = item.get("input")
        tail = "" if item["type"] == "extra_forbidden" or isinstance(shown, dict) else f" (got {shown!r})"
        lines.append(f"  {path or '<root>'}: {message}{tail}")
    return "invalid configuration:\n" + "\n".join(lines)


def config_error(error: ValidationError, prefix: str = "") -> UserError:
    return UserError(format_validation_error(error, prefix))
