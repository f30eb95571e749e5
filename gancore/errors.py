"""Errors that the CLI turns into a short message and exit status 2."""

from __future__ import annotations

import types
import typing

if typing.TYPE_CHECKING:  # pydantic is imported when an error is formatted: `gan` starts before it is needed
    from pydantic import BaseModel, ValidationError


class UserError(Exception):
    """A problem with what the user asked for: bad config, missing file, unknown plugin.

    The CLI prints the message without a traceback and exits with status 2.
    """


class RunStopped(UserError):
    """A run ended by an error whose message already says which checkpoint is the newest."""


class NonFiniteLoss(RunStopped):
    """A loss, a weight or an optimizer state became NaN or Inf; nothing was saved from those weights."""


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived during training; the run stopped after a complete step, with a checkpoint
    (``folder``; None when this session had done no step, so there was nothing new to save). ``completed``:
    the signal came as the run ended, after its last step's checkpoint, grid and metrics."""

    def __init__(self, signum: int, step: int, folder, completed: bool = False) -> None:
        import signal

        self.signum, self.step, self.folder, self.completed = signum, step, folder, completed
        name = signal.Signals(signum).name
        if completed:
            text = f"{name} arrived as the run ended: it completed at step {step}; checkpoint {folder}"
        elif folder is None:
            text = f"stopped by {name} at step {step}, before this session's first step: nothing new to save"
        else:
            text = f"stopped by {name} at step {step}; checkpoint {folder}; continue with --resume"
        super().__init__(text)


class Signalled(BaseException):
    """SIGINT/SIGTERM before training began (imports, plugins, building the run): nothing to save, so
    the command ends at once. A ``BaseException``, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signum)


def format_validation_error(error: ValidationError, prefix: str = "", model: type[BaseModel] | None = None) -> str:
    """Turn a pydantic error into lines that name each offending field by its dotted path.

    With the ``model`` that was validated, an unknown key gets a "did you mean" from its section's fields."""
    lines = []
    for item in error.errors():
        path = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        if item["type"] == "extra_forbidden":
            import difflib

            message = "unknown key (not a field of this section)"
            fields = _fields_at(model, item["loc"][:-1]) if model is not None else []
            hint = difflib.get_close_matches(str(item["loc"][-1]), fields, n=1)
            if hint:
                message += f"; did you mean '{hint[0]}'?"
        else:
            message = item["msg"]
        shown = item.get("input")
        tail = "" if item["type"] == "extra_forbidden" or isinstance(shown, dict) else f" (got {shown!r})"
        lines.append(f"  {path or '<root>'}: {message}{tail}")
    return "invalid configuration:\n" + "\n".join(lines)


def config_error(error: ValidationError, prefix: str = "", model: type[BaseModel] | None = None) -> UserError:
    return UserError(format_validation_error(error, prefix, model))


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the section at ``loc`` inside ``model`` (empty when it cannot be told)."""
    current: typing.Any = model
    for part in loc:
        current = _model_in(current, part)
        if current is None:
            return []
    return list(current.model_fields) if _is_model(current) else []


def _model_in(annotation: typing.Any, part: typing.Any) -> typing.Any:
    if _is_model(annotation):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field is not None else None
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple) and isinstance(part, int):
        return args[0] if args else None
    if origin is dict:
        return args[1] if len(args) == 2 else None
    if origin in (typing.Union, types.UnionType):
        models = [a for a in args if _is_model(a)]
        return _model_in(models[0], part) if len(models) == 1 else None
    return None


def _is_model(value: typing.Any) -> bool:
    from pydantic import BaseModel

    return isinstance(value, type) and issubclass(value, BaseModel)
