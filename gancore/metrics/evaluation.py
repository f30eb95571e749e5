"""``gan eval``: metrics of a trained run, named on the command line or taken from its config."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from ..config import EvalMetricRef, metric_keys
from ..errors import UserError, config_error
from .base import build_metrics


def metric_refs(registry, specs: tuple[str, ...] | list[str], num_samples: int | None) -> list[EvalMetricRef] | None:
    """``--metric`` values (names, or YAML mappings with options and an optional label), validated.

    ``num_samples`` sets the option of that name on every metric that has it."""
    if not specs:
        return None
    refs = []
    for spec in specs:
        try:
            parsed = yaml.safe_load(spec)
        except yaml.YAMLError:
            parsed = spec
        fields = dict(parsed) if isinstance(parsed, dict) else {"name": str(spec)}
        if "name" not in fields:
            raise UserError(f"--metric {spec!r}: give a name, e.g. --metric fid or --metric '{{name: fid, features: lenet-mnist}}'")
        if num_samples is not None and "num_samples" in registry.get("metric", str(fields["name"])).config.model_fields:
            fields["num_samples"] = num_samples
        try:
            ref = EvalMetricRef(**fields)
        except ValidationError as exc:
            raise config_error(exc, f"--metric {fields['name']}") from None
        refs.append(registry.resolve(ref, f"--metric {ref.name}").model_copy(update={"label": ref.label}))
    try:
        metric_keys(refs)
    except ValueError as exc:
        raise UserError(f"--metric: {exc}") from None
    return refs


def evaluate_run(host, run_dir: Path, refs: list | None, checkpoint_path: Path | None, *,
                 used: dict | None = None, truncation: float | None = None) -> tuple[dict[str, float], int, bool, dict[str, str]]:
    """Metric values of a run's checkpoint: ``(results, step, is_main_process, features)``, ``features`` naming
    the feature network each metric used (``auto`` picks one from the data). With ``truncation``, every
    metric's samples come from latents truncated at that threshold.

    With a ``used`` dict, which checkpoint was used and why are put in it (``checkpoint``, ``why``)
    instead of being printed on stderr."""
    from ..run import Run

    run = Run.from_checkpoint(run_dir, checkpoint_path, host=host, used=used)
    if refs is None:
        if not run.metrics:
            raise UserError(f"the run in '{run_dir}' has no eval.metrics; name some with --metric (see `gan list metrics`)")
        metrics = run.metrics
    else:
        metrics = build_metrics(host.registry, refs, "--metric {name}")
    results = run.evaluate(metrics, truncation=truncation)
    features = {key: metric.chosen for key, metric in metrics if getattr(metric, "chosen", None)}
    # Several processes leave together: every rank is done with the gloo/NCCL group before any exits.
    run.close()
    return results, run.step, run.is_main_process, features
