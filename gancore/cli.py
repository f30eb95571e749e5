"""The ``gan`` command line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from . import signals

if __name__ == "__main__" or os.path.basename(sys.argv[0] if sys.argv else "") == "gan":
    signals.install(at_once=True)  # `gan` itself: a Ctrl-C while it imports ends it in one line (see main)

import click  # noqa: E402

from .errors import Signalled, UserError, config_error  # noqa: E402

EXIT_USER_ERROR = 2
# The seeds a config takes (gancore.bounds.SEED_LIMIT, which imports pydantic: too slow here; a test keeps them equal).
SEED = click.IntRange(0, 2**31 - 1)


class GanGroup(click.Group):
    """Turns user errors into one paragraph on stderr and exit status 2, never a traceback."""

    def invoke(self, ctx):
        from pydantic import ValidationError  # imported here: `gan` sets its signal handlers before anything heavy

        try:
            return super().invoke(ctx)
        except UserError as exc:
            _fail(str(exc))
        except ValidationError as exc:
            _fail(str(config_error(exc)))


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_USER_ERROR)


def _host():
    from .plugins import get_host

    return get_host()


@click.group(cls=GanGroup)
@click.version_option(package_name="gancore", prog_name="gancore")
def cli() -> None:
    """Train generative adversarial networks. Each GAN family is a plugin."""


# ------------------------------------------------------------------------ run


@cli.command()
@click.option("--plugin", "-p", "plugin", help="the GAN family to train (see `gan plugins`)")
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="override a config value, e.g. train.steps=500")
@click.option("--output", "-o", type=click.Path(file_okay=False), help="run folder (default: output_dir, or runs/<algorithm>-<data>)")
@click.option("--steps", type=click.IntRange(min=0), help="shorthand for --set train.steps=N")
@click.option("--resume", is_flag=True, help="continue from the newest valid checkpoint in the run folder")
@click.option("--overwrite", is_flag=True, help="replace a run that is already in the output folder")
@click.option("--num-processes", type=click.IntRange(min=1), default=1, show_default=True, help="train in N processes (torchrun; one per GPU, or gloo on CPUs)")
def run(plugin, config_file, overrides, output, steps, resume, overwrite, num_processes):
    """Train a GAN: defaults of the plugin, then CONFIG_FILE, then --set overrides."""
    from .config import build_run_config, load_yaml
    from .errors import Interrupted
    from .launch import check_devices, inside_launch, relaunch
    from .run import Run, default_run_dir
    from .rundir import check_run_dir, claimed
    from .signals import deferred
    from .trainer import fit

    if resume and overwrite:
        raise UserError("--resume and --overwrite contradict each other; pick one")
    _check_set_syntax(overrides, config_file)
    host = _host()
    file_data = load_yaml(config_file) if config_file else None
    if resume and file_data is None and output:
        from .rundir import config_to_resume

        saved = config_to_resume(Path(output))  # a replacement killed before its first checkpoint: the old run's
        if not saved.is_file():
            state = "does not exist" if not Path(output).exists() else "holds no run (no config.yaml)"
            raise UserError(
                f"--resume: '{output}' {state}, so there is nothing to continue. Start a run there with "
                f"`gan run --plugin NAME --output {output}` (or give its config file)."
            )
        file_data = load_yaml(saved)
    if plugin is None and file_data is None:
        raise UserError("no plugin given: pass --plugin NAME (see `gan plugins`) or a config file with 'plugin: NAME'")
    if plugin is not None:
        host.require(plugin)
    elif file_data.get("plugin"):
        host.require(file_data["plugin"])
    overrides = list(overrides) + ([f"train.steps={steps}"] if steps is not None else [])
    if output:
        overrides.append(f"output_dir={json.dumps(str(output))}")  # quoted: a folder named 123 stays a string
    config = build_run_config(host.registry, plugin, file_data, overrides)
    run_dir = default_run_dir(config)
    if num_processes > 1 and not inside_launch():
        if not config.train.cpu:
            check_devices(num_processes)
        check_run_dir(run_dir, resume=resume, overwrite=overwrite)  # fail here, once, not in every process
        argv = ["run", *(["--plugin", plugin] if plugin else []), *([config_file] if config_file else [])]
        argv += [f"--set={item}" for item in overrides] + (["--resume"] if resume else []) + (["--overwrite"] if overwrite else [])
        sys.exit(relaunch(num_processes, argv))
    # The folder is locked and checked first; the data and algorithm are built; only then is an old run set
    # aside, to be removed once the new one has its first checkpoint. From then on a signal stops at a step.
    with claimed(run_dir, resume=resume, overwrite=overwrite) as replaced:
        run = Run.from_config(config, host, run_dir, training=True)
        with deferred():
            try:
                run.begin(resume=resume, replaced=replaced)
                status = fit(run)
            except Interrupted as exc:
                if run.is_main_process:  # the others have no checkpoint to name
                    click.echo(f"\n{exc}", err=True)
                sys.exit(128 + exc.signum)
    if run.is_main_process:
        click.echo(run.summary(status))


# -------------------------------------------------------------- introspection


def _check_set_syntax(overrides, config_file) -> None:
    """``--set train.steps 5`` makes click read ``5`` as the config file: say what was meant."""
    for item in overrides:
        if "=" in item:
            continue
        if config_file is not None and not Path(config_file).exists():
            raise UserError(
                f"--set {item} {config_file}: --set takes KEY=VALUE in one word, so '{config_file}' was read as the "
                f"config file; write --set {item}={config_file}"
            )
        raise UserError(f"--set '{item}' is not of the form key.path=value, e.g. --set train.steps=500")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON (paste it into bug reports)")
@click.option("--check", is_flag=True, help="exit with status 1 when a plugin is broken or two plugins register one name (for CI)")
def plugins(as_json, check):
    """List installed plugins, what each registers, and plugins that failed to load or are disabled."""
    host = _host()
    host.registry  # registration can mark more plugins broken
    if as_json:
        click.echo(json.dumps(host.as_json(), indent=2))
    else:
        for info in host.info.values():
            click.echo(f"{info.name}  ({info.distribution} {info.version}, {info.module})")
            click.echo(f"    hooks: {', '.join(info.hooks) or '-'}")
            for kind, names in sorted(info.registered.items()):
                click.echo(f"    {kind}: {', '.join(names)}")
        for bad in host.broken.values():
            click.echo(f"BROKEN {bad.name}  ({bad.distribution} {bad.version}): {bad.error}")
        for clash in host.clashes:
            click.echo(f"CLASH {clash.message()}")
        for name, why in host.disabled.items():
            click.echo(f"DISABLED {name}  ({why})")
    if check and (host.broken or host.clashes):
        problems = [f"{b.name} is broken" for b in host.broken.values()] + [f"{c.kind} '{c.name}' clashes" for c in host.clashes]
        click.echo(f"gan plugins --check: {'; '.join(problems)}", err=True)
        sys.exit(1)


@cli.command(name="list")
@click.argument("kind", type=click.Choice(["algorithms", "models", "losses", "datasets", "metrics", "features", "transforms"]))
def list_entries(kind):
    """List registered entries of one kind, with the plugin that provides each."""
    from .registry import PLURALS

    registry = _host().registry
    entries = registry.entries[next(k for k, plural in PLURALS.items() if plural == kind)]
    width = max((len(n) for n in entries), default=0)
    for name in sorted(entries):
        entry = entries[name]
        click.echo(f"{name:<{width}}  [{entry.plugin}]  {entry.description}")


@cli.command()
@click.option("--plugin", "-p", "plugin", required=True, help="the GAN family")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="override a value as `gan run --set` does; e.g. data.name=mnist5k prints that dataset's options")
@click.option("--schema", is_flag=True, help="print the JSON Schema of the run config instead")
def config(plugin, overrides, schema):
    """Print the complete default run config of a plugin, with every field described.

    With --set, the config after the overrides: choose another dataset, model or loss by
    name (--set data.name=mnist5k, --set algorithm.generator.name=mlp-generator) to see its options."""
    from .config import build_run_config, commented_yaml

    host = _host()
    host.require(plugin)
    resolved = build_run_config(host.registry, plugin, None, list(overrides))
    if schema:
        from .schema import dumps, run_config_schema

        click.echo(dumps(run_config_schema(host.registry, plugin, resolved)))
        return
    what = f"run config of plugin '{plugin}' with {' '.join(f'--set {o}' for o in overrides)}" if overrides else f"default run config of plugin '{plugin}'"
    click.echo(f"# {what}; save it, edit it, and run `gan run CONFIG.yaml`")
    click.echo(commented_yaml(resolved, host.registry), nl=False)


# ---------------------------------------------------------------- evaluation


@cli.command(name="eval")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--metric", "metric_specs", multiple=True, metavar="SPEC",
              help="a metric name, or a YAML mapping with options and an optional label, e.g. '{name: fid, features: lenet-mnist}' "
                   "or '{name: fid, label: fid-a2b, source: translate, direction: a2b}'; default: the run's eval.metrics")
@click.option("-n", "num_samples", type=click.IntRange(min=1), help="generated samples per metric (sets the metric's num_samples)")
@click.option("--checkpoint", "checkpoint_path", type=click.Path(file_okay=False), help="a checkpoint folder (default: the newest valid one)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--num-processes", type=click.IntRange(min=1), default=1, show_default=True, help="share the sampling among N processes")
@click.option("--truncation", type=click.FloatRange(min=0, min_open=True), help="truncation trick for every metric's samples: latent values beyond this magnitude are drawn again")
def eval_run(run_dir, metric_specs, num_samples, checkpoint_path, as_json, num_processes, truncation):
    """Compute metrics for a trained run."""
    from .launch import check_devices, inside_launch, relaunch
    from .metrics.evaluation import evaluate_run, metric_refs

    host = _host()
    refs = metric_refs(host.registry, metric_specs, num_samples)  # validated before any process starts
    if num_processes > 1 and not inside_launch():
        check_devices(num_processes)
        argv = ["eval", run_dir, *[f"--metric={m}" for m in metric_specs]]
        argv += (["-n", str(num_samples)] if num_samples else []) + ([f"--checkpoint={checkpoint_path}"] if checkpoint_path else [])
        argv += [f"--truncation={truncation}"] if truncation is not None else []
        sys.exit(relaunch(num_processes, argv + (["--json"] if as_json else [])))
    used = {} if as_json else None  # --json: which checkpoint, and why, go into the JSON; else on stderr
    results, step, is_main, features = evaluate_run(host, Path(run_dir), refs, Path(checkpoint_path) if checkpoint_path else None,
                                                    used=used, truncation=truncation)
    if not is_main:
        return
    if as_json:
        click.echo(json.dumps({"run": str(run_dir), "step": step, "metrics": results, "features": features, **(used or {})}, indent=2))
        return
    for key, name in features.items():
        click.echo(f"{key}: features {name}", err=True)
    width = max((len(k) for k in results), default=6)
    click.echo(f"{'metric':<{width}}  value      (step {step})")
    for key, value in results.items():
        click.echo(f"{key:<{width}}  {value:.6g}")


# ------------------------------------------------------------------- weights


@cli.group()
def weights() -> None:
    """Weights of the metrics' feature networks that do not ship with gancore."""


@weights.command()
@click.argument("network", type=click.Choice(["inception"]))
def fetch(network):
    """Download NETWORK's weights into ~/.cache/gancore/, checked against their sha256 (needs internet)."""
    from .metrics.inception import INCEPTION_SHA256, fetch_inception

    path, downloaded = fetch_inception()
    state = "downloaded" if downloaded else "already present"
    click.echo(f"{network}: {path} ({state}, sha256 {INCEPTION_SHA256})")


# ------------------------------------------------------------------ sampling


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-n", "count", type=click.IntRange(min=1), help="number of samples (default 64); with --classes, samples per class (default 8)")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="a .png grid, or raw samples as .npy or .pt")
@click.option("--checkpoint", "checkpoint_path", type=click.Path(file_okay=False), help="a checkpoint folder (default: the newest valid one)")
@click.option("--seed", type=SEED, default=0, show_default=True, help="seed for the latent noise")
@click.option("--class", "class_index", type=int, help="a conditional run: every sample of this class")
@click.option("--classes", "classes_spec", metavar="LIST", help="a conditional run: one row per class, e.g. 0-9 or 1,3,7")
@click.option("--truncation", type=click.FloatRange(min=0, min_open=True), help="truncation trick: latent values beyond this magnitude are drawn again")
def sample(run_dir, count, output, checkpoint_path, seed, class_index, classes_spec, truncation):
    """Draw samples from a trained run."""
    from .sampling import parse_classes, sample_run

    if class_index is not None and classes_spec is not None:
        raise UserError("--class and --classes contradict each other; give one (--class 3, or --classes 0-9 for a row per class)")
    classes = [class_index] if class_index is not None else parse_classes(classes_spec) if classes_spec is not None else None
    per_class = count or (8 if classes_spec is not None else 64)
    path = sample_run(_host(), Path(run_dir), per_class, Path(output), Path(checkpoint_path) if checkpoint_path else None, seed,
                      classes=classes, rows=classes_spec is not None, truncation=truncation)
    total = per_class * (len(classes) if classes_spec is not None else 1)
    click.echo(f"wrote {total} samples to {path}")


def main() -> None:
    # A signal before a run starts ends the command at once, in one line (gancore.signals).
    signals.install()
    try:
        _main()
    except (Signalled, KeyboardInterrupt) as stop:
        import signal

        signum = stop.signum if isinstance(stop, Signalled) else signal.SIGINT
        click.echo(f"\ngan: stopped by {signal.Signals(signum).name}; no run was changed", err=True)
        # At once: a signal can land inside an import, and interpreter teardown would import again.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + signum)


def _main() -> None:
    # Plugins may add commands; a broken plugin is recorded and the rest still work.
    if os.environ.get("GANCORE_SKIP_PLUGIN_COMMANDS") != "1":
        try:
            _host().register_commands(cli)
        except Exception as exc:  # noqa: BLE001 - the CLI must come up whatever a plugin does
            click.echo(f"warning: plugin commands were not loaded: {exc}", err=True)
    try:
        cli(prog_name="gan")
    except SystemExit as done:
        from .launch import inside_launch

        if done.code in (0, None) and inside_launch():
            # A torchrun worker whose work is done, written and synchronised leaves at once: C++ threads
            # left by the process group were seen (rarely) to abort interpreter teardown with SIGABRT
            # ("terminate called without an active exception") after a successful `gan eval`.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        raise


if __name__ == "__main__":
    main()
