"""translation-accuracy: the share of translated images a target-domain classifier still labels right."""

from __future__ import annotations

import json

import pytest
import torch

from gancore import FeatureNetwork, MetricRef, UserError, hookimpl, plugins
from gancore.metrics import EvalContext

DIGITS_METRIC = {
    "name": "translation-accuracy",
    "classifier_a": "lenet-digits",
    "classifier_b": "lenet-digits",
    "test_a": {"name": "digits", "channels": 3},
    "test_b": {"name": "digits", "channels": 3},
}


def _metric(**options):
    return plugins.get_host().registry.build(MetricRef(**{**DIGITS_METRIC, **options}), "eval.metrics.0")


def _score(run, translate, **options):
    metric = _metric(**options)
    run.algorithm.translate = translate
    return metric(EvalContext(lambda n, s: None, run.data, run.algorithm, None))


def test_an_identity_translation_keeps_as_many_labels_as_the_classifier_gets_right(make_run, tiny_digits):
    run = make_run(tiny_digits)
    results = _score(run, lambda x, direction: x)
    assert set(results) == {"a2b", "b2a", "classifier_a", "classifier_b"}
    assert results["classifier_b"] > 95  # lenet-digits on the digits
    assert results["a2b"] == results["b2a"] == results["classifier_a"] == results["classifier_b"]


def test_a_translation_that_loses_the_digit_keeps_about_one_label_in_ten(make_run, tiny_digits):
    run = make_run(tiny_digits)
    results = _score(run, lambda x, direction: torch.full_like(x, -1.0), directions=["a2b"], num_samples=500)
    assert set(results) == {"a2b", "classifier_b"}
    assert results["a2b"] <= 15


def test_the_run_data_are_the_default_test_data(make_run, tiny_digits):
    run = make_run(tiny_digits)
    results = _score(run, lambda x, direction: x.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1), test_a=None, test_b=None)
    # The run's B half is coloured: lenet-digits (grey input) reads some colourings badly, the grey A half well.
    assert results["classifier_a"] > 95 and results["classifier_b"] < results["classifier_a"]


def test_the_metric_runs_in_a_training_run(gan, write_config, tiny_digits, tmp_path):
    tiny_digits["train"]["steps"] = 2
    tiny_digits["eval"] = {"metrics": [{**DIGITS_METRIC, "num_samples": 100}]}
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    evaluated = gan("eval", tmp_path / "r", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert {"translation-accuracy/a2b", "translation-accuracy/classifier_b"} <= set(json.loads(evaluated.stdout)["metrics"])


def test_a_missing_classifier_file_is_a_user_error(gan, write_config, tiny_digits, tmp_path):
    tiny_digits["eval"] = {"metrics": [{**DIGITS_METRIC, "classifier_b": str(tmp_path / "none.safetensors")}]}
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r")
    assert out.exit_code == 2 and "gan train-features --data" in out.output


@pytest.mark.parametrize("name", ["lenet-mnist-colored", "lenet-mnist-strokes"])
def test_the_shipped_colour_classifier_is_a_feature_network(name):
    from gancore.metrics.features import get_extractor

    registry = plugins.get_host().registry
    assert registry.get("features", name).plugin == "cyclegan"  # registered through gan_register_features
    net = get_extractor(registry, name)
    assert net.name == name
    x = torch.rand(4, 3, 28, 28) * 2 - 1
    assert net.features(x).shape == (4, 128) and net.logits(x).shape == (4, 10)


class SameNamePlugin:
    @hookimpl
    def gan_register_features(self, register):
        register(FeatureNetwork("lenet-mnist-strokes", lambda options: None, description="another network of the same name"))


def test_a_feature_network_of_the_same_name_is_reported_and_refused(inline_plugin, capsys):
    inline_plugin(SameNamePlugin(), "same-name")
    host = plugins.get_host()
    entry = host.registry.get("features", "lenet-mnist-strokes")
    assert entry.plugin == "cyclegan"  # the first one registered is kept, the other refused
    (clash,) = [c for c in host.clashes if c.name == "lenet-mnist-strokes"]
    assert (clash.kind, clash.first, clash.second) == ("features", "cyclegan", "same-name")
    assert "features 'lenet-mnist-strokes' is registered twice: by plugin 'cyclegan' and by plugin 'same-name'" in capsys.readouterr().err


def test_an_unknown_classifier_is_refused_when_the_metric_is_built(gan, write_config, tiny_digits, tmp_path):
    with pytest.raises(UserError, match="eval.metrics.0.classifier_b: unknown feature network 'lenet-mnist-colour'.*lenet-mnist-colored"):
        _metric(classifier_b="lenet-mnist-colour")
    tiny_digits["eval"] = {"metrics": [{**DIGITS_METRIC, "classifier_a": "lenet-digit"}]}
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r")
    assert out.exit_code == 2 and "classifier_a: unknown feature network 'lenet-digit'" in out.output and "Traceback" not in out.output


def test_fid_of_each_direction_through_gancores_translate_source(gan, write_config, tiny_digits, tmp_path):
    tiny_digits["train"]["steps"] = 2
    tiny_digits["eval"] = {"metrics": [
        {"name": "fid", "label": "fid-a2b", "source": "translate", "direction": "a2b", "features": "lenet-mnist-colored", "num_samples": 200},
        {"name": "fid", "label": "fid-b2a", "source": "translate", "direction": "b2a", "features": "lenet-digits", "num_samples": 200},
    ]}
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    (record,) = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines() if "fid-a2b/fid" in line]
    assert record["fid-a2b/fid"] > 0 and record["fid-b2a/fid"] > 0
