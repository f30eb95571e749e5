"""A plugin whose registry hook raises."""

from gancore import hookimpl


@hookimpl
def gan_register_models(register):
    raise RuntimeError("badhook cannot build its models")
