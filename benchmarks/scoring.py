"""What the benchmarks share to sample and score a run: "load run -> sample -> score", on gancore's public API only.

Every script that uses a trained run (or the run a config starts from) goes through these, so there is one way
to do it: ``gancore.Run.from_checkpoint`` / ``Run.from_config``, ``run.sampling()``, ``run.generate``,
``run.evaluate`` and ``gancore.metrics.build_metrics``.

    from scoring import load_run, score_run, sample_run

    run = load_run(RUN)                                          # the newest valid checkpoint
    scores = score_run(run, ["{name: fid, features: lenet-mnist, num_samples: 2000}"])   # {"fid/fid": ...}
    images = sample_run(run, 64, seed=0)                         # EMA weights, the training RNG untouched
    scores = score_run(RUN, None, checkpoint=CKPT)               # a run folder: loaded, then its own eval.metrics

* ``load_run``: ``Run.from_checkpoint`` (which checkpoint, and why, in ``used`` or on stderr);
* ``fresh_run``: ``Run.from_config`` of a config (file or dict with ``--set`` overrides, or a ``RunConfig`` such
  as ``saved_config(run_dir)``): the networks a run starts from, ready to step (``run.next_batch()``) or score;
* ``metrics``: ``build_metrics`` of metric specs: YAML strings as ``gan eval --metric`` takes them, dicts,
  ``MetricRef``/``EvalMetricRef``s, or ``(key, metric)`` pairs built already (passed through);
* ``score_run``: ``run.evaluate`` of those metrics (default: the run's own ``eval.metrics``), keyed
  ``<metric>/<value>``, with the EMA weights, at ``truncation`` if given;
* ``sample_run``: ``run.generate`` inside ``run.sampling()``, on the CPU;
* ``score_samples``: the same metrics on samples that are not a run's own (real held-out images, thresholded
  or replayed tensors, noise): ``sample(n, seed)`` is called as a run's sampler is (chunks of 500 from
  ``seed + start``), against ``data``;
* ``values_of``: one metric's values of a ``score_*`` result, without the ``<metric>/`` prefix;

What a config with ``--set`` overrides resolves to, and whether a run folder was made from it (for scripts that
keep finished runs), are ``results.run_config`` and ``results.saved_config_matches``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

MetricSpec = Any  # a YAML string, a dict, a MetricRef, or a built (key, metric) pair


def _host(host=None):
    from gancore.plugins import get_host

    return host or get_host()


def load_run(run_dir: str | Path, checkpoint: str | Path | None = None, *, host=None, used: dict | None = None):
    """The run in ``run_dir`` as its newest valid checkpoint (or ``checkpoint``) left it, ready to sample and score.
    With a ``used`` dict, which checkpoint was used and why go in it instead of on stderr."""
    from gancore import Run

    return Run.from_checkpoint(run_dir, checkpoint, host=_host(host), used=used)


def fresh_run(config: Any, run_dir: str | Path, sets: list[str] | tuple[str, ...] = (), *, host=None):
    """The run a config starts from, nothing trained (same seed, same networks), built in ``run_dir`` (nothing is
    written there): ``config`` a config file or its contents (a dict), with ``--set`` ``sets``, as ``gan run`` reads
    them; or a ``RunConfig`` (e.g. ``saved_config(run_dir)``)."""
    from gancore import Run, RunConfig
    from gancore.config import build_run_config, load_yaml

    host = _host(host)
    if not isinstance(config, RunConfig):
        data = load_yaml(config) if isinstance(config, (str, Path)) else config
        config = build_run_config(host.registry, None, data, list(sets))
    elif sets:
        raise ValueError("fresh_run: --set overrides apply to a config file or dict, not to a RunConfig")
    return Run.from_config(config, host, run_dir)


def saved_config(run_dir: str | Path, *, host=None):
    """The ``RunConfig`` a run folder was trained with (its ``config.yaml``), as ``Run.from_checkpoint`` reads it."""
    import yaml

    from gancore.config import resolve_run_config

    return resolve_run_config(_host(host).registry, yaml.safe_load((Path(run_dir) / "config.yaml").read_text()))


def metric_ref(spec: MetricSpec):
    """A metric reference from a YAML string (``fid`` or ``{name: fid, ...}``), a dict, or a reference."""
    import yaml

    from gancore.config import EvalMetricRef
    from gancore.registry import MetricRef

    if isinstance(spec, MetricRef):
        return spec
    if isinstance(spec, str):
        parsed = yaml.safe_load(spec)
        spec = parsed if isinstance(parsed, dict) else {"name": spec}
    return EvalMetricRef(**spec)


def metrics(specs: Iterable[MetricSpec], *, host=None) -> list[tuple[str, Callable]]:
    """``(key, metric)`` pairs (``gancore.metrics.build_metrics``) of ``specs``; pairs built already pass through."""
    from gancore.metrics import build_metrics

    specs = list(specs)
    if all(isinstance(spec, tuple) for spec in specs):
        return specs
    return build_metrics(_host(host).registry, [metric_ref(spec) for spec in specs], "{name}")


def _as_run(run: Any, checkpoint: str | Path | None, host, used: dict | None):
    return load_run(run, checkpoint, host=host, used=used) if isinstance(run, (str, Path)) else run


def score_run(run: Any, metric_specs: Iterable[MetricSpec] | None = None, *, checkpoint: str | Path | None = None,
              truncation: float | None = None, host=None, used: dict | None = None) -> dict[str, float]:  # fmt: skip
    """``metric_specs`` (default: the run's own ``eval.metrics``) of ``run`` (a ``Run``, or a run folder loaded at
    ``checkpoint``), keyed ``<metric>/<value>``: ``run.evaluate``, with the EMA weights, every latent truncated at
    ``truncation`` if given."""
    run = _as_run(run, checkpoint, host, used)
    built = None if metric_specs is None else metrics(metric_specs, host=host or run.host)
    return run.evaluate(built, truncation=truncation)


def sample_run(run: Any, n: int, seed: int, *, labels=None, truncation: float | None = None,
               checkpoint: str | Path | None = None, host=None, used: dict | None = None):  # fmt: skip
    """``n`` samples (CPU) of ``run`` (a ``Run``, or a run folder loaded at ``checkpoint``) with the EMA weights, the
    same for the same ``seed`` (``run.generate``: chunks of 500 from ``seed + start``); of classes ``labels``; latents
    truncated at ``truncation``. The training RNG is left as it was (``run.sampling()``)."""
    run = _as_run(run, checkpoint, host, used)
    with run.sampling():
        return run.generate(n, seed=seed, labels=labels, truncation=truncation).cpu()


def score_samples(sample: Callable, data, metric_specs: Iterable[MetricSpec], *, algorithm=None, seed: int | None = None,
                  host=None) -> dict[str, float]:  # fmt: skip
    """``metric_specs`` on samples that are not a run's own, keyed ``<metric>/<value>``: ``sample(n, seed)`` returns
    ``n`` samples (as a run's sampler: each chunk of 500 from ``seed + start``), compared with ``data`` (a
    ``TensorData``: what a run's metrics read as the real data). ``algorithm``: for metrics that need one. ``seed``:
    the base seed of the samples, by default the one a run's metrics use (``gancore.run.EVAL_SEED``)."""
    from gancore.metrics import EvalContext, evaluate
    from gancore.run import EVAL_SEED

    return evaluate(metrics(metric_specs, host=host), EvalContext(sample, data, algorithm, None, EVAL_SEED if seed is None else seed))


def values_of(results: dict[str, float], key: str) -> dict[str, float]:
    """The values of the metric keyed ``key`` in ``results`` (``fid/fid`` -> ``fid``)."""
    return {k.split("/", 1)[1]: v for k, v in results.items() if k.startswith(f"{key}/")}


def dataset(ref: dict, *, host=None, path: str = "data"):
    """The dataset ``ref`` (``{name: ..., options}``), built through the registry (transforms and all)."""
    from gancore.registry import DatasetRef

    return _host(host).registry.build(DatasetRef(**ref), path)
